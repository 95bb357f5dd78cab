import { noopLogger } from '@clover/telemetry';
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jobInputSchema, runId, type Job, type Run } from '@clover/model';
import type { Message } from '@clover/protocol';
import { openStore, type Store } from '@clover/store';
import { tempDir, waitFor, type TempDir } from '@clover/testkit';
import { AgentDirectory } from '../src/agents.js';
import { defaultTimings, type TrackerTimings } from '../src/interfaces.js';
import { Router } from '../src/route.js';
import { RunTracker, execIdOf, type TrackerDeps } from '../src/track.js';
import { helloOf } from './jobs.js';

// The run tracker on its own: the real embedded store, fake agents that are just ids in the
// directory, and a send() that records what would go over ZeroMQ.
let dir: TempDir;
let store: Store;
// What before() got as far as opening, for after() to close: unset where it failed first.
const opened: { dir?: TempDir; store?: Store } = {};

before(async () => {
  dir = opened.dir = await tempDir('clover-track-');
  store = opened.store = await openStore({ dataDir: dir.path });
});

after(async () => {
  await opened.store?.close();
  await opened.dir?.cleanup();
});

// A test that fails before its tracker is let go would leave the tracker's timers (up to the
// job's 60 s deadline) holding the file open.
const trackers: RunTracker[] = [];
afterEach(() => {
  for (const t of trackers.splice(0)) t.abandon();
});

let seq = 0;
async function setup(over: Record<string, unknown> = {}, timings: Partial<TrackerTimings> = {}, deps: Pick<TrackerDeps, 'leadDoubt'> = {}) {
  const job: Job = await store.jobs.create(
    jobInputSchema.parse({
      name: `t${++seq}`,
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'h' },
      ...over,
    }),
  );
  const sent: Array<{ peer: string; msg: Message; storedStatus: string | undefined; storedNode: string | null | undefined }> = [];
  /** Agents whose connection is gone: send() answers false for them, as the ROUTER does. */
  const unreachable = new Set<string>();
  const agents = new AgentDirectory(() => undefined);
  for (const id of ['agent-a', 'agent-b']) {
    agents.hello(helloOf(id), Date.now());
  }
  agents.setLive(['agent-a', 'agent-b']);
  const finished: Run[] = [];
  const tracker = new RunTracker({
    store,
    agents,
    router: new Router(),
    clock: Date.now,
    logger: noopLogger,
    timings: { ...defaultTimings, ackTimeoutMs: 5000, ...timings },
    onFinished: (_job, run) => finished.push(run),
    ...deps,
    async send(peer, msg) {
      if (unreachable.has(peer)) return false;
      // What the store says about the run at the moment the EXEC leaves.
      const run = msg.type === 'EXEC' ? await store.runs.get(msg.body.execId.replace(/~\d+$/, '')) : null;
      sent.push({ peer, msg, storedStatus: run?.status, storedNode: run?.node });
      return true;
    },
  });
  trackers.push(tracker);
  const slot = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000 * seq);
  return { job, tracker, sent, agents, finished, slot, unreachable };
}

const execs = <T extends { msg: Message }>(sent: T[]): T[] => sent.filter((s) => s.msg.type === 'EXEC');

test('a run already in flight is not dispatched again; the store says dispatched (and where) before the EXEC leaves', async () => {
  const { job, tracker, sent, slot } = await setup();
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  // A new leader once did exactly this: it fired a misfire, then "adopted" the same fresh run.
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length >= 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(execs(sent).length, 1, 'one EXEC for one execution id');
  assert.equal(sent[0]!.storedStatus, 'dispatched');
  assert.equal(sent[0]!.storedNode, sent[0]!.peer);
  tracker.abandon();
});

