/**
 * End-to-end dispatch throughput: fires through the whole path (timer → run row → routing → EXEC
 * over ZeroMQ → agent runs it → RESULT → run and job recorded), at rising rates.
 *
 * A real ZooKeeper (Debian's, on a free port), one dispatch-server process (its bin) on the
 * embedded store or on MongoDB (FerretDB 1.24 on SQLite from `startMongo()`, a database of its
 * own), two agent processes (the scheduler-client bin, its demo `noop` handler,
 * capacity 10,000); this process only writes the jobs and reads the runs. Each step adds N
 * every-second cron jobs (round robin) for a window of BENCH_SECONDS and then waits for every
 * run to be recorded.
 *
 *   cd bench && node --conditions=source --import tsx dispatch-throughput.bench.ts
 *   RATES=250,500,1000,2000,3000 BENCH_SECONDS=15 (the defaults)
 *   STORE=sqlite|mongo|both (default sqlite): both runs the steps on SQLite, then on MongoDB, and
 *   prints the two side by side; each store gets its own server, agents and ZooKeeper root.
 *   STORE=both RATES=1000 BENCH_SECONDS=10: the MongoDB write path's check (commands per
 *   recorded execution below 1 at 1,000 fires/s).
 *
 * Per step it prints: fires expected and runs recorded, by status; the sustained rate (runs
 * recorded per second, from the start of the window's first second to the last result stored); lateness from
 * the slot to the run's dispatch (`dispatchedAt`: routed, row written, EXEC queued) and to the end
 * of the run on the agent (`finishedAt`);
 * how long after the window's last slot the last result was stored; the server's CPU. On MongoDB
 * also the commands the server's store sent (the driver's command monitoring, counted by the
 * store into CLOVER_MONGO_COMMAND_COUNT_FILE, read before the window and after the last result)
 * per recorded execution, by command name, and the CPU of FerretDB beside the server's, sampled
 * from /proc every 2 s, to show which process is the ceiling.
 * Prints figures; asserts nothing.
 *
 * FerretDB-on-SQLite is not MongoDB's speed: FerretDB 1.x scans the whole runs collection for
 * every update by _id (~4 ms an update at 1,000 runs, ~20-35 ms at 5,000), so its rate falls as
 * the window adds runs; keep its windows short.
 */
import { metricsEnv } from './lib/metrics.js';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobInputSchema, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import {
  freePort,
  spawnProcess,
  startMongo,
  startZooKeeper,
  tempDir,
  waitFor,
  within,
  type ChildHandle,
  type MongoHandle,
  type ZooKeeperHandle,
} from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange } from '@clover/zk-kit';

type Kind = 'sqlite' | 'mongo';
const kinds: Kind[] =
  ({ sqlite: ['sqlite'], mongo: ['mongo'], both: ['sqlite', 'mongo'] } as Record<string, Kind[]>)[process.env.STORE ?? 'sqlite'] ?? [];
if (kinds.length === 0) throw new Error(`STORE must be sqlite, mongo or both, not ${process.env.STORE}`);
const rates = (process.env.RATES ?? '250,500,1000,2000,3000').split(',').map(Number);
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const here = path.dirname(fileURLToPath(import.meta.url));
const agentBin = path.resolve(here, '../packages/scheduler-client/src/bin.ts');
const serverBin = path.resolve(here, '../packages/dispatch-server/src/bin.ts');
// BENCH_PROF_DIR=<dir>: the server and agents write V8 CPU profiles there when they exit.
const prof = process.env.BENCH_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF_DIR}`] : [];

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stallMs = Number(process.env.STALL_MS ?? 20_000);
/** Where a long step is, on stderr: the figures come at the end, on stdout. */
const progress = (line: string) => console.error(`[${new Date().toISOString()}] ${line}`);

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The pid of this process's child named `comm` (the FerretDB wrapper: startMongo does not say). */
function childPid(comm: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (name === comm && ppid === process.pid) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no child process named ${comm}`);
}

