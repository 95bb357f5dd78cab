import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobInputSchema, type Job, type Run } from '@clover/model';
import { partitionOf } from '@clover/partitions';
import { Agent, registerDemoHandlers } from '@clover/scheduler-client';
import type { Store } from '@clover/store';
import {
  cleanUp,
  freePort,
  spawnProcess,
  waitFor,
  type ChildHandle,
  type CleanupStep,
  type TempDir,
  type ZooKeeperHandle,
} from '@clover/testkit';
import { cloverPaths, createZkClient, partitionNodeName, publishJobChange, readCandidates, type ZkClient } from '@clover/zk-kit';
import { DispatchServer } from '../src/index.js';
import { realZooKeeperBed } from './harness.js';

// Issue 17, scale-out: every dispatch-server started with `shares: true` fires the jobs of the
// partitions it owns (docs/architecture.md, "Scale-out: partitions"). In-process servers and one
// real dispatch-server process (the bin, CLOVER_DISPATCH_SHARES=1: the one that is SIGKILLed)
// over a real ZooKeeper, real agents over ZeroMQ on 127.0.0.1, one embedded store file.
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const serverBin = path.join(here, '../src/bin.ts');
const sessionTimeoutMs = 4000;

const paths = cloverPaths('/shares');
/** Small, so a start claims few znodes on a busy machine; the rules are the same at 16,384. */
const partitionCount = 64;
const jobCount = 60;
const opened: CleanupStep[] = [];
let zooKeeper: ZooKeeperHandle;
let dir: TempDir;
let store: Store;
let admin: ZkClient;
const servers = new Map<string, { server: DispatchServer; zk: ZkClient }>();

async function startServer(id: string): Promise<DispatchServer> {
  const zk = createZkClient({ connect: zooKeeper.connectString, sessionTimeoutMs });
  opened.push([`${id} session`, () => zk.close()]);
  const server = new DispatchServer({
    zk,
    paths,
    store,
    id,
    bind: `tcp://127.0.0.1:${await freePort()}`,
    shares: true,
    partitionCount,
    drainTimeoutMs: 2000,
  });
  // A server whose session was cut off (the one "killed" below) fails some clean-up steps; it is closed all the same.
  opened.push([id, () => server.close().catch(() => undefined)]);
  await server.start();
  servers.set(id, { server, zk });
  return server;
}

/** The bin, sharing the jobs out, on the test's ZooKeeper and store file. */
async function spawnServer(id: string): Promise<ChildHandle> {
  const child = spawnProcess(process.execPath, ['--conditions=source', '--import', 'tsx', serverBin], {
    name: id,
    cwd: repo,
    env: {
      CLOVER_ZK: zooKeeper.connectString,
      CLOVER_ZK_ROOT: paths.root,
      CLOVER_ZK_SESSION_TIMEOUT_MS: String(sessionTimeoutMs),
      CLOVER_METRICS_PORT: '0',
      CLOVER_DATA_DIR: dir.path,
      CLOVER_DISPATCH_BIND: `tcp://127.0.0.1:${await freePort()}`,
      CLOVER_NODE_ID: id,
      CLOVER_DISPATCH_SHARES: '1',
      CLOVER_PARTITIONS: String(partitionCount),
    },
  });
  opened.push([id, () => child.kill('SIGKILL')]);
  await child.waitForOutput(/dispatch-server started/, 60_000);
  return child;
}

/** Each partition's owner as ZooKeeper has it (null: none), by partition. */
async function ownersInZooKeeper(): Promise<Array<string | null>> {
  const owners: Array<string | null> = [];
  for (let p = 0; p < partitionCount; p++) {
    const node = await admin.get(`${paths.partitions}/owners/${partitionNodeName(p)}`).catch(() => null);
    owners.push((node?.data as { owner?: string | null } | undefined)?.owner ?? null);
  }
  return owners;
}

/**
 * Every partition owned by one of `ids` in ZooKeeper, each of them owning some, and the
 * in-process servers among them firing exactly the partitions ZooKeeper gives them.
 */
async function settledAmong(ids: string[]): Promise<boolean> {
  const owners = await ownersInZooKeeper();
  if (!owners.every((o) => o !== null && ids.includes(o)) || !ids.every((id) => owners.includes(id))) return false;
  return ids.every((id) => {
    const local = servers.get(id)?.server.ownedPartitions();
    return !local || local.join() === owners.flatMap((o, p) => (o === id ? [p] : [])).join();
  });
}

before(async () => {
  ({ zooKeeper, dir, store, admin } = await realZooKeeperBed('clover-shares-', opened));
});

after(() => cleanUp(opened.reverse()));