test('a broadcast run and its retries stay on their own agent', async () => {
  const { job, tracker, sent, slot } = await setup({ routing: 'broadcast', retries: { max: 1, backoffMs: 10 } });
  const run = await store.runs.insert({ id: runId(job.id, slot, 'agent-b'), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  assert.equal(sent[0]!.peer, 'agent-b');
  tracker.onAck('agent-b', { execId: execIdOf(run), accepted: true });
  await tracker.onResult('agent-b', {
    execId: execIdOf(run),
    status: 'failed',
    exitCode: 1,
    startedAt: Date.now(),
    finishedAt: Date.now(),
    outputTail: '',
    error: 'boom',
  });
  await waitFor(() => execs(sent).length === 2, { message: 'the retry' });
  const retry = execs(sent)[1]!;
  assert.equal(retry.peer, 'agent-b', "the retry of agent-b's broadcast run goes to agent-b, not to another agent");
  assert.equal(retry.msg.type === 'EXEC' && retry.msg.body.attempt, 2);
  tracker.abandon();
});

test('an adopted run whose result the store already has is let go, not declared lost', async () => {
  const { job, tracker, finished, slot } = await setup({}, { adoptGraceMs: 50 });
  const id = runId(job.id, slot);
  await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  const stale = (await store.runs.update(id, { status: 'running', node: 'agent-a', dispatchedAt: new Date(), startedAt: new Date() }))!;
  // The agent's resent RESULT was recorded after the new leader read its active runs.
  await store.runs.update(id, { status: 'succeeded', finishedAt: new Date() });
  tracker.adopt(job, stale);
  await waitFor(() => tracker.size === 0, { timeoutMs: 2000, message: 'the adopted flight let go' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await store.runs.get(id))!.status, 'succeeded');
  assert.equal(finished.length, 0);
});

test('an adopted run its agent never confirms is lost', async () => {
  const { job, tracker, finished, slot } = await setup({}, { adoptGraceMs: 50 });
  const id = runId(job.id, slot);
  await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  const run = (await store.runs.update(id, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date() }))!;
  tracker.adopt(job, run);
  await waitFor(async () => (await store.runs.get(id))!.status === 'lost', { timeoutMs: 2000, message: 'lost' });
  await waitFor(() => finished.length === 1);
});

test('an adopted run its agent neither runs nor reported after saying HELLO was never delivered: sent under the same id, run once', async () => {
  // A leader claimed the slot ahead (row written as dispatched to agent-a) and died before the EXEC left.
  const { job, tracker, sent, agents, slot } = await setup({}, { adoptGraceMs: 20_000 });
  const id = runId(job.id, slot);
  await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  const run = (await store.runs.update(id, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date() }))!;
  // Its sibling really is running on agent-b, which says so.
  const id2 = runId(job.id, new Date(slot.getTime() - 60_000));
  await store.runs.insert({ id: id2, jobId: job.id, scheduledAt: new Date(slot.getTime() - 60_000), status: 'scheduled' });
  const running = (await store.runs.update(id2, { status: 'dispatched', node: 'agent-b', dispatchedAt: new Date() }))!;
  agents.hello(helloOf('agent-b', { running: [id2] }), Date.now());
  tracker.adopt(job, run);
  tracker.adopt(job, running);
  tracker.agentSaidHello('agent-b');
  await waitFor(() => execs(sent).length === 1, { timeoutMs: 5000, message: 'the undelivered run sent' });
  assert.equal(sent[0]!.peer, 'agent-a');
  assert.equal(
    sent[0]!.msg.type === 'EXEC' && sent[0]!.msg.body.execId,
    id,
    'the same execution id: an agent that had it answers duplicate',
  );
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(execs(sent).length, 1, 'the run its agent listed is left alone');
  tracker.onAck('agent-a', { execId: id, accepted: true });
  await tracker.onResult('agent-a', result(id, 'succeeded'));
  await waitFor(async () => (await store.runs.get(id))!.status === 'succeeded', { message: 'succeeded' });
  assert.equal((await store.runs.get(id2))!.status, 'dispatched', 'still running on agent-b');
  tracker.abandon();
});

test('an agent that says its repeated RESULTs have all arrived (resultsRepeated) gets its undelivered adopted run at once', async () => {
  // Without the agent's word, the run would wait out redeliverAfterHelloMs (20 s here) for RESULTs still on the way.
  const { job, tracker, sent, slot } = await setup({}, { adoptGraceMs: 30_000, redeliverAfterHelloMs: 20_000 });
  const id = runId(job.id, slot);
  await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  const run = (await store.runs.update(id, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date() }))!;
  tracker.adopt(job, run);
  tracker.agentSaidHello('agent-a');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(execs(sent).length, 0, 'not judged while its repeated RESULTs may still be on the way');
  tracker.agentSaidHello('agent-a', true);
  await waitFor(() => execs(sent).length === 1, { timeoutMs: 5000, message: 'sent once the agent said its RESULTs are in' });
  assert.equal(sent[0]!.peer, 'agent-a');
  assert.equal(sent[0]!.msg.type === 'EXEC' && sent[0]!.msg.body.execId, id);
  tracker.abandon();
});

test('an adopted run sent to an earlier life of its agent is lost, never sent again under the same id', async () => {
  // Issue 16's chaos run: the leader died with the run sent, the agent ran it and died before its
  // RESULT reached anyone; its next life knew nothing of it, took the EXEC again and ran it twice.
  const { job, tracker, sent, agents, finished, slot } = await setup({}, { adoptGraceMs: 30_000, redeliverAfterHelloMs: 20_000 });
  const id = runId(job.id, slot);
  const sentAt = new Date(Date.now() - 5000);
  await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  const run = (await store.runs.update(id, { status: 'dispatched', node: 'agent-a', dispatchedAt: sentAt }))!;
  tracker.adopt(job, run);
  agents.hello(helloOf('agent-a', { startedAt: sentAt.getTime() + 2000 }), Date.now());
  tracker.agentSaidHello('agent-a', true);
  await waitFor(async () => (await store.runs.get(id))!.status === 'lost', { timeoutMs: 5000, message: 'lost' });
  assert.match((await store.runs.get(id))!.error ?? '', /agent agent-a restarted after the run was sent to it/);
  assert.equal(execs(sent).length, 0, 'not sent again');
  await waitFor(() => finished.length === 1);
});

test('an adopted run sent to the life of its agent that says HELLO now is sent again, once', async () => {
  const { job, tracker, sent, agents, slot } = await setup({}, { adoptGraceMs: 30_000, redeliverAfterHelloMs: 20_000 });
  const id = runId(job.id, slot);
  await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  const run = (await store.runs.update(id, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date() }))!;
  tracker.adopt(job, run);
  agents.hello(helloOf('agent-a', { startedAt: Date.now() - 60_000 }), Date.now());
  tracker.agentSaidHello('agent-a', true);
  await waitFor(() => execs(sent).length === 1, { timeoutMs: 5000, message: 'sent again' });
  tracker.abandon();
});

