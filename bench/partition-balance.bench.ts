// Balance at scale without the machines (issue 17): SERVERS (10) dispatch-server stand-ins in one
// process over the in-process ZooKeeper tree, JOBS (1,000,000) jobs in an embedded store. Each
// stand-in is what the integration will put in a dispatch-server: a PartitionOwnership member
// (@clover/zk-kit) and the jobs of its partitions, loaded from the store by hash range
// (`store.jobs.listByHash`) when it acquires partitions and dropped when it is revoked. No firing.
//   node --expose-gc --conditions=source --import tsx partition-balance.bench.ts
// Phases: the members start together and settle on the rendezvous assignment; then each loads
// its share in turn (load time, heap held per server); then one leaves gracefully, one joins,
// and one crashes (its ZooKeeper session closed without a hand-over): jobs moved, time until
// every job is loaded by its new owner. Verdicts against the issue: the largest share within
// 10% of the mean, a leave and a join each moving at most 15% of the jobs.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jobInputSchema, type Job } from '@clover/model';
import { assign, defaultPartitionCount, hashRanges, partitionOf } from '@clover/partitions';
import { openStore, type Store } from '@clover/store';
import { waitFor } from '@clover/testkit';
import { createZkClient, PartitionOwnership, type PartitionGrant, type ZkClient } from '@clover/zk-kit';