/** Every-second jobs, announced on the change feed as console-api announces them. */
async function createJobs(n: number, name: string): Promise<Job[]> {
  const jobs: Job[] = [];
  for (let i = 0; i < n; i++) {
    jobs.push(
      await store.jobs.create(
        jobInputSchema.parse({
          name: `${name} ${i}`,
          schedule: { type: 'cron', expr: '* * * * * *' },
          kind: { type: 'handler', name: 'noop' },
        }),
      ),
    );
  }
  for (const job of jobs) await publishJobChange(admin, paths, { jobId: job.id, op: 'upsert' });
  return jobs;
}

/** The succeeded runs of each job, by job id. */
async function succeeded(jobs: Job[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const job of jobs)
    out.set(job.id, (await store.runs.list({ jobId: job.id, limit: 1000 })).items.filter((r) => r.status === 'succeeded').length);
  return out;
}

/** Waits until every job has `more` succeeded runs over `base`. */
async function untilEachRan(jobs: Job[], more: number, message: string, base = new Map<string, number>()): Promise<void> {
  await waitFor(
    async () => {
      const now = await succeeded(jobs);
      return jobs.every((j) => (now.get(j.id) ?? 0) >= (base.get(j.id) ?? 0) + more) || undefined;
    },
    { timeoutMs: 60_000, message },
  );
}

/**
 * Ends the window now (each job disabled, as console-api disables one), waits until no run is
 * open, and answers what is wrong with each job's runs (slotProblems), with a summary.
 */