interface Counts {
  total: number;
  byName: Record<string, number>;
}
const readCounts = (file: string): Counts => JSON.parse(readFileSync(file, 'utf8')) as Counts;

/** One step's figures on one store, by row label. */
type Step = Map<string, string>;

async function allRuns(store: Store, jobIds: Set<string>, from: number, to: number): Promise<Run[]> {
  const out: Run[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.runs.list({ from: new Date(from), to: new Date(to), limit: 1000, cursor });
    out.push(...page.items.filter((r) => jobIds.has(r.jobId)));
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Runs every step of RATES on one store, with a server and two agents of its own. */
async function bench(kind: Kind, zkServer: ZooKeeperHandle): Promise<{ title: string; steps: Step[]; notes: string[] }> {
  const root = `/clover-${kind}`;
  const paths = cloverPaths(root);
  const dir = await tempDir('clover-throughput-');
  const countFile = path.join(dir.path, 'commands.json');
  let mongo: MongoHandle | null = null;
  let store: Store | null = null;
  const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 10_000 });
  const agents: ChildHandle[] = [];
  let server: ChildHandle | null = null;
  const steps: Step[] = [];
  const notes: string[] = [];
  try {
    let storeEnv: Record<string, string> = { CLOVER_DATA_DIR: dir.path };
    if (kind === 'mongo') {
      mongo = await startMongo();
      const url = mongo.databaseUrl('throughput');
      storeEnv = { ...storeEnv, CLOVER_MONGO_URL: url, CLOVER_MONGO_COMMAND_COUNT_FILE: countFile };
      store = await openStore({ mongoUrl: url });
    } else {
      store = await openStore({ dataDir: dir.path });
    }
    const ferretPid = mongo ? childPid('clover-ferretdb') : null;
    const title = kind === 'mongo' ? `MongoDB via ${mongo!.server}` : 'embedded SQLite';
    await zk.connect();
    server = spawnProcess(process.execPath, [...prof, '--conditions=source', '--import', 'tsx', serverBin], {
      name: `server-${kind}`,
      cwd: here,
      env: {
        CLOVER_ZK: zkServer.connectString,
        ...metricsEnv,
        CLOVER_ZK_ROOT: root,
        ...storeEnv,
        CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
        CLOVER_NODE_ID: `bench-server-${kind}`,
      },
    });
    await server.waitForOutput(/leading/, 30_000);
    for (const id of ['agent-1', 'agent-2']) {
      const child = spawnProcess(process.execPath, [...prof, '--conditions=source', '--import', 'tsx', agentBin], {
        name: `${id}-${kind}`,
        cwd: here,
        env: {
          CLOVER_ZK: zkServer.connectString,
          ...metricsEnv,
          CLOVER_ZK_ROOT: root,
          CLOVER_NODE_ID: id,
          CLOVER_CAPACITY: '10000',
          CLOVER_HEARTBEAT_MS: '2000',
        },
      });
      agents.push(child);
      await child.waitForOutput(/agent started/, 30_000);
    }
    // The agents are usable once they said HELLO: a probe run tells us.
    const probe = await store.jobs.create(
      jobInputSchema.parse({
        name: 'probe',
        schedule: { type: 'once', at: new Date(Date.now() + 200) },
        kind: { type: 'handler', name: 'noop' },
        routing: 'broadcast',
        deleteWhenDone: false,
      }),
    );
    await publishJobChange(zk, paths, { jobId: probe.id, op: 'upsert' });
    await waitFor(async () => (await store!.runs.list({ jobId: probe.id })).items.filter((r) => r.status === 'succeeded').length === 2, {
      timeoutMs: 30_000,
      message: 'the probe ran on both agents',
    });

    // Writing a job and announcing it costs 2 ms on a fast machine and 5 or more on a slow one;
    // each step learns from the last, so the window still starts after its set-up. On FerretDB a
    // job's upsert scans the jobs collection and the server reads and updates each job it is told
    // of, so 1,000 jobs took 32-90 s here; the estimate is generous there, because a set-up that
    // runs into the window writes jobs while the server writes runs, and in that overlap FerretDB
    // stopped answering altogether (every client waiting, no CPU used: see bench/README.md).
    let setupMsPerJob = kind === 'mongo' ? 60 : 5;
    for (const n of rates) {
      const step: Step = new Map([['rate asked', `${fmt(n)} fires/s for ${seconds} s`]]);
      const setupStart = Date.now();
      const from = Math.ceil((Date.now() + 4000 + n * setupMsPerJob) / 1000) * 1000;
      const to = from + seconds * 1000;
      const ids = new Set<string>();
      for (let i = 0; i < n; i++) {
        const job = await store.jobs.create(
          jobInputSchema.parse({
            name: `rate-${n}-${i}`,
            schedule: { type: 'cron', expr: '* * * * * *' },
            kind: { type: 'handler', name: 'noop' },
            routing: 'round_robin',
            window: { startAt: new Date(from), endAt: new Date(to - 1000) },
            deleteWhenDone: false,
          }),
        );
        ids.add(job.id);
        await publishJobChange(zk, paths, { jobId: job.id, op: 'upsert' });
      }
      step.set('set-up (jobs written and announced)', `${fmt((Date.now() - setupStart) / 1000, 1)} s for ${fmt(n)} jobs`);
      setupMsPerJob = Math.max(setupMsPerJob, (1.5 * (Date.now() - setupStart)) / n);
      progress(
        `${title}, ${n}/s: ${n} jobs written in ${fmt((Date.now() - setupStart) / 1000, 1)} s; window from ${new Date(from).toISOString()}`,
      );
      if (Date.now() > from - 500) notes.push(`${title}, ${n}/s: set-up of ${n} jobs ran into the window; the first slots may be misfires`);
      // The count file is rewritten each second: read it once the set-up's commands are in.
      await sleep(Math.max(0, from - Date.now() - 1100));
      await sleep(1100);
      const counts0 = mongo ? readCounts(countFile) : null;
      await sleep(Math.max(0, from - Date.now()));
      const cpu0 = cpuSeconds(server.pid);
      const ferret0 = ferretPid ? cpuSeconds(ferretPid) : 0;
      const agents0 = agents.reduce((a, c) => a + cpuSeconds(c.pid), 0);
      // Every 2 s: the server's and FerretDB's CPU and the commands sent, to see who is the ceiling.
      const samples: Array<{ t: number; server: number; ferret: number; commands: number }> = [];
      const sampler = setInterval(() => {
        try {
          samples.push({
            t: Date.now() - from,
            server: cpuSeconds(server!.pid),
            ferret: ferretPid ? cpuSeconds(ferretPid) : 0,
            commands: mongo ? readCounts(countFile).total : 0,
          });
        } catch {
          // a process ended: the step is over
        }
      }, 2000);
      const expected = n * seconds;
      // Recorded when the last slot's runs exist and none of the step's runs is still open.
      const lastSlot = to - 1000;
      // FerretDB can stop answering altogether (see the README): when the server has sent no
      // command for STALL_MS while runs are open, the step ends there instead of waiting on reads
      // that would never return.
      let sentLast = counts0?.total ?? 0;
      let sentChangedAt = Date.now();
      // An object, not a let: it is set inside waitFor's callback, which TypeScript's narrowing does not follow.
      const stall = { seen: false };
      const storedAt = await waitFor(
        async () => {
          if (mongo) {
            const sent = readCounts(countFile).total;
            if (sent !== sentLast) [sentLast, sentChangedAt] = [sent, Date.now()];
            if (Date.now() - sentChangedAt > stallMs) {
              stall.seen = true;
              return Date.now();
            }
          }
          if (Date.now() < lastSlot) return 0;
          // Bounded, so that a stalled FerretDB lets the next check see the stall.
          return within(
            async () => {
              const last = await store!.runs.list({ from: new Date(lastSlot), to: new Date(to), limit: 1000, cursor: null });
              if (last.items.filter((r) => ids.has(r.jobId)).length < Math.min(n, 1000)) return 0;
              return (await store!.runs.listActive()).some((r) => ids.has(r.jobId)) ? 0 : Date.now();
            },
            10_000,
            'the runs to be read',
          ).catch(() => 0);
        },
        { timeoutMs: seconds * 1000 + 120_000, intervalMs: kind === 'mongo' ? 1000 : 200, message: `${expected} runs recorded` },
      ).catch((err: unknown) => {
        notes.push(`${title}, ${n}/s: ${String(err).split('\n')[0]}`);
        return Date.now();
      });
      clearInterval(sampler);
      progress(`${title}, ${n}/s: ${stall.seen ? 'stalled' : 'recorded'} at ${new Date(storedAt).toISOString()}`);
      const cpu = cpuSeconds(server.pid) - cpu0;
      const ferretCpu = ferretPid ? cpuSeconds(ferretPid) - ferret0 : 0;
      const agentsCpu = agents.reduce((a, c) => a + cpuSeconds(c.pid), 0) - agents0;
      await sleep(1100);
      const counts1 = mongo ? readCounts(countFile) : null;
      if (stall.seen) {
        const names = Object.entries(counts1!.byName)
          .map(([k, v]) => [k, v - (counts0!.byName[k] ?? 0)] as const)
          .filter(([, v]) => v > 0);
        step.set(
          'runs',
          `FerretDB stopped answering: no command completed for ${fmt(stallMs / 1000)} s (FerretDB CPU ${fmt(ferretCpu, 2)} s in the whole step)`,
        );
        step.set(
          'commands sent in the window before the stall',
          `${fmt(counts1!.total - counts0!.total)} (${names.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`,
        );
        notes.push(`${title}, ${n}/s: FerretDB stalled; the step's figures cannot be read from it`);
        steps.push(step);
        break;
      }
      const runs = await within(allRuns(store, ids, from, to), 120_000, `the runs of the ${n}/s step to be read`);
      const byStatus: Record<string, number> = {};
      for (const r of runs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      const ok = runs.filter((r) => r.status === 'succeeded');
      const recorded = runs.filter((r) => r.finishedAt !== null).length;
      const errors = new Map<string, number>();
      for (const r of runs)
        if (r.status !== 'succeeded')
          errors.set((r.error ?? '').replace(/agent-\d/, 'agent-N'), (errors.get((r.error ?? '').replace(/agent-\d/, 'agent-N')) ?? 0) + 1);
      if (process.env.BENCH_DEBUG)
        console.log(
          errors,
          agents.map((a) => a.output().slice(-1500)),
        );
      const toExec = ok.map((r) => r.dispatchedAt!.getTime() - r.scheduledAt.getTime()).sort((a, b) => a - b);
      const toEnd = ok.map((r) => r.finishedAt!.getTime() - r.scheduledAt.getTime()).sort((a, b) => a - b);
      const spanMs = storedAt - from + 1000;
      step.set(
        'runs',
        `${fmt(runs.length)} of ${fmt(expected)} (${Object.entries(byStatus)
          .map(([k, v]) => `${k} ${fmt(v)}`)
          .join(', ')})`,
      );
      step.set('executions/s recorded', `${fmt(ok.length / (spanMs / 1000))} (succeeded runs / ${fmt(spanMs / 1000, 1)} s)`);
      step.set('slot→dispatched p50 / p99 / max', `${fmt(at(toExec, 0.5))} / ${fmt(at(toExec, 0.99))} / ${fmt(toExec.at(-1) ?? NaN)} ms`);
      step.set('slot→done on agent p50 / p99', `${fmt(at(toEnd, 0.5))} / ${fmt(at(toEnd, 0.99))} ms`);
      step.set('last result stored after last slot', `${fmt(storedAt - lastSlot)} ms (poll ${kind === 'mongo' ? 1000 : 200} ms)`);
      const share = (s: number) => `${fmt((s * 100_000) / (storedAt - from))}%`;
      step.set('CPU (of a core): server / agents', `${share(cpu)} / ${share(agentsCpu)}`);
      if (counts0 && counts1) {
        const sent = counts1.total - counts0.total;
        const names = Object.entries(counts1.byName)
          .map(([k, v]) => [k, v - (counts0.byName[k] ?? 0)] as const)
          .filter(([, v]) => v > 0)
          .sort((a, b) => b[1] - a[1]);
        step.set(
          'commands sent per recorded execution',
          `${fmt(sent / Math.max(1, recorded), 3)} (${fmt(sent)} commands / ${fmt(recorded)} recorded)`,
        );
        step.set('  by command', names.map(([k, v]) => `${k} ${fmt(v)}`).join(', '));
        step.set('CPU (of a core): FerretDB', share(ferretCpu));
        // The timeline: how the rate of commands and each process's CPU move as the runs pile up.
        const line: string[] = [];
        for (let i = 1; i < samples.length; i++) {
          const a = samples[i - 1]!;
          const b = samples[i]!;
          const dt = (b.t - a.t) / 1000;
          line.push(
            `${fmt(b.t / 1000)}s ${fmt(((b.server - a.server) * 100) / dt)}/${fmt(((b.ferret - a.ferret) * 100) / dt)}%/${fmt((b.commands - a.commands) / dt)}c`,
          );
        }
        notes.push(
          `${title}, ${n}/s, every 2 s from the window's start: seconds server-CPU/FerretDB-CPU/commands-per-s: ${line.join(' · ')}`,
        );
      }
      steps.push(step);
    }
    return { title, steps, notes };
  } finally {
    await Promise.all(agents.map((a) => a.kill('SIGTERM', 15_000).catch(() => undefined)));
    await server?.kill('SIGTERM', 15_000).catch(() => undefined);
    await zk.close();
    // A stalled FerretDB may never answer the close: it is killed next anyway.
    await within(store?.close() ?? Promise.resolve(), 10_000, 'the store to close').catch(() => undefined);
    await mongo?.stop();
    await dir.cleanup();
  }
}

const zkServer = await startZooKeeper();
const results: Array<Awaited<ReturnType<typeof bench>>> = [];
try {
  for (const kind of kinds) {
    // One store failing (FerretDB stalled, see the README) still leaves the other's figures.
    results.push(
      await bench(kind, zkServer).catch((err: unknown) => ({
        title: kind,
        steps: [],
        notes: [`${kind}: failed: ${String(err).split('\n')[0]}`],
      })),
    );
  }
} finally {
  await zkServer.cleanup();
}

console.log(
  `\ndispatch-throughput: 1 dispatch-server process → 2 agent processes over ZeroMQ tcp, real ZooKeeper; ${seconds} s per step, Node ${process.version}, ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
rates.forEach((n, i) => {
  const labels = [...new Set(results.flatMap((r) => [...(r.steps[i]?.keys() ?? [])]))];
  const table = [['', ...results.map((r) => r.title)], ...labels.map((l) => [l, ...results.map((r) => r.steps[i]?.get(l) ?? '-')])];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  console.log(`\n${fmt(n)} fires/s asked`);
  for (const row of table) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
});
for (const r of results) for (const note of r.notes) console.log(`\n  ${note}`);
if (kinds.includes('mongo')) {
  console.log(`
  FerretDB-on-SQLite is not MongoDB's speed: FerretDB 1.x scans the whole runs collection for every
  update by _id (~4 ms an update at 1,000 runs, ~20-35 ms at 5,000), so its executions/s fall as the
  window adds runs. Its figures show what the store sends (commands per recorded execution), not
  what a MongoDB server would sustain.`);
}
console.log('');
