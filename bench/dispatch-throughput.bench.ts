/**
 * End-to-end dispatch throughput: fires through the whole path (timer → run row → routing → EXEC
 * over ZeroMQ → agent runs it → RESULT → run and job recorded), at rising rates.
 *
 * A real ZooKeeper (Debian's, on a free port), one dispatch-server process (its bin) on the
 * embedded store, two agent processes (the scheduler-client bin, its demo `noop` handler,
 * capacity 10,000); this process only writes the jobs and reads the runs. Each step adds N
 * every-second cron jobs (round robin) for a window of BENCH_SECONDS and then waits for every
 * run to be recorded.
 *
 *   cd bench && node --conditions=source --import tsx dispatch-throughput.bench.ts
 *   RATES=250,500,1000,2000,3000 BENCH_SECONDS=15 (the defaults)
 *
 * Per step it prints: fires expected and runs recorded, by status; the sustained rate (runs
 * recorded per second, from the start of the window's first second to the last result stored); lateness from
 * the slot to the run's dispatch (`dispatchedAt`: routed, row written, EXEC queued) and to the end
 * of the run on the agent (`finishedAt`);
 * how long after the window's last slot the last result was stored; the server's CPU.
 * Prints figures; asserts nothing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobInputSchema, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { freePort, spawnProcess, startZooKeeper, tempDir, waitFor, type ChildHandle } from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange } from '@clover/zk-kit';

const rates = (process.env.RATES ?? '250,500,1000,2000,3000').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const here = path.dirname(fileURLToPath(import.meta.url));
const agentBin = path.resolve(here, '../packages/scheduler-client/src/bin.ts');
const serverBin = path.resolve(here, '../packages/dispatch-server/src/bin.ts');
const paths = cloverPaths('/clover');
// BENCH_PROF_DIR=<dir>: the server and agents write V8 CPU profiles there when they exit.
const prof = process.env.BENCH_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF_DIR}`] : [];

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

const zkServer = await startZooKeeper();
const dir = await tempDir('clover-throughput-');
const store: Store = await openStore({ dataDir: dir.path });
const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 10_000 });
const agents: ChildHandle[] = [];
let server: ChildHandle | null = null;

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function allRuns(jobIds: Set<string>, from: number, to: number): Promise<Run[]> {
  const out: Run[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.runs.list({ from: new Date(from), to: new Date(to), limit: 1000, cursor });
    out.push(...page.items.filter((r) => jobIds.has(r.jobId)));
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

try {
  await zk.connect();
  server = spawnProcess(process.execPath, [...prof, '--conditions=source', '--import', 'tsx', serverBin], {
    name: 'server', cwd: here,
    env: { CLOVER_ZK: zkServer.connectString, CLOVER_DATA_DIR: dir.path, CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`, CLOVER_NODE_ID: 'bench-server' },
  });
  await server.waitForOutput(/leading/, 30_000);
  for (const id of ['agent-1', 'agent-2']) {
    const child = spawnProcess(process.execPath, [...prof, '--conditions=source', '--import', 'tsx', agentBin], {
      name: id, cwd: here,
      env: { CLOVER_ZK: zkServer.connectString, CLOVER_NODE_ID: id, CLOVER_CAPACITY: '10000', CLOVER_HEARTBEAT_MS: '2000' },
    });
    agents.push(child);
    await child.waitForOutput(/agent started/, 30_000);
  }
  // The agents are usable once they said HELLO: a probe run tells us.
  const probe = await store.jobs.create(jobInputSchema.parse({ name: 'probe', schedule: { type: 'once', at: new Date(Date.now() + 200) }, kind: { type: 'handler', name: 'noop' }, routing: 'broadcast', deleteWhenDone: false }));
  await publishJobChange(zk, paths, { jobId: probe.id, op: 'upsert' });
  await waitFor(async () => (await store.runs.list({ jobId: probe.id })).items.filter((r) => r.status === 'succeeded').length === 2, { timeoutMs: 30_000, message: 'the probe ran on both agents' });

  console.log(`dispatch-throughput: 1 dispatch-server process → 2 agent processes over ZeroMQ tcp, embedded store, real ZooKeeper; ${seconds} s per step, Node ${process.version}`);
  // Writing a job and announcing it costs 2 ms on a fast machine and 5 or more on a slow one;
  // each step learns from the last, so the window still starts after its set-up.
  let setupMsPerJob = 5;
  for (const n of rates) {
    const setupStart = Date.now();
    const from = Math.ceil((Date.now() + 4000 + n * setupMsPerJob) / 1000) * 1000;
    const to = from + seconds * 1000;
    const ids = new Set<string>();
    for (let i = 0; i < n; i++) {
      const job = await store.jobs.create(jobInputSchema.parse({
        name: `rate-${n}-${i}`, schedule: { type: 'cron', expr: '* * * * * *' }, kind: { type: 'handler', name: 'noop' }, routing: 'round_robin',
        window: { startAt: new Date(from), endAt: new Date(to - 1000) }, deleteWhenDone: false,
      }));
      ids.add(job.id);
      await publishJobChange(zk, paths, { jobId: job.id, op: 'upsert' });
    }
    setupMsPerJob = Math.max(setupMsPerJob, (1.5 * (Date.now() - setupStart)) / n);
    if (Date.now() > from - 500) console.log(`  (set-up of ${n} jobs ran into the window; the first slots may be misfires)`);
    await new Promise((r) => setTimeout(r, Math.max(0, from - Date.now())));
    const cpu0 = cpuSeconds(server.pid);
    const expected = n * seconds;
    // Recorded when the last slot's runs exist and none of the step's runs is still open.
    const lastSlot = to - 1000;
    const storedAt = await waitFor(async () => {
      if (Date.now() < lastSlot) return 0;
      const last = await store.runs.list({ from: new Date(lastSlot), to: new Date(to), limit: 1000, cursor: null });
      if (last.items.filter((r) => ids.has(r.jobId)).length < Math.min(n, 1000)) return 0;
      return (await store.runs.listActive()).some((r) => ids.has(r.jobId)) ? 0 : Date.now();
    }, { timeoutMs: seconds * 1000 + 120_000, intervalMs: 200, message: `${expected} runs recorded` }).catch((err: unknown) => {
      console.log(`  ${String(err)}`);
      return Date.now();
    });
    const cpu = cpuSeconds(server.pid) - cpu0;
    const runs = await allRuns(ids, from, to);
    const byStatus: Record<string, number> = {};
    for (const r of runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const ok = runs.filter((r) => r.status === 'succeeded');
    const errors = new Map<string, number>();
    for (const r of runs) if (r.status !== 'succeeded') errors.set((r.error ?? '').replace(/agent-\d/, 'agent-N'), (errors.get((r.error ?? '').replace(/agent-\d/, 'agent-N')) ?? 0) + 1);
    if (process.env.BENCH_DEBUG) console.log(errors, agents.map((a) => a.output().slice(-1500)));
    const toExec = ok.map((r) => r.dispatchedAt!.getTime() - r.scheduledAt.getTime()).sort((a, b) => a - b);
    const toEnd = ok.map((r) => r.finishedAt!.getTime() - r.scheduledAt.getTime()).sort((a, b) => a - b);
    console.log(
      `${fmt(n)} jobs/s: ${fmt(runs.length)} runs of ${fmt(expected)} expected (${Object.entries(byStatus).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}); ` +
      `sustained ${fmt(ok.length / ((storedAt - from + 1000) / 1000))} runs/s recorded; ` +
      `slot→dispatched p50 ${fmt(at(toExec, 0.5))} ms, p99 ${fmt(at(toExec, 0.99))} ms, max ${fmt(toExec.at(-1) ?? NaN)} ms; ` +
      `slot→done on agent p50 ${fmt(at(toEnd, 0.5))} ms, p99 ${fmt(at(toEnd, 0.99))} ms; ` +
      `last result stored ${fmt(storedAt - lastSlot)} ms after the last slot (poll 200 ms); server CPU ${fmt((cpu * 100_000) / (storedAt - from))}% of a core`,
    );
  }
} finally {
  await Promise.all(agents.map((a) => a.kill('SIGTERM')));
  await server?.kill('SIGTERM');
  await zk.close();
  await store.close();
  await zkServer.cleanup();
  await dir.cleanup();
}
