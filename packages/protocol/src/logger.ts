/** What the transports log to; any winston-like logger fits. */
export interface ProtocolLogger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export const silentLogger: ProtocolLogger = { debug() {}, info() {}, warn() {}, error() {} };
