import { jobInputSchema, type Job, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import {
  cleanUp,
  freePort,
  startZooKeeper,
  tempDir,
  waitFor,
  within,
  type CleanupStep,
  type TempDir,
  type ZooKeeperHandle,
} from '@clover/testkit';
import { cloverPaths, createZkClient, publishJobChange, type ZkClient } from '@clover/zk-kit';
import { Agent, registerDemoHandlers, type Handler } from '@clover/scheduler-client';
import type { DealerTransport } from '@clover/protocol';
import { DispatchServer, type DispatchServerOptions } from '../src/index.js';

/**
 * One dispatch-server in this process with real agents: real ZeroMQ over tcp, the embedded
 * store in a temp dir, the in-process ZooKeeper tree (its own, by name). What console-api does
 * to a job (write the store, then announce the change) is done here the same way.
 */
export interface Cluster {
  dir: TempDir;
  store: Store;
  server: DispatchServer;
  endpoint: string;
  zk(): Promise<ZkClient>;
  /** An agent with the demo handlers, and `handlers` besides (registered before it says HELLO). */
  startAgent(id: string, opts?: { groups?: string[]; capacity?: number; handlers?: Record<string, Handler> }): Promise<Agent>;
  createJob(input: Record<string, unknown>): Promise<Job>;
  /** Replaces the job's spec with `edit` applied, and announces it. */
  editJob(jobId: string, edit: (spec: Record<string, unknown>) => Record<string, unknown>): Promise<void>;
  setEnabled(jobId: string, enabled: boolean): Promise<void>;
  /** As console-api deletes: the job with its runs from the store, then the change. */
  deleteJob(jobId: string): Promise<void>;
  runsOf(jobId: string): Promise<Run[]>;
  close(): Promise<void>;
}

export const paths = cloverPaths('/clover');

export async function startCluster(
  name: string,
  opts: Pick<DispatchServerOptions, 'timings' | 'claimAheadMs' | 'clock' | 'logger'> & {
    beforeStart?: (store: Store) => Promise<void>;
    /** The server's store; default the embedded store in the cluster's temp dir. */
    openStore?: () => Promise<Store>;
  } = {},
): Promise<Cluster> {
  const zkName = `${name}-${process.pid}`;
  const zks: ZkClient[] = [];
  const agents: Agent[] = [];
  const zk = async () => {
    const c = createZkClient({ connect: `memory:${zkName}` });
    await c.connect();
    zks.push(c);
    return c;
  };
  const dir = await tempDir(`clover-${name}-`);
  const { beforeStart, openStore: openOwnStore, ...serverOpts } = opts;
  const store = await (openOwnStore ?? (() => openStore({ dataDir: dir.path })))();
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const admin = await zk();
  const server = new DispatchServer({
    zk: await zk(),
    paths,
    store,
    id: `${name}-server`,
    bind: endpoint,
    ...serverOpts,
    timings: { ackTimeoutMs: 300, adoptGraceMs: 2000, ...opts.timings },
  });
  const c: Cluster = {
    dir,
    store,
    server,
    endpoint,
    zk,
    async startAgent(id, o = {}) {
      const a = registerDemoHandlers(
        new Agent({ zk: await zk(), paths, id, groups: o.groups ?? [], shell: true, capacity: o.capacity ?? 8, drainTimeoutMs: 1000 }),
      );
      for (const [name, h] of Object.entries(o.handlers ?? {})) a.register(name, h);
      agents.push(a);
      await a.start();
      return a;
    },
    async createJob(input) {
      const job = await store.jobs.create(jobInputSchema.parse(input));
      await publishJobChange(admin, paths, { jobId: job.id, op: 'upsert' });
      return job;
    },
    async editJob(jobId, edit) {
      // The schema keeps the spec and drops what the server keeps (id, counters, times).
      const spec: Record<string, unknown> = jobInputSchema.parse((await store.jobs.get(jobId))!);
      await store.jobs.replace(jobId, jobInputSchema.parse(edit(spec)));
      await publishJobChange(admin, paths, { jobId, op: 'upsert' });
    },
    async setEnabled(jobId, enabled) {
      await store.jobs.setEnabled(jobId, enabled);
      await publishJobChange(admin, paths, { jobId, op: 'upsert' });
    },
    async deleteJob(jobId) {
      await store.jobs.delete(jobId);
      await publishJobChange(admin, paths, { jobId, op: 'delete' });
    },
    async runsOf(jobId) {
      return (await store.runs.list({ jobId, limit: 1000 })).items;
    },
    async close() {
      // Every step runs, each bounded, even past one that fails: an open socket would hold the file.
      await cleanUp([
        ['server', () => server.close()],
        ...agents.map((a) => [`agent ${a.id}`, () => a.close()] as const),
        ...zks.map((z) => ['zk', () => z.close()] as const),
        ['store', () => store.close()],
        ['dir', () => dir.cleanup()],
      ]);
    },
  };
  try {
    await beforeStart?.(store);
    await server.start();
    await waitFor(() => server.isLeader, { message: 'leads' });
  } catch (err) {
    await c.close();
    throw err;
  }
  return c;
}

/**
 * The HELLO of a hand-made agent (a bare DEALER) serving `handler`, one slot, no shell or http;
 * resolves once it went out (the transport queues nothing for an absent peer), within 10 s.
 */
export function sayHello(t: DealerTransport, agentId: string, handler: string): Promise<unknown> {
  return within(
    t.send({
      type: 'HELLO',
      body: { agentId, version: '1', handlers: [handler], capacity: 1, running: [], groups: [], tags: [], shell: false, http: false },
    }),
    10_000,
    `the HELLO of ${agentId} to go out`,
  );
}

/**
 * What the tests of several servers over real ZooKeeper stand on: a ZooKeeper server, a temp dir
 * with the embedded store in it, and an admin session. Each step is pushed onto `opened` as it
 * opens, for `cleanUp(opened.reverse())` to close even when a later step failed.
 */
export async function realZooKeeperBed(
  prefix: string,
  opened: CleanupStep[],
): Promise<{ zooKeeper: ZooKeeperHandle; dir: TempDir; store: Store; admin: ZkClient }> {
  const zooKeeper = await startZooKeeper();
  opened.push(['ZooKeeper', () => zooKeeper.cleanup()]);
  const dir = await tempDir(prefix);
  opened.push(['dir', () => dir.cleanup()]);
  const store = await openStore({ dataDir: dir.path });
  opened.push(['store', () => store.close()]);
  const admin = createZkClient({ connect: zooKeeper.connectString });
  opened.push(['admin session', () => admin.close()]);
  await admin.connect();
  return { zooKeeper, dir, store, admin };
}

/** Holds this process's event loop for `ms` (ms), as a SIGSTOP holds a process: nothing of it runs meanwhile. */
export function holdEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // A stopped process: nothing of this one runs.
  }
}
