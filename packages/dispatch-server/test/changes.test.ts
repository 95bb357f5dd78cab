import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Agent } from '@clover/scheduler-client';
import { waitFor } from '@clover/testkit';
import { startCluster, type Cluster } from './harness.js';

// The rules of the README's "Changes reach work in flight", one test each: one server, one
// real agent over ZeroMQ, jobs changed and deleted the way console-api does it.
let c: Cluster;
let agent: Agent;
// What before() got as far as opening, for after() to close: unset where it failed first.
let opened: Cluster | undefined;

before(async () => {
  c = opened = await startCluster('changes', { claimAheadMs: 400 });
  agent = await c.startAgent('agent-1');
});

after(async () => {
  await opened?.close();
});

const soon = (ms = 300) => new Date(Date.now() + ms);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
let marks = 0;
/** A file each shell attempt writes a line to: what actually ran on the agent. */
function marksFile(): { file: string; lines: () => Promise<string[]> } {
  const file = path.join(c.dir.path, `marks-${++marks}`);
  return { file, lines: async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean) };
}
const sh = (script: string) => ({ type: 'shell', command: 'sh', args: ['-c', script] });
async function retryPending(jobId: string, attempt: number) {
  return waitFor(async () => (await c.runsOf(jobId)).find((r) => r.status === 'scheduled' && r.attempt === attempt), {
    timeoutMs: 15_000,
    message: `attempt ${attempt} waiting out its backoff`,
  });
}

test('the issue: a job with retries deleted while its first attempt runs: the attempt is cancelled on the agent, no retry runs, no incident opens', async () => {
  const m = marksFile();
  const job = await c.createJob({
    name: 'deleted-while-running',
    schedule: { type: 'once', at: soon() },
    kind: sh(`echo start >> ${m.file}; sleep 3; echo end >> ${m.file}; exit 1`),
    retries: { max: 3, backoffMs: 1000 },
    deleteWhenDone: false,
  });
  await waitFor(async () => (await m.lines()).length === 1, { message: 'the first attempt started' });
  await c.deleteJob(job.id);
  // Before the fix the run stayed in flight for its 3 s, then three more attempts (~16 s).
  await waitFor(() => !c.server.busy(job.id), { message: 'nothing of the job left in flight or waiting to retry' });
  await waitFor(() => agent.running === 0, { message: 'the agent stopped the execution (CANCEL)' });
  // Past the first attempt's end and the backoff: nothing more may run.
  await pause(3500);
  assert.deepEqual(await m.lines(), ['start'], 'one attempt, stopped before its end');
  assert.equal(await c.store.incidents.findOpen('job_failed', job.id), null, 'no incident for a job that no longer exists');
  assert.deepEqual(await c.runsOf(job.id), []);
});

test('a job deleted while a retry waits out its backoff: the retry never runs', async () => {
  const m = marksFile();
  const job = await c.createJob({
    name: 'deleted-in-backoff',
    schedule: { type: 'once', at: soon() },
    kind: sh(`echo start >> ${m.file}; exit 1`),
    retries: { max: 3, backoffMs: 3000 },
    deleteWhenDone: false,
  });
  await retryPending(job.id, 2);
  await c.deleteJob(job.id);
  await waitFor(() => !c.server.busy(job.id), { message: 'the pending retry dropped' });
  await pause(3500);
  assert.deepEqual(await m.lines(), ['start']);
  assert.equal(await c.store.incidents.findOpen('job_failed', job.id), null);
});

test('deleting a job closes its open failure incident', async () => {
  const job = await c.createJob({
    name: 'failed-then-deleted',
    schedule: { type: 'once', at: soon() },
    kind: { type: 'handler', name: 'fail' },
    deleteWhenDone: false,
  });
  const open = await waitFor(() => c.store.incidents.findOpen('job_failed', job.id), { message: 'the failure incident' });
  await c.deleteJob(job.id);
  await waitFor(async () => (await c.store.incidents.get(open.id))?.closedAt, { message: 'the incident closed' });
  assert.equal(await c.store.incidents.findOpen('job_failed', job.id), null);
});

