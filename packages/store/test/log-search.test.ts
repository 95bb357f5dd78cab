import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import mongoose from 'mongoose';
import { jobInputSchema } from '@clover/model';
import { cleanUp, followCursor, mongoForTest, tempDir, type CleanupStep, type TempDir, type TestMongo } from '@clover/testkit';
import { openStore, type LogRepository, type Store } from '../src/index.js';
import { mongoLogs } from '../src/mongo/logs.js';
import { defineModels } from '../src/mongo/models.js';
import { SqliteLogs } from '../src/sqlite/logs.js';
import { migrate } from '../src/sqlite/schema.js';

/** What each backend does beyond the contract suite's search cases: its index is used, kept in step, and filled for old entries. */
const spec = (name: string) =>
  jobInputSchema.parse({ name, schedule: { type: 'cron', expr: '0 * * * * *' }, kind: { type: 'handler', name: 'noop' } });

/** The entry a file or database from before the index holds, as that release wrote it. */
const oldEntry = { level: 'error', source: 'dispatch-server', node: 'n1', message: 'run failed' };

describe('log search, embedded store', () => {
  let dir: TempDir;
  const opened: CleanupStep[] = [];
  before(async () => {
    dir = await tempDir('clover-log-search-');
    opened.push(['dir', () => dir.cleanup()]);
  });
  after(() => cleanUp(opened));

  test('a search reads the word index and only the matching rows of logs, whatever the filters', async () => {
    const db = new Database(path.join(dir.path, 'plan.db'));
    try {
      migrate(db);
      const logs = new SqliteLogs(db);
      await logs.write([
        { time: new Date(), level: 'warn', source: 'dispatch-server', message: 'run failed', context: { error: 'ENOENT' } },
      ]);
      const queries = [
        { q: 'enoent' },
        { q: 'dispatch failed', level: 'warn' as const },
        { q: 'run', source: 'dispatch', node: 'n1', from: new Date(0), to: new Date(), cursor: null },
      ];
      for (const query of queries) {
        const { sql, params } = logs.select(query, logs.termsOf(query.q), 51);
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as Array<{ detail: string }>).map((p) => p.detail);
        assert.ok(
          plan.some((d) => d.startsWith('SCAN logs_words VIRTUAL TABLE')),
          `${JSON.stringify(query)}: the FTS table leads: ${plan.join(' | ')}`,
        );
        assert.ok(
          plan.some((d) => d.startsWith('SEARCH logs USING INTEGER PRIMARY KEY')),
          `${JSON.stringify(query)}: logs by rowid: ${plan.join(' | ')}`,
        );
        assert.ok(!plan.some((d) => /^SCAN logs\b(?!_words)/.test(d)), `${JSON.stringify(query)}: no scan of logs: ${plan.join(' | ')}`);
      }
      assert.equal((await logs.list({ q: 'enoent' })).items.length, 1);
    } finally {
      db.close();
    }
  });

  test('a deleted entry leaves the index: a row that takes its rowid is not found by its words', async () => {
    const store = await openStore({ file: path.join(dir.path, 'sweep.db') });
    try {
      const now = Date.now();
      await store.logs.write([{ time: new Date(now - 1000), level: 'info', source: 'sweep', message: 'stale words' }]);
      assert.equal(await store.logs.deleteOlderThan(new Date(now)), 1);
      // SQLite gives a new row the largest rowid + 1: the deleted row's, here.
      await store.logs.write([{ time: new Date(now), level: 'info', source: 'sweep', message: 'fresh' }]);
      assert.deepEqual((await store.logs.list({ q: 'stale' })).items, []);
      assert.deepEqual(
        (await store.logs.list({ q: 'fresh' })).items.map((l) => l.message),
        ['fresh'],
      );
    } finally {
      await store.close();
    }
  });

  test('a file from before the index: opened, its entries are found by their words and job names', async () => {
    const file = path.join(dir.path, 'old.db');
    const seed = await openStore({ file });
    let jobId: string;
    try {
      jobId = (await seed.jobs.create(spec('nightly backup'))).id;
    } finally {
      await seed.close();
    }
    // The logs table as it was: without the index, one entry in it.
    const old = new Database(file);
    // A file from before carries no schema stamp (user_version 0).
    old.exec('DROP TRIGGER logs_words_delete; DROP TABLE logs_words; PRAGMA user_version = 0;');
    old
      .prepare('INSERT INTO logs (id, time, level, level_rank, source, node, message, context) VALUES (?, ?, ?, 3, ?, ?, ?, ?)')
      .run(
        'log_old',
        Date.now(),
        oldEntry.level,
        oldEntry.source,
        oldEntry.node,
        oldEntry.message,
        JSON.stringify({ jobId, error: 'ENOENT' }),
      );
    old.close();
    const store = await openStore({ file });
    try {
      for (const q of ['enoent', 'nightly', 'disp']) {
        assert.deepEqual(
          (await store.logs.list({ q })).items.map((l) => l.id),
          ['log_old'],
          q,
        );
      }
    } finally {
      await store.close();
    }
  });
});

