import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as zmq from 'zeromq';
import { CleanupStack } from '@clover/lifecycle';
import { freePort, spawnProcess, startZooKeeper, tempDir, waitFor, within, type ChildHandle } from '@clover/testkit';
import { LeaderElection, cloverPaths, createZkClient } from '@clover/zk-kit';
import { decodeAll, encode, type Message } from '@clover/protocol';
import { ConsoleSession } from '../lib/api.js';
import { startStandalone } from '../lib/standalone.js';

// The built bins under a barrage of 10,000 random and mutated ZeroMQ messages each (issue 16,
// Fuzzing): a dispatch-server's ROUTER (in `clover standalone`) and an agent's DEALER (the
// scheduler-client bin, following a leader that is this test's own ROUTER). Both keep running, log
// the drops in a few lines (rate-limited), and run real work afterwards. The codec's own
// properties and the transports' exact drop counts are in packages/protocol/test/fuzz-*.test.ts.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (pkg: string) => path.join(repoRoot, 'packages', pkg, 'dist/bin.js');
const BARRAGE = Number(process.env.FUZZ_FRAMES ?? 10_000);
const opened = new CleanupStack();
after(() => opened.close());

const valid: Message[] = [
  { type: 'PING', body: { nonce: 'n', sentAt: 1 } },
  { type: 'START', body: { execId: 'job@1', startedAt: 1 } },
  {
    type: 'RESULT',
    body: { execId: 'job@1', status: 'failed', exitCode: 1, startedAt: 1, finishedAt: 2, outputTail: '', error: 'x' },
  },
  { type: 'CANCEL', body: { execId: 'job@1', reason: 'requested' } },
];
/** Random frames, or a valid message with a byte flipped, a frame cut or one dropped: one to six frames. */
const garbage = fc.oneof(
  fc.array(
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    { minLength: 1, maxLength: 6 },
  ),
  fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.nat(), fc.nat({ max: 2 })).map(([msg, frame, at, how]) => {
    const frames = encode(msg).map((f) => Buffer.from(f));
    const i = frame % frames.length;
    const target = frames[i] ?? Buffer.alloc(0);
    if (how === 0 && target.length > 0) target[at % target.length] = (target[at % target.length] ?? 0) ^ 0x5a;
    else if (how === 1) frames[i] = target.subarray(0, at % (target.length + 1));
    else frames.splice(i, 1);
    return frames;
  }),
);
/** The barrage, the same every run (fixed seed); only what the codec refuses, so no valid PING or CANCEL acts. */
const barrage = (): Buffer[][] =>
  fc
    .sample(garbage, { numRuns: BARRAGE * 2, seed: 16 })
    .filter((frames) => {
      try {
        return decodeAll(frames).messages.length === 0;
      } catch {
        return true;
      }
    })
    .slice(0, BARRAGE);

/** Lines of `child`'s output that log a drop one by one, the summary lines, and the drops those count. */
function dropLines(child: ChildHandle, message: string): { alone: number; summaries: number; summarized: number } {
  const lines = child.output().split('\n');
  const summaries = lines.map((l) => new RegExp(`${message}: (\\d+) more not logged one by one`).exec(l)).filter((m) => m !== null);
  return {
    alone: lines.filter((l) => l.includes(message) && !l.includes('more not logged one by one')).length,
    summaries: summaries.length,
    summarized: summaries.reduce((n, m) => n + Number(m[1]), 0),
  };
}

