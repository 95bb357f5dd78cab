import { createLogger } from '@clover/logging';
import type { LoginBody, SignedIn } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { cleanUp, mongoForTest, tempDir, within, type TempDir } from '@clover/testkit';
import { cloverPaths, createZkClient, type ZkClient } from '@clover/zk-kit';
import { hashPassword, startConsoleServer, LoginThrottle, type RunningConsole } from '../src/index.js';

export const paths = cloverPaths('/clover');

export interface Harness {
  url: string;
  store: Store;
  zk: ZkClient;
  close(): Promise<void>;
}

/** Which store a harness opens: the embedded one in a temp dir of its own, or MongoDB at a database URL. */
export type HarnessStore = { kind: 'embedded' } | { kind: 'mongo'; url: string };

/** A store a suite runs on, named for the suite's title, or why it cannot (`skip`, one line). */
export type StoreBackend = { name: string; store: HarnessStore } | { name: string; skip: string };

export const embeddedBackend: StoreBackend = { name: 'the embedded store', store: { kind: 'embedded' } };

/**
 * MongoDB for a suite (`mongoForTest`: the server of CLOVER_TEST_MONGO_URL, else FerretDB), one
 * database per test file; outside CI, a skip when no server can be had. Call `cleanup` in the
 * file's `after` hook: it drops the database or stops FerretDB.
 */
export async function mongoBackend(prefix: string): Promise<{ backend: StoreBackend; cleanup(): Promise<void> }> {
  const mongo = await mongoForTest(prefix);
  if ('skip' in mongo) {
    console.log(`# SKIP the MongoDB half of this suite: ${mongo.skip}`);
    return { backend: { name: 'MongoDB', skip: mongo.skip }, cleanup: () => Promise.resolve() };
  }
  return {
    backend: { name: `MongoDB (${mongo.server})`, store: { kind: 'mongo', url: mongo.databaseUrl } },
    cleanup: () => mongo.cleanup(),
  };
}

/**
 * A console on a free port over the given store (default: embedded, in a temp dir) and the given
 * ZooKeeper. The MongoDB database is the caller's: it outlives the harness, so the caller drops it.
 */
export async function startHarness(connect: string, storeChoice: HarnessStore = { kind: 'embedded' }): Promise<Harness> {
  const dir: TempDir = await tempDir('clover-console-');
  let store: Store;
  try {
    store = await openStore(storeChoice.kind === 'mongo' ? { mongoUrl: storeChoice.url } : { dataDir: dir.path });
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
  const zk = createZkClient({ connect, sessionTimeoutMs: 5000 });
  const logger = createLogger({ service: 'console', node: 'test', console: false, store });
  let server: RunningConsole | undefined;
  const close = () =>
    cleanUp([
      ['console server', () => server?.close()],
      ['zk', () => zk.close()],
      ['logger', () => logger.close()],
      ['store', () => store.close()],
      ['temp dir', () => dir.cleanup()],
    ]);
  try {
    await within(zk.connect(), 20_000, `a ZooKeeper session at ${connect}`);
    for (const [name, role] of [
      ['admin', 'admin'],
      ['olga', 'operator'],
      ['vic', 'viewer'],
    ] as const) {
      await store.users.create({ name, role, passwordHash: await hashPassword(`${name}-password`), createdAt: new Date() });
    }
    server = await startConsoleServer({ store, zk, paths, logger, port: 0, throttle: new LoginThrottle(5, 15 * 60_000) });
  } catch (err) {
    // A half-started harness closes what it opened: nobody else holds it to close it.
    await close().catch(() => undefined);
    throw err;
  }
  return { url: server.url, store, zk, close };
}

/**
 * An answer: `body` is the parsed JSON (or the text when it is not JSON), typed as the test
 * expects it: `Wire<...>` of the API's own types (`@clover/model`), `ApiErrorBody` for an error.
 */
export interface Answer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** A browser-like client: keeps cookies and sends the CSRF header on writes unless told not to. */
export class Client {
  private cookies = new Map<string, string>();
  bearer?: string;

  constructor(private readonly base: string) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  async call<T = unknown>(
    method: string,
    route: string,
    body?: unknown,
    opts: { csrf?: boolean; headers?: Record<string, string>; raw?: string } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (body !== undefined || opts.raw !== undefined) headers['content-type'] = 'application/json';
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    const csrf = this.cookies.get('clover_csrf');
    if (opts.csrf !== false && csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
    // A console that never answers fails the call after 15 s, not after undici's 5 minutes.
    const res = await fetch(`${this.base}${route}`, {
      method,
      headers,
      body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      signal: AbortSignal.timeout(15_000),
    }).catch((err: unknown) => {
      if (err instanceof Error && err.name === 'TimeoutError')
        throw new Error(`timed out after 15000 ms waiting for ${method} ${route} to answer`);
      throw err;
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const [k = '', v = ''] = pair.split('=');
      if (/Expires=Thu, 01 Jan 1970/i.test(line) || v === '') this.cookies.delete(k.trim());
      else this.cookies.set(k.trim(), v.trim());
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** Logs in; the answer is `SignedIn`, or `ApiErrorBody` for a test that expects a refusal. */
  async login<T = SignedIn>(name: string, password = `${name}-password`): Promise<Answer<T>> {
    return this.call<T>('POST', '/api/auth/login', { username: name, password } satisfies LoginBody);
  }
}

export async function loggedIn(base: string, name: string): Promise<Client> {
  const c = new Client(base);
  const r = await c.login(name);
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return c;
}

/**
 * A value a before() hook assigns, as an after() hook must see it: undefined when the hook failed
 * before assigning it (`let h: Harness` cannot say so), so that the clean-up closes only what started.
 */
export function ifStarted<T>(value: T): T | undefined {
  return value;
}

export const everySecondJob = (name = 'tick') => ({
  name,
  schedule: { type: 'cron', expr: '* * * * * *' },
  kind: { type: 'handler', name: 'noop' },
  target: { type: 'any' },
});