test('an agent that restarts while the store is read for its adopted run: the new life is not sent it; the run is lost', async () => {
  // Issue 16's MongoDB chaos run: the check that the run went to this life of its agent passed,
  // then the store read took a while (MongoDB behind its writes), the agent was SIGKILLed and its
  // new life said HELLO meanwhile, and the redelivery went to the new life, which ran it again
  // (14 executions started twice).
  const { job, tracker, sent, agents, slot } = await setup({}, { adoptGraceMs: 30_000, redeliverAfterHelloMs: 20_000 });
  const id = runId(job.id, slot);
  await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  const run = (await store.runs.update(id, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date(Date.now() - 1000) }))!;
  tracker.adopt(job, run);
  agents.hello(helloOf('agent-a', { startedAt: Date.now() - 60_000 }), Date.now());
  const get = store.runs.get.bind(store.runs);
  store.runs.get = async (runIdToRead) => {
    const row = await get(runIdToRead);
    // The new life's HELLO is read while the store answers.
    agents.hello(helloOf('agent-a', { startedAt: Date.now() }), Date.now());
    return row;
  };
  try {
    tracker.agentSaidHello('agent-a', true);
    await waitFor(async () => (await get(id))!.status === 'lost', { timeoutMs: 5000, message: 'lost' });
  } finally {
    store.runs.get = get;
  }
  assert.match((await store.runs.get(id))!.error ?? '', /agent agent-a restarted after the run was sent to it/);
  assert.equal(execs(sent).length, 0, 'not sent to the new life');
});

test('an EXEC names the life it is for; an adopted run redelivered to an earlier life (the agent restarted before its HELLO came) is lost on the other_life refusal', async () => {
  // Issue 16's 10-minute chaos run: the new leader's redelivery went out while the agent's
  // earlier life's HELLO was the latest it had; the new life (same routing id) took it and ran
  // it a second time (37 executions).
  const { job, tracker, sent, agents, finished, slot } = await setup({}, { adoptGraceMs: 30_000, redeliverAfterHelloMs: 20_000 });
  const id = runId(job.id, slot);
  const oldLife = Date.now() - 60_000;
  await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  const run = (await store.runs.update(id, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date() }))!;
  tracker.adopt(job, run);
  agents.hello(helloOf('agent-a', { startedAt: oldLife }), Date.now());
  tracker.agentSaidHello('agent-a', true);
  const [exec] = await waitFor(() => (execs(sent).length === 1 ? execs(sent) : undefined), { timeoutMs: 5000, message: 'redelivered' });
  assert.ok(exec!.msg.type === 'EXEC' && exec!.msg.body.agentStartedAt === oldLife, 'the EXEC names the life it is for');
  tracker.onAck('agent-a', { execId: id, accepted: false, reason: 'other_life' });
  await waitFor(async () => (await store.runs.get(id))!.status === 'lost', { timeoutMs: 5000, message: 'lost' });
  assert.equal(execs(sent).length, 1, 'never sent again under the same id');
  await waitFor(() => finished.length === 1);
});

test('a first EXEC refused as other_life (sent as the agent restarted) is not lost: it goes to the next agent', async () => {
  const { job, tracker, sent, slot } = await setup({ routing: 'failover' });
  const id = runId(job.id, slot);
  const run = await store.runs.insert({ id, jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  const [first] = await waitFor(() => (execs(sent).length === 1 ? execs(sent) : undefined), { timeoutMs: 5000, message: 'sent' });
  tracker.onAck(first!.peer, { execId: id, accepted: false, reason: 'other_life' });
  const [, second] = await waitFor(() => (execs(sent).length === 2 ? execs(sent) : undefined), { timeoutMs: 5000, message: 'sent on' });
  assert.notEqual(second!.peer, first!.peer);
  assert.notEqual((await store.runs.get(id))!.status, 'lost');
  tracker.abandon();
});

test('an agent gone while its EXEC is unanswered: the run is lost (a new attempt if the job allows), never sent to the next agent under the same id', async () => {
  // Issue 16's chaos run: a restarted agent's earlier session expired after its new life had
  // taken an EXEC; the leader took the vanished znode for the agent's death and sent the same
  // execution to another agent, and both ran it.
  const { job, tracker, sent, finished, slot } = await setup({ routing: 'failover' });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1, { message: 'the EXEC left' });
  const first = sent[0]!.peer;
  tracker.agentGone(first);
  await waitFor(async () => (await store.runs.get(run.id))!.status === 'lost', { message: 'lost' });
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    execs(sent).map((s) => s.peer),
    [first],
    'not sent to the other agent',
  );
  await waitFor(() => finished.length === 1);
});

test('unsent runs of a forbid job left by earlier leaders: the first is sent, the rest are skipped as forbid skips a fire', async () => {
  const { job, tracker, sent, slot } = await setup({ concurrency: 'forbid' });
  const ids = [0, 1, 2].map((i) => runId(job.id, new Date(slot.getTime() - 3000 + i * 1000)));
  for (const [i, id] of ids.entries())
    await store.runs.insert({ id, jobId: job.id, scheduledAt: new Date(slot.getTime() - 3000 + i * 1000), status: 'waiting' });
  for (const id of ids) tracker.sendNew(job, (await store.runs.get(id))!);
  await waitFor(() => execs(sent).length === 1, { message: 'the first sent' });
  await waitFor(async () => (await store.runs.get(ids[2]!))!.status === 'skipped', { message: 'the last skipped' });
  assert.deepEqual(
    execs(sent).map((s) => s.msg.type === 'EXEC' && s.msg.body.execId),
    [ids[0]],
  );
  for (const id of ids.slice(1)) {
    const r = (await store.runs.get(id))!;
    assert.deepEqual([r.status, r.error], ['skipped', 'skipped: 1 run(s) of this job still running (concurrency forbid)']);
  }
  tracker.abandon();
});

const result = (execId: string, status: 'succeeded' | 'failed') => ({
  execId,
  status,
  exitCode: status === 'failed' ? 1 : 0,
  startedAt: Date.now(),
  finishedAt: Date.now(),
  outputTail: '',
  error: status === 'failed' ? 'boom' : null,
});

