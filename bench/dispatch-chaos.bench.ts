/**
 * The chaos run of issue 20 ("Backpressure"), end to end: a burst that exceeds capacity, over
 * and over, while the leader dies every 15 s.
 *
 * A real ZooKeeper (Debian's, on a free port), two dispatch-server processes (their bin) on one
 * embedded store (CLOVER_DATA_DIR), two agent processes (the scheduler-client bin, its demo
 * handlers) at CAPACITY slots each, over tcp on 127.0.0.1. JOBS every-second `noop` jobs and
 * SLEEPERS every-second `forbid` jobs of the demo `sleep` handler (SLEEP_MS each), all with a
 * window of BENCH_SECONDS, so the pool's slots are taken by the sleepers most of the time and
 * the no-op fires have to wait their turn. Every KILL_EVERY_MS the leading server gets SIGKILL
 * (the standby takes over once ZooKeeper expires the dead one's session, SESSION_MS) and is
 * started again as the standby.
 *
 *   cd bench && node --conditions=source --import tsx dispatch-chaos.bench.ts
 *   BENCH_SECONDS=180 JOBS=200 SLEEPERS=10 SLEEP_MS=2500 CAPACITY=4 KILL_EVERY_MS=15000 SESSION_MS=3000 (the defaults: the issue's run)
 *   NOOP_DEADLINE_MS=<ms>: the no-op jobs' startDeadlineMs (default unset: an every-second job's default, 10 s)
 *
 * At the end, from the store: runs by status (no-op jobs and sleepers apart), the failed runs by
 * error, the skipped runs by message, the `job_failed` incidents opened, how late the no-op runs
 * started (slot → startedAt), how long the pool was full (every slot held, from each run's EXEC
 * to its finish), how long capacity was full as the leader saw it (runs waiting in its queue: its
 * `clover_dispatch_waiting_runs` gauge, read every 100 ms), the leader's queue (its heartbeat),
 * the leader kills and how long each fail-over took, and where the skipped and the latest no-op
 * runs sit against the kills; then one verdict line against the issue's criteria: every no-op
 * run succeeded, late by no more than the time capacity was full (all slots held, or runs
 * waiting for one at the leader) or no leader dispatched; the sleepers ran as capacity allowed;
 * every skipped run says it waited for capacity (or was skipped by `forbid`); no failure incident.
 *
 * Prints figures; asserts nothing.
 */
import { metricsEnv } from './lib/metrics.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobInputSchema, type Incident, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { freePort, scrapeMetrics, spawnProcess, startZooKeeper, tempDir, waitFor, type ChildHandle } from '@clover/testkit';
import { runsOfJobs } from './lib/runs.js';
import { NodeRegistry, cloverPaths, createZkClient, publishJobChange, readLeader } from '@clover/zk-kit';

const seconds = Number(process.env.BENCH_SECONDS ?? 180);
const noopJobs = Number(process.env.JOBS ?? 200);
const sleeperJobs = Number(process.env.SLEEPERS ?? 10);
const sleepMs = Number(process.env.SLEEP_MS ?? 2500);
const capacity = Number(process.env.CAPACITY ?? 4);
const killEveryMs = Number(process.env.KILL_EVERY_MS ?? 15_000);
const sessionMs = Number(process.env.SESSION_MS ?? 3000);
const noopDeadlineMs = process.env.NOOP_DEADLINE_MS === undefined ? undefined : Number(process.env.NOOP_DEADLINE_MS);
/** Lateness a no-op run may have beyond the time capacity was full or no leader dispatched: the normal path's dispatch. */
const toleranceMs = 250;

const here = path.dirname(fileURLToPath(import.meta.url));
const serverBin = path.resolve(here, '../packages/dispatch-server/src/bin.ts');
const agentBin = path.resolve(here, '../packages/scheduler-client/src/bin.ts');
const paths = cloverPaths('/clover');
const tsx = (file: string) => ['--conditions=source', '--import', 'tsx', file];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
/** Where the run is, on stderr: the figures come at the end, on stdout. */
const progress = (line: string) => console.error(`[${new Date().toISOString()}] ${line}`);
const failing = new Set(['failed', 'timed_out', 'lost', 'cancelled']);
/** The messages a skipped run may carry: it waited for capacity past its start deadline, or `forbid` skipped it. */
const waitedRe = /^(waited \d+ ms for capacity|not queued: \d+ runs already wait for capacity)/;
const forbidRe = /\(concurrency forbid\)$/;

