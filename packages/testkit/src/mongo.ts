import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { within } from './bounded.js';
import { spawnProcess, type ChildHandle } from './process.js';
import { tempDir } from './temp.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface MongoHandle {
  /** `mongodb://127.0.0.1:PORT/` with no database: add one per test (see `databaseUrl`). */
  readonly url: string;
  readonly port: number;
  /** What the server is, for a test's name or a skip line: `FerretDB 1.24 (SQLite)`. */
  readonly server: string;
  /** The URL of a database of that name on this server. */
  databaseUrl(name: string): string;
  /** Stops the server (SIGKILL) and removes its data. Safe twice. */
  stop(): Promise<void>;
}

export interface MongoOptions {
  /** How long start-up may take, the build excepted (ms, default 30,000). */
  startTimeoutMs?: number;
  /** How long a first build of the server may take (ms, default 600,000). */
  buildTimeoutMs?: number;
  /** The address it listens on (default 127.0.0.1). */
  host?: string;
  /** The command line that runs the server, given its own (default: as is): a netns host's `command`. */
  command?: (cmd: string, args: readonly string[]) => [string, string[]];
}

/** tools/ferretdb of this repository: testkit lives at packages/testkit/{src,dist}. */
function toolDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', '..', 'tools', 'ferretdb');
}

let building: Promise<string> | null = null;

/**
 * Builds the FerretDB wrapper (tools/ferretdb/build.sh) unless its binary is newer than its
 * sources, and returns the binary's path. One build per process however many callers; two
 * processes building at once each write a temp file and rename it, so neither sees half a binary.
 * Set CLOVER_FERRETDB_BIN to use a binary built elsewhere.
 * @throws when Go is missing or the build fails, with the build's output.
 */
export function buildMongoServer(opts: Pick<MongoOptions, 'buildTimeoutMs'> = {}): Promise<string> {
  const given = process.env.CLOVER_FERRETDB_BIN;
  if (given) return Promise.resolve(given);
  building ??= (async () => {
    const dir = toolDir();
    const bin = path.join(dir, '.bin', 'clover-ferretdb');
    try {
      await run('bash', [path.join(dir, 'build.sh')], { timeout: opts.buildTimeoutMs ?? 600_000, maxBuffer: 16 << 20 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`building the test MongoDB server (tools/ferretdb/build.sh) failed: ${e.message}\n${e.stderr ?? ''}`);
    }
    if (!existsSync(bin)) throw new Error(`tools/ferretdb/build.sh left no binary at ${bin}`);
    return bin;
  })().catch((err: unknown) => {
    building = null;
    throw err;
  });
  return building;
}

/**
 * A MongoDB wire-protocol server for tests: FerretDB 1.24 with its SQLite backend, embedded in
 * tools/ferretdb (no MongoDB server can be installed on clover's machines). Builds it if needed,
 * starts it on a free port (the server binds port 0 and prints the port it got, so no other
 * process can take it in between) with a temp data directory, and resolves once it answers
 * `ping`. A failed start leaves no process and no directory behind.
 *
 * What FerretDB 1.x is not: it has no TTL indexes (`NotImplemented`), no transactions, and
 * refuses document keys that contain `.` or start with `$`.
 * @throws when the build fails, or the server exits or stays silent past `startTimeoutMs`.
 */
export async function startMongo(opts: MongoOptions = {}): Promise<MongoHandle> {
  const bin = await buildMongoServer(opts);
  const dir = await tempDir('clover-ferretdb-');
  let child: ChildHandle | null = null;
  try {
    const args = ['-listen', `${opts.host ?? '127.0.0.1'}:0`, '-data', dir.path, '-log-level', 'error'];
    child = spawnProcess(...(opts.command ?? ((c: string, a: readonly string[]): [string, string[]] => [c, [...a]]))(bin, args), {
      name: 'ferretdb',
    });
    const line = await child.waitForOutput(/ready (mongodb:\/\/\S+)/, opts.startTimeoutMs ?? 30_000);
    const url = line.slice('ready '.length);
    const port = Number(new URL(url).port);
    await waitFor(async () => ping(url), {
      timeoutMs: opts.startTimeoutMs ?? 30_000,
      intervalMs: 100,
      message: `FerretDB on port ${port} to answer ping`,
    });
    let stopped: Promise<void> | null = null;
    const started = child;
    return {
      url,
      port,
      server: 'FerretDB 1.24 (SQLite)',
      databaseUrl: (name) => {
        const u = new URL(url);
        u.pathname = `/${name}`;
        return u.toString();
      },
      stop: () =>
        (stopped ??= (async () => {
          try {
            await started.kill('SIGKILL', 10_000);
          } finally {
            await dir.cleanup();
          }
        })()),
    };
  } catch (err) {
    await child?.kill('SIGKILL', 10_000).catch(() => undefined);
    await dir.cleanup();
    throw err;
  }
}

/** True when the server answers `{ ping: 1 }` within 2 s. */
async function ping(url: string): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
  try {
    await within(
      async () => {
        await client.connect();
        await client.db('admin').command({ ping: 1 });
      },
      5000,
      'a ping',
    );
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}