test('never-delivered adopted runs of a forbid job: the first judged is sent again, the others are skipped as forbid skips a fire', async () => {
  // The MongoDB chaos run: leaders that came and went each claimed a slot of a forbid job
  // (rows dispatched, EXECs never sent); the next leader sent all four again side by side.
  const { job, tracker, sent, agents, slot } = await setup(
    { concurrency: 'forbid' },
    { adoptGraceMs: 30_000, redeliverAfterHelloMs: 20_000 },
  );
  const ids: string[] = [];
  for (let i = 3; i >= 0; i--) {
    const at = new Date(slot.getTime() - i * 1000);
    const id = runId(job.id, at);
    ids.push(id);
    await store.runs.insert({ id, jobId: job.id, scheduledAt: at, status: 'scheduled' });
    tracker.adopt(job, (await store.runs.update(id, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date() }))!);
  }
  agents.hello(helloOf('agent-a', { startedAt: Date.now() - 60_000 }), Date.now());
  tracker.agentSaidHello('agent-a', true);
  await waitFor(async () => (await Promise.all(ids.map((id) => store.runs.get(id)))).filter((r) => r!.status === 'skipped').length === 3, {
    timeoutMs: 5000,
    message: 'three skipped',
  });
  assert.equal(execs(sent).length, 1, 'one sent again');
  const sentId = (execs(sent)[0]!.msg.body as { execId: string }).execId;
  for (const id of ids) {
    const r = (await store.runs.get(id))!;
    if (id === sentId) assert.equal(r.status, 'dispatched', 'the one sent again goes on');
    else assert.match(r.error ?? '', /concurrency forbid/);
  }
  // As a fire's forbid skip: no run of the job to count (the MongoDB chaos run's forbid jobs had
  // runCount 2-3 above the runs that ended, these skips counted).
  const counted = (await store.jobs.get(job.id))!;
  assert.deepEqual([counted.runCount, counted.failureCount, counted.lastStatus], [0, 0, null]);
  tracker.abandon();
});

test('a RESULT repeated while the first is being recorded counts once', async () => {
  // An agent that follows a new leader sends the RESULT it held, then repeats its recent ones.
  const { job, tracker, sent, slot } = await setup();
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  const agent = sent[0]!.peer;
  tracker.onAck(agent, { execId: run.id, accepted: true });
  await Promise.all([
    tracker.onResult(agent, result(run.id, 'succeeded')),
    tracker.onResult(agent, result(run.id, 'succeeded')),
    tracker.onResult(agent, result(run.id, 'succeeded')),
  ]);
  await waitFor(async () => (await store.runs.get(run.id))!.status === 'succeeded');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await store.jobs.get(job.id))!.runCount, 1);
});

test('a repeated RESULT of a failed attempt does not undo its retry', async () => {
  const { job, tracker, sent, slot } = await setup({ retries: { max: 1, backoffMs: 100 } });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  const agent = sent[0]!.peer;
  tracker.onAck(agent, { execId: run.id, accepted: true });
  await Promise.all([tracker.onResult(agent, result(run.id, 'failed')), tracker.onResult(agent, result(run.id, 'failed'))]);
  await waitFor(() => execs(sent).length === 2, { message: 'the retry' });
  const stored = (await store.runs.get(run.id))!;
  assert.equal(stored.attempt, 2);
  assert.equal(stored.status, 'dispatched');
  const j = (await store.jobs.get(job.id))!;
  assert.deepEqual([j.runCount, j.failureCount], [0, 0], 'nothing counted before the last attempt ends');
  tracker.abandon();
});

test('no ACK from an agent that keeps talking: the run waits, not resent while the agent has not read that far; resent once it answers something sent later', async () => {
  const { job, tracker, sent, agents, slot } = await setup({ routing: 'first' }, { ackTimeoutMs: 50, maxExecSends: 2 });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  // agent-a is busy: its ACK is far behind, but PONGs and other runs' messages keep coming.
  const chatter = setInterval(() => agents.seen('agent-a', Date.now()), 10);
  try {
    tracker.sendNew(job, run);
    await waitFor(() => execs(sent).length === 1);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(execs(sent).length, 1, 'a busy agent is not sent the same EXEC again (8 ACK timeouts passed)');
    assert.equal((await store.runs.get(run.id))!.status, 'dispatched', 'still waiting for its ACK, not lost');
    // The PONG of a PING sent after the EXEC: the agent read past it, so it (or its ACK) went missing.
    agents.answered('agent-a', agents.nextSeq('agent-a'));
    await waitFor(() => execs(sent).length === 2, { timeoutMs: 2000, message: 'EXEC resent once the agent read past it' });
    tracker.onAck('agent-a', { execId: run.id, accepted: false, reason: 'duplicate' });
    await tracker.onResult('agent-a', result(run.id, 'succeeded'));
    await waitFor(async () => (await store.runs.get(run.id))!.status === 'succeeded');
    assert.ok(execs(sent).every((e) => e.peer === 'agent-a'));
  } finally {
    clearInterval(chatter);
  }
});

test('an EXEC sent twice to a busy agent whose first is refused at capacity: not sent to the next agent while the second is unanswered', async () => {
  // Issue 16's 10-minute chaos run: the refusal of the first EXEC sent the run to the next agent,
  // and the busy agent, a slot freed, started the second: one execution on two agents.
  const { job, tracker, sent, agents, slot } = await setup({ routing: 'failover' }, { ackTimeoutMs: 300, maxExecSends: 5 });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  const first = execs(sent)[0]!.peer;
  // It read past the EXEC without answering it: sent again.
  agents.answered(first, agents.nextSeq(first));
  await waitFor(() => execs(sent).length === 2, { timeoutMs: 2000, message: 'sent again' });
  tracker.onAck(first, { execId: run.id, accepted: false, reason: 'at_capacity' });
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(
    execs(sent).every((e) => e.peer === first),
    'the second EXEC is unanswered: nothing goes to the next agent',
  );
  tracker.onAck(first, { execId: run.id, accepted: true, startedAt: Date.now() });
  await tracker.onResult(first, result(run.id, 'succeeded'));
  await waitFor(async () => (await store.runs.get(run.id))!.status === 'succeeded');
  assert.ok(execs(sent).every((e) => e.peer === first));
});