/** A message with what varies from run to run (agent ids, slot counts, numbers of runs) made general, to group by. */
const general = (msg: string | null) =>
  (msg ?? '(no message)')
    .replace(/\bagent-\d+/g, 'agent-N')
    .replace(/\d+ of (\d+) busy/g, 'n of $1 busy')
    .replace(/skipped: \d+ run\(s\)/, 'skipped: n run(s)');

function countBy<T>(items: T[], key: (t: T) => string): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]);
}
const listed = (counts: Array<[string, number]>) => counts.map(([k, v]) => `${k} ${fmt(v)}`).join(', ') || 'none';

/** Disjoint sorted intervals [from, to) in epoch ms, and how much of [a, b) they cover (by prefix sums). */
class Cover {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly before: number[] = [];
  constructor(intervals: Array<[number, number]>) {
    const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    let sum = 0;
    for (const [a, b] of sorted) {
      const last = this.ends.length - 1;
      if (last >= 0 && a <= this.ends[last]!) {
        if (b > this.ends[last]!) this.ends[last] = b;
        continue;
      }
      this.starts.push(a);
      this.ends.push(b);
    }
    for (let i = 0; i < this.starts.length; i++) {
      this.before.push(sum);
      sum += this.ends[i]! - this.starts[i]!;
    }
  }
  /** The covered time before `x`. */
  private upTo(x: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return 0;
    const i = lo - 1;
    return this.before[i]! + Math.min(x, this.ends[i]!) - this.starts[i]!;
  }
  covered(a: number, b: number): number {
    return b > a ? this.upTo(b) - this.upTo(a) : 0;
  }
  total(): number {
    return this.starts.reduce((s, a, i) => s + this.ends[i]! - a, 0);
  }
  longest(): number {
    return Math.max(0, ...this.starts.map((a, i) => this.ends[i]! - a));
  }
}

/** The times at which at least `n` of `intervals` overlap. */
function atLeast(intervals: Array<[number, number]>, n: number): Array<[number, number]> {
  const edges: Array<[number, number]> = [];
  for (const [a, b] of intervals) edges.push([a, 1], [b, -1]);
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const out: Array<[number, number]> = [];
  let open = 0;
  let since = 0;
  for (const [t, d] of edges) {
    const was = open;
    open += d;
    if (was < n && open >= n) since = t;
    if (was >= n && open < n) out.push([since, t]);
  }
  return out;
}

/** The time of the first line matching `re` in a process's output (its logger's ISO timestamp) at or after `after`. */
function loggedAt(child: ChildHandle, re: RegExp, after: number): number | null {
  for (const line of child.output().split('\n')) {
    if (!re.test(line)) continue;
    const t = Date.parse(line.slice(0, 24));
    if (t >= after) return t;
  }
  return null;
}

interface Kill {
  old: string;
  killedAt: number;
  next: string;
  electedAt: number;
  nextChild: ChildHandle;
  /** The new leader's first dispatch (its "dispatching" log line), once read from its output. */
  dispatchingAt: number | null;
}

const zkServer = await startZooKeeper();
const dir = await tempDir('clover-chaos-');
const store: Store = await openStore({ dataDir: dir.path });
const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 10_000 });
await zk.connect();
const children = new Set<ChildHandle>();
const servers = new Map<string, ChildHandle>();
/** Each server's /metrics address (http://127.0.0.1:port/metrics), for its waiting gauge. */
const metricsUrls = new Map<string, string>();
const notes: string[] = [];

async function startServer(id: string): Promise<ChildHandle> {
  const metricsPort = await freePort();
  metricsUrls.set(id, `http://127.0.0.1:${metricsPort}/metrics`);
  const child = spawnProcess(process.execPath, tsx(serverBin), {
    name: id,
    cwd: here,
    env: {
      CLOVER_ZK: zkServer.connectString,
      ...metricsEnv,
      // A port of our own: the bench reads the leader's waiting gauge from it (sampleWaiting).
      CLOVER_METRICS: 'true',
      CLOVER_METRICS_PORT: String(metricsPort),
      CLOVER_DATA_DIR: dir.path,
      CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
      CLOVER_NODE_ID: id,
      CLOVER_ZK_SESSION_TIMEOUT_MS: String(sessionMs),
      CLOVER_HEARTBEAT_MS: '1000',
    },
  });
  children.add(child);
  servers.set(id, child);
  await child.waitForOutput(/dispatch-server started/, 60_000);
  return child;
}

