import { noopLogger } from '@clover/telemetry';
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, runId, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { tempDir, waitFor, type TempDir } from '@clover/testkit';
import { AgentDirectory } from '../src/agents.js';
import { defaultTimings } from '../src/interfaces.js';
import { Router } from '../src/route.js';
import { RunTracker } from '../src/track.js';
import { startCluster, type Cluster } from './harness.js';
import { helloOf } from './jobs.js';

// "A busy leader never loses sight of a live agent", and the rule for a fire that finds none.

test('an agent the registry view dropped is usable again at its next HELLO', () => {
  const gone: string[] = [];
  const agents = new AgentDirectory((id) => gone.push(id));
  agents.hello(helloOf('agent-a'), 1000);
  assert.deepEqual(agents.setLive(['agent-a']), []);
  // A list read under load comes back without it: the caller checks, and removes it.
  assert.deepEqual(agents.setLive([]), ['agent-a']);
  agents.remove('agent-a');
  assert.deepEqual(gone, ['agent-a']);
  // The view still lacks it (its watch was lost with that list), but the agent says HELLO.
  agents.hello(helloOf('agent-a'), 6000);
  assert.deepEqual(
    agents.usable().map((a) => a.id),
    ['agent-a'],
  );
});

let dir: TempDir;
let store: Store;
let cluster: Cluster | undefined;
const trackers: RunTracker[] = [];
// What before() got as far as opening, for after() to close: unset where it failed first.
const opened: { dir?: TempDir; store?: Store } = {};
before(async () => {
  dir = opened.dir = await tempDir('clover-liveness-');
  store = opened.store = await openStore({ dataDir: dir.path });
});
afterEach(() => {
  for (const t of trackers.splice(0)) t.abandon();
});
after(async () => {
  await cluster?.close();
  await opened.store?.close();
  await opened.dir?.cleanup();
});

test('a fire that finds no agent and none appears waits, then ends skipped at its start deadline, saying so, with no incident', async () => {
  const clock = () => Date.now();
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'nobody',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'h' },
      startDeadlineMs: 300,
    }),
  );
  const finished: Run[] = [];
  const tracker = new RunTracker({
    store,
    agents: new AgentDirectory(() => undefined),
    router: new Router(),
    clock,
    logger: noopLogger,
    timings: defaultTimings,
    onFinished: (_j, run) => finished.push(run),
    send: () => Promise.resolve(true),
  });
  trackers.push(tracker);
  const slot = new Date();
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(async () => (await store.runs.get(run.id))?.status === 'waiting', { message: 'waiting in the store' });
  const done = await waitFor(() => finished[0], { message: 'the run over' });
  assert.equal(done.status, 'skipped');
  assert.equal(done.error, 'waited 300 ms for capacity: no agent for handler "h" on any agent is connected');
  assert.ok(done.finishedAt!.getTime() >= slot.getTime() + 300, 'not before the deadline');
  assert.equal((await store.runs.get(run.id))?.status, 'skipped');
  assert.equal(await store.incidents.findOpen('job_failed', job.id), null, 'no incident');
});

test('a leader whose event loop is held longer than agentSilenceMs keeps its agents: the run on one succeeds, not lost', async () => {
  cluster = await startCluster('liveness', { timings: { pingIntervalMs: 200, agentSilenceMs: 1000 } });
  const agent = await cluster.startAgent('steady');
  const job = await cluster.createJob({
    name: 'long',
    schedule: { type: 'once', at: new Date(Date.now() + 300) },
    kind: { type: 'handler', name: 'sleep' },
    payload: { ms: 3000 },
    deleteWhenDone: false,
  });
  await waitFor(() => agent.running === 1, { message: 'running on the agent' });
  // The whole process (leader and agent alike) held, as a burst of work holds a busy leader.
  const until = Date.now() + 2500;
  while (Date.now() < until) {
    /* held */
  }
  const run = await waitFor(
    async () => (await cluster!.runsOf(job.id)).find((r) => !['scheduled', 'waiting', 'dispatched', 'running'].includes(r.status)),
    { message: 'the run over' },
  );
  assert.equal(run.status, 'succeeded', run.error ?? '');
});

test('a new leader reads its job table a page at a time: every enabled job of several pages is armed, no disabled one', async () => {
  let enabled = 0;
  const big = await startCluster('load', {
    async beforeStart(s) {
      for (let i = 0; i < 2345 + 7; i++) {
        const job = await s.jobs.create(
          jobInputSchema.parse({
            name: `far-${i}`,
            schedule: { type: 'cron', expr: '0 0 0 1 1 *' },
            kind: { type: 'handler', name: 'noop' },
            enabled: i >= 7,
          }),
        );
        if (job.enabled) enabled++;
      }
    },
  });
  try {
    await waitFor(() => big.server.stats.loadedJobs > 0, { message: 'the job table loaded' });
    assert.equal(big.server.stats.loadedJobs, 2345);
    assert.equal(enabled, 2345);
  } finally {
    await big.close();
  }
});