test(`an agent process takes ${BARRAGE} bad messages from its leader, keeps running and runs the next EXEC`, async () => {
  const zk = await startZooKeeper();
  opened.push('ZooKeeper', () => zk.cleanup());
  const dir = await tempDir('clover-wire-fuzz-');
  opened.push('temp dir', () => dir.cleanup());
  const paths = cloverPaths('/clover');
  const leaderZk = createZkClient({ connect: zk.connectString, sessionTimeoutMs: 10_000 });
  opened.push('leader zk', () => leaderZk.close());
  await within(leaderZk.connect(), 20_000, 'the leader ZooKeeper session');

  // This test is the dispatch leader: a raw ROUTER, elected the way a dispatch-server is.
  const router = new zmq.Router({ linger: 0, mandatory: true });
  opened.push('raw router', () => router.close());
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  await router.bind(endpoint);
  const election = new LeaderElection(leaderZk, { path: paths.electionDispatch, id: 'fake-leader', data: { endpoint } });
  opened.push('election', () => election.close());
  await election.start();

  const agent = spawnProcess(process.execPath, [bin('scheduler-client')], {
    name: 'agent',
    cwd: repoRoot,
    env: {
      CLOVER_ZK: zk.connectString,
      CLOVER_NODE_ID: 'agent-fuzzed',
      CLOVER_DATA_DIR: dir.path,
      CLOVER_HEARTBEAT_MS: '500',
      CLOVER_METRICS_PORT: '0',
    },
  });
  opened.push('agent', () => agent.kill('SIGKILL'));
  const inbox: Message[] = [];
  const reading = (async () => {
    for await (const [, ...frames] of router) {
      try {
        inbox.push(...decodeAll(frames).messages);
      } catch {
        // the agent sends nothing malformed; a stray frame is not this test's subject
      }
    }
  })();
  opened.push('router loop', () => reading.catch(() => undefined));
  await waitFor(() => inbox.some((m) => m.type === 'HELLO'), { timeoutMs: 60_000, message: "the agent's HELLO" });

  const to = Buffer.from('agent-fuzzed');
  for (const frames of barrage()) await router.send([to, ...frames]);
  // The agent answers a PING after the barrage: it has read everything before it.
  await router.send([to, ...encode({ type: 'PING', body: { nonce: 'after', sentAt: Date.now() } })]);
  await waitFor(() => inbox.some((m) => m.type === 'PONG' && m.body.nonce === 'after'), {
    timeoutMs: 120_000,
    message: 'the PONG after the barrage',
  });

  const now = Date.now();
  const exec: Message = {
    type: 'EXEC',
    body: {
      execId: 'fuzz-job@1',
      jobId: 'fuzz-job',
      jobName: 'fuzz-job',
      attempt: 1,
      kind: { type: 'handler', name: 'echo' },
      payload: { after: 'the barrage' },
      timeoutMs: 10_000,
      deadline: now + 10_000,
      scheduledAt: now,
    },
  };
  await router.send([to, ...encode(exec)]);
  const result = await waitFor(() => inbox.find((m) => m.type === 'RESULT' && m.body.execId === 'fuzz-job@1'), {
    timeoutMs: 30_000,
    message: 'the RESULT of the EXEC after the barrage',
  });
  assert.equal(result.type === 'RESULT' && result.body.status, 'succeeded');

  assert.equal(await agent.kill('SIGTERM'), 0, 'the agent stops cleanly after the barrage');
  // Its close logs the summary of the window it was in: every bad message is in the log once.
  const lines = dropLines(agent, 'dropped a malformed frame from the server');
  assert.ok(lines.alone >= 1 && lines.alone <= 20, `the drops logged one by one, rate-limited: ${lines.alone} lines`);
  assert.ok(lines.summaries <= 20, `and a summary a window: ${lines.summaries} lines`);
  assert.ok(lines.alone + lines.summarized >= BARRAGE, `${lines.alone} + ${lines.summarized} drops logged of ${BARRAGE}`);
});

test(`clover standalone takes ${BARRAGE} bad messages on its ROUTER, keeps running and runs a job end to end`, async () => {
  const data = await tempDir('clover-wire-fuzz-standalone-');
  opened.push('temp dir', () => data.cleanup());
  const { proc, baseUrl, bind } = await startStandalone(data.path, { CLOVER_ADMIN_PASSWORD: 'wire-fuzz-admin-password' });
  opened.push('standalone', () => proc.kill('SIGKILL'));

  // Several peers, none with the agent's routing id (a DEALER taking over a connected agent's id
  // is what CURVE keys are for, docs/protocol.md).
  const peers = ['fuzz-a', 'fuzz-b', 'fuzz-c'].map((id) => {
    const sock = new zmq.Dealer({ routingId: id, linger: 0 });
    sock.connect(bind);
    opened.push(`dealer ${id}`, () => sock.close());
    return sock;
  });
  const messages = barrage();
  for (const [i, frames] of messages.entries()) await peers[i % peers.length]?.send(frames);
  // Every bad message is in the log once: 10 lines alone, the rest counted in a summary a window.
  await waitFor(
    () => {
      const { alone, summarized } = dropLines(proc, 'dropped a malformed frame');
      return alone + summarized >= messages.length;
    },
    { timeoutMs: 60_000, message: 'every dropped message in the log, alone or in a summary' },
  );

  const admin = await ConsoleSession.login(baseUrl, 'admin', 'wire-fuzz-admin-password');
  const job = await admin.call<{ id: string }>('POST', '/api/jobs', {
    name: 'after-the-barrage',
    schedule: { type: 'cron', expr: '* * * * * *', timezone: 'UTC' },
    kind: { type: 'handler', name: 'echo' },
    target: { type: 'any' },
  });
  await waitFor(
    async () => {
      const page = await admin.call<{ items: unknown[] }>('GET', `/api/runs?jobId=${encodeURIComponent(job.id)}&status=succeeded&limit=10`);
      return page.items.length >= 2;
    },
    { timeoutMs: 30_000, message: 'two succeeded runs after the barrage' },
  );
  const lines = dropLines(proc, 'dropped a malformed frame');
  assert.ok(lines.alone >= 1 && lines.alone <= 20, `the drops logged one by one, rate-limited: ${lines.alone} lines`);
  assert.equal(await proc.kill('SIGTERM'), 0, 'standalone stops cleanly after the barrage');
});
