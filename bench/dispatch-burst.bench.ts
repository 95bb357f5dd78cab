/**
 * A burst of fires 10× an agent pool's capacity arriving within one second (issue 20,
 * "Backpressure"): the runs no agent can take at once wait in the leader's queue (status
 * `waiting`) and start as slots free, none failed.
 *
 * Part 1, the burst, end to end in this process: one DispatchServer (embedded store, ZeroMQ over
 * tcp), AGENTS agents (scheduler-client, CAPACITY each, the demo `sleep` handler for HANDLER_MS),
 * the in-process ZooKeeper tree. BURST × the pool's capacity one-shot jobs, their slots spread
 * evenly over one second. Prints: runs by status, the time from the first slot until the last
 * run started (and until the last finished), the lower bound for that (the runs' total work ÷
 * the pool's capacity), the queue's peak depth (the server's own count), and the process's heap
 * and RSS before and after.
 *
 * Part 2, the queue's memory per waiting run: QUEUE_RUNS runs sent to a RunTracker with no agent
 * (each waits, its start-deadline timer armed), heap measured after a full GC before and after.
 * That is what a waiting run costs the leader: its Flight, its queue entry, its timer (the Job
 * object is shared by a job's runs and not counted; the run objects are).
 *
 *   cd bench && node --expose-gc --conditions=source --import tsx dispatch-burst.bench.ts
 *   AGENTS=2 CAPACITY=4 BURST=10 HANDLER_MS=200 QUEUE_RUNS=100000 (the defaults)
 *
 * Prints figures; asserts nothing.
 */
import { jobInputSchema, runId, type Job, type Run } from '@clover/model';
import { openStore } from '@clover/store';
import { freePort, tempDir, waitFor } from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import { AgentDirectory, DispatchServer, Router, RunTracker, defaultTimings } from '@clover/dispatch-server';
import { noopLogger } from '@clover/telemetry';

const agentsN = Number(process.env.AGENTS ?? 2);
const capacity = Number(process.env.CAPACITY ?? 4);
const burstFactor = Number(process.env.BURST ?? 10);
const handlerMs = Number(process.env.HANDLER_MS ?? 200);
const queueRuns = Number(process.env.QUEUE_RUNS ?? 100_000);
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;
const heapNow = () => {
  gc?.();
  return process.memoryUsage();
};

