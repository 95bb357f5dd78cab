import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openStore } from '@clover/store';
import { tempDir, waitFor } from '@clover/testkit';
import { createLogger } from '../src/index.js';

test('JSON lines in a daily file; warn and above in the store; child bindings', async () => {
  const dir = await tempDir('clover-log-');
  const store = await openStore({ dataDir: dir.path });
  try {
    const logger = createLogger({ service: 'monitor', node: 'm1', logDir: path.join(dir.path, 'logs'), store, console: false });
    logger.info('started', { port: 1 });
    const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    logger.child({ jobId: 'j1' }).error('job failed', { code: 3, err: new Error('could not record', { cause }) });
    logger.debug('not at info level');
    await logger.close();
    const files = readdirSync(path.join(dir.path, 'logs')).filter((f) => f.endsWith('.log'));
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^monitor-\d{4}-\d{2}-\d{2}\.log$/);
    // close resolves once the lines are in the file: read it at once, no waiting.
    const lines = readFileSync(path.join(dir.path, 'logs', files[0]!), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => l.message),
      ['started', 'job failed'],
    );
    assert.equal(lines[1]!.jobId, 'j1');
    assert.equal(lines[1]!.level, 'error');
    // The error as an object with its stack and cause, not "Error: could not record" nor {}.
    const err = lines[1]!.err as { message: string; stack: string; cause: { code: string; stack: string } };
    assert.equal(err.message, 'could not record');
    assert.match(err.stack, /logging\.test\.ts/);
    assert.equal(err.cause.code, 'ECONNREFUSED');
    assert.match(err.cause.stack, /ECONNREFUSED/);
    const stored = await waitFor(async () => {
      const p = await store.logs.list({ source: 'monitor' });
      return p.items.length ? p.items : undefined;
    });
    assert.deepEqual(
      stored.map((e) => [e.level, e.message, e.node, e.context.jobId]),
      [['error', 'job failed', 'm1', 'j1']],
    );
  } finally {
    await store.close();
    await dir.cleanup();
  }
});

test('a failing store never throws into the caller', async () => {
  const broken = {
    logs: {
      write: () => Promise.reject(new Error('disk on fire')),
    },
  } as never;
  const logger = createLogger({ service: 'x', store: broken, console: false });
  logger.error('one');
  logger.warn('two');
  await logger.close();
});
