export interface Logger {
  error(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  debug(message: string, context?: Record<string, unknown>): void;
  /** A logger that adds these fields to every entry (role, job id...). */
  child(bindings: Record<string, unknown>): Logger;
}
