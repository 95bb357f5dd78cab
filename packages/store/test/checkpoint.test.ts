import { statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir, waitFor } from '@clover/testkit';
import { openStore } from '../src/index.js';

test('embedded store with backgroundCheckpoint: the write-ahead log reaches the database file without the writer checkpointing', async () => {
  const dir = await tempDir('clover-checkpoint-');
  const file = path.join(dir.path, 'clover.db');
  const size = () => statSync(file).size;
  const store = await openStore({ file, backgroundCheckpoint: true });
  try {
    const before = size();
    const job = await store.jobs.create({
      name: 'cp',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'h' },
    } as never);
    const t0 = Date.UTC(2026, 0, 1);
    await store.runs.insertMany(
      Array.from({ length: 3000 }, (_, i) => ({
        id: `${job.id}@${i}`,
        jobId: job.id,
        scheduledAt: new Date(t0 + i * 1000),
        status: 'succeeded' as const,
      })),
    );
    // A few hundred pages: far below the writer's own checkpoint threshold (10,000), so only the
    // worker can have copied them into the file.
    await waitFor(() => size() > before + 100_000, { timeoutMs: 5000, message: 'pages checkpointed into the database file' });
    assert.equal((await store.runs.list({ jobId: job.id, limit: 5 })).items.length, 5);
  } finally {
    await store.close();
  }
  // Closed cleanly: the file opens again with everything in it.
  const again = await openStore({ file });
  try {
    assert.equal((await again.runs.list({ limit: 1000 })).items.length, 1000);
  } finally {
    await again.close();
    await dir.cleanup();
  }
});

test('embedded store without it: a few hundred pages stay in the log (only a commit past 1,000 pages checkpoints)', async () => {
  const dir = await tempDir('clover-checkpoint-');
  const file = path.join(dir.path, 'clover.db');
  const store = await openStore({ file });
  try {
    const before = statSync(file).size;
    const job = await store.jobs.create({
      name: 'cp',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'h' },
    } as never);
    await store.runs.insertMany(
      Array.from({ length: 3000 }, (_, i) => ({
        id: `${job.id}@${i}`,
        jobId: job.id,
        scheduledAt: new Date(i * 1000),
        status: 'succeeded' as const,
      })),
    );
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(statSync(file).size, before, 'still all in the log');
  } finally {
    await store.close();
    await dir.cleanup();
  }
});
