export type { Logger } from './interfaces.js';
export { createLogger, type LoggerOptions, type ClosableLogger } from './create-logger.js';
export { StoreTransport } from './store-transport.js';
