/**
 * Fail-over time: SIGKILL the leading dispatch-server and time until the standby fires.
 *
 * A real ZooKeeper (Debian's, on a free port), two dispatch-server processes (their bin) on one
 * embedded store, two agent processes (the scheduler-client bin), 10 every-second jobs
 * (misfire fire_once). Per repetition: wait for steady firing, SIGKILL the leader at a random
 * point of a second, then measure from the kill
 *   - elected: the standby's candidate znode is the lowest (ZooKeeper expired the dead
 *     leader's session: this is the session timeout at work),
 *   - first fire: the first run row the new leader wrote (its `dispatchedAt`; rows the dead
 *     leader claimed ahead of their slot carry that slot, at most CLOVER_CLAIM_AHEAD_MS (100 ms)
 *     after the kill, and are left out),
 *   - first result: the first run finished by an agent after the kill and recorded,
 * and how the seconds nobody fired were handled (each job's gap fired once, as a misfire).
 * The killed server is started again as the standby before the next repetition.
 *
 *   cd bench && node --conditions=source --import tsx dispatch-failover.bench.ts
 *   SESSIONS=3000:5,10000:2 (session timeout ms : repetitions; 10,000 ms is the default setting)
 *
 * Prints figures; asserts nothing.
 */
import { metricsEnv } from './lib/metrics.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobInputSchema } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import { freePort, spawnProcess, startZooKeeper, tempDir, waitFor, type ChildHandle } from '@clover/testkit';
import { runsOfJobs } from './lib/runs.js';
import { cloverPaths, createZkClient, publishJobChange, readLeader } from '@clover/zk-kit';
import { defaultClaimAheadMs as claimAheadMs } from '@clover/dispatch-server';

const configs = (process.env.SESSIONS ?? '3000:5,10000:2').split(',').map((c) => c.split(':').map(Number) as [number, number]);
const here = path.dirname(fileURLToPath(import.meta.url));
const serverBin = path.resolve(here, '../packages/dispatch-server/src/bin.ts');
const agentBin = path.resolve(here, '../packages/scheduler-client/src/bin.ts');
const paths = cloverPaths('/clover');
const tsx = (file: string) => ['--conditions=source', '--import', 'tsx', file];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

const zkServer = await startZooKeeper();
const dir = await tempDir('clover-failover-');
const store: Store = await openStore({ dataDir: dir.path });
const zk = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: 10_000 });
await zk.connect();
const children = new Set<ChildHandle>();

async function startServer(id: string, sessionTimeoutMs: number): Promise<ChildHandle> {
  const child = spawnProcess(process.execPath, tsx(serverBin), {
    name: id,
    cwd: here,
    env: {
      CLOVER_ZK: zkServer.connectString,
      ...metricsEnv,
      CLOVER_DATA_DIR: dir.path,
      CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
      CLOVER_NODE_ID: id,
      CLOVER_ZK_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
      CLOVER_HEARTBEAT_MS: '1000',
    },
  });
  children.add(child);
  await child.waitForOutput(/dispatch-server started/, 30_000);
  return child;
}

/** The time of the last line matching `re` in a process's output (its logger's ISO timestamp). */
function loggedAt(child: ChildHandle, re: RegExp): number | null {
  const lines = child
    .output()
    .split('\n')
    .filter((l) => re.test(l));
  const last = lines.at(-1);
  return last ? Date.parse(last.slice(0, 24)) : null;
}

