import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import mongoose from 'mongoose';
import { cleanUp, mongoForTest, tempDir, waitFor, type CleanupStep, type TempDir, type TestMongo } from '@clover/testkit';
import { jobInputSchema, runId } from '@clover/model';
import { openStore, type Store } from '../src/index.js';
import { defineModels } from '../src/mongo/models.js';

const day = 24 * 3600_000;

/** Old runs and logs go without anyone calling sweep(): the store's own timer, or MongoDB's TTL monitor. */
async function expiresOnItsOwn(store: Store): Promise<void> {
  const job = await store.jobs.create(
    jobInputSchema.parse({ name: 'old', schedule: { type: 'cron', expr: '0 * * * * *' }, kind: { type: 'handler', name: 'noop' } }),
  );
  const now = Date.now();
  const old = await store.runs.insert({
    id: runId(job.id, new Date(now - 3 * day)),
    jobId: job.id,
    scheduledAt: new Date(now - 3 * day),
    status: 'succeeded',
  });
  const fresh = await store.runs.insert({
    id: runId(job.id, new Date(now)),
    jobId: job.id,
    scheduledAt: new Date(now),
    status: 'succeeded',
  });
  await store.logs.write([
    { time: new Date(now - 3 * day), level: 'error', source: 'retention', message: 'old' },
    { time: new Date(now), level: 'error', source: 'retention', message: 'new' },
  ]);
  await waitFor(async () => (await store.runs.get(old.id)) === null, {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: 'the expired run to be swept',
  });
  await waitFor(async () => (await store.logs.list({ source: 'retention' })).items.length === 1, {
    timeoutMs: 20_000,
    intervalMs: 100,
    message: 'the expired log to be swept',
  });
  assert.ok(await store.runs.get(fresh.id), 'a run within retention stays');
}

describe('retention', () => {
  let dir: TempDir;
  let mongo: TestMongo | { skip: string };
  /** What before() brought up: after() takes down that and only that. */
  const opened: CleanupStep[] = [];
  before(async () => {
    dir = await tempDir('clover-retention-');
    opened.push(['dir', () => dir.cleanup()]);
    const server = await mongoForTest('clover_retention');
    mongo = server;
    if ('cleanup' in server) opened.push(['mongo', () => server.cleanup()]);
  });
  after(() => cleanUp(opened));

  test('embedded: the store sweeps expired runs and logs on its own timer', async () => {
    const store = await openStore({
      file: path.join(dir.path, 'clover.db'),
      runRetentionMs: day,
      logRetentionMs: day,
      sweepIntervalMs: 200,
    });
    try {
      await expiresOnItsOwn(store);
    } finally {
      await store.close();
    }
  });

  test('MongoDB wire server without TTL indexes (FerretDB): buildInfo says so and the store sweeps on its own timer', async (t) => {
    if ('skip' in mongo) {
      t.skip(mongo.skip);
      return;
    }
    const store = await openStore({ mongoUrl: mongo.databaseUrl, runRetentionMs: day, logRetentionMs: day, sweepIntervalMs: 200 });
    try {
      if (store.server.startsWith('MongoDB')) {
        t.skip(`${store.server} has TTL indexes; the next test covers that path`);
        return;
      }
      assert.match(store.server, /^FerretDB /);
      await expiresOnItsOwn(store);
    } finally {
      await store.close();
    }
  });

  test('MongoDB with TTL indexes: runs, counters, logs and sessions expire by TTL index; without, the same keys are plain indexes', () => {
    const conn = mongoose.createConnection();
    try {
      const ttl = (models: ReturnType<typeof defineModels>) =>
        Object.fromEntries(
          (['runs', 'counters', 'logs', 'sessions'] as const).map((k) => [
            k,
            models[k].schema
              .indexes()
              .filter(([, o]) => o.expireAfterSeconds !== undefined)
              .map(([f, o]) => [Object.keys(f)[0], o.expireAfterSeconds]),
          ]),
        );
      assert.deepEqual(ttl(defineModels(conn, { runsSec: 86_400, logsSec: 3_600, ttl: true })), {
        runs: [['scheduledAt', 86_400]],
        counters: [['hour', 90_000]],
        logs: [['time', 3_600]],
        sessions: [['expiresAt', 0]],
      });
      const plain = mongoose.createConnection();
      const without = defineModels(plain, { runsSec: 86_400, logsSec: 3_600, ttl: false });
      assert.deepEqual(ttl(without), { runs: [], counters: [], logs: [], sessions: [] });
      assert.ok(
        without.runs.schema.indexes().some(([f]) => Object.keys(f).join() === 'scheduledAt'),
        'the sweep still finds old runs by index',
      );
      void plain.close();
    } finally {
      void conn.close();
    }
  });
});