test('both EXECs to an agent refused at capacity: the run goes on to the next agent', async () => {
  const { job, tracker, sent, agents, slot } = await setup({ routing: 'failover' }, { ackTimeoutMs: 50, maxExecSends: 3 });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  const first = execs(sent)[0]!.peer;
  agents.answered(first, agents.nextSeq(first));
  await waitFor(() => execs(sent).length === 2, { timeoutMs: 2000, message: 'sent again' });
  tracker.onAck(first, { execId: run.id, accepted: false, reason: 'at_capacity' });
  tracker.onAck(first, { execId: run.id, accepted: false, reason: 'at_capacity' });
  await waitFor(() => execs(sent).length === 3, { timeoutMs: 2000, message: 'sent to the next agent' });
  assert.notEqual(execs(sent)[2]!.peer, first);
  tracker.abandon();
});

test('an ACK carrying its start marks the run running; a RESULT in place of the ACK answers its EXEC', async () => {
  const { job, tracker, sent, agents, slot } = await setup({ routing: 'first' }, { runningWriteDelayMs: 20 });
  const long = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, long);
  await waitFor(() => execs(sent).length === 1);
  const startedAt = Date.now() - 5;
  tracker.onAck('agent-a', { execId: long.id, accepted: true, startedAt });
  const running = await waitFor(
    async () => {
      const r = (await store.runs.get(long.id))!;
      return r.status === 'running' ? r : null;
    },
    { message: 'written running' },
  );
  assert.equal(running.startedAt?.getTime(), startedAt);

  const quickSlot = new Date(slot.getTime() - 500);
  const quick = await store.runs.insert({ id: runId(job.id, quickSlot), jobId: job.id, scheduledAt: quickSlot, status: 'scheduled' });
  tracker.sendNew(job, quick);
  await waitFor(() => execs(sent).length === 2);
  const seq = agents.get('agent-a')!.sentSeq;
  assert.ok(agents.get('agent-a')!.answeredSeq < seq);
  await tracker.onResult('agent-a', result(quick.id, 'succeeded'));
  assert.equal(agents.get('agent-a')!.answeredSeq, seq, 'the agent has read that EXEC and all before it');
  await waitFor(async () => (await store.runs.get(quick.id))!.status === 'succeeded', { message: 'recorded without an ACK' });
  await tracker.onResult('agent-a', result(long.id, 'succeeded'));
  await waitFor(async () => (await store.runs.get(long.id))!.status === 'succeeded');
  assert.equal(execs(sent).length, 2, 'nothing sent again');
});

test('no ACK from an agent gone silent: lost after the resends, for failover routing too; the retry is a new attempt', async () => {
  const { job, tracker, sent, agents, slot } = await setup({ routing: 'first' }, { ackTimeoutMs: 50, maxExecSends: 2 });
  agents.seen('agent-a', Date.now() - 60_000);
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  const lost = await waitFor(
    async () => {
      const r = (await store.runs.get(run.id))!;
      return r.status === 'lost' ? r : null;
    },
    { timeoutMs: 5000, message: 'lost' },
  );
  assert.match(lost.error ?? '', /went silent/);
  assert.equal(execs(sent).length, 2);

  // Issue 16's chaos run: an agent SIGKILLed just after it started 14 executions never ACKed
  // them; failover sent each to the next agent under the same execution id, and it ran twice.
  const fo = await setup({ routing: 'failover', retries: { max: 1, backoffMs: 10 } }, { ackTimeoutMs: 50, maxExecSends: 2 });
  fo.agents.seen('agent-a', Date.now() - 60_000);
  const run2 = await store.runs.insert({ id: runId(fo.job.id, fo.slot), jobId: fo.job.id, scheduledAt: fo.slot, status: 'scheduled' });
  fo.tracker.sendNew(fo.job, run2);
  await waitFor(() => execs(fo.sent).length === 3, { timeoutMs: 5000, message: 'two sends and a retry' });
  const ids = execs(fo.sent).map((e) => `${e.peer} ${(e.msg.body as { execId: string }).execId}`);
  assert.deepEqual(
    ids,
    [`agent-a ${run2.id}`, `agent-a ${run2.id}`, `agent-b ${run2.id}~2`],
    'the first attempt only to agent-a; agent-b gets the retry',
  );
  fo.tracker.abandon();
});

test('a job deleted while its run is acknowledged (its row still in the store): CANCEL to the agent, the row cancelled, no counters, no incident; a waiting run of a disabled job is cancelled unsent', async () => {
  const { job, tracker, sent, slot } = await setup({ routing: 'first', retries: { max: 2, backoffMs: 10 } });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  tracker.onAck('agent-a', { execId: run.id, accepted: true, startedAt: Date.now() });
  await tracker.stopJob(job.id, 'deleted');
  const cancel = sent.find((s) => s.msg.type === 'CANCEL');
  assert.deepEqual(cancel && { peer: cancel.peer, body: cancel.msg.body }, {
    peer: 'agent-a',
    body: { execId: run.id, reason: 'requested' },
  });
  const row = (await store.runs.get(run.id))!;
  assert.deepEqual([row.status, row.error], ['cancelled', 'cancelled: the job was deleted']);
  // The agent's own RESULT for it, after: nothing more happens (no retry, no counters).
  await tracker.onResult('agent-a', result(run.id, 'failed'));
  assert.equal(tracker.busy(job.id), false);
  const j = (await store.jobs.get(job.id))!;
  assert.deepEqual([j.runCount, j.failureCount], [0, 0]);
  assert.equal(await store.incidents.findOpen('job_failed', job.id), null);

  const d = await setup({ target: { type: 'node', nodeId: 'nobody' }, startDeadlineMs: 3_600_000 });
  const waiting = await store.runs.insert({ id: runId(d.job.id, d.slot), jobId: d.job.id, scheduledAt: d.slot, status: 'scheduled' });
  d.tracker.sendNew(d.job, waiting);
  assert.equal(d.tracker.busy(d.job.id), true, 'waiting for an agent');
  await store.jobs.setEnabled(d.job.id, false);
  await d.tracker.stopJob(d.job.id, 'disabled');
  assert.equal(d.tracker.busy(d.job.id), false);
  const w = (await store.runs.get(waiting.id))!;
  assert.deepEqual([w.status, w.error], ['cancelled', 'cancelled before it was sent: the job was disabled']);
  assert.equal(execs(d.sent).length, 0);
});