/** Every KILL_EVERY_MS from `from` until `to`: SIGKILL the leader, wait for the next, start the killed one again as the standby. */
async function chaos(from: number, to: number): Promise<Kill[]> {
  const kills: Kill[] = [];
  for (let t = from + killEveryMs; t < to; t += killEveryMs) {
    await sleep(t - Date.now());
    const leader = await readLeader(zk, paths.electionDispatch).catch(() => null);
    const child = leader ? servers.get(leader.id) : undefined;
    if (!leader || !child) {
      notes.push(`no leader to kill at +${fmt((Date.now() - from) / 1000, 1)} s`);
      continue;
    }
    const killedAt = Date.now();
    await child.kill('SIGKILL');
    children.delete(child);
    servers.delete(leader.id);
    const next = await waitFor(
      async () => {
        const l = await readLeader(zk, paths.electionDispatch).catch(() => null);
        return l && l.id !== leader.id ? l.id : null;
      },
      { timeoutMs: sessionMs * 3 + 30_000, intervalMs: 10, message: 'a new leader' },
    );
    const electedAt = Date.now();
    const nextChild = servers.get(next);
    if (!nextChild) throw new Error(`the new leader ${next} is not one of ours`);
    kills.push({ old: leader.id, killedAt, next, electedAt, nextChild, dispatchingAt: null });
    progress(`kill #${kills.length}: ${leader.id} SIGKILLed, ${next} elected ${fmt(electedAt - killedAt)} ms later`);
    await startServer(leader.id);
  }
  return kills;
}

/**
 * The leader's waiting queue as its heartbeat tells it (data.waiting), sampled every second until
 * `stop()`: the deepest and the oldest wait seen.
 */
function sampleQueue(): { stop: () => { depth: number; oldestWaitMs: number; samples: number } } {
  const registry = new NodeRegistry(zk, paths);
  const seen = { depth: 0, oldestWaitMs: 0, samples: 0 };
  const timer = setInterval(() => {
    void registry
      .list('servers')
      .then((nodes) => {
        for (const n of nodes) {
          const w = n.data.waiting as { depth?: unknown; oldestWaitMs?: unknown } | undefined;
          if (n.data.leader !== true || !w) continue;
          seen.samples++;
          if (typeof w.depth === 'number') seen.depth = Math.max(seen.depth, w.depth);
          if (typeof w.oldestWaitMs === 'number') seen.oldestWaitMs = Math.max(seen.oldestWaitMs, w.oldestWaitMs);
        }
      })
      .catch(() => undefined);
  }, 1000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return seen;
    },
  };
}

/**
 * When capacity was full as the leader saw it: its `clover_dispatch_waiting_runs` gauge read
 * every 100 ms from each server's /metrics, and the 100 ms before each reading of a leader
 * (`clover_dispatch_leader` 1) with runs waiting counted. A run waits only when no agent that
 * can take it has a free slot, so these are the stretches in which a no-op run may be late for
 * capacity: every slot held, or freed and taken again by the next waiting run (the backlog
 * draining through one slot while sleepers hold the others), which the slots' own EXEC → finish
 * spans do not cover, since a slot is handed on only once its RESULT reaches the leader.
 */
function sampleWaiting(): { stop: () => Array<[number, number]> } {
  const everyMs = 100;
  const spans: Array<[number, number]> = [];
  const timer = setInterval(() => {
    const at = Date.now();
    for (const url of metricsUrls.values())
      void scrapeMetrics(url, 1000)
        .then((m) => {
          if (m.total('clover_dispatch_leader') === 1 && m.total('clover_dispatch_waiting_runs') > 0) spans.push([at - everyMs, at]);
        })
        // A server killed or not up yet: no reading this time.
        .catch(() => undefined);
  }, everyMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return spans;
    },
  };
}