test('a job disabled while a retry waits: the retry is recorded cancelled, naming how the attempt before it ended', async () => {
  const m = marksFile();
  const job = await c.createJob({
    name: 'disabled-in-backoff',
    schedule: { type: 'once', at: soon() },
    kind: sh(`echo start >> ${m.file}; echo boom >&2; exit 3`),
    retries: { max: 2, backoffMs: 3000 },
    deleteWhenDone: false,
  });
  await retryPending(job.id, 2);
  await c.setEnabled(job.id, false);
  const run = await waitFor(async () => (await c.runsOf(job.id)).find((r) => r.status === 'cancelled'), {
    message: 'the retry recorded cancelled',
  });
  assert.equal(run.attempt, 1);
  assert.match(run.error ?? '', /^retry cancelled: the job was disabled \(attempt 1 ended failed/);
  await pause(3500);
  assert.deepEqual(await m.lines(), ['start'], 'the retry never ran');
  assert.equal((await c.store.jobs.get(job.id))?.lastStatus, 'cancelled');
});

test('a job disabled while it runs: the run goes on to its end, and no retry follows', async () => {
  const m = marksFile();
  const job = await c.createJob({
    name: 'disabled-while-running',
    schedule: { type: 'once', at: soon() },
    kind: sh(`echo start >> ${m.file}; sleep 1.5; echo end >> ${m.file}; exit 1`),
    retries: { max: 2, backoffMs: 200 },
    deleteWhenDone: false,
  });
  await waitFor(async () => (await m.lines()).length === 1, { message: 'started' });
  await c.setEnabled(job.id, false);
  const run = await waitFor(async () => (await c.runsOf(job.id)).find((r) => ['failed', 'cancelled'].includes(r.status)), {
    timeoutMs: 15_000,
    message: 'the run over',
  });
  assert.equal(run.status, 'failed');
  assert.equal(run.attempt, 1, 'no retry after it');
  assert.deepEqual(await m.lines(), ['start', 'end'], 'it ran to its end');
});

test('an edit applies to the next fire; a retry re-reads the job: its new kind runs', async () => {
  const job = await c.createJob({
    name: 'edited-in-backoff',
    schedule: { type: 'once', at: soon() },
    kind: { type: 'handler', name: 'fail' },
    retries: { max: 2, backoffMs: 2000 },
    deleteWhenDone: false,
  });
  await retryPending(job.id, 2);
  await c.editJob(job.id, (spec) => ({ ...spec, kind: { type: 'handler', name: 'echo' }, payload: { fixed: true } }));
  const run = await waitFor(async () => (await c.runsOf(job.id)).find((r) => r.status === 'succeeded' || r.status === 'failed'), {
    timeoutMs: 15_000,
    message: 'the retry over',
  });
  assert.equal(run.status, 'succeeded');
  assert.equal(run.attempt, 2);
  assert.equal(run.outputTail, '{"fixed":true}');
});

test('retries lowered while a retry waits: the attempt that failed was the last', async () => {
  const job = await c.createJob({
    name: 'retries-lowered',
    schedule: { type: 'once', at: soon() },
    kind: { type: 'handler', name: 'fail' },
    retries: { max: 3, backoffMs: 2000 },
    deleteWhenDone: false,
  });
  await retryPending(job.id, 2);
  await c.editJob(job.id, (spec) => ({ ...spec, retries: { max: 0, backoffMs: 2000 } }));
  const run = await waitFor(async () => (await c.runsOf(job.id)).find((r) => r.status === 'failed'), {
    timeoutMs: 15_000,
    message: 'the run failed',
  });
  assert.equal(run.attempt, 1);
  assert.doesNotMatch(run.error ?? '', /retry/);
});

test('a rescheduled job fires at its new time only; a disabled job enabled again fires at its next slot', async () => {
  const oldAt = soon(4000);
  const newAt = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000);
  const job = await c.createJob({
    name: 'rescheduled',
    schedule: { type: 'once', at: oldAt },
    kind: { type: 'handler', name: 'noop' },
    deleteWhenDone: false,
  });
  await c.editJob(job.id, (spec) => ({ ...spec, schedule: { type: 'once', at: newAt } }));
  await waitFor(async () => (await c.runsOf(job.id)).some((r) => r.status === 'succeeded'), { message: 'ran at the new time' });
  await pause(Math.max(0, oldAt.getTime() + 1000 - Date.now()));
  assert.deepEqual(
    (await c.runsOf(job.id)).map((r) => r.scheduledAt.toISOString()),
    [newAt.toISOString()],
  );

  const cron = await c.createJob({
    name: 'paused',
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'noop' },
  });
  await waitFor(async () => (await c.runsOf(cron.id)).some((r) => r.status === 'succeeded'), { message: 'fires' });
  await c.setEnabled(cron.id, false);
  const enabledAt = Date.now();
  await c.setEnabled(cron.id, true);
  await waitFor(async () => (await c.runsOf(cron.id)).some((r) => r.status === 'succeeded' && r.scheduledAt.getTime() > enabledAt), {
    message: 'fires again',
  });
  await c.deleteJob(cron.id);
});