test('each execution in flight owns its phase and timers: none is left armed once it has a final status', async () => {
  const { job, tracker, sent, slot } = await setup(
    { routing: 'first', timeoutMs: 100 },
    { runningWriteDelayMs: 60_000, deadlineGraceMs: 50 },
  );
  // Sent, acknowledged, running, succeeded.
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  const f = tracker.flight(run.id)!;
  assert.equal(f.phase, 'sent');
  await waitFor(() => f.isArmed('ack'), { message: 'the wait for the ACK armed once the EXEC left' });
  tracker.onAck('agent-a', { execId: run.id, accepted: true });
  assert.equal(f.phase, 'acknowledged');
  assert.deepEqual(f.armed(), ['deadline'], 'the ACK ends the wait for it');
  tracker.onStart('agent-a', { execId: run.id, startedAt: Date.now() });
  assert.equal(f.phase, 'running');
  assert.deepEqual(f.armed().sort(), ['deadline', 'runningWrite']);
  await tracker.onResult('agent-a', result(run.id, 'succeeded'));
  assert.equal(f.phase, 'ended');
  assert.deepEqual(f.armed(), [], 'no timer left after succeeded');
  f.arm('ack', 10, () => assert.fail('armed after the end'));
  assert.deepEqual(f.armed(), [], 'an ended flight arms nothing');

  // Timed out at its deadline.
  const slot2 = new Date(slot.getTime() - 100_000);
  const late = await store.runs.insert({ id: runId(job.id, slot2), jobId: job.id, scheduledAt: slot2, status: 'scheduled' });
  tracker.sendNew(job, late);
  const g = tracker.flight(late.id)!;
  await waitFor(() => execs(sent).length === 2);
  tracker.onAck('agent-a', { execId: late.id, accepted: true, startedAt: Date.now() });
  await waitFor(async () => (await store.runs.get(late.id))!.status === 'timed_out', { message: 'timed out' });
  assert.deepEqual([g.phase, g.armed()], ['ended', []], 'no timer left after timed_out');

  // Adopted, then cancelled.
  const slot3 = new Date(slot.getTime() - 200_000);
  const id3 = runId(job.id, slot3);
  await store.runs.insert({ id: id3, jobId: job.id, scheduledAt: slot3, status: 'scheduled' });
  const adopted = (await store.runs.update(id3, { status: 'dispatched', node: 'agent-a', dispatchedAt: new Date() }))!;
  tracker.adopt({ ...job, timeoutMs: 60_000 }, adopted);
  const h = tracker.flight(id3)!;
  assert.equal(h.phase, 'adopted');
  assert.deepEqual(h.armed().sort(), ['adoptGrace', 'deadline', 'redeliver']);
  tracker.cancel(adopted, 'requested');
  assert.deepEqual([h.phase, h.armed()], ['ended', []], 'no timer left after cancelled');

  // Waiting for want of an agent, then its job disabled.
  const d = await setup({ target: { type: 'node', nodeId: 'nobody' }, startDeadlineMs: 3_600_000 });
  const waiting = await store.runs.insert({ id: runId(d.job.id, d.slot), jobId: d.job.id, scheduledAt: d.slot, status: 'scheduled' });
  d.tracker.sendNew(d.job, waiting);
  const p = d.tracker.flight(waiting.id)!;
  assert.deepEqual([p.phase, p.armed()], ['waiting', ['startDeadline']]);
  await d.tracker.stopJob(d.job.id, 'disabled');
  assert.deepEqual([p.phase, p.armed()], ['ended', []], 'no timer left after cancelled unsent');
});

test('refused at_capacity by every agent: the run waits (not failed), is offered to nobody meanwhile, and goes to the first agent that frees a slot', async () => {
  const { job, tracker, sent, agents, slot } = await setup({ routing: 'first', startDeadlineMs: 3_600_000 });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  tracker.onAck('agent-a', { execId: run.id, accepted: false, reason: 'at_capacity' });
  await waitFor(() => execs(sent).length === 2, { message: 'the next agent' });
  assert.equal(execs(sent)[1]!.peer, 'agent-b');
  tracker.onAck('agent-b', { execId: run.id, accepted: false, reason: 'draining' });
  await waitFor(async () => (await store.runs.get(run.id))?.status === 'waiting', { message: 'waiting in the store' });
  assert.equal(tracker.flight(run.id)?.phase, 'waiting');
  assert.deepEqual([agents.hasRoom('agent-a'), agents.hasRoom('agent-b')], [false, false], 'both passed over until they free a slot');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(execs(sent).length, 2, 'not offered again meanwhile');
  // agent-b finishes something (another run's RESULT): the waiting run goes to it.
  await tracker.onResult('agent-b', result('other-run', 'succeeded'));
  await waitFor(() => execs(sent).length === 3, { message: 'placed when a slot freed' });
  assert.equal(execs(sent)[2]!.peer, 'agent-b');
  assert.equal((await store.runs.get(run.id))?.node, 'agent-b');
  tracker.onAck('agent-b', { execId: run.id, accepted: true, startedAt: Date.now() });
  await tracker.onResult('agent-b', result(run.id, 'succeeded'));
  await waitFor(async () => (await store.runs.get(run.id))?.status === 'succeeded', { message: 'succeeded' });
});

