import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobSchema, runSchema, type Job, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { tempDir } from '@clover/testkit';
import { FailureIncidents } from '../src/failure-incidents.js';

const job = (id: string): Job =>
  jobSchema.parse({
    id,
    name: id,
    schedule: { type: 'cron', expr: '* * * * * *' },
    kind: { type: 'handler', name: 'h' },
    createdAt: new Date(0),
    updatedAt: new Date(0),
  });
const run = (jobId: string, s: number): Run =>
  runSchema.parse({ id: `${jobId}@${s}`, jobId, scheduledAt: new Date(s * 1000), status: 'running', node: 'a1' });

/** A FailureIncidents over a real embedded store of its own, on a clock the test moves. */
async function withIncidents(
  body: (t: { store: Store; incidents: FailureIncidents; advance: (ms: number) => void }) => Promise<void>,
): Promise<void> {
  const dir = await tempDir('clover-incidents-');
  const store = await openStore({ dataDir: dir.path });
  let now = 0;
  try {
    await body({ store, incidents: new FailureIncidents(store, () => now), advance: (ms) => (now += ms) });
  } finally {
    await store.close();
    await dir.cleanup();
  }
}

test('failure incidents: one open per failing job, closed by its next success; a success with none open asks the store nothing', () =>
  withIncidents(async ({ store, incidents }) => {
    // Counts the store's reads; the incidents themselves live in the real embedded store.
    let reads = 0;
    const findOpen = store.incidents.findOpen.bind(store.incidents);
    store.incidents.findOpen = (kind, subject) => (reads++, findOpen(kind, subject));
    const list = store.incidents.list.bind(store.incidents);
    store.incidents.list = (q) => (reads++, list(q));
    const failing = job('failing');
    const healthy = job('healthy');
    const openOf = async (jobId: string) => (await list({ kind: 'job_failed', limit: 100 })).items.filter((i) => i.jobId === jobId);

    await incidents.record(healthy, run('healthy', 1), 'succeeded', {}, new Date(1000));
    const afterLoad = reads;
    for (let s = 2; s < 50; s++) await incidents.record(healthy, run('healthy', s), 'succeeded', {}, new Date(s * 1000));
    assert.equal(reads, afterLoad, 'successes of a job with nothing open are answered from memory');

    await incidents.record(failing, run('failing', 1), 'failed', { error: 'boom', exitCode: 2 }, new Date(1000));
    await incidents.record(failing, run('failing', 2), 'timed_out', {}, new Date(2000));
    const opened = await openOf('failing');
    assert.equal(opened.length, 1, 'one incident however often the job fails');
    assert.equal(opened[0]!.closedAt, null);
    assert.match(opened[0]!.message, /failed on a1 .*boom/);

    await incidents.record(failing, run('failing', 3), 'succeeded', {}, new Date(3000));
    assert.deepEqual(
      (await openOf('failing')).map((i) => i.closedAt?.getTime()),
      [3000],
      'closed by the success',
    );
    await incidents.record(failing, run('failing', 4), 'lost', { error: 'agent gone' }, new Date(4000));
    assert.equal((await openOf('failing')).filter((i) => i.closedAt === null).length, 1, 'a new failure opens a new one');
  }));

test('failure incidents: one opened by another process is closed by a success once the open ones are read again', () =>
  withIncidents(async ({ store, incidents, advance }) => {
    const j = job('elsewhere');
    await incidents.record(j, run('elsewhere', 1), 'succeeded', {}, new Date(1000));
    // A retiring leader records a failure of the same job after this one read the open incidents.
    const other = await store.incidents.open({
      kind: 'job_failed',
      subject: j.id,
      jobId: j.id,
      runId: 'elsewhere@0',
      openedAt: new Date(1500),
      message: 'failed',
      details: {},
    });
    await incidents.record(j, run('elsewhere', 2), 'succeeded', {}, new Date(2000));
    assert.equal((await store.incidents.get(other.id))?.closedAt, null, 'not known yet');
    advance(10_000);
    await incidents.record(j, run('elsewhere', 3), 'succeeded', {}, new Date(3000));
    assert.equal((await store.incidents.get(other.id))?.closedAt?.getTime(), 3000, 'closed after the reload');
  }));
