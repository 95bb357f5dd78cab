/**
 * The Python agent (sdk/python, clover-agent) beside the TypeScript one under the same server:
 * one dispatch-server process (its bin, embedded SQLite, real ZooKeeper), the TypeScript agent
 * (its bin, demo `noop` handler) and the Python agent (its console script, `py.noop` sync and
 * `py.async-noop` async handlers from fixtures/python_noop.py), both up throughout. Phases one
 * after the other, each RATES[i] every-second no-op jobs for PHASE_SECONDS, served by one agent
 * (routing by handler name): the runs recorded, executions/s, lateness from the slot to the
 * handler's start (`startedAt`) p50/p99/max, and the agent process's CPU per execution.
 *
 *   cd bench && node --conditions=source --import tsx python-agent.bench.ts
 *   RATES=200,1000 PHASE_SECONDS=10 CAPACITY=64
 *   CLOVER_AGENT_PY=<path to clover-agent> (default: sdk/python/.venv/bin/clover-agent)
 *   BENCH_PY_PROFILE=<file>: the Python agent under cProfile, its profile written there
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobInputSchema, type Run } from '@clover/model';
import { openStore } from '@clover/store';
import { freePort, spawnProcess, startZooKeeper, tempDir, waitFor, type ChildHandle } from '@clover/testkit';
import { metricsEnv } from './lib/metrics.js';
import { runsOfJobs } from './lib/runs.js';

const rates = (process.env.RATES ?? '200,1000').split(',').map(Number);
const phaseSeconds = Number(process.env.PHASE_SECONDS ?? 10);
const capacity = process.env.CAPACITY ?? '64';
const here = path.dirname(fileURLToPath(import.meta.url));
const agentBin = path.resolve(here, '../packages/scheduler-client/src/bin.ts');
const serverBin = path.resolve(here, '../packages/dispatch-server/src/bin.ts');
const pyAgent = process.env.CLOVER_AGENT_PY ?? path.resolve(here, '../sdk/python/.venv/bin/clover-agent');
if (!existsSync(pyAgent)) throw new Error(`${pyAgent} is missing: install sdk/python into sdk/python/.venv (its README, "Develop")`);
const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
/** User + system CPU of a process so far, in ms (clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

const agents = [
  { name: 'TypeScript agent', handler: 'noop', proc: 'ts' },
  { name: 'Python agent, sync handler', handler: 'py.noop', proc: 'py' },
  { name: 'Python agent, async handler', handler: 'py.async-noop', proc: 'py' },
] as const;

const zkServer = await startZooKeeper();
const dir = await tempDir('clover-pybench-');
const store = await openStore({ dataDir: dir.path });
const children: ChildHandle[] = [];
try {
  // Phases back to back with 3 s between them, starting far enough ahead for the set-up.
  const gapMs = 3000;
  const first = Math.ceil((Date.now() + 25_000) / 1000) * 1000;
  const phases = agents.flatMap((a) => rates.map((rate) => ({ ...a, rate })));
  const windows = phases.map((p, i) => {
    const from = first + i * (phaseSeconds * 1000 + gapMs);
    return { ...p, from, to: from + phaseSeconds * 1000, jobIds: new Set<string>() };
  });
  for (const w of windows)
    for (let i = 0; i < w.rate; i++) {
      const job = await store.jobs.create(
        jobInputSchema.parse({
          name: `${w.handler}-${w.rate}-${i}`,
          schedule: { type: 'cron', expr: '* * * * * *' },
          kind: { type: 'handler', name: w.handler },
          window: { startAt: new Date(w.from), endAt: new Date(w.to - 1) },
          deleteWhenDone: false,
        }),
      );
      w.jobIds.add(job.id);
    }

  const zkEnv = { CLOVER_ZK: zkServer.connectString, ...metricsEnv };
  const server = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', serverBin], {
    name: 'server',
    cwd: here,
    env: {
      ...zkEnv,
      CLOVER_DATA_DIR: dir.path,
      CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
      CLOVER_NODE_ID: 'bench-server',
    },
  });
  children.push(server);
  await server.waitForOutput(/leading/, 60_000);
  const ts = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', agentBin], {
    name: 'ts-agent',
    cwd: here,
    env: { ...zkEnv, CLOVER_NODE_ID: 'ts-agent', CLOVER_CAPACITY: capacity },
  });
  children.push(ts);
  // BENCH_PY_PROFILE=<file>: the Python agent runs under cProfile and writes its profile there at
  // its exit (read it with `python -m pstats <file>`); it costs the agent about a third more CPU.
  const pyProfile = process.env.BENCH_PY_PROFILE;
  const pyCommand: [string, string[]] = pyProfile
    ? [path.join(path.dirname(pyAgent), 'python'), ['-m', 'cProfile', '-o', path.resolve(pyProfile), '-m', 'clover_agent', 'python_noop']]
    : [pyAgent, ['python_noop']];
  const py = spawnProcess(pyCommand[0], pyCommand[1], {
    name: 'py-agent',
    cwd: path.join(here, 'fixtures'),
    env: { ...zkEnv, CLOVER_NODE_ID: 'py-agent', CLOVER_CAPACITY: capacity, CLOVER_LOG_LEVEL: 'WARNING' },
  });
  children.push(py);
  await ts.waitForOutput(/agent started/, 60_000);
  if (Date.now() > first) console.log('  (set-up ran into the first phase: its first slots are late)');
  const pids = { ts: ts.pid, py: py.pid };

  console.log(`python-agent: ${phaseSeconds} s phases, every-second no-op jobs, capacity ${capacity}, one server`);
  for (const w of windows) {
    await new Promise((r) => setTimeout(r, Math.max(0, w.from - Date.now())));
    const cpuBefore = cpuMs(pids[w.proc]);
    await new Promise((r) => setTimeout(r, Math.max(0, w.to - Date.now())));
    const cpu = cpuMs(pids[w.proc]) - cpuBefore;
    const runs: Run[] = await waitFor(
      async () => {
        const mine = await runsOfJobs(store, w.jobIds, w.from);
        return mine.every((r) => ['succeeded', 'failed', 'timed_out', 'lost', 'skipped', 'cancelled'].includes(r.status))
          ? mine
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: `the runs of ${w.name} at ${w.rate}/s finished` },
    );
    const byStatus: Record<string, number> = {};
    for (const r of runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const late = runs
      .filter((r) => r.startedAt)
      .map((r) => r.startedAt!.getTime() - r.scheduledAt.getTime())
      .sort((a, b) => a - b);
    const ok = byStatus.succeeded ?? 0;
    console.log(
      `${w.name.padEnd(28)} ${String(w.rate).padStart(5)}/s: ${(ok / phaseSeconds).toFixed(0).padStart(5)} executions/s ` +
        `(${Object.entries(byStatus)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}); slot → handler start p50 ${at(late, 0.5)} ms, p99 ${at(late, 0.99)} ms, max ${late.at(-1)} ms; ` +
        `agent CPU ${(cpu / Math.max(1, ok)).toFixed(3)} ms/execution (${((cpu / (phaseSeconds * 1000)) * 100).toFixed(0)}% of a core)`,
    );
  }
} finally {
  for (const c of children.reverse()) await c.kill('SIGTERM');
  await store.close();
  await zkServer.cleanup();
  await dir.cleanup();
}
