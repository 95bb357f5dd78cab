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
  /** What the server is, for a test's name or a skip line: `FerretDB 1.24 (SQLite)` or `mongo-java-server 1.47 (in memory)`. */
  readonly server: string;
  /** The URL of a database of that name on this server. */
  databaseUrl(name: string): string;
  /** Stops the server (SIGKILL) and removes its data (FerretDB's directory; mongo-java-server's dies with it). Safe twice. */
  stop(): Promise<void>;
}

/**
 * Which MongoDB wire server `startMongo` runs: `ferretdb` (FerretDB 1.24 on SQLite, tools/ferretdb)
 * or `java` (mongo-java-server with its in-memory backend, tools/mongo-java-server).
 */
export type MongoServerKind = 'ferretdb' | 'java';

export interface MongoOptions {
  /**
   * The server to run (default: the `CLOVER_TEST_MONGO_SERVER` environment variable, else
   * `ferretdb`). `java` is for loads FerretDB cannot carry (every FerretDB update scans its whole
   * collection): it keeps its data in memory and implements less of MongoDB (tools/mongo-java-server/README.md).
   */
  kind?: MongoServerKind;
  /** How long start-up may take, the build excepted (ms, default 30,000). */
  startTimeoutMs?: number;
  /** How long a first build of the server may take (ms, default 600,000). */
  buildTimeoutMs?: number;
  /** The address it listens on (default 127.0.0.1). */
  host?: string;
  /** The command line that runs the server, given its own (default: as is): a netns host's `command`. */
  command?: (cmd: string, args: readonly string[]) => [string, string[]];
}

/** tools/<name> of this repository: testkit lives at packages/testkit/{src,dist}. */
function toolDir(name: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', '..', 'tools', name);
}

/**
 * The server `opts.kind` or `CLOVER_TEST_MONGO_SERVER` asks for, `ferretdb` when neither does.
 * @throws on any other value, naming the ones there are.
 */
export function mongoServerKind(opts: Pick<MongoOptions, 'kind'> = {}): MongoServerKind {
  const kind = opts.kind ?? (process.env.CLOVER_TEST_MONGO_SERVER || 'ferretdb');
  if (kind !== 'ferretdb' && kind !== 'java') throw new Error(`CLOVER_TEST_MONGO_SERVER is ${kind}: it is ferretdb or java`);
  return kind;
}

/** How each server is built and run: its tool directory, what build.sh leaves, and its command line. */
const servers: Record<
  MongoServerKind,
  { tool: string; output: string; envBin: string; name: string; argv(built: string, listen: string, data: string): [string, string[]] }
> = {
  ferretdb: {
    tool: 'ferretdb',
    output: path.join('.bin', 'clover-ferretdb'),
    envBin: 'CLOVER_FERRETDB_BIN',
    name: 'FerretDB 1.24 (SQLite)',
    argv: (bin, listen, data) => [bin, ['-listen', listen, '-data', data, '-log-level', 'error']],
  },
  java: {
    tool: 'mongo-java-server',
    output: path.join('.bin', 'clover-mongo-java-server.jar'),
    envBin: 'CLOVER_MONGO_JAVA_SERVER_JAR',
    name: 'mongo-java-server 1.47 (in memory)',
    argv: (jar, listen) => ['java', ['-jar', jar, '-listen', listen]],
  },
};

const building = new Map<MongoServerKind, Promise<string>>();

/**
 * Builds the server `opts.kind` names (see `mongoServerKind`) with its tools/<tool>/build.sh unless
 * what it builds is newer than its sources, and returns that file's path: FerretDB's binary, or
 * mongo-java-server's runnable jar. One build per process and server however many callers; two
 * processes building at once each write a temp file and rename it, so neither sees half a file.
 * Set CLOVER_FERRETDB_BIN (or CLOVER_MONGO_JAVA_SERVER_JAR) to use one built elsewhere.
 * @throws when Go (FerretDB) or Java 17 and Maven (mongo-java-server) are missing or the build
 * fails, with the build's output.
 */
export function buildMongoServer(opts: Pick<MongoOptions, 'buildTimeoutMs' | 'kind'> = {}): Promise<string> {
  const kind = mongoServerKind(opts);
  const server = servers[kind];
  const given = process.env[server.envBin];
  if (given) return Promise.resolve(given);
  let pending = building.get(kind);
  if (!pending) {
    pending = (async () => {
      const dir = toolDir(server.tool);
      const built = path.join(dir, server.output);
      try {
        await run('bash', [path.join(dir, 'build.sh')], { timeout: opts.buildTimeoutMs ?? 600_000, maxBuffer: 16 << 20 });
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`building the test MongoDB server (tools/${server.tool}/build.sh) failed: ${e.message}\n${e.stderr ?? ''}`);
      }
      if (!existsSync(built)) throw new Error(`tools/${server.tool}/build.sh left nothing at ${built}`);
      return built;
    })().catch((err: unknown) => {
      building.delete(kind);
      throw err;
    });
    building.set(kind, pending);
  }
  return pending;
}

/**
 * A MongoDB wire-protocol server for tests (no MongoDB server can be installed on clover's
 * machines): by default FerretDB 1.24 with its SQLite backend, embedded in tools/ferretdb; with
 * `kind: 'java'` or CLOVER_TEST_MONGO_SERVER=java, mongo-java-server 1.47 with its in-memory
 * backend (tools/mongo-java-server), for loads FerretDB cannot carry. Builds it if needed,
 * starts it on a free port (the server binds port 0 and prints the port it got, so no other
 * process can take it in between) with a temp data directory (FerretDB's; mongo-java-server
 * keeps its data in memory), and resolves once it answers `ping`. A failed start leaves no
 * process and no directory behind.
 *
 * What FerretDB 1.x is not: it has no TTL indexes (`NotImplemented`), no transactions, and
 * refuses document keys that contain `.` or start with `$`. What mongo-java-server is not:
 * tools/mongo-java-server/README.md.
 * @throws when the build fails, or the server exits or stays silent past `startTimeoutMs`.
 */
export async function startMongo(opts: MongoOptions = {}): Promise<MongoHandle> {
  const kind = mongoServerKind(opts);
  const server = servers[kind];
  const built = await buildMongoServer(opts);
  const dir = await tempDir(`clover-${server.tool}-`);
  let child: ChildHandle | null = null;
  try {
    const [cmd, args] = server.argv(built, `${opts.host ?? '127.0.0.1'}:0`, dir.path);
    child = spawnProcess(...(opts.command ?? ((c: string, a: readonly string[]): [string, string[]] => [c, [...a]]))(cmd, args), {
      name: server.tool,
    });
    const line = await child.waitForOutput(/ready (mongodb:\/\/\S+)/, opts.startTimeoutMs ?? 30_000);
    const url = line.slice('ready '.length);
    const port = Number(new URL(url).port);
    await waitFor(async () => ping(url), {
      timeoutMs: opts.startTimeoutMs ?? 30_000,
      intervalMs: 100,
      message: `${server.name} on port ${port} to answer ping`,
    });
    let stopped: Promise<void> | null = null;
    const started = child;
    return {
      url,
      port,
      server: server.name,
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
