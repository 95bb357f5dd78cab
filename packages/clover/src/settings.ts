import os from 'node:os';
import path from 'node:path';

/** A setting the operator got wrong: the message names the variable and what it wants. */
export class SettingError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = 'SettingError';
  }
}

export interface StandaloneSettings {
  dataDir: string;
  httpPort: number;
  httpHost: string;
  dispatchBind: string;
  adminPassword: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  logDir: string;
  nodeId: string;
}

type Env = Record<string, string | undefined>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new SettingError(name, `expected a TCP port (0-65535), got "${raw}"`);
  return n;
}

function endpoint(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  if (!/^tcp:\/\/[^:]+:\d+$/.test(raw)) throw new SettingError(name, `expected tcp://host:port, got "${raw}"`);
  return raw;
}

function url(env: Env, name: string, schemes: string[]): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new SettingError(name, `expected a URL, got "${raw}"`);
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new SettingError(name, `expected a ${schemes.join(' or ')} URL, got "${raw}"`);
  }
  return raw;
}

export function readStandaloneSettings(env: Env = process.env): StandaloneSettings {
  const dataDir = path.resolve(env.CLOVER_DATA_DIR || '.clover-data');
  return {
    dataDir,
    httpPort: port(env, 'CLOVER_HTTP_PORT', 8080),
    httpHost: env.CLOVER_HTTP_HOST || '127.0.0.1',
    dispatchBind: endpoint(env, 'CLOVER_DISPATCH_BIND', 'tcp://127.0.0.1:7710'),
    adminPassword: env.CLOVER_ADMIN_PASSWORD || undefined,
    smtpUrl: url(env, 'CLOVER_SMTP_URL', ['smtp', 'smtps']),
    mailFrom: env.CLOVER_MAIL_FROM || 'clover@localhost',
    logDir: path.resolve(env.CLOVER_LOG_DIR || path.join(dataDir, 'logs')),
    nodeId: env.CLOVER_NODE_ID || `${os.hostname()}-standalone`,
  };
}

export const standaloneSettingsHelp = `Settings (environment variables):
  CLOVER_DATA_DIR        where the embedded store and logs live (default ./.clover-data)
  CLOVER_HTTP_PORT       console port (default 8080)
  CLOVER_HTTP_HOST       console address (default 127.0.0.1)
  CLOVER_DISPATCH_BIND   ZeroMQ endpoint of the dispatch-server (default tcp://127.0.0.1:7710)
  CLOVER_ADMIN_PASSWORD  password of the first admin (printed once when generated)
  CLOVER_SMTP_URL        smtp://user:pass@host:port; without it mails go to the console's outbox
  CLOVER_MAIL_FROM       sender address (default clover@localhost)
  CLOVER_LOG_DIR         log files (default <data dir>/logs)
  CLOVER_NODE_ID         id prefix of this process's nodes (default <hostname>-standalone)`;
