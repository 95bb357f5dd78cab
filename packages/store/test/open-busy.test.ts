import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawnProcess, tempDir } from '@clover/testkit';
import { openStore } from '../src/index.js';
import { schemaVersion } from '../src/sqlite/open.js';

const holder = fileURLToPath(new URL('fixtures/hold-write-lock.ts', import.meta.url));

/** Another process holding the file's write lock for `holdMs`, from when this resolves. */
async function holdWriteLock(file: string, holdMs: number) {
  const child = spawnProcess(process.execPath, ['--import', 'tsx', holder], {
    name: 'lock-holder',
    env: { DB_FILE: file, HOLD_MS: String(holdMs) },
  });
  await child.waitForOutput(/locked/, 30_000);
  return child;
}

// The bench of 12-01: a dispatch-server joining three busy ones on one file exited at start,
// "database is locked": opening took the write lock to run the (idempotent) migration, and waited
// only SQLite's 5-s busy timeout for it.
test('a store opens while another process holds the write lock: a migrated file without a write, a new one once the lock is free', async () => {
  const dir = await tempDir('clover-open-busy-');
  try {
    const file = path.join(dir.path, 'clover.db');
    await (await openStore({ file })).close();
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('user_version', { simple: true }), schemaVersion, 'the schema is stamped in the file');
    raw.close();

    // Held past the busy timeout (5 s): the stamped file opens at once, and reads.
    const busy = await holdWriteLock(file, 8_000);
    try {
      const store = await openStore({ file });
      assert.doesNotMatch(busy.output(), /released/, 'opened while the lock was held');
      assert.equal((await store.jobs.counts()).total, 0);
      await store.close();
    } finally {
      await busy.waitForExit(30_000);
    }

    // A file not yet migrated waits for the lock rather than failing at the busy timeout.
    const fresh = path.join(dir.path, 'fresh.db');
    const blocker = await holdWriteLock(fresh, 7_000);
    try {
      // Before: "database is locked" after the 5-s busy timeout.
      const store = await openStore({ file: fresh });
      assert.equal((await store.jobs.counts()).total, 0);
      await store.close();
    } finally {
      await blocker.waitForExit(30_000);
    }
  } finally {
    await dir.cleanup();
  }
});
