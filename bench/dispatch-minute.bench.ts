/**
 * The issue's precision bench: 10,000 cron jobs spread over the seconds of a minute (job i fires
 * at second i % 60, so ~167 fires every second), one dispatch-server process (its bin) and one
 * agent process (the scheduler-client bin, demo `noop` handler) over ZeroMQ tcp, embedded store,
 * real ZooKeeper, for BENCH_SECONDS (default 120).
 *
 * Prints: how many runs were claimed ahead (their row written before the slot, so stamped with
 * it as their dispatch time: CLOVER_CLAIM_AHEAD_MS); lateness from the scheduled time to the
 * EXEC handed to the socket (the server's own lateness meter, read from its heartbeat in
 * ZooKeeper) and to the handler's start on the agent (`startedAt`), p50/p99/max; slots missed
 * (no run) and duplicated (more than one run per slot, or a run that needed a second attempt);
 * the server's peak RSS; and the runs failed for want of an agent (0 expected: the agent is up
 * throughout; issue 13 saw all 133,320 of them fail so with JOBS=100000 BENCH_SECONDS=60
 * WARMUP_SECONDS=20, a leader losing its ZooKeeper session to its own job-table load). Targets
 * from the issue: p99 ≤ 20 ms, max ≤ 100 ms, 0 missed, 0 duplicated, RSS ≤ 300 MB. Asserts nothing.
 *
 * The same jobs fire for WARMUP_SECONDS (default 30) before the measured window, as they would
 * on a server and agent that have been up a while: the first seconds of a fresh process run
 * before V8 has optimised its hot paths, and were most of the late seconds of a 2-minute run.
 * Those warm-up seconds are printed apart (they are what a freshly started leader or agent
 * shows), along with the few latest seconds of the window.
 *
 *   cd bench && node --conditions=source --import tsx dispatch-minute.bench.ts
 *   JOBS=10000 BENCH_SECONDS=120 WARMUP_SECONDS=30
 */
import { metricsEnv } from './lib/metrics.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobInputSchema, type Run } from '@clover/model';
import { openStore } from '@clover/store';
import { freePort, spawnProcess, startZooKeeper, tempDir, waitFor, type ChildHandle } from '@clover/testkit';
import { cloverPaths, createZkClient } from '@clover/zk-kit';