async function closeWindow(jobs: Job[]): Promise<{ problems: string[]; summary: string }> {
  const windowEnd = Date.now();
  for (const job of jobs) {
    await store.jobs.setEnabled(job.id, false);
    await publishJobChange(admin, paths, { jobId: job.id, op: 'upsert' });
  }
  await waitFor(async () => ((await store.runs.listActive()).length === 0 ? true : undefined), {
    timeoutMs: 60_000,
    message: 'no run left open',
  });
  const problems: string[] = [];
  const statuses = new Map<string, number>();
  let misfires = 0;
  const errors = new Set<string>();
  for (const job of jobs) {
    const runs = (await store.runs.list({ jobId: job.id, limit: 1000 })).items.sort(
      (a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime(),
    );
    problems.push(...slotProblems(job, runs, windowEnd));
    for (const r of runs) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    for (const r of runs) if (r.status !== 'succeeded' && r.error) errors.add(`${r.status}: ${r.error}`);
    misfires += runs.filter((r) => r.trigger === 'misfire').length;
  }
  return {
    problems,
    summary: `runs by status: ${JSON.stringify(Object.fromEntries(statuses))}; misfire runs: ${misfires}; other outcomes: ${JSON.stringify([...errors])}`,
  };
}

test('three servers share the jobs; one is SIGKILLed and a fourth joins: every slot fired once (or by the misfire policy), nothing left open', async (t) => {
  for (const id of ['share-a', 'share-b']) await startServer(id);
  const killed = await spawnServer('share-c');
  await waitFor(async () => (await settledAmong(['share-a', 'share-b', 'share-c'])) || undefined, {
    timeoutMs: 60_000,
    message: 'the partitions divided among the three servers',
  });
  const { candidates } = await readCandidates(admin, paths.electionDispatch);
  assert.equal(candidates.length, 3);
  assert.ok(
    candidates.every((c) => c.data.shares === true),
    'each server tells the agents it fires a share of the jobs',
  );

  const agents: Agent[] = [];
  for (const id of ['agent-1', 'agent-2']) {
    const agent = registerDemoHandlers(new Agent({ zk: zooKeeper.connectString, paths, id, capacity: 64, drainTimeoutMs: 1000 }));
    opened.push([id, () => agent.close()]);
    await agent.start();
    agents.push(agent);
  }
  await waitFor(() => agents.every((a) => a.servers.length === 3) || undefined, {
    timeoutMs: 30_000,
    message: 'each agent has a channel to each server',
  });

  const jobs = await createJobs(jobCount, 'every second');
  await untilEachRan(jobs, 3, 'every job ran three times');
  for (const id of ['share-a', 'share-b']) assert.ok(servers.get(id)!.server.stats.fired > 0, `${id} fired jobs of its share`);
  // share-c is another process: the jobs of its partitions ran, and no one else owned them.
  const owners = await ownersInZooKeeper();
  const deadJobs = jobs.filter((j) => owners[partitionOf(j.id, partitionCount)] === 'share-c');
  assert.ok(deadJobs.length > 0, 'share-c owned some of the jobs, and fired them');

  // share-c dies: ZooKeeper expires its session, and the others take its partitions. share-d joins.
  await killed.kill('SIGKILL');
  await startServer('share-d');
  await waitFor(async () => (await settledAmong(['share-a', 'share-b', 'share-d'])) || undefined, {
    timeoutMs: 60_000,
    message: 'the partitions divided among the three live servers',
  });
  await untilEachRan(jobs, 5, 'every job ran five more times after the change', await succeeded(jobs));
  assert.ok(servers.get('share-d')!.server.stats.fired > 0, 'the newcomer fires the jobs of the partitions it took');
  // Each heartbeat says the server's share (the console's machine list shows it): all together, every partition.
  const shareOf = async (id: string) =>
    ((await admin.get(paths.node('servers', id)))?.data as { shares?: { partitions: number; of: number } } | undefined)?.shares;
  const beats = await waitFor(
    async () => {
      const shares = await Promise.all(['share-a', 'share-b', 'share-d'].map(shareOf));
      return shares.every((s) => s && s.of === partitionCount && s.partitions > 0) &&
        shares.reduce((sum, s) => sum + s!.partitions, 0) === partitionCount
        ? shares
        : undefined;
    },
    { timeoutMs: 10_000, message: 'the heartbeats to say the shares, together every partition' },
  );
  t.diagnostic(`shares in the heartbeats: ${beats.map((s) => s!.partitions).join(', ')} of ${partitionCount}`);

  const { problems, summary } = await closeWindow(jobs);
  t.diagnostic(summary);
  t.diagnostic(
    `fired: ${[...servers].map(([id, s]) => `${id} ${s.server.stats.fired}`).join(', ')}; jobs of the killed server: ${deadJobs.length}`,
  );
  assert.deepEqual(problems, [], 'every slot of the window fired exactly once, or skipped only as the misfire policy allows');
});

test('a server that stops hands its partitions over: the others fire them at once, every slot once (or by the misfire policy)', async (t) => {
  // After the first test: share-a, share-b and share-d share the partitions.
  const jobs = await createJobs(30, 'hand-over');
  await untilEachRan(jobs, 3, 'every job ran three times');
  const leaving = servers.get('share-a')!.server;
  const moved = jobs.filter((j) => leaving.ownedPartitions().includes(partitionOf(j.id, partitionCount)));
  assert.ok(moved.length > 0, 'share-a owned some of the jobs');
  await leaving.close();
  assert.deepEqual(leaving.ownedPartitions(), [], 'nothing left owned by the server that stopped');
  await waitFor(async () => (await settledAmong(['share-b', 'share-d'])) || undefined, {
    timeoutMs: 60_000,
    message: 'the partitions divided between the two servers left',
  });
  await untilEachRan(jobs, 3, 'every job ran three more times after the hand-over', await succeeded(jobs));
  const { problems, summary } = await closeWindow(jobs);
  t.diagnostic(`${summary}; jobs handed over: ${moved.length}`);
  assert.deepEqual(problems, [], 'every slot of the window fired exactly once, or skipped only as the misfire policy allows');
});

/**
 * What is wrong with one every-second job's runs from its first slot to `endMs`: a slot fired
 * twice, a run not final, or a gap of slots that the misfire policy does not account for. A
 * server taking a partition over fires, of the slots missed since the job's last recorded next
 * run, only the latest (`fire_once`, the default, trigger 'misfire'; schedule.ts): a gap must
 * end at such a run.
 */
function slotProblems(job: Job, runs: Run[], endMs: number): string[] {
  const problems: string[] = [];
  const bySlot = new Map<number, Run[]>();
  for (const r of runs) bySlot.set(r.scheduledAt.getTime(), [...(bySlot.get(r.scheduledAt.getTime()) ?? []), r]);
  for (const [slot, rs] of bySlot) if (rs.length > 1) problems.push(`${job.id}: ${rs.length} runs at ${new Date(slot).toISOString()}`);
  for (const r of runs)
    if (['scheduled', 'waiting', 'dispatched', 'running'].includes(r.status)) problems.push(`${r.id}: left ${r.status}`);
  const first = runs[0]?.scheduledAt.getTime();
  if (first === undefined) return [`${job.id}: no run`];
  assert.equal(job.misfire, 'fire_once');
  let gap: number[] = [];
  for (let slot = first; slot <= endMs - 2000; slot += 1000) {
    const at = bySlot.get(slot);
    if (!at) {
      gap.push(slot);
      continue;
    }
    if (gap.length && at[0]!.trigger !== 'misfire')
      problems.push(`${job.id}: ${gap.length} slot(s) from ${new Date(gap[0]!).toISOString()} missed, not followed by a misfire run`);
    // A no-op on agents with room never fails, and a slot of the window is no job's last.
    if (at[0]!.status !== 'succeeded') problems.push(`${at[0]!.id}: ${at[0]!.status} (${String(at[0]!.error)})`);
    gap = [];
  }
  return problems;
}