describe('log search, MongoDB', () => {
  let mongo: TestMongo | { skip: string };
  const opened: CleanupStep[] = [];
  before(async () => {
    const server = await mongoForTest('clover_log_search');
    mongo = server;
    if ('cleanup' in server) opened.push(['mongo', () => server.cleanup()]);
  });
  after(() => cleanUp(opened));

  const withStore = async (fn: (store: Store, url: string) => Promise<void>, t: { skip(why: string): void }) => {
    if ('skip' in mongo) {
      t.skip(mongo.skip);
      return;
    }
    const store = await openStore({ mongoUrl: mongo.databaseUrl });
    try {
      await fn(store, mongo.databaseUrl);
    } finally {
      await store.close();
    }
  };

  test('entries have their words under a multikey index; MongoDB reads it (IXSCAN), FerretDB 1.x scans', async (t) => {
    await withStore(async (store, url) => {
      await store.logs.write([
        { time: new Date(), level: 'warn', source: 'dispatch-server', message: 'run failed', context: { error: 'ENOENT' } },
      ]);
      const conn = await mongoose.createConnection(url).asPromise();
      try {
        const logs = conn.db!.collection('logs');
        const doc = await logs.findOne({ message: 'run failed' });
        assert.deepEqual(doc?.words, ['run', 'failed', 'dispatch', 'server', 'enoent']);
        const indexes = await logs.indexes();
        assert.ok(
          indexes.some((i) => JSON.stringify(i.key) === JSON.stringify({ words: 1, time: -1 })),
          JSON.stringify(indexes.map((i) => i.key)),
        );
        const plan = JSON.stringify(
          await logs
            .find({ $and: [{ words: { $regex: '^enoent' } }] })
            .sort({ time: -1, _id: -1 })
            .limit(51)
            .explain(),
        );
        if (plan.includes('ferretdbVersion')) {
          // FerretDB 1.24 on SQLite pushes no filter to an index: say so, and check it is still that.
          assert.match(plan, /"filterPushdown":false/);
          t.diagnostic(`FerretDB explain: ${plan.slice(0, 300)}`);
        } else {
          assert.match(plan, /IXSCAN/);
          assert.match(plan, /words_1_time_-1/);
        }
      } finally {
        await conn.close();
      }
    }, t);
  });

  test('the newest-rows probe and the words index answer alike (the store on FerretDB uses the index only)', async (t) => {
    await withStore(async (store, url) => {
      const job = await store.jobs.create(spec('hourly digest'));
      const t0 = Date.now() + 3600_000;
      await store.logs.write(
        Array.from({ length: 30 }, (_, i) => ({
          time: new Date(t0 + i * 1000),
          level: i % 3 ? ('info' as const) : ('error' as const),
          source: i % 2 ? 'dispatch-server' : 'monitor',
          message: `probe line ${i}`,
          context: i % 5 ? {} : { jobId: job.id },
        })),
      );
      const conn = await mongoose.createConnection(url).asPromise();
      try {
        const m = defineModels(conn, { runsSec: 60, logsSec: 60, ttl: false });
        const probing = mongoLogs(m, 1000);
        const indexed = mongoLogs(m, 0);
        const queries = [{ q: 'probe dispatch' }, { q: 'hourly' }, { q: 'digest line', level: 'error' as const }, { q: 'zzqx' }];
        for (const query of queries) {
          const all = async (logs: LogRepository) =>
            (await followCursor((cursor) => logs.list({ ...query, limit: 4, ...(cursor ? { cursor } : {}) }))).flatMap((p) =>
              p.items.map((l) => l.message),
            );
          const byProbe = await all(probing);
          assert.deepEqual(byProbe, await all(indexed), JSON.stringify(query));
          assert.deepEqual(byProbe, await all(store.logs), JSON.stringify(query));
        }
        assert.equal((await probing.list({ q: 'hourly' })).items.length, 6, 'entries 0, 5, ... 25 name the job');
      } finally {
        await conn.close();
      }
    }, t);
  });

  test('entries from before the words field: the store fills them at open and finds them by words and job names', async (t) => {
    await withStore(async (store, url) => {
      const jobId = (await store.jobs.create(spec('weekly report'))).id;
      await store.close();
      const conn = await mongoose.createConnection(url).asPromise();
      try {
        // More than one write command's worth (chunks.ts: 50), as a release before the field left them.
        await conn.db!.collection('logs').insertMany(
          Array.from({ length: 120 }, (_, i) => ({
            _id: (i ? `log_old${i}` : 'log_old') as never,
            time: new Date(Date.now() - (i + 1) * 1000),
            levelRank: 3,
            ...oldEntry,
            context: i ? { n: i } : { jobId, error: 'EACCES' },
            text: JSON.stringify(i ? { n: i } : { jobId, error: 'EACCES' }),
          })),
        );
      } finally {
        await conn.close();
      }
      const reopened = await openStore({ mongoUrl: url });
      try {
        assert.equal((await reopened.logs.list({ q: 'run failed', limit: 500 })).items.length, 120 + 1, 'every old entry has its words');
        for (const q of ['eacces', 'weekly', 'eacces disp']) {
          assert.deepEqual(
            (await reopened.logs.list({ q })).items.map((l) => l.id),
            ['log_old'],
            q,
          );
        }
      } finally {
        await reopened.close();
      }
    }, t);
  });
});