test('a fire that finds no agent waits for one (status waiting, up to its start deadline) and goes to the first that says HELLO', async () => {
  const job = await c.createJob({
    name: 'waits-for-agent',
    schedule: { type: 'once', at: soon() },
    kind: { type: 'handler', name: 'noop' },
    target: { type: 'node', nodeId: 'agent-late' },
    deleteWhenDone: false,
  });
  await waitFor(async () => (await c.runsOf(job.id))[0]?.status === 'waiting', { message: 'the run waits' });
  await c.startAgent('agent-late');
  const run = await waitFor(
    async () => (await c.runsOf(job.id)).find((r) => !['scheduled', 'waiting', 'dispatched', 'running'].includes(r.status)),
    { message: 'the run over' },
  );
  assert.equal(run.status, 'succeeded');
  assert.equal(run.node, 'agent-late');
});

test('retries raised while a run goes on: it is retried by the policy as it stands when it ends', async () => {
  const m = marksFile();
  const job = await c.createJob({
    name: 'retries-raised',
    schedule: { type: 'once', at: soon() },
    kind: sh(`echo start >> ${m.file}; sleep 1; exit 1`),
    retries: { max: 0 },
    deleteWhenDone: false,
  });
  await waitFor(async () => (await m.lines()).length === 1, { message: 'started' });
  await c.editJob(job.id, (spec) => ({ ...spec, retries: { max: 1, backoffMs: 100 } }));
  const run = await waitFor(async () => (await c.runsOf(job.id)).find((r) => r.status === 'failed' && r.attempt === 2), {
    timeoutMs: 15_000,
    message: 'the second attempt failed too',
  });
  assert.equal(run.trigger, 'retry');
  assert.deepEqual(await m.lines(), ['start', 'start']);
});

test('a timeout raised while a retry waits: the retry runs with the new timeout', async () => {
  const job = await c.createJob({
    name: 'timeout-raised',
    schedule: { type: 'once', at: soon() },
    kind: { type: 'handler', name: 'sleep' },
    payload: { ms: 1500 },
    timeoutMs: 500,
    retries: { max: 1, backoffMs: 2000 },
    deleteWhenDone: false,
  });
  await retryPending(job.id, 2);
  await c.editJob(job.id, (spec) => ({ ...spec, timeoutMs: 10_000 }));
  const run = await waitFor(async () => (await c.runsOf(job.id)).find((r) => ['succeeded', 'failed', 'timed_out'].includes(r.status)), {
    timeoutMs: 20_000,
    message: 'the retry over',
  });
  assert.equal(run.status, 'succeeded');
  assert.equal(run.attempt, 2);
});
