import { settleWithin } from '@clover/lifecycle';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import type { Store } from '@clover/store';
import { serializeErrors, type LogFields, type Logger } from '@clover/telemetry';
import { StoreTransport } from './store-transport.js';

export interface LoggerOptions {
  /** Which service writes: dispatch-server, monitor, console, agent... */
  service: string;
  node?: string;
  level?: 'error' | 'warn' | 'info' | 'debug';
  /** Daily-rotated JSON-lines files <logDir>/<service>-YYYY-MM-DD.log, kept 14 days. */
  logDir?: string;
  /** warn and above also go to the store. */
  store?: Pick<Store, 'logs'>;
  /** Human-readable lines on stderr (default true). */
  console?: boolean;
}

export interface ClosableLogger extends Logger {
  /**
   * Writes what is buffered (the store's batch, then the file's lines, on disk when it resolves)
   * and releases the transports. Never rejects; waits at most 5 s for each stream.
   */
  close(): Promise<void>;
}

function wrap(w: winston.Logger, close: () => Promise<void>): ClosableLogger {
  // winston builds and pipes an entry before any transport drops it by level: a debug line in a
  // hot path cost a busy dispatch-server ~3% of its CPU with debug off. An Error among the fields
  // becomes an object with its stack and cause: winston's json format writes an Error as {}.
  const at = (level: string) => (message: string, fields?: LogFields) => {
    if (w.isLevelEnabled(level)) w.log(level, message, fields ? serializeErrors(fields) : {});
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (bindings) => wrap(w.child(serializeErrors(bindings)), close),
    close,
  };
}

/** How long close waits for each stream to finish (5 s). */
const closeWaitMs = 5000;

/** The one logger factory every clover service uses. */
export function createLogger(opts: LoggerOptions): ClosableLogger {
  const transports: winston.transport[] = [];
  if (opts.console ?? true) {
    transports.push(
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston's typings hide its TransportStream base
      new winston.transports.Console({
        stderrLevels: ['error', 'warn', 'info', 'debug'],
        format: winston.format.combine(
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, service, node, ...rest }) => {
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            const where = typeof node === 'string' && node ? `@${node}` : '';
            return `${String(timestamp)} ${level.toUpperCase().padEnd(5)} [${String(service)}${where}] ${String(message)}${extra}`;
          }),
        ),
      }),
    );
  }
  let file: DailyRotateFile | null = null;
  if (opts.logDir) {
    file = new DailyRotateFile({
      dirname: opts.logDir,
      filename: `${opts.service}-%DATE%.log`,
      datePattern: 'YYYY-MM-DD',
      maxFiles: '14d',
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    });
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston's typings hide its TransportStream base
    transports.push(file);
  }
  let storeTransport: StoreTransport | null = null;
  if (opts.store) {
    storeTransport = new StoreTransport(opts.store, { source: opts.service, node: opts.node });
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston's typings hide its TransportStream base
    transports.push(storeTransport);
  }
  const w = winston.createLogger({
    level: opts.level ?? 'info',
    defaultMeta: { service: opts.service, ...(opts.node ? { node: opts.node } : {}) },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true })),
    transports,
  });
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await storeTransport?.flush();
      // The logger's finish waits for each transport's own finish: for the daily file that is
      // when its lines are handed to the rotating stream, whose file may not even be open yet.
      // Ending that stream too is what puts the lines in the file (on a loaded CI machine a
      // close that stopped at the first finish left an empty directory behind).
      await settleWithin(
        new Promise<void>((done) => {
          w.once('finish', done);
          w.end();
        }),
        closeWaitMs,
      );
      if (file) {
        const stream = file.logStream;
        await settleWithin(new Promise<void>((done) => stream.end(done)), closeWaitMs);
      }
    })();
    return closing;
  };
  return wrap(w, close);
}