const JOBS = Number(process.env.JOBS ?? 1_000_000);
const SERVERS = Number(process.env.SERVERS ?? 10);
const COUNT = Number(process.env.PARTITIONS ?? defaultPartitionCount);
const root = '/bench/partitions';
const gc = (globalThis as { gc?: () => void }).gc;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
/** `part` as a percentage of `whole`, or 'n/a' when there is no whole (JOBS=0: the ZooKeeper side alone). */
const pct = (part: number, whole: number) => (whole > 0 ? `${fmt((100 * part) / whole, 1)}%` : 'n/a');
const mib = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MiB`;
const heapUsed = () => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

/** A dispatch-server's share without the firing: its member and the jobs of the partitions it holds. */
class Stand {
  readonly jobs = new Map<number, Job[]>();
  loadMs = 0;
  loaded = 0;
  /** Whether 'acquired' loads at once; off while the bench loads each server's first share itself. */
  follow = false;
  private queue: Promise<void> = Promise.resolve();
  member!: PartitionOwnership;
  zk!: ZkClient;

  constructor(
    readonly id: string,
    private readonly store: Store,
  ) {}

  async start(): Promise<void> {
    this.zk = createZkClient({ connect: 'memory:partition-bench' });
    await this.zk.connect();
    this.member = new PartitionOwnership(this.zk, { path: root, id: this.id, partitionCount: COUNT, concurrency: 256 });
    this.member.on('acquired', (grants: PartitionGrant[]) => {
      if (this.follow) void this.load(grants.map((g) => g.partition));
    });
    this.member.on('revoked', (partitions: number[]) => {
      for (const p of partitions) this.jobs.delete(p);
    });
    await this.member.start();
  }

  get jobCount(): number {
    let n = 0;
    for (const list of this.jobs.values()) n += list.length;
    return n;
  }

  /** Loads the enabled jobs of `partitions`, a page of 1,000 at a time, as a server would on acquiring them. */
  load(partitions: number[]): Promise<void> {
    this.queue = this.queue.then(async () => {
      const t = performance.now();
      const ranges = hashRanges(partitions, COUNT);
      for (const p of partitions) this.jobs.set(p, []);
      let cursor: string | null = null;
      do {
        const page = await this.store.jobs.listByHash({ ranges, enabled: true, limit: 1000, cursor });
        for (const job of page.items) this.jobs.get(partitionOf(job.id, COUNT))?.push(job);
        this.loaded += page.items.length;
        cursor = page.nextCursor;
        // A turn of the event loop between pages, as dispatch-server's loadEnabledJobs takes: the
        // embedded store answers at once, and without it a load starves every other stand's
        // ZooKeeper events (their watches come on later turns) until it is done.
        await new Promise((r) => setImmediate(r));
      } while (cursor);
      this.loadMs += performance.now() - t;
    });
    return this.queue;
  }

  idle(): Promise<void> {
    return this.queue;
  }
}

async function seed(store: Store): Promise<number> {
  const t = performance.now();
  for (let j = 0; j < JOBS; j++) {
    await store.jobs.create(
      jobInputSchema.parse({
        name: `job-${j}`,
        schedule: { type: 'cron', expr: `${j % 60} * * * * *` },
        kind: { type: 'handler', name: 'noop' },
      }),
    );
    if (j % 100_000 === 99_999) console.log(`  seeded ${fmt(j + 1)} jobs (${fmt((performance.now() - t) / 1000, 1)} s)`);
  }
  return performance.now() - t;
}

/**
 * Waits until every live stand holds exactly the partitions rendezvous hashing gives it, then
 * until their jobs are loaded: the milliseconds to each, from the call.
 */
async function settled(stands: Stand[], what: string): Promise<{ ownedMs: number; loadedMs: number }> {
  const t = performance.now();
  const owners = assign(
    stands.map((s) => s.id),
    COUNT,
  ).owners;
  await waitFor(
    () =>
      stands.every((s) => {
        const held = s.member.grants();
        return held.length === owners.filter((o) => o === s.id).length && held.every((g) => owners[g.partition] === s.id);
      }),
    { timeoutMs: 300_000, intervalMs: 5, message: what },
  );
  const ownedMs = performance.now() - t;
  await Promise.all(stands.map((s) => s.idle()));
  return { ownedMs, loadedMs: performance.now() - t };
}

function shareLine(stands: Stand[]): { max: number; mean: number } {
  const counts = stands.map((s) => s.jobCount);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  const max = Math.max(...counts);
  const min = Math.min(...counts);
  console.log(
    `  shares: mean ${fmt(mean)} jobs, largest ${fmt(max)} (${pct(max - mean, mean)} over), smallest ${fmt(min)} (${pct(mean - min, mean)} under)`,
  );
  return { max, mean };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'clover-partition-bench-'));
  const store = await openStore({ dataDir: dir });
  const stands: Stand[] = [];
  const verdicts: string[] = [];
  try {
    console.log(
      `partition-balance: ${fmt(JOBS)} jobs, ${SERVERS} servers, ${fmt(COUNT)} partitions, in-process ZooKeeper tree, SQLite store`,
    );
    console.log(`  seed: ${fmt((await seed(store)) / 1000, 1)} s`);
    const enabled = (await store.jobs.counts()).enabled;

    // The cluster starts: every member at once, then the assignment settles (no jobs loaded yet).
    for (let i = 1; i <= SERVERS; i++) stands.push(new Stand(`dispatch-${i}`, store));
    const t0 = performance.now();
    await Promise.all(stands.map((s) => s.start()));
    await settled(stands, 'members settle');
    console.log(
      `  ${SERVERS} members registered and every partition owned as rendezvous hashing says in ${fmt(performance.now() - t0)} ms`,
    );

    // Each server loads its share, one at a time so that its time and heap are its own.
    console.log('  server        partitions       jobs   load ms   heap held');
    for (const s of stands) {
      const before = heapUsed();
      await s.load(s.member.grants().map((g) => g.partition));
      const held = heapUsed() - before;
      console.log(
        `  ${s.id.padEnd(12)} ${fmt(s.member.grants().length).padStart(10)} ${fmt(s.jobCount).padStart(10)} ${fmt(s.loadMs).padStart(9)} ${mib(held).padStart(11)}`,
      );
      s.follow = true;
    }
    const total = stands.reduce((n, s) => n + s.jobCount, 0);
    if (total !== enabled) throw new Error(`loaded ${total} jobs, the store has ${enabled} enabled`);
    const { max, mean } = shareLine(stands);
    verdicts.push(`largest share ${pct(max - mean, mean)} over the mean (≤ 10%): ${max <= 1.1 * mean ? 'PASS' : 'FAIL'}`);
    console.log(
      `  process: heap ${mib(heapUsed())}, RSS ${mib(process.memoryUsage().rss)}${gc ? '' : ' (run with --expose-gc for exact heap figures)'}`,
    );

    const moveRound = async (what: string, change: () => Promise<void>, live: () => Stand[]) => {
      const loadedBefore = new Map(stands.map((s) => [s, s.loaded]));
      const t = performance.now();
      await change();
      const changedMs = performance.now() - t;
      const { ownedMs, loadedMs } = await settled(live(), what);
      const moved = stands.reduce((n, s) => n + s.loaded - (loadedBefore.get(s) ?? 0), 0);
      const all = live().reduce((n, s) => n + s.jobCount, 0);
      if (all !== enabled) throw new Error(`${what}: ${all} jobs held, the store has ${enabled} enabled`);
      console.log(
        `  ${what}: ${fmt(moved)} jobs moved (${pct(moved, enabled)}); every partition owned ${fmt(changedMs + ownedMs)} ms after, every job loaded by its new owner ${fmt(changedMs + loadedMs)} ms after`,
      );
      return moved;
    };

    // A graceful leave: the last server hands its partitions over.
    const leaver = stands[stands.length - 1]!;
    const leaveMoved = await moveRound(
      `${leaver.id} leaves`,
      () => leaver.member.close().then(() => leaver.zk.close()),
      () => stands.filter((s) => s !== leaver),
    );
    verdicts.push(`a leave moved ${pct(leaveMoved, enabled)} of the jobs (≤ 15%): ${leaveMoved <= 0.15 * enabled ? 'PASS' : 'FAIL'}`);
    shareLine(stands.filter((s) => s !== leaver));

    // A join: a new server takes its share.
    const joiner = new Stand(`dispatch-${SERVERS + 1}`, store);
    joiner.follow = true;
    stands.push(joiner);
    const joinMoved = await moveRound(
      `${joiner.id} joins`,
      () => joiner.start(),
      () => stands.filter((s) => s !== leaver),
    );
    verdicts.push(`a join moved ${pct(joinMoved, enabled)} of the jobs (≤ 15%): ${joinMoved <= 0.15 * enabled ? 'PASS' : 'FAIL'}`);
    shareLine(stands.filter((s) => s !== leaver));

    // A crash: a server's session ends with no hand-over (its partitions are a dead session's).
    const crashed = stands[0]!;
    await moveRound(
      `${crashed.id} crashes`,
      async () => {
        crashed.follow = false;
        await crashed.zk.close();
      },
      () => stands.filter((s) => s !== leaver && s !== crashed),
    );
    console.log(`  process at the end: heap ${mib(heapUsed())}, RSS ${mib(process.memoryUsage().rss)}`);
    for (const v of verdicts) console.log(`  verdict: ${v}`);
  } finally {
    for (const s of stands) {
      await s.member.close().catch(() => undefined);
      await s.zk.close().catch(() => undefined);
    }
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
