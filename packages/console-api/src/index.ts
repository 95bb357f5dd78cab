export { createConsoleApp, consoleApiVersion, type ConsoleAppOptions } from './app.js';
export { startConsoleServer, type ConsoleServerOptions, type RunningConsole } from './server.js';
export { ensureAdmin, createApiToken } from './auth/bootstrap.js';
export { hashPassword, verifyPassword } from './auth/passwords.js';
export { LoginThrottle } from './auth/throttle.js';
export { openApiDocument } from './openapi.js';