test('an agent holding as many runs as its capacity is offered no more: the next run waits, then takes the slot its first run frees', async () => {
  const { job, tracker, sent, agents, slot } = await setup({ target: { type: 'node', nodeId: 'agent-a' }, startDeadlineMs: 3_600_000 });
  const runs: Run[] = [];
  for (let i = 0; i < 5; i++) {
    const at = new Date(slot.getTime() - 10_000 + i);
    runs.push(await store.runs.insert({ id: runId(job.id, at), jobId: job.id, scheduledAt: at, status: 'scheduled' }));
  }
  for (const r of runs) tracker.sendNew(job, r);
  await waitFor(() => execs(sent).length === 4, { message: 'four EXECs: its capacity' });
  const last = runs[4]!;
  await waitFor(async () => (await store.runs.get(last.id))?.status === 'waiting', { message: 'the fifth waits' });
  assert.equal(agents.get('agent-a')?.inFlight, 4);
  assert.deepEqual(tracker.queue().depth, 1);
  const first = runs[0]!;
  tracker.onAck('agent-a', { execId: first.id, accepted: true, startedAt: Date.now() });
  await tracker.onResult('agent-a', result(first.id, 'succeeded'));
  await waitFor(() => execs(sent).length === 5, { message: 'the fifth sent once a slot freed' });
  const fifth = execs(sent)[4]!.msg;
  assert.equal(fifth.type === 'EXEC' ? fifth.body.execId : fifth.type, last.id);
  assert.deepEqual(tracker.queue(), { depth: 0, peak: 1, oldestAt: undefined });
});

test('after a pause the timers wait for the lead: a deadline that ran out meanwhile writes nothing until ZooKeeper confirms, and nothing at all if the lead was lost', async () => {
  // Issue 16's chaos run: a leader SIGSTOPped past its session woke to overdue deadline timers and
  // wrote `timed_out` over runs the next leader had adopted, before its pause check answered.
  let doubt: { promise: Promise<boolean>; settle(leads: boolean): void } | null = null;
  const inDoubt = () => {
    let settle!: (leads: boolean) => void;
    const promise = new Promise<boolean>((r) => (settle = r));
    doubt = { promise, settle };
    return doubt;
  };
  const { job, tracker, sent, slot } = await setup(
    { routing: 'first', timeoutMs: 100 },
    { deadlineGraceMs: 50 },
    { leadDoubt: () => doubt?.promise ?? null },
  );
  const acked = async (at: Date) => {
    const run = await store.runs.insert({ id: runId(job.id, at), jobId: job.id, scheduledAt: at, status: 'scheduled' });
    tracker.sendNew(job, run);
    await waitFor(() => tracker.flight(run.id)?.isArmed('ack'), { message: 'the EXEC left' });
    tracker.onAck('agent-a', { execId: run.id, accepted: true });
    return run;
  };

  // The lead confirmed: the timeout is recorded then, not before.
  const kept = await acked(slot);
  const confirm = inDoubt();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal((await store.runs.get(kept.id))!.status, 'dispatched', 'nothing written while in doubt');
  assert.ok(!sent.some((s) => s.msg.type === 'CANCEL'), 'nothing sent while in doubt');
  doubt = null;
  confirm.settle(true);
  await waitFor(async () => (await store.runs.get(kept.id))!.status === 'timed_out', {
    timeoutMs: 5000,
    message: 'timed out once confirmed',
  });

  // The lead lost: the server abandons its flights, and the overdue timer writes nothing.
  const slot2 = new Date(slot.getTime() - 100_000);
  const lost = await acked(slot2);
  const deny = inDoubt();
  await new Promise((r) => setTimeout(r, 400));
  doubt = null;
  tracker.abandon();
  deny.settle(false);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await store.runs.get(lost.id))!.status, 'dispatched', 'the next leader owns it');
  assert.equal(sent.filter((s) => s.msg.type === 'CANCEL').length, 1, 'only the confirmed run was cancelled');
});

test('a run waiting out its retry backoff counts as in progress (what forbid counts), as Kubernetes counts a retrying Job active', async () => {
  const { job, tracker, sent, slot } = await setup({ routing: 'first', concurrency: 'forbid', retries: { max: 1, backoffMs: 300 } });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  assert.equal(tracker.inProgress(job.id), 1, 'in flight');
  await tracker.onResult('agent-a', result(run.id, 'failed'));
  assert.equal(tracker.activeRuns(job.id).length, 0, 'no flight while the backoff runs');
  assert.equal(tracker.inProgress(job.id), 1, 'but the retry is pending');
  await waitFor(() => execs(sent).length === 2, { message: 'the retry left' });
  assert.equal(tracker.inProgress(job.id), 1);
});

test('an EXEC sent again to an agent no longer connected is not handed to the next agent: the first may have reached it; lost after the resends', async () => {
  // Issue 16's chaos run: an agent SIGKILLed after it started a run, before its ACK; the resend
  // found it disconnected, and the run went to the next agent under the same execution id.
  const { job, tracker, sent, agents, slot, unreachable } = await setup({ routing: 'failover' }, { ackTimeoutMs: 50, maxExecSends: 3 });
  agents.seen('agent-a', Date.now() - 60_000);
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1, { message: 'the first EXEC left' });
  unreachable.add('agent-a');
  const lost = await waitFor(
    async () => {
      const r = (await store.runs.get(run.id))!;
      return r.status === 'lost' ? r : null;
    },
    { timeoutMs: 5000, message: 'lost' },
  );
  assert.match(lost.error ?? '', /went silent/);
  assert.deepEqual(
    execs(sent).map((e) => e.peer),
    ['agent-a'],
    'never sent to agent-b',
  );
});

