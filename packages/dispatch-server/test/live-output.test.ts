import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openStore, type Store } from '@clover/store';
import { recordingLogger } from '@clover/telemetry';
import { tempDir, waitFor } from '@clover/testkit';
import { LiveOutputs, type FlightOfExec } from '../src/live-output.js';

/** A real embedded store in a temp directory, closed and removed when `fn` ends, however it ends. */
async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const store = await openStore({ file: path.join(dir.path, 'clover.db') });
  try {
    await fn(store);
  } finally {
    await store.close();
    await dir.cleanup();
  }
}

const flight: FlightOfExec = { runId: 'job_a@2026-11-30T22:00:00.000Z', jobId: 'job_a', agentId: 'agent-1' };
const execId = flight.runId;

test("a running execution's chunks reach the store, in order, bounded, written at most every writeEveryMs", async () => {
  await withStore(async (store) => {
    const writes: number[] = [];
    const counting = {
      liveOutputs: {
        get: store.liveOutputs.get.bind(store.liveOutputs),
        put: (o: Parameters<Store['liveOutputs']['put']>[0]) => (writes.push(Date.now()), store.liveOutputs.put(o)),
      },
    };
    const outputs = new LiveOutputs({
      store: counting,
      flightOf: (id) => (id === execId ? flight : undefined),
      logger: recordingLogger(),
      clock: Date.now,
      maxBytes: 100,
      writeEveryMs: 200,
    });
    try {
      for (let i = 1; i <= 30; i++) outputs.onOutput('agent-1', { execId, seq: i, chunk: `line${i}\n` });
      // A repeat of an earlier frame changes nothing.
      outputs.onOutput('agent-1', { execId, seq: 3, chunk: 'repeated\n' });
      const stored = await waitFor(async () =>
        (await store.liveOutputs.get(flight.runId))?.text.endsWith('line30\n') ? store.liveOutputs.get(flight.runId) : null,
      );
      assert.ok(Buffer.byteLength(stored.text) <= 100, 'the tail is bounded');
      assert.ok(!stored.text.includes('repeated'));
      const all = Array.from({ length: 30 }, (_, i) => `line${i + 1}\n`).join('');
      assert.equal(stored.end, all.length, 'end counts every character seen');
      assert.ok(all.endsWith(stored.text));
      assert.deepEqual([stored.jobId, stored.execId], [flight.jobId, execId]);
      assert.ok(writes.length <= 2, `30 chunks at once: ${writes.length} writes`);
    } finally {
      await outputs.close();
    }
  });
});

test('OUTPUT for an execution not in flight here, or from an agent it was not sent to, is dropped and logged', async () => {
  await withStore(async (store) => {
    const logger = recordingLogger();
    const outputs = new LiveOutputs({ store, flightOf: (id) => (id === execId ? flight : undefined), logger, clock: Date.now });
    try {
      outputs.onOutput('agent-1', { execId: 'job_b@2026-11-30T22:00:00.000Z', seq: 1, chunk: 'x' });
      outputs.onOutput('agent-2', { execId, seq: 1, chunk: 'y' });
      assert.deepEqual(logger.messages('warn'), ['dropped an OUTPUT frame', 'dropped an OUTPUT frame']);
      assert.equal(outputs.size, 0);
    } finally {
      await outputs.close();
    }
    assert.equal(await store.liveOutputs.get(flight.runId), null);
    assert.equal(await store.liveOutputs.get('job_b@2026-11-30T22:00:00.000Z'), null);
  });
});

test("a new leader continues the output an earlier leader wrote for the same execution, and starts a retry's afresh", async () => {
  await withStore(async (store) => {
    const first = new LiveOutputs({ store, flightOf: () => flight, logger: recordingLogger(), clock: Date.now });
    first.onOutput('agent-1', { execId, seq: 1, chunk: 'before\n' });
    await first.close();
    assert.equal((await store.liveOutputs.get(flight.runId))?.text, 'before\n', 'close writes what was not written yet');
    const second = new LiveOutputs({ store, flightOf: () => flight, logger: recordingLogger(), clock: Date.now });
    try {
      second.onOutput('agent-1', { execId, seq: 2, chunk: 'after\n' });
      const continued = await waitFor(async () =>
        (await store.liveOutputs.get(flight.runId))?.text.includes('after') ? store.liveOutputs.get(flight.runId) : null,
      );
      assert.deepEqual([continued.text, continued.end], ['before\nafter\n', 13]);
      second.onOutput('agent-1', { execId: `${execId}~2`, seq: 1, chunk: 'retry\n' });
      const retried = await waitFor(async () =>
        (await store.liveOutputs.get(flight.runId))?.execId.endsWith('~2') ? store.liveOutputs.get(flight.runId) : null,
      );
      assert.deepEqual([retried.text, retried.end], ['retry\n', 6]);
    } finally {
      await second.close();
    }
  });
});
