import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { jobSchema } from '@clover/model';
import { tempDir } from '@clover/testkit';
import { hashRange, partitionOf } from '@clover/partitions';
import { openStore } from '../src/index.js';

test('a file from before the run-state columns: opened, its jobs keep their last run, status and counts', async () => {
  const dir = await tempDir('clover-migrate-');
  const file = path.join(dir.path, 'clover.db');
  // The jobs table as it was, with a job whose run state is only in its document.
  const job = jobSchema.parse({
    id: 'job_old',
    name: 'old',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'h' },
    createdAt: new Date(0),
    updatedAt: new Date(0),
    lastRunAt: new Date(5000),
    lastStatus: 'failed',
    nextRunAt: new Date(6000),
    runCount: 7,
    failureCount: 2,
  });
  const old = new Database(file);
  old.exec(`CREATE TABLE jobs (id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, grp TEXT NOT NULL,
    enabled INTEGER NOT NULL, created_at INTEGER NOT NULL, doc TEXT NOT NULL)`);
  old.prepare('INSERT INTO jobs VALUES (?, ?, ?, ?, 1, 0, ?)').run(job.id, job.name, job.description, job.group, JSON.stringify(job));
  old.close();
  const store = await openStore({ file });
  try {
    const read = (await store.jobs.get(job.id))!;
    assert.deepEqual(
      [read.lastRunAt?.getTime(), read.lastStatus, read.nextRunAt?.getTime(), read.runCount, read.failureCount],
      [5000, 'failed', 6000, 7, 2],
    );
    await store.jobs.recordRunState(job.id, { lastRunAt: new Date(7000), lastStatus: 'succeeded', runCountDelta: 1 });
    const after = (await store.jobs.get(job.id))!;
    assert.deepEqual([after.lastRunAt?.getTime(), after.lastStatus, after.runCount, after.failureCount], [7000, 'succeeded', 8, 2]);
    assert.equal((await store.jobs.listEnabled()).find((j) => j.id === job.id)?.runCount, 8);
    // It gets its hash too: the jobs of its partition find it.
    const { from } = hashRange(partitionOf(job.id, 1024), 1024);
    assert.deepEqual(
      (await store.jobs.listByHash({ ranges: [{ from, to: from + 2 ** 22 }] })).items.map((j) => j.id),
      [job.id],
    );
  } finally {
    await store.close();
  }
  // Opened again: the columns are there already, nothing is filled twice.
  const again = await openStore({ file });
  try {
    assert.equal((await again.jobs.get(job.id))?.runCount, 8);
  } finally {
    await again.close();
    await dir.cleanup();
  }
});

test('a file with the old run indexes: opened, they are replaced by the ones status changes do not move', async () => {
  const dir = await tempDir('clover-migrate-');
  const file = path.join(dir.path, 'clover.db');
  try {
    await (await openStore({ file })).close();
    const old = new Database(file);
    old.exec(`DROP INDEX runs_unsucceeded_time; DROP INDEX runs_node_time;
      CREATE INDEX runs_status_time ON runs (status, scheduled_at DESC, id DESC);
      CREATE INDEX runs_node_status ON runs (node, status);
      PRAGMA user_version = 0; -- a file from before carries no schema stamp`);
    old.close();
    const store = await openStore({ file });
    await store.close();
    const reopened = new Database(file, { readonly: true });
    const names = (reopened.prepare('PRAGMA index_list(runs)').all() as Array<{ name: string }>)
      .map((i) => i.name)
      .filter((n) => !n.startsWith('sqlite_'));
    reopened.close();
    assert.deepEqual(names.sort(), ['runs_job_time', 'runs_node_time', 'runs_time', 'runs_unsucceeded_time']);
  } finally {
    await dir.cleanup();
  }
});
