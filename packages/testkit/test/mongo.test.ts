import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoClient } from 'mongodb';
import { cleanUp, mongoForTest, startMongo, within, type MongoHandle, type TestMongo } from '../src/index.js';

// What a failed assertion leaves running is stopped here, whatever the outcome: newest first,
// so a database is dropped before the server under it stops.
const started: Array<{ cleanup(): Promise<void> } | MongoHandle> = [];
after(() => cleanUp(started.map((s, i) => [`server or database ${i}`, () => ('stop' in s ? s.stop() : s.cleanup())] as const).reverse()));

/** Runs `work` with these environment variables set (undefined: unset), then puts them back. */
async function withEnv<T>(vars: Record<string, string | undefined>, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = val;
    }
  };
  apply(vars);
  try {
    return await work();
  } finally {
    apply(saved);
  }
}

async function withClient<T>(url: string, work: (c: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
  try {
    return await within(
      async () => {
        await client.connect();
        return work(client);
      },
      15_000,
      `a MongoDB client at ${url}`,
    );
  } finally {
    await client.close().catch(() => undefined);
  }
}

function got(m: Awaited<ReturnType<typeof mongoForTest>>): TestMongo {
  if ('skip' in m) assert.fail(`no FerretDB here: ${m.skip}`);
  started.push(m);
  return m;
}

for (const [env, name] of [
  [undefined, 'FerretDB 1.24 (SQLite)'],
  ['java', 'mongo-java-server 1.47 (in memory)'],
] as const) {
  test(`mongoForTest on ${name} (CLOVER_TEST_MONGO_SERVER=${env ?? ''}): a database of its own that takes writes; cleanup stops the server, safe twice`, async () => {
    const a = got(await withEnv({ CLOVER_TEST_MONGO_URL: undefined, CLOVER_TEST_MONGO_SERVER: env }, () => mongoForTest('clover_kit')));
    assert.equal(a.server, name);
    assert.match(new URL(a.databaseUrl).pathname, new RegExp(`^/clover_kit_${process.pid}_[0-9a-f]{6}$`));
    await withClient(a.databaseUrl, async (c) => {
      await c.db().collection('probe').insertOne({ n: 1 });
      assert.equal(await c.db().collection('probe').countDocuments(), 1);
    });
    await a.cleanup();
    await a.cleanup();
    const answered = await withClient(a.databaseUrl, async (c) => c.db().command({ ping: 1 })).then(
      () => true,
      () => false,
    );
    assert.equal(answered, false, 'the server is gone');
  });
}

test('CLOVER_TEST_MONGO_SERVER names a server there is, else startMongo says which there are', async () => {
  await withEnv({ CLOVER_TEST_MONGO_SERVER: 'mongod' }, () =>
    assert.rejects(startMongo(), /CLOVER_TEST_MONGO_SERVER is mongod: it is ferretdb or java/),
  );
});

test('mongoForTest with CLOVER_TEST_MONGO_URL: that server, a fresh database per call, cleanup drops only its own', async () => {
  const server = await startMongo();
  started.push(server);
  const [one, two] = await withEnv({ CLOVER_TEST_MONGO_URL: server.url }, async () => [
    got(await mongoForTest('clover_kit')),
    got(await mongoForTest('clover_kit')),
  ]);
  assert.equal(one.server, 'CLOVER_TEST_MONGO_URL');
  assert.equal(new URL(one.databaseUrl).port, String(server.port));
  assert.notEqual(one.databaseUrl, two.databaseUrl);
  const names = (u: string) => new URL(u).pathname.slice(1);
  for (const m of [one, two]) await withClient(m.databaseUrl, (c) => c.db().collection('probe').insertOne({ n: 1 }));
  await one.cleanup();
  const left = await withClient(server.url, async (c) => (await c.db().admin().listDatabases()).databases.map((d) => d.name));
  assert.ok(!left.includes(names(one.databaseUrl)), `dropped: ${left.join(', ')}`);
  assert.ok(left.includes(names(two.databaseUrl)), "the other file's database stays");
});

test('no server to be had: outside CI a one-line skip saying why, in CI an error', async () => {
  const broken = { CLOVER_TEST_MONGO_URL: undefined, CLOVER_FERRETDB_BIN: '/nonexistent/clover-ferretdb' };
  const outside = await withEnv({ ...broken, CI: undefined }, () => mongoForTest('clover_kit', { startTimeoutMs: 5000 }));
  assert.ok('skip' in outside, 'skipped');
  assert.match(outside.skip, /^no MongoDB wire server/);
  assert.doesNotMatch(outside.skip, /\n/, 'one line');
  await assert.rejects(withEnv({ ...broken, CI: 'true' }, () => mongoForTest('clover_kit', { startTimeoutMs: 5000 })));
});

test("mongoForTest keeps the hosts and options of CLOVER_TEST_MONGO_URL, a replica set's several hosts too", async () => {
  const urls = await withEnv(
    { CLOVER_TEST_MONGO_URL: 'mongodb://db1:27017,db2:27017/admin?replicaSet=rs0' },
    async () => got(await mongoForTest('clover_kit')).databaseUrl,
  );
  assert.match(urls, new RegExp(`^mongodb://db1:27017,db2:27017/clover_kit_${process.pid}_[0-9a-f]{6}\\?replicaSet=rs0$`));
  started.pop(); // nothing was created on those hosts: nothing to drop
  await withEnv({ CLOVER_TEST_MONGO_URL: 'http://nope' }, () =>
    assert.rejects(mongoForTest('clover_kit'), /not a MongoDB connection string/),
  );
});