async function burst(): Promise<void> {
  const dir = await tempDir('clover-bench-burst-');
  const store = await openStore({ dataDir: dir.path });
  const paths = cloverPaths('/clover');
  const zks: ZkClient[] = [];
  const zk = async () => {
    const c = createZkClient({ connect: `memory:bench-burst-${process.pid}` });
    await c.connect();
    zks.push(c);
    return c;
  };
  const server = new DispatchServer({ zk: await zk(), paths, store, id: 'bench-server', bind: `tcp://127.0.0.1:${await freePort()}` });
  await server.start();
  await waitFor(() => server.isLeader, { message: 'leads' });
  const agents: Agent[] = [];
  for (let i = 1; i <= agentsN; i++) {
    const a = registerDemoHandlers(new Agent({ zk: await zk(), paths, id: `agent-${i}`, capacity, drainTimeoutMs: 1000 }));
    await a.start();
    agents.push(a);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const pool = agentsN * capacity;
  const n = pool * burstFactor;
  const t0 = Math.ceil((Date.now() + 3000) / 1000) * 1000;
  const admin = await zk();
  const jobs: Job[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push(
      await store.jobs.create(
        jobInputSchema.parse({
          name: `burst-${i}`,
          schedule: { type: 'once', at: new Date(t0 + Math.floor((i * 1000) / n)) },
          kind: { type: 'handler', name: 'sleep' },
          payload: { ms: handlerMs },
          deleteWhenDone: false,
        }),
      ),
    );
  }
  for (const j of jobs) await publishJobChange(admin, paths, { jobId: j.id, op: 'upsert' });
  const before = heapNow();
  let peakRss = before.rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const ids = new Set(jobs.map((j) => j.id));
  const runs = await waitFor(
    async () => {
      const all: Run[] = [];
      for (const id of ids) all.push(...(await store.runs.list({ jobId: id, limit: 10 })).items);
      return all.length === n && all.every((r) => ['succeeded', 'failed', 'timed_out', 'lost', 'skipped', 'cancelled'].includes(r.status))
        ? all
        : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250, message: 'every run of the burst over' },
  );
  clearInterval(sampler);
  const after = heapNow();
  const byStatus = new Map<string, number>();
  for (const r of runs) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  const lastStart = Math.max(...runs.map((r) => r.startedAt?.getTime() ?? 0));
  const lastEnd = Math.max(...runs.map((r) => r.finishedAt?.getTime() ?? 0));
  const q = server.waitingInfo();
  console.log(`burst: ${fmt(n)} one-shot runs of ${handlerMs} ms in one second, ${agentsN} agents × capacity ${capacity} = ${pool} slots`);
  console.log(`  runs by status: ${[...byStatus].map(([s, c]) => `${s} ${c}`).join(', ')}`);
  console.log(`  first slot → last run started: ${fmt(lastStart - t0)} ms (→ last finished ${fmt(lastEnd - t0)} ms)`);
  console.log(`  lower bound for the last finish (work ÷ slots): ${fmt((n * handlerMs) / pool)} ms`);
  console.log(`  queue: peak depth ${fmt(q.peak)} waiting runs (depth now ${q.depth})`);
  console.log(
    `  process: heap ${mb(before.heapUsed)} before, ${mb(after.heapUsed)} after (GC'd${gc ? '' : ': run with --expose-gc'}); peak RSS ${mb(peakRss)}`,
  );
  for (const a of agents) await a.close();
  await server.close();
  for (const z of zks) await z.close();
  await store.close();
  await dir.cleanup();
}

async function queueMemory(): Promise<void> {
  const dir = await tempDir('clover-bench-queue-');
  const store = await openStore({ dataDir: dir.path });
  const job = await store.jobs.create(
    jobInputSchema.parse({
      name: 'waits',
      schedule: { type: 'cron', expr: '* * * * * *' },
      kind: { type: 'handler', name: 'h' },
      startDeadlineMs: 3_600_000,
    }),
  );
  const tracker = new RunTracker({
    store,
    agents: new AgentDirectory(() => undefined),
    router: new Router(),
    clock: Date.now,
    logger: noopLogger,
    timings: defaultTimings,
    maxWaitingRuns: queueRuns,
    onFinished: () => undefined,
    send: () => Promise.resolve(true),
  });
  const now = Date.now();
  // Built before the measure: a run object is what the store read gives the leader anyway.
  const runs: Run[] = [];
  for (let i = 0; i < queueRuns; i++) {
    const at = new Date(now - i);
    runs.push({
      id: runId(job.id, at),
      jobId: job.id,
      scheduledAt: at,
      dispatchedAt: null,
      startedAt: null,
      finishedAt: null,
      node: null,
      attempt: 1,
      trigger: 'schedule',
      status: 'waiting',
      exitCode: null,
      outputTail: '',
      error: null,
      leaderTerm: null,
    });
  }
  const before = heapNow();
  const t = performance.now();
  for (const r of runs) tracker.sendNew(job, r);
  const addMs = performance.now() - t;
  const after = heapNow();
  const depth = tracker.queue().depth;
  const per = (after.heapUsed - before.heapUsed) / depth;
  console.log(`queue memory: ${fmt(depth)} runs waiting in a RunTracker (no agent), queued in ${fmt(addMs)} ms`);
  console.log(`  heap +${mb(after.heapUsed - before.heapUsed)}: ${fmt(per)} bytes per waiting run (Flight, queue entry, deadline timer)`);
  console.log(`  so the default bound (100,000 waiting runs) holds about ${mb(per * 100_000)} on a leader`);
  tracker.abandon();
  await store.close();
  await dir.cleanup();
}

await burst();
await queueMemory();