async function incidentsOf(jobIds: Set<string>): Promise<Incident[]> {
  const out: Incident[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.incidents.list({ kind: 'job_failed', limit: 1000, cursor });
    out.push(...page.items.filter((i) => i.jobId !== null && jobIds.has(i.jobId)));
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

try {
  for (const id of ['server-a', 'server-b']) await startServer(id);
  await waitFor(async () => (await zk.children(paths.electionDispatch)).length === 2, {
    timeoutMs: 30_000,
    message: 'both servers in the election',
  });
  for (const id of ['agent-1', 'agent-2']) {
    const child = spawnProcess(process.execPath, tsx(agentBin), {
      name: id,
      cwd: here,
      env: {
        CLOVER_ZK: zkServer.connectString,
        ...metricsEnv,
        CLOVER_NODE_ID: id,
        CLOVER_DATA_DIR: path.join(dir.path, id),
        CLOVER_CAPACITY: String(capacity),
        CLOVER_HEARTBEAT_MS: '1000',
      },
    });
    children.add(child);
    await child.waitForOutput(/agent started/, 60_000);
  }
  // The window starts once the jobs are written and the agents have said HELLO (a few seconds).
  const from = Math.ceil((Date.now() + 5000 + (noopJobs + sleeperJobs) * 10) / 1000) * 1000;
  const to = from + seconds * 1000;
  const window = { startAt: new Date(from), endAt: new Date(to - 1000) };
  const noopIds = new Set<string>();
  const sleeperIds = new Set<string>();
  for (let i = 0; i < noopJobs + sleeperJobs; i++) {
    const noop = i < noopJobs;
    const job = await store.jobs.create(
      jobInputSchema.parse({
        name: noop ? `noop-${i}` : `sleeper-${i - noopJobs}`,
        schedule: { type: 'cron', expr: '* * * * * *' },
        kind: { type: 'handler', name: noop ? 'noop' : 'sleep' },
        ...(noop
          ? noopDeadlineMs === undefined
            ? {}
            : { startDeadlineMs: noopDeadlineMs }
          : { payload: { ms: sleepMs }, concurrency: 'forbid' }),
        window,
        deleteWhenDone: false,
      }),
    );
    (noop ? noopIds : sleeperIds).add(job.id);
    await publishJobChange(zk, paths, { jobId: job.id, op: 'upsert' });
  }
  if (Date.now() > from - 500) notes.push('the set-up ran into the window: its first slots may be misfires');
  progress(`${noopJobs + sleeperJobs} jobs written; window ${new Date(from).toISOString()} → ${new Date(to).toISOString()}`);
  console.log(
    `dispatch-chaos: 2 dispatch-servers (ZooKeeper session ${fmt(sessionMs)} ms), 2 agents × capacity ${capacity}, ${noopJobs} every-second noop jobs` +
      ` (start deadline ${noopDeadlineMs === undefined ? 'default: 10 s' : `${fmt(noopDeadlineMs)} ms`}), ${sleeperJobs} every-second forbid sleepers of ${fmt(sleepMs)} ms,` +
      ` ${seconds} s, leader SIGKILLed every ${fmt(killEveryMs / 1000)} s; real ZooKeeper ${zkServer.connectString}; Node ${process.version}`,
  );
  const sampler = sampleQueue();
  const waitingSampler = sampleWaiting();
  const kills = await chaos(from, to);
  await sleep(to - Date.now());
  const queue = sampler.stop();
  const waitingSpans = waitingSampler.stop();
  progress('window over; waiting for every run to end');
  const allIds = new Set([...noopIds, ...sleeperIds]);
  const settled = await waitFor(async () => !(await store.runs.listActive()).some((r) => allIds.has(r.jobId)), {
    timeoutMs: 120_000,
    intervalMs: 500,
    message: 'every run over',
  }).catch(() => false);
  if (!settled) notes.push('runs still active 120 s after the window (counted by their status now)');
  for (const k of kills) k.dispatchingAt = loggedAt(k.nextChild, /dispatching/, k.killedAt - 1000);

  const runs = await runsOfJobs(store, allIds, from - 60_000);
  const noops = runs.filter((r) => noopIds.has(r.jobId));
  const sleepers = runs.filter((r) => sleeperIds.has(r.jobId));
  const incidents = await incidentsOf(allIds);
  const pool = 2 * capacity;

  // Time the pool was full (every slot busy) and the fail-overs (kill → the new leader's first dispatch). A run holds
  // its slot on the leader from its EXEC (dispatchedAt) to its RESULT, a round trip longer than a no-op's own start → finish;
  // a dispatchedAt more than a second before the start is an older leader's, for a run adopted over a fail-over.
  const busy = runs
    .filter((r) => r.startedAt && r.finishedAt)
    .map((r) => {
      const [d, s, f] = [r.dispatchedAt?.getTime() ?? Infinity, r.startedAt!.getTime(), r.finishedAt!.getTime()];
      return [d <= s && d >= s - 1000 ? d : s, f] as [number, number];
    });
  const full = new Cover(atLeast(busy, pool));
  const failovers = kills.map((k) => [k.killedAt, k.dispatchingAt ?? k.electedAt] as [number, number]);
  const waited = new Cover(waitingSpans);
  const excused = new Cover([...atLeast(busy, pool), ...waitingSpans, ...failovers]);
  const ok = noops.filter((r) => r.status === 'succeeded' && r.startedAt);
  const late = ok.map((r) => r.startedAt!.getTime() - r.scheduledAt.getTime()).sort((a, b) => a - b);
  const lateOnSchedule = ok
    .filter((r) => r.trigger === 'schedule')
    .map((r) => r.startedAt!.getTime() - r.scheduledAt.getTime())
    .sort((a, b) => a - b);
  const unexplained = ok
    .map((r) => {
      const [s, t] = [r.scheduledAt.getTime(), r.startedAt!.getTime()];
      return t - s - excused.covered(s, t);
    })
    .sort((a, b) => a - b);
  const slots = new Set(noops.map((r) => `${r.jobId}@${r.scheduledAt.getTime()}`));
  /**
   * The last kill before `slot` (or within the 1 s after it), and whether the slot is from then
   * to 1 s after the next leader's first dispatch.
   */
  const killBefore = (slot: number) => kills.findLast((k) => k.killedAt <= slot + 1000);
  const nearKill = (slot: number) => {
    const k = killBefore(slot);
    return k !== undefined && slot <= (k.dispatchingAt ?? k.electedAt) + 1000;
  };

  console.log(`no-op runs: ${fmt(noops.length)} (${fmt(slots.size)} slots of ${fmt(noopJobs * seconds)} in the window have a run)`);
  console.log(`  by status: ${listed(countBy(noops, (r) => r.status))}; by trigger: ${listed(countBy(noops, (r) => r.trigger))}`);
  console.log(`sleeper runs: ${fmt(sleepers.length)}`);
  console.log(`  by status: ${listed(countBy(sleepers, (r) => r.status))}; by trigger: ${listed(countBy(sleepers, (r) => r.trigger))}`);
  const bad = runs.filter((r) => failing.has(r.status) || (noopIds.has(r.jobId) && r.status !== 'succeeded' && r.status !== 'skipped'));
  console.log(`failed runs (failed, timed_out, lost, cancelled, or a no-op run not over): ${fmt(bad.length)}`);
  for (const [msg, n] of countBy(bad, (r) => `${noopIds.has(r.jobId) ? 'noop' : 'sleeper'} ${r.status}: ${general(r.error)}`).slice(0, 15))
    console.log(`  ${fmt(n)} × ${msg}`);
  const skipped = runs.filter((r) => r.status === 'skipped');
  console.log(`skipped runs: ${fmt(skipped.length)}`);
  const skipKey = (r: Run) =>
    `${noopIds.has(r.jobId) ? 'noop' : 'sleeper'} ${r.trigger}${nearKill(r.scheduledAt.getTime()) ? ', slot near a kill' : ''}: ${general(r.error)}`;
  for (const [msg, n] of countBy(skipped, skipKey).slice(0, 20)) console.log(`  ${fmt(n)} × ${msg}`);
  const open = incidents.filter((i) => i.closedAt === null);
  console.log(`job_failed incidents: ${fmt(incidents.length)} opened, ${fmt(open.length)} open at the end`);
  for (const [msg, n] of countBy(incidents, (i) => general(i.message.replace(/job "[^"]+"/, 'job "…"'))).slice(0, 10))
    console.log(`  ${fmt(n)} × ${msg}`);
  console.log(
    `no-op lateness, slot → startedAt, succeeded runs: p50 ${fmt(at(late, 0.5))} / p99 ${fmt(at(late, 0.99))} / max ${fmt(late.at(-1) ?? NaN)} ms` +
      ` (on schedule, misfires left out: p50 ${fmt(at(lateOnSchedule, 0.5))} / p99 ${fmt(at(lateOnSchedule, 0.99))} / max ${fmt(lateOnSchedule.at(-1) ?? NaN)} ms)`,
  );
  console.log(
    `  beyond the time capacity was full or no leader dispatched: p50 ${fmt(at(unexplained, 0.5))} / p99 ${fmt(at(unexplained, 0.99))} / max ${fmt(unexplained.at(-1) ?? NaN)} ms;` +
      ` ${fmt(unexplained.filter((u) => u > toleranceMs).length)} runs more than ${toleranceMs} ms`,
  );
  console.log(
    `pool full (all ${pool} slots held, EXEC → finish): ${fmt(full.total() / 1000, 1)} s of ${seconds} s, longest stretch ${fmt(full.longest())} ms`,
  );
  console.log(
    `runs waiting for capacity at the leader (its clover_dispatch_waiting_runs, read every 100 ms): ${fmt(waited.total() / 1000, 1)} s of ${seconds} s, longest stretch ${fmt(waited.longest())} ms`,
  );
  console.log(
    `leader's waiting queue (its heartbeat, sampled every second, ${fmt(queue.samples)} samples): deepest ${fmt(queue.depth)} runs, oldest wait up to ${fmt(queue.oldestWaitMs)} ms`,
  );
  console.log(`leader kills: ${kills.length}`);
  for (const [i, k] of kills.entries())
    console.log(
      `  #${i + 1} at +${fmt((k.killedAt - from) / 1000, 1)} s: ${k.old} → ${k.next}, elected ${fmt(k.electedAt - k.killedAt)} ms, first dispatch ${k.dispatchingAt === null ? '(not logged)' : `${fmt(k.dispatchingAt - k.killedAt)} ms`} after the kill`,
    );
  // Where the worst cases sit: the no-op runs skipped, and the latest started, by their slot against the kills.
  const noopSkipped = noops.filter((r) => r.status === 'skipped');
  const skippedNear = noopSkipped.filter((r) => nearKill(r.scheduledAt.getTime())).length;
  console.log(
    `no-op runs skipped: ${fmt(noopSkipped.length)}, ${fmt(skippedNear)} of them with a slot from 1 s before a kill to 1 s after the next leader's first dispatch, ${fmt(noopSkipped.length - skippedNear)} elsewhere`,
  );
  const where = (r: Run) => {
    const slot = r.scheduledAt.getTime();
    const k = killBefore(slot);
    const rel = k ? `, slot ${fmt(slot - k.killedAt)} ms after kill #${kills.indexOf(k) + 1}` : '';
    const started = r.startedAt ? r.startedAt.getTime() : NaN;
    const dispatched = r.dispatchedAt ? r.dispatchedAt.getTime() - slot : NaN;
    return `${r.trigger} run at +${fmt((slot - from) / 1000, 1)} s${rel}: dispatched +${fmt(dispatched)} ms, started +${fmt(started - slot)} ms (pool full ${fmt(full.covered(slot, started))} ms of it), on ${r.node ?? '-'}`;
  };
  const worst = [...ok]
    .map((r) => ({
      r,
      u: r.startedAt!.getTime() - r.scheduledAt.getTime() - excused.covered(r.scheduledAt.getTime(), r.startedAt!.getTime()),
    }))
    .sort((a, b) => b.u - a.u)
    .slice(0, 5);
  console.log('no-op runs latest beyond the time capacity was full or no leader dispatched:');
  for (const { r, u } of worst) console.log(`  ${fmt(u)} ms beyond: ${where(r)}`);
  for (const n of notes) console.log(`note: ${n}`);

  const failures: string[] = [];
  const noopNotOk = noops.filter((r) => r.status !== 'succeeded');
  if (noopNotOk.length) failures.push(`${fmt(noopNotOk.length)} no-op runs did not succeed`);
  const tooLate = unexplained.filter((u) => u > toleranceMs).length;
  if (tooLate)
    failures.push(`${fmt(tooLate)} no-op runs started more than ${toleranceMs} ms later than capacity being full or a fail-over explains`);
  if (!sleepers.some((r) => r.status === 'succeeded')) failures.push('no sleeper run succeeded');
  const strange = skipped.filter((r) => !waitedRe.test(r.error ?? '') && !forbidRe.test(r.error ?? ''));
  if (strange.length) failures.push(`${fmt(strange.length)} skipped runs without the waiting (or forbid) message`);
  const failed = runs.filter((r) => failing.has(r.status));
  if (failed.length) failures.push(`${fmt(failed.length)} runs failed, timed out, lost or cancelled`);
  if (incidents.length) failures.push(`${fmt(incidents.length)} failure incidents opened`);
  if (!kills.length) failures.push('no leader was killed');
  console.log(
    failures.length
      ? `VERDICT: does NOT meet issue 20's criteria: ${failures.join('; ')}`
      : `VERDICT: meets issue 20's criteria: every no-op run succeeded (late only while capacity was full or no leader dispatched), the sleepers ran as capacity allowed, every skipped run waited for capacity or was skipped by forbid, no failure incident, across ${kills.length} leader kills`,
  );
} finally {
  await Promise.all([...children].map((c) => c.kill('SIGTERM').catch(() => c.kill('SIGKILL'))));
  await zk.close();
  await store.close();
  await zkServer.cleanup();
  await dir.cleanup();
}
