import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanUp, mongoForTest, spawnProcess, tempDir, waitFor, type ChildHandle, type TempDir } from '@clover/testkit';
import { jobInputSchema, runId } from '@clover/model';
import { openStore, type StoreOptions } from '../src/index.js';

/**
 * A writer SIGKILLed between a run's final status and its counts: when the store is opened again
 * the run's status, its job's counts and the hourly counters agree, and stay so. On SQLite the
 * two writes share a transaction; on MongoDB a tally written ahead is finished by reconcile().
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const t0 = Date.UTC(2026, 5, 1, 12, 0, 0);

function crashWriter(store: StoreOptions, step: string, id: string, signal: 'SIGKILL' | 'SIGSTOP'): ChildHandle {
  return spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(here, 'fixtures', 'crash-writer.ts')], {
    cwd: path.join(here, '..'),
    env: { CRASH_WRITER: JSON.stringify({ store, step, runId: id, finishedAt: new Date(t0 + 500).toISOString(), signal }) },
    name: `crash-writer:${step}`,
  });
}

async function crashAt(store: StoreOptions, step: string, id: string): Promise<string> {
  const child = crashWriter(store, step, id, 'SIGKILL');
  const code = await child.waitForExit(60_000);
  assert.equal(code, null, `the writer was to die by SIGKILL at ${step}; it exited ${code}:\n${child.output()}`);
  return child.output();
}

/** A job and one run of it, `running`, written by a store opened and closed for it. */
async function jobWithRunningRun(options: StoreOptions, name: string) {
  const setup = await openStore(options);
  try {
    const job = await setup.jobs.create(
      jobInputSchema.parse({ name, schedule: { type: 'cron', expr: '0 * * * * *' }, kind: { type: 'handler', name: 'noop' } }),
    );
    const run = await setup.runs.insert({ id: runId(job.id, new Date(t0)), jobId: job.id, scheduledAt: new Date(t0), status: 'running' });
    return { job, run };
  } finally {
    await setup.close();
  }
}

/** Whether the process is stopped (state T in /proc/<pid>/stat, Linux). */
async function stopped(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return / T /.test(stat.slice(stat.lastIndexOf(')') + 1, stat.lastIndexOf(')') + 4));
}

function crashSuite(
  name: string,
  steps: Array<{ step: string; written: boolean }>,
  backend: () => Promise<{ options: StoreOptions; cleanup(): Promise<void> } | null>,
) {
  describe(`a writer killed between a run's status and its counts: ${name}`, () => {
    let b: { options: StoreOptions; cleanup(): Promise<void> } | null = null;
    before(async () => {
      b = await backend();
    });
    after(() => cleanUp([['backend', () => b?.cleanup()]]));

    for (const { step, written } of steps) {
      test(`killed at "${step}": status and counts agree after reopening (${written ? 'run written, counted once' : 'nothing written'})`, async (t) => {
        if (!b) {
          t.skip('no MongoDB wire server here');
          return;
        }
        const options = { ...b.options, reconcileAfterMs: 0 };
        const { job, run } = await jobWithRunningRun(options, `crash-${step}`);

        await crashAt(options, step, run.id);

        const store = await openStore(options); // reconcile() runs at open
        try {
          const hour = { from: new Date(t0), to: new Date(t0 + 3600_000), jobId: job.id };
          const after1 = {
            run: (await store.runs.get(run.id))!.status,
            job: (await store.jobs.get(job.id))!,
            counts: (await store.counters.summary(hour)).totals,
          };
          assert.equal(after1.run, written ? 'succeeded' : 'running');
          assert.equal(after1.job.runCount, written ? 1 : 0, 'the job counts the run exactly when its final status is stored');
          assert.equal(after1.job.lastStatus, written ? 'succeeded' : null);
          assert.deepEqual(after1.counts, written ? { succeeded: 1 } : {});
          // Finishing again changes nothing: the counts were applied once.
          assert.deepEqual(await store.reconcile(), { runs: 0 });
          assert.equal((await store.jobs.get(job.id))!.runCount, written ? 1 : 0);
          assert.deepEqual((await store.counters.summary(hour)).totals, written ? { succeeded: 1 } : {});
          // And the next transition counts from there.
          await store.runs.update(run.id, { status: 'failed' }, { failureCountDelta: 1, ...(written ? {} : { runCountDelta: 1 }) });
          const j = (await store.jobs.get(job.id))!;
          assert.deepEqual([j.runCount, j.failureCount], [1, 1]);
          assert.deepEqual((await store.counters.summary(hour)).totals, { failed: 1 });
        } finally {
          await store.close();
        }
      });
    }
  });
}

