import os from 'node:os';
import path from 'node:path';
import {
  endpoint,
  helpFor,
  logSettings,
  metricsSwitchSettings,
  port,
  readSettings,
  storeSettings,
  secret,
  text,
  url,
  boolean,
  SettingError,
  type SettingsOf,
} from '@clover/config';

export { SettingError };

/** Standalone mode's settings, on the same scheme as every clover bin (env or CLOVER_CONFIG file). */
export const standaloneSpec = {
  ...storeSettings,
  httpPort: port('CLOVER_HTTP_PORT', { help: 'console port', fallback: 8080 }),
  httpHost: text('CLOVER_HTTP_HOST', { help: 'console address', fallback: '127.0.0.1' }),
  dispatchBind: endpoint('CLOVER_DISPATCH_BIND', { help: 'ZeroMQ endpoint of the dispatch-server', fallback: 'tcp://127.0.0.1:7710' }),
  adminPassword: secret('CLOVER_ADMIN_PASSWORD', { help: 'password of the first admin; unset: generated and printed once' }),
  smtpUrl: url('CLOVER_SMTP_URL', {
    help: 'smtp://user:pass@host:port; unset: mails go to the console outbox',
    schemes: ['smtp', 'smtps'],
    secret: true,
  }),
  mailFrom: text('CLOVER_MAIL_FROM', { help: 'sender address', fallback: 'clover@localhost' }),
  // Unlike a cluster bin, standalone writes log files unless told where: beside its store.
  logDir: { ...logSettings.logDir, help: `${logSettings.logDir.help} (standalone: <CLOVER_DATA_DIR>/logs when unset)` },
  httpAllowPrivate: boolean('CLOVER_HTTP_ALLOW_PRIVATE', {
    help: "let the local agent's http jobs call loopback, link-local (cloud metadata) and private addresses",
    fallback: false,
  }),
  // One /metrics, /healthz and /readyz for every role, on the console's port.
  ...metricsSwitchSettings,
  nodeId: text('CLOVER_NODE_ID', { help: "id prefix of this process's nodes", fallback: () => `${os.hostname()}-standalone` }),
};

/** The settings as read, with `dataDir` absolute and `logDir` always set. */
export type StandaloneSettings = Omit<SettingsOf<typeof standaloneSpec>, 'logDir'> & { logDir: string };

export function readStandaloneSettings(env: Record<string, string | undefined> = process.env): StandaloneSettings {
  const s = readSettings(standaloneSpec, env);
  const dataDir = path.resolve(s.dataDir);
  return { ...s, dataDir, logDir: path.resolve(s.logDir ?? path.join(dataDir, 'logs')) };
}

export const standaloneSettingsHelp = helpFor(standaloneSpec);
