import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DealerTransport, type Message } from '@clover/protocol';
import { recordingLogger } from '@clover/telemetry';
import { waitFor } from '@clover/testkit';
import { paths, sayHello, startCluster, type Cluster } from './harness.js';

// "Oversized answers", the server's side: a RESULT that fails validation but names a run the
// server knows still ends that run, failed, at once, saying what was wrong with the answer.
let c: Cluster;
// What before() got as far as opening, for after() to close: unset where it failed first.
let opened: Cluster | undefined;
const logger = recordingLogger();
before(async () => {
  c = opened = await startCluster('bad-result', { logger });
});
after(async () => {
  await opened?.close();
});

test('a RESULT with a 5,000-character error ends its run failed at once, naming the violation, not timed_out at its deadline', async () => {
  const id = 'raw-agent';
  const zk = await c.zk();
  await zk.ensurePath(paths.nodesOf('clients'));
  await zk.create(paths.node('clients', id), { id, beatAt: Date.now(), seq: 1 }, 'ephemeral');
  const longError = `Error: ${'x'.repeat(4993)}`;
  const t: DealerTransport = new DealerTransport({
    id,
    onMessage: (m: Message) => {
      if (m.type !== 'EXEC') return;
      const startedAt = Date.now();
      void t.send({ type: 'ACK', body: { execId: m.body.execId, accepted: true, startedAt } });
      // What an agent without bounds on its fields sends for a handler that threw a long message.
      void t.send({
        type: 'RESULT',
        body: {
          execId: m.body.execId,
          status: 'failed',
          exitCode: null,
          startedAt,
          finishedAt: Date.now(),
          outputTail: '',
          error: longError,
        },
      });
    },
  });
  t.connect(c.endpoint);
  try {
    await sayHello(t, id, 'raw');
    const job = await c.createJob({
      name: 'long-error',
      schedule: { type: 'once', at: new Date(Date.now() + 300) },
      kind: { type: 'handler', name: 'raw' },
      timeoutMs: 60_000,
      deleteWhenDone: false,
    });
    // Its deadline is 60 s away: before the fix it sat dispatched until then and ended timed_out.
    const run = await waitFor(
      async () => (await c.runsOf(job.id)).find((r) => !['scheduled', 'waiting', 'dispatched', 'running'].includes(r.status)),
      { message: 'the run over' },
    );
    assert.equal(run.status, 'failed');
    assert.equal(run.node, id);
    assert.match(run.error ?? '', /^the agent's RESULT was refused: RESULT body for \S+ does not match its schema: error: .*4096/);
    assert.match(run.error ?? '', /the agent's error began: Error: x{100}/);
    assert.ok((run.error ?? '').length < 2000, 'the recorded error is bounded');
    // A failed run is logged at error, so the Logs page's "error" filter finds it (docs/deploy.md, Log levels).
    const line = await waitFor(() => logger.records.find((r) => r.message === 'run failed' && r.fields.runId === run.id), {
      message: 'the run failed line',
    });
    assert.equal(line.level, 'error');
  } finally {
    await t.close();
    await zk.delete(paths.node('clients', id)).catch(() => undefined);
  }
});