const jobs = Number(process.env.JOBS ?? 10_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 120);
const warmup = Number(process.env.WARMUP_SECONDS ?? 30);
const here = path.dirname(fileURLToPath(import.meta.url));
const agentBin = path.resolve(here, '../packages/scheduler-client/src/bin.ts');
const serverBin = path.resolve(here, '../packages/dispatch-server/src/bin.ts');
// BENCH_PROF_DIR=<dir>: the server (and with BENCH_PROF_AGENT=1 the agent) writes a V8 CPU
// profile there when it exits, sampled every 250 µs.
const prof = process.env.BENCH_PROF_DIR ? ['--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${process.env.BENCH_PROF_DIR}`] : [];
const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const zkServer = await startZooKeeper();
const dir = await tempDir('clover-minute-');
const store = await openStore({ dataDir: dir.path });
const children: ChildHandle[] = [];
try {
  // The window starts on a minute boundary far enough ahead for the set-up and the warm-up;
  // every job fires only inside them, so the expected slots are exact.
  const from = Math.ceil((Date.now() + 40_000 + warmup * 1000) / 60_000) * 60_000;
  const start = from - warmup * 1000;
  const to = from + seconds * 1000;
  const expected = new Set<string>();
  const created = Date.now();
  for (let i = 0; i < jobs; i++) {
    const second = i % 60;
    const job = await store.jobs.create(
      jobInputSchema.parse({
        name: `minute-${i}`,
        schedule: { type: 'cron', expr: `${second} * * * * *` },
        kind: { type: 'handler', name: 'noop' },
        window: { startAt: new Date(start), endAt: new Date(to - 1) },
        deleteWhenDone: false,
      }),
    );
    for (let t = Math.ceil((start - second * 1000) / 60_000) * 60_000 + second * 1000; t < to; t += 60_000)
      expected.add(`${job.id}@${new Date(t).toISOString()}`);
  }
  console.log(
    `dispatch-minute: ${jobs.toLocaleString()} jobs written in ${((Date.now() - created) / 1000).toFixed(1)} s; warm-up from ${new Date(start).toISOString()}, window ${new Date(from).toISOString()} + ${seconds} s; ${expected.size.toLocaleString()} slots expected`,
  );

  const server = spawnProcess(process.execPath, [...prof, '--conditions=source', '--import', 'tsx', serverBin], {
    name: 'server',
    cwd: here,
    env: {
      CLOVER_ZK: zkServer.connectString,
      ...metricsEnv,
      CLOVER_DATA_DIR: dir.path,
      CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
      CLOVER_NODE_ID: 'bench-server',
    },
  });
  children.push(server);
  await server.waitForOutput(/leading/, 60_000);
  const agent = spawnProcess(
    process.execPath,
    [...(process.env.BENCH_PROF_AGENT ? prof : []), '--conditions=source', '--import', 'tsx', agentBin],
    {
      name: 'agent',
      cwd: here,
      env: { CLOVER_ZK: zkServer.connectString, ...metricsEnv, CLOVER_NODE_ID: 'agent-1', CLOVER_CAPACITY: '10000' },
    },
  );
  children.push(agent);
  await agent.waitForOutput(/agent started/, 60_000);
  if (Date.now() > start) console.log('  (set-up ran into the warm-up: its first slots are late)');

  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb(server.pid));
  }, 1000);
  await new Promise((r) => setTimeout(r, Math.max(0, to - Date.now())));
  await waitFor(async () => (await store.runs.listActive()).length === 0, {
    timeoutMs: 60_000,
    intervalMs: 500,
    message: 'every run finished',
  }).catch((e: unknown) => console.log(`  ${String(e)}`));
  clearInterval(sampler);
  // The server's own figures: slot → EXEC handed to the socket, from its heartbeat data.
  const zk = createZkClient({ connect: zkServer.connectString });
  await zk.connect();
  await new Promise((r) => setTimeout(r, 2500));
  type Figures = { count: number; p50: number; p99: number; max: number };
  const beat = await zk.get<{ execLatenessMs?: { sinceStart: Figures; lastMinute: Figures } }>(
    cloverPaths('/clover').node('servers', 'bench-server'),
  );
  await zk.close();
  const sent = beat?.data.execLatenessMs;

  const runs: Run[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.runs.list({ from: new Date(start), to: new Date(to), limit: 1000, cursor });
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  const seen = new Map<string, number>();
  for (const r of runs) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
  const missed = [...expected].filter((id) => !seen.has(id)).length;
  const duplicated = [...seen.values()].filter((n) => n > 1).length + runs.filter((r) => r.attempt > 1).length;
  const byStatus: Record<string, number> = {};
  for (const r of runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const ok = runs.filter((r) => r.dispatchedAt && r.startedAt);
  const claimedAhead = runs.filter((r) => r.dispatchedAt?.getTime() === r.scheduledAt.getTime()).length;
  const late = (r: Run) => r.startedAt!.getTime() - r.scheduledAt.getTime();
  const measured = ok.filter((r) => r.scheduledAt.getTime() >= from);
  const toStart = measured.map(late).sort((a, b) => a - b);
  const toStartWarm = ok
    .filter((r) => r.scheduledAt.getTime() < from)
    .map(late)
    .sort((a, b) => a - b);
  const line = (name: string, v: number[]) => `${name.padEnd(28)} p50 ${at(v, 0.5)} ms   p99 ${at(v, 0.99)} ms   max ${v.at(-1)} ms`;
  const figures = (name: string, f: Figures) =>
    `${name.padEnd(28)} p50 ${f.p50} ms   p99 ${f.p99} ms   max ${f.max} ms   (${f.count} EXECs)`;
  // A second's runs leave together, so lateness moves by the second: the latest ones say when.
  const bySecond = new Map<number, number>();
  for (const r of measured) bySecond.set(r.scheduledAt.getTime(), Math.max(bySecond.get(r.scheduledAt.getTime()) ?? 0, late(r)));
  const latestSeconds = [...bySecond]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([t, ms]) => `+${(t - from) / 1000} s: ${ms} ms`);
  console.log(
    `runs ${runs.length.toLocaleString()} (${Object.entries(byStatus)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
  );
  console.log(`claimed ahead of their slot: ${claimedAhead.toLocaleString()} of ${runs.length.toLocaleString()} runs`);
  if (sent) console.log(figures('slot → EXEC sent (server)', sent.lastMinute) + ", the server's last full minute");
  console.log(line('slot → handler start (agent)', toStart) + `, the ${seconds} s window`);
  console.log(`  latest seconds of the window: ${latestSeconds.join(', ')}`);
  if (sent) console.log(figures('  EXEC sent, warm-up too', sent.sinceStart) + ' (since the server started)');
  if (toStartWarm.length) console.log(line(`  handler start, warm-up`, toStartWarm) + ` (the first ${warmup} s)`);
  console.log(`missed slots ${missed}, duplicated ${duplicated}; server peak RSS ${peakRss.toFixed(0)} MB`);
  // Regression check (issue 13): a busy leader must never lose sight of its live agent.
  // Both ways a run fails without an agent: none there ("no live agent ..."), or none that took it
  // ("no agent accepted it (agent-1: not connected)", what a leader that lost its session saw).
  const noAgent = runs.filter((r) => r.status === 'failed' && /^no live agent|^no agent accepted it/.test(r.error ?? '')).length;
  console.log(`runs failed for want of an agent: ${noAgent}`);
} finally {
  for (const c of children.reverse()) await c.kill('SIGTERM');
  await store.close();
  await zkServer.cleanup();
  await dir.cleanup();
}
