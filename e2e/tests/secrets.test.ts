import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CleanupStack } from '@clover/lifecycle';
import { freePort, spawnProcess, startSmtpSink, tempDir } from '@clover/testkit';
import { cloverBin, startStandalone } from '../lib/standalone.js';

// No secret in a log line, a log file, the Logs API (what the Logs page shows) or an error body
// (issue 16, Fuzzing): `clover standalone` runs with an admin password, an SMTP URL with
// credentials (a real SMTP server that requires them), users' passwords, API tokens, a bogus
// token, bad logins and malformed bodies carrying passwords; a second start has a MongoDB URL with
// credentials that cannot connect. Then everything each process wrote is grepped for every secret.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const opened = new CleanupStack();
after(() => opened.close());

/** A secret that greps unambiguously: a marker and random letters, URL-safe. */
const secretValue = (what: string) => `${what}-${randomBytes(12).toString('hex')}`;

/** Every file under `dir`, read as text. */
async function filesUnder(dir: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (/\.(log|jsonl?|txt)$/.test(entry.name) || entry.parentPath.includes('logs')) out.push([file, await readFile(file, 'utf8')]);
  }
  return out;
}

/** The places (name and text) where any of `secrets` appears, with the secret named. */
function leaks(secrets: Record<string, string>, places: Array<[string, string]>): string[] {
  const found: string[] = [];
  for (const [where, text] of places)
    for (const [name, value] of Object.entries(secrets))
      if (text.includes(value) || text.includes(encodeURIComponent(value))) found.push(`${name} in ${where}`);
  return found;
}

/** A plain HTTP client that keeps every answer's text, to grep the error bodies. */
class Recorder {
  readonly answers: Array<[string, string]> = [];
  cookies = '';
  csrf = '';
  constructor(readonly base: string) {}

  async call(
    method: string,
    route: string,
    opts: { body?: unknown; raw?: string; bearer?: string } = {},
  ): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.cookies) headers.cookie = this.cookies;
    if (this.csrf) headers['x-csrf-token'] = this.csrf;
    if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
    const res = await fetch(new URL(route, this.base), {
      method,
      headers,
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      signal: AbortSignal.timeout(15_000),
    });
    const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '');
    if (cookies.length) {
      this.cookies = cookies.join('; ');
      this.csrf = decodeURIComponent(cookies.find((c) => c.startsWith('clover_csrf='))?.slice('clover_csrf='.length) ?? '');
    }
    const text = await res.text();
    this.answers.push([`the answer to ${method} ${route} (${res.status})`, text]);
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, json };
  }
}

