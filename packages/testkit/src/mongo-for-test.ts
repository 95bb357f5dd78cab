import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { within } from './bounded.js';
import { startMongo, type MongoHandle, type MongoOptions } from './mongo.js';

/** A database of its own for one test file, on a MongoDB wire server. */
export interface TestMongo {
  /** `mongodb://HOST:PORT/<prefix>_<pid>_<random>`: a database no other run uses. */
  readonly databaseUrl: string;
  /** What serves it, for a test's name: `FerretDB 1.24 (SQLite)`, `mongo-java-server 1.47 (in memory)` or `CLOVER_TEST_MONGO_URL`. */
  readonly server: string;
  /** Drops the database (on a server of CLOVER_TEST_MONGO_URL) or stops the server it started. Safe twice. */
  cleanup(): Promise<void>;
}

/** No server could be had outside CI: `reason` is the one line to print in the skip. */
export interface NoTestMongo {
  readonly skip: string;
}

/**
 * The MongoDB a test file runs on. `CLOVER_TEST_MONGO_URL` names a server of your own (a real
 * MongoDB); otherwise FerretDB (or, with CLOVER_TEST_MONGO_SERVER=java or `opts.kind`,
 * mongo-java-server) is built if needed and started (`startMongo`). Either way the file gets a
 * database of its own, named `<prefix>_<pid>_<random>`.
 *
 * When that server cannot be had (no Go or Java to build it, say), the answer is `{ skip }` with a one-line
 * reason, but only outside CI: with the `CI` environment variable set it throws, so a CI run
 * never passes by skipping the MongoDB half of a suite.
 * @throws in CI when the server cannot be built or started.
 */
export async function mongoForTest(prefix: string, opts: MongoOptions = {}): Promise<TestMongo | NoTestMongo> {
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const given = process.env.CLOVER_TEST_MONGO_URL;
  if (given) {
    const databaseUrl = withDatabase(given, name);
    let dropped: Promise<void> | null = null;
    return {
      databaseUrl,
      server: 'CLOVER_TEST_MONGO_URL',
      cleanup: () => (dropped ??= dropDatabase(databaseUrl, name)),
    };
  }
  let server: MongoHandle;
  try {
    server = await startMongo(opts);
  } catch (err) {
    if (process.env.CI) throw err;
    return { skip: `no MongoDB wire server (set CLOVER_TEST_MONGO_URL or install Go): ${(err as Error).message.split('\n')[0]}` };
  }
  // Stopping the server removes its data (a directory, or memory): nothing to drop.
  return { databaseUrl: server.databaseUrl(name), server: server.server, cleanup: () => server.stop() };
}

/**
 * The URL with its database replaced by `name`, options kept. Not through `URL`: a replica set's
 * `mongodb://h1:27017,h2:27017/?replicaSet=rs0` names several hosts, which WHATWG URLs refuse.
 * (Connection string format: https://www.mongodb.com/docs/manual/reference/connection-string/)
 */
function withDatabase(url: string, name: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (!m) throw new Error(`CLOVER_TEST_MONGO_URL is not a MongoDB connection string: ${url}`);
  return `${m[1]}/${name}${m[2] ?? ''}`;
}

async function dropDatabase(url: string, name: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, connectTimeoutMS: 5000 });
  try {
    await within(
      async () => {
        await client.connect();
        await client.db().dropDatabase();
      },
      15_000,
      `dropping the test database ${name}`,
    );
  } finally {
    await client.close().catch(() => undefined);
  }
}