try {
  for (const id of ['agent-1', 'agent-2']) {
    const child = spawnProcess(process.execPath, tsx(agentBin), {
      name: id,
      cwd: here,
      env: { CLOVER_ZK: zkServer.connectString, ...metricsEnv, CLOVER_NODE_ID: id, CLOVER_HEARTBEAT_MS: '1000' },
    });
    children.add(child);
    await child.waitForOutput(/agent started/, 30_000);
  }
  console.log(
    `dispatch-failover: 2 dispatch-server processes, 2 agents, 10 every-second jobs (misfire fire_once), real ZooKeeper ${zkServer.connectString}; Node ${process.version}`,
  );
  for (const [sessionTimeoutMs, reps] of configs) {
    const servers = new Map<string, ChildHandle>();
    for (const id of [`s${sessionTimeoutMs}-a`, `s${sessionTimeoutMs}-b`]) servers.set(id, await startServer(id, sessionTimeoutMs));
    await waitFor(async () => (await zk.children(paths.electionDispatch)).length === 2, {
      timeoutMs: 30_000,
      message: 'both servers in the election',
    });
    const ids = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const job = await store.jobs.create(
        jobInputSchema.parse({
          name: `s${sessionTimeoutMs}-${i}`,
          schedule: { type: 'cron', expr: '* * * * * *' },
          kind: { type: 'handler', name: 'noop' },
          misfire: 'fire_once',
        }),
      );
      ids.add(job.id);
      await publishJobChange(zk, paths, { jobId: job.id, op: 'upsert' });
    }
    const figures: Array<{ elected: number; fire: number; result: number; settle: number; gap: number; misfires: number }> = [];
    for (let rep = 0; rep < reps; rep++) {
      // Steady: every job has a succeeded run of the last second or the one before.
      await waitFor(
        async () => {
          const runs = await runsOfJobs(store, ids, Date.now() - 2500);
          return new Set(runs.filter((r) => r.status === 'succeeded').map((r) => r.jobId)).size === ids.size;
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'steady firing' },
      );
      await sleep(Math.random() * 1000);
      const old = (await readLeader(zk, paths.electionDispatch))!.id;
      const killedAt = Date.now();
      await servers.get(old)!.kill('SIGKILL');
      const next = await waitFor(
        async () => {
          const l = await readLeader(zk, paths.electionDispatch).catch(() => null);
          return l && l.id !== old ? l.id : null;
        },
        { timeoutMs: sessionTimeoutMs * 3 + 10_000, intervalMs: 10, message: 'a new leader' },
      );
      const electedAt = Date.now();
      const firstFire = await waitFor(
        async () => {
          const after = (await runsOfJobs(store, ids, killedAt - 60_000)).filter(
            (r) => r.dispatchedAt && r.dispatchedAt.getTime() > killedAt + claimAheadMs,
          );
          return after.length ? Math.min(...after.map((r) => r.dispatchedAt!.getTime())) : null;
        },
        { timeoutMs: 30_000, intervalMs: 20, message: 'a fire by the new leader' },
      );
      const firstResult = await waitFor(
        async () => {
          const after = (await runsOfJobs(store, ids, killedAt - 60_000)).filter(
            (r) => r.status === 'succeeded' && r.finishedAt && r.finishedAt.getTime() > killedAt,
          );
          return after.length ? Math.min(...after.map((r) => r.finishedAt!.getTime())) : null;
        },
        { timeoutMs: 30_000, intervalMs: 20, message: 'a result after the kill' },
      );
      // The seconds nobody fired: per job, the slots missing between the kill and the new leader's steady firing.
      await sleep(2500);
      const runs = await runsOfJobs(store, ids, killedAt - 5000);
      let gap = 0;
      let misfires = 0;
      // From the last second the old leader could have fired (before the kill) to now.
      const first = Math.floor(killedAt / 1000) * 1000;
      for (const id of ids) {
        const mine = runs.filter((r) => r.jobId === id && r.scheduledAt.getTime() >= first);
        const slots = new Set(mine.map((r) => r.scheduledAt.getTime()));
        const last = Math.max(...slots);
        for (let s = first; s <= last; s += 1000) if (!slots.has(s)) gap++;
        misfires += mine.filter((r) => r.trigger === 'misfire').length;
      }
      const nextChild = servers.get(next)!;
      const settle = (loggedAt(nextChild, /dispatching/) ?? NaN) - (loggedAt(nextChild, /leading: loading jobs/) ?? NaN);
      figures.push({
        elected: electedAt - killedAt,
        fire: firstFire - killedAt,
        result: firstResult - killedAt,
        settle,
        gap: gap / ids.size,
        misfires: misfires / ids.size,
      });
      const f = figures.at(-1)!;
      console.log(
        `  session ${fmt(sessionTimeoutMs)} ms, #${rep + 1}: ${next} elected ${fmt(f.elected)} ms after the SIGKILL of ${old}, first fire ${fmt(f.fire)} ms, first result ${fmt(f.result)} ms; waited ${fmt(f.settle)} ms for the agents' HELLO; ${f.gap.toFixed(1)} slots per job unfired, ${f.misfires.toFixed(1)} misfire run(s) per job`,
      );
      servers.set(old, await startServer(old, sessionTimeoutMs));
      await waitFor(async () => (await zk.children(paths.electionDispatch)).length === 2, {
        timeoutMs: 30_000,
        message: 'the killed server back as standby',
      });
    }
    console.log(
      `session timeout ${fmt(sessionTimeoutMs)} ms, ${reps} kills: elected median ${fmt(median(figures.map((f) => f.elected)))} ms (${fmt(Math.min(...figures.map((f) => f.elected)))}–${fmt(Math.max(...figures.map((f) => f.elected)))}), ` +
        `first fire median ${fmt(median(figures.map((f) => f.fire)))} ms (${fmt(Math.min(...figures.map((f) => f.fire)))}–${fmt(Math.max(...figures.map((f) => f.fire)))}), ` +
        `first result median ${fmt(median(figures.map((f) => f.result)))} ms`,
    );
    for (const id of ids) await store.jobs.setEnabled(id, false);
    for (const s of servers.values()) {
      await s.kill('SIGTERM');
      children.delete(s);
    }
  }
} finally {
  await Promise.all([...children].map((c) => c.kill('SIGTERM')));
  await zk.close();
  await store.close();
  await zkServer.cleanup();
  await dir.cleanup();
}