crashSuite('embedded SQLite', [{ step: 'runs-written', written: false }], async () => {
  const dir: TempDir = await tempDir('clover-crash-');
  return { options: { file: path.join(dir.path, 'clover.db') }, cleanup: () => dir.cleanup() };
});

crashSuite(
  'MongoDB',
  [
    { step: 'tallied', written: false },
    { step: 'runs-written', written: true },
    { step: 'counted', written: true },
  ],
  async () => {
    const mongo = await mongoForTest('clover_crash');
    if ('skip' in mongo) {
      console.log(`# SKIP MongoDB crash tests: ${mongo.skip}`);
      return null;
    }
    return { options: { mongoUrl: mongo.databaseUrl }, cleanup: () => mongo.cleanup() };
  },
);

/*
 * A writer stopped, not killed (SIGSTOP: a paused VM, a debugger, a GC pause past
 * reconcileAfterMs), at one step of a run's final write, while another process opens the store
 * and reconciles its tally; then it resumes (SIGCONT) and finishes the write. The run's outcome is
 * counted once whichever of the two gets there first: the reconciler leaves the tally's id in the
 * `ops` arrays, so the late writer's step 3 is a no-op (before, its late step 3 counted the run a
 * second time: the MongoDB chaos run's counters above their runs).
 */
describe("a writer stopped between a run's status and its counts, finished by a reconciler meanwhile, then resumed: MongoDB", () => {
  let mongo: Awaited<ReturnType<typeof mongoForTest>> | null = null;
  before(async () => {
    mongo = await mongoForTest('clover_paused');
  });
  after(() => cleanUp([['mongo', () => (mongo && !('skip' in mongo) ? mongo.cleanup() : undefined)]]));

  for (const step of ['tallied', 'runs-written', 'counted']) {
    test(`stopped at "${step}": counted once`, async (t) => {
      if (!mongo || 'skip' in mongo) {
        t.skip(`no MongoDB wire server here${mongo && 'skip' in mongo ? `: ${mongo.skip}` : ''}`);
        return;
      }
      const options: StoreOptions = { mongoUrl: mongo.databaseUrl, reconcileAfterMs: 0 };
      const { job, run } = await jobWithRunningRun(options, `paused-${step}`);
      const writer = crashWriter(options, step, run.id, 'SIGSTOP');
      try {
        await waitFor(() => stopped(writer.pid), { timeoutMs: 60_000, message: `the writer to stop at ${step}` });
        const hour = { from: new Date(t0), to: new Date(t0 + 3600_000), jobId: job.id };
        const counts = async (store: Awaited<ReturnType<typeof openStore>>) => ({
          run: (await store.runs.get(run.id))!.status,
          runCount: (await store.jobs.get(job.id))!.runCount,
          counters: (await store.counters.summary(hour)).totals,
        });
        // The reconciler: a store opened (reconcile() runs at open) while the writer is stopped.
        const reconciler = await openStore(options);
        try {
          const meanwhile = await counts(reconciler);
          const written = step !== 'tallied';
          assert.deepEqual(meanwhile, {
            run: written ? 'succeeded' : 'running',
            runCount: written ? 1 : 0,
            counters: written ? { succeeded: 1 } : {},
          });
          process.kill(writer.pid, 'SIGCONT');
          assert.equal(await writer.waitForExit(60_000), 0, writer.output());
          assert.match(writer.output(), /wrote without a crash/);
          const resumed = { run: 'succeeded', runCount: 1, counters: { succeeded: 1 } };
          assert.deepEqual(await counts(reconciler), resumed, 'the resumed writer counted nothing twice');
          assert.deepEqual(await reconciler.reconcile(), { runs: 0 }, 'nothing left half done');
          assert.deepEqual(await counts(reconciler), resumed);
        } finally {
          await reconciler.close();
        }
      } finally {
        await writer.kill('SIGKILL').catch(() => undefined);
      }
    });
  }
});
