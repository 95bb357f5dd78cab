export type { Logger } from '@clover/telemetry';
export { createLogger, type LoggerOptions, type ClosableLogger } from './create-logger.js';
export { StoreTransport } from './store-transport.js';