test('an unanswered EXEC to an agent that restarted since: lost once the new life answers later messages, never sent to it again', async () => {
  // Issue 16's chaos run: the agent's first life ran it and was SIGKILLed before its RESULT; the
  // leader, seeing the new life answer later EXECs, sent it again and it ran a second time.
  const { job, tracker, sent, agents, slot } = await setup({ routing: 'first', retries: { max: 1, backoffMs: 10 } }, { ackTimeoutMs: 50 });
  agents.hello(helloOf('agent-a', { startedAt: 1000 }), Date.now());
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1, { message: 'the EXEC left' });
  const execSeq = tracker.flight(run.id)!.execSeq;
  // The new life says HELLO and answers a message sent after the EXEC.
  agents.hello(helloOf('agent-a', { startedAt: 2000 }), Date.now() + 1);
  agents.answered('agent-a', execSeq + 1);
  const lost = await waitFor(
    async () => {
      const r = (await store.runs.get(run.id))!;
      return r.attempt === 2 ? r : null;
    },
    { timeoutMs: 5000, message: 'lost, and retried as attempt 2' },
  );
  assert.match(lost.error ?? '', /restarted after this execution was sent/);
  assert.deepEqual(
    execs(sent).map((e) => (e.msg.body as { execId: string }).execId),
    [run.id, `${run.id}~2`],
    'attempt 1 sent once; the retry is a new execution',
  );
});

test('an adopted run sent again that finds its agent gone is lost, never queued for the next agent: the old leader EXEC may have reached it', async () => {
  // Issue 16's chaos run: the agent ran the old leader's EXEC, was SIGKILLed before repeating
  // its RESULT to the new leader, whose redelivery then found it disconnected and queued the
  // run; its next life (or another agent) ran it again under the same execution id.
  const { job, tracker, sent, agents, slot, unreachable } = await setup(
    { routing: 'first' },
    { redeliverAfterHelloMs: 20, ackTimeoutMs: 50, maxExecSends: 2 },
  );
  const run = await store.runs.insert({
    id: runId(job.id, slot),
    jobId: job.id,
    scheduledAt: slot,
    status: 'dispatched',
    node: 'agent-a',
    dispatchedAt: new Date(),
  });
  tracker.adopt(job, run);
  unreachable.add('agent-a');
  agents.seen('agent-a', Date.now() - 60_000);
  tracker.agentSaidHello('agent-a');
  const lost = await waitFor(
    async () => {
      const r = (await store.runs.get(run.id))!;
      return r.status === 'lost' ? r : null;
    },
    { timeoutMs: 5000, message: 'lost' },
  );
  assert.equal(lost.node, 'agent-a');
  assert.deepEqual(execs(sent), [], 'never reached any agent from here, and never sent to agent-b');
});

test('a retry whose run another leader has moved on meanwhile (sent it, or recorded its outcome) is not sent from here', async () => {
  // Issue 16's chaos run: a run one leader recorded was retried by another that had judged it
  // lost, and ran again.
  const { job, tracker, sent, slot } = await setup({ routing: 'first', retries: { max: 1, backoffMs: 300 } });
  const run = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, run);
  await waitFor(() => execs(sent).length === 1);
  await tracker.onResult('agent-a', result(run.id, 'failed'));
  await waitFor(async () => (await store.runs.get(run.id))!.attempt === 2, { message: 'attempt 2 written' });
  await store.runs.update(run.id, { status: 'dispatched', node: 'agent-b', dispatchedAt: new Date() });
  await waitFor(() => tracker.inProgress(job.id) === 0, { timeoutMs: 5000, message: 'the backoff over' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(execs(sent).length, 1, 'not sent from here');
  assert.deepEqual([(await store.runs.get(run.id))!.status, (await store.runs.get(run.id))!.node], ['dispatched', 'agent-b']);
});

test('an agent that restarted: its unacknowledged runs sent to the earlier life are lost, those of the present life go on', async () => {
  // Issue 16's chaos run: the znode of an agent's earlier life vanished after its new life had
  // said HELLO and started a forbid job's run; taking the whole agent for lost ran the next slot beside it.
  const { job, tracker, sent, agents, slot } = await setup({ routing: 'first' });
  agents.hello(helloOf('agent-a', { startedAt: 1000 }), Date.now());
  const old = await store.runs.insert({ id: runId(job.id, slot), jobId: job.id, scheduledAt: slot, status: 'scheduled' });
  tracker.sendNew(job, old);
  await waitFor(() => execs(sent).length === 1);
  agents.hello(helloOf('agent-a', { startedAt: 2000 }), Date.now());
  const slot2 = new Date(slot.getTime() - 100_000);
  const now = await store.runs.insert({ id: runId(job.id, slot2), jobId: job.id, scheduledAt: slot2, status: 'scheduled' });
  tracker.sendNew(job, now);
  await waitFor(() => execs(sent).length === 2);
  tracker.agentRestarted('agent-a', 2000);
  await waitFor(async () => (await store.runs.get(old.id))!.status === 'lost', { message: 'the earlier life run lost' });
  assert.equal(tracker.flight(now.id)?.phase, 'sent', 'the present life run goes on');
  assert.equal((await store.runs.get(now.id))!.status, 'dispatched');
});