test('no secret appears in a log line, a log file, the Logs API or an error body', async () => {
  const secrets = {
    adminPassword: secretValue('admin-pw'),
    userPassword: secretValue('user-pw'),
    wrongPassword: secretValue('wrong-pw'),
    smtpPassword: secretValue('smtp-pw'),
    bogusToken: `clv_${secretValue('bogus-token')}`,
    mongoPassword: secretValue('mongo-pw'),
    wrongSmtpPassword: secretValue('wrong-smtp-pw'),
  } as Record<string, string>;
  const sink = await startSmtpSink({ auth: { user: 'mailer', pass: secrets.smtpPassword ?? '' } });
  opened.push('SMTP sink', () => sink.stop());
  const data = await tempDir('clover-secrets-');
  opened.push('temp dir', () => data.cleanup());
  const { proc, baseUrl } = await startStandalone(data.path, {
    CLOVER_ADMIN_PASSWORD: secrets.adminPassword ?? '',
    CLOVER_SMTP_URL: `smtp://mailer:${secrets.smtpPassword}@127.0.0.1:${sink.port}`,
    CLOVER_MAIL_FROM: 'clover@secrets.test',
  });
  opened.push('standalone', () => proc.kill('SIGKILL'));

  const api = new Recorder(baseUrl);
  // Bad logins: a wrong password, a right password in a malformed body, a password in the wrong field.
  assert.equal((await api.call('POST', '/api/auth/login', { body: { username: 'admin', password: secrets.wrongPassword } })).status, 401);
  assert.equal(
    (await api.call('POST', '/api/auth/login', { raw: `{"username":"admin","password":"${secrets.adminPassword}"` })).status,
    400,
  );
  assert.equal((await api.call('POST', '/api/auth/login', { body: { username: secrets.adminPassword, password: 7 } })).status, 400);
  assert.equal((await api.call('POST', '/api/auth/login', { body: { username: 'admin', password: secrets.adminPassword } })).status, 200);
  // A user made with a password, one refused with it (a bad role), and their logins.
  const made = await api.call('POST', '/api/users', { body: { name: 'uma', password: secrets.userPassword, role: 'operator' } });
  assert.equal(made.status, 201);
  assert.equal(
    (await api.call('POST', '/api/users', { body: { name: 'ursula', password: secrets.userPassword, role: 'root' } })).status,
    400,
  );
  // Tokens: one made (its value is a secret from then on), used, and a bogus one.
  const token = await api.call('POST', '/api/auth/tokens', { body: { name: 'ci' } });
  assert.equal(token.status, 201);
  secrets.apiToken = (token.json as { token: string }).token;
  const sessionCookie = /clover_session=([^;]+)/.exec(api.cookies)?.[1];
  if (sessionCookie) secrets.sessionCookie = decodeURIComponent(sessionCookie);
  const script = new Recorder(baseUrl);
  assert.equal((await script.call('GET', '/api/jobs', { bearer: secrets.apiToken })).status, 200);
  assert.equal((await script.call('GET', '/api/jobs', { bearer: secrets.bogusToken })).status, 401);
  const uma = new Recorder(baseUrl);
  assert.equal((await uma.call('POST', '/api/auth/login', { body: { username: 'uma', password: secrets.userPassword } })).status, 200);

  // A failing job with a contact: its incident is mailed through the SMTP server that needs the credentials.
  assert.equal((await api.call('POST', '/api/contacts', { body: { name: 'Ops', email: 'ops@secrets.test' } })).status, 201);
  const failing = { schedule: { type: 'cron', expr: '* * * * * *' }, kind: { type: 'handler', name: 'fail' }, target: { type: 'any' } };
  const job = await api.call('POST', '/api/jobs', {
    body: { name: 'fails', ...failing },
  });
  assert.equal(job.status, 201);
  await sink.waitForMessages(1, 60_000);
  assert.equal((await api.call('POST', `/api/jobs/${(job.json as { id: string }).id}/disable`)).status, 200);

  // The Logs API, every level, every page: what the Logs page shows.
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await api.call('GET', `/api/logs?level=debug&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(page.status, 200);
    cursor = (page.json as { nextCursor: string | null }).nextCursor;
    pages++;
  } while (cursor && pages < 50);
  assert.equal(await proc.kill('SIGTERM'), 0);

  // Again with an SMTP password the server refuses: the failed sends are logged, without it.
  const refused = await startStandalone(data.path, {
    CLOVER_ADMIN_PASSWORD: secrets.adminPassword ?? '',
    CLOVER_SMTP_URL: `smtp://mailer:${secrets.wrongSmtpPassword}@127.0.0.1:${sink.port}`,
    CLOVER_MAIL_FROM: 'clover@secrets.test',
  });
  opened.push('standalone with a wrong SMTP password', () => refused.proc.kill('SIGKILL'));
  const again = new Recorder(refused.baseUrl);
  assert.equal((await again.call('POST', '/api/auth/login', { body: { username: 'admin', password: secrets.adminPassword } })).status, 200);
  // A job of its own: the first job's incident is still open, and was mailed already.
  assert.equal((await again.call('POST', '/api/jobs', { body: { name: 'fails-again', ...failing } })).status, 201);
  await refused.proc.waitForOutput(/could not send incident mail/, 60_000);
  assert.equal(await refused.proc.kill('SIGTERM'), 0);

  // The same with a MongoDB URL with credentials that cannot connect: the failure must not quote it.
  const mongoProc = spawnProcess(process.execPath, [cloverBin, 'standalone'], {
    name: 'standalone-mongo',
    cwd: repoRoot,
    env: {
      CLOVER_DATA_DIR: data.path,
      CLOVER_HTTP_PORT: String(await freePort()),
      CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
      CLOVER_MONGO_URL: `mongodb://clover:${secrets.mongoPassword}@127.0.0.1:${await freePort()}/clover?serverSelectionTimeoutMS=1000`,
    },
  });
  opened.push('standalone-mongo', () => mongoProc.kill('SIGKILL'));
  const mongoExit = await mongoProc.waitForExit(60_000);
  assert.notEqual(mongoExit, 0, 'a store that cannot be reached stops the start');

  const places: Array<[string, string]> = [
    ['the standalone output', proc.output()],
    ['the standalone output with MongoDB', mongoProc.output()],
    ['the standalone output with a wrong SMTP password', refused.proc.output()],
    ...again.answers,
    ...(await filesUnder(data.path)),
    ...api.answers,
    ...script.answers,
    ...uma.answers,
    ...sink.messages.map((mail, i): [string, string] => [
      `mail ${i + 1}`,
      `${mail.subject ?? ''}\n${mail.text ?? ''}\n${String(mail.html)}`,
    ]),
  ];
  // The grep sees what it should: the failed login in a log file, the failing run in the Logs API.
  assert.ok(
    leaks({ probe: 'failed login' }, places).some((l) => l.includes('console-')),
    'the log files were read',
  );
  assert.ok(
    leaks({ probe: 'demo failure' }, places).some((l) => l.includes('/api/logs')),
    'the Logs API was read',
  );
  // Not a leak: the token's own creation answer, and the session cookie in login answers' headers (not in bodies).
  const found = leaks(secrets, places).filter((l) => !l.startsWith('apiToken in the answer to POST /api/auth/tokens'));
  assert.deepEqual(found, []);
});
