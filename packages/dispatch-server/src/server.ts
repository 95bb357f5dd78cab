import { noopLogger, noopMetrics, type Logger, type Metrics } from '@clover/telemetry';
import { Heartbeat } from '@clover/heartbeat';
import { CleanupError, defaultStepTimeoutMs, runSteps, settleWithin, within } from '@clover/lifecycle';
import type { Job, Run } from '@clover/model';
import { RouterTransport, type Message, type ProtocolError, type ServerCurve } from '@clover/protocol';
import type { Store } from '@clover/store';
import { defaultPartitionCount } from '@clover/partitions';
import {
  JobChangeFeed,
  LeaderElection,
  NodeRegistry,
  PartitionOwnership,
  publishJobChange,
  readCandidates,
  type CloverPaths,
  type JobChange,
  type PartitionGrant,
  type ZkClient,
} from '@clover/zk-kit';
import { AgentDirectory } from './agents.js';
import { LatenessMeter } from './lateness.js';
import { DispatchMetrics } from './metrics.js';
import { StoreWriteBatch } from './write-batch.js';
import { fireJob, type FireDeps } from './fire.js';
import { KeyedChain } from './keyed-chain.js';
import { defaultClaimAheadMs, defaultTimings, type Clock, type TrackerTimings } from './interfaces.js';
import { Router } from './route.js';
import { JobScheduler, nextSlot, type FireTrigger } from './schedule.js';
import { SlotGate } from './slot-gate.js';
import { UnwrittenSlots } from './unwritten-slots.js';
import { RunTracker } from './track.js';
import { LiveOutputs } from './live-output.js';
import { AgentAdmission } from './admission.js';
import { jobIdOfRun, ShareTable } from './shares.js';

export interface DispatchServerOptions {
  /** This server's ZooKeeper session: election, heartbeat, agent registry, job change feed. */
  zk: ZkClient;
  /** The ZooKeeper layout under clover's root (`cloverPaths('/clover')`). */
  paths: CloverPaths;
  /** Jobs, runs and incidents; shared with console-api. */
  store: Store;
  /** This server's node id: its heartbeat znode and its name in the election. */
  id: string;
  /** ZeroMQ ROUTER bind endpoint, e.g. tcp://0.0.0.0:7710. */
  bind: string;
  /** The endpoint agents use to reach this server (default: bind, with 0.0.0.0 as 127.0.0.1). */
  advertise?: string;
  /** CurveZMQ keys; without them the ROUTER is plain tcp. */
  curve?: ServerCurve;
  /** Default: silent. */
  logger?: Logger;
  /** Where its metrics go (DispatchMetrics: fires, lateness, runs by status, queue...); default: nowhere. */
  metrics?: Metrics;
  /** The time now, epoch ms (default Date.now). */
  clock?: Clock;
  /**
   * A monotonic clock in ms from any origin (default performance.now): how long an agent has
   * been silent and how long the event loop was held between pings are measured with it, so a
   * step of the wall clock (`clock`) is no silence (docs/architecture.md, "Clock trouble").
   */
  monotonic?: () => number;
  /** Any of the tracker's timings, in ms; the rest from `defaultTimings` (interfaces.ts). */
  timings?: Partial<TrackerTimings>;
  /** How often the heartbeat znode is rewritten, in ms (default 2,000). */
  heartbeatIntervalMs?: number;
  /** How long close() waits for running executions to report, in ms (default 10,000). */
  drainTimeoutMs?: number;
  /**
   * How long before its slot a fire's run is written, in ms (default 100), so that at the slot
   * only the EXEC is left to send. 0 writes at the slot, and the EXEC waits for the write.
   */
  claimAheadMs?: number;
  /**
   * The longest the event loop may stand still, in ms (default 2,000), before this server doubts
   * it still leads: a process stopped (SIGSTOP, a VM paused, a long GC) past its ZooKeeper
   * session has lost the lead at the server, but on waking runs its overdue timers before it
   * hears so. Past this gap it holds every fire and claimed EXEC until a ZooKeeper round trip
   * confirms the session and the lead (or steps down). Keep it under the session timeout.
   */
  pauseLimitMs?: number;
  /**
   * The most runs that may wait for an agent with a free slot at once on this server (default
   * 100,000; ~1.2 KB each). A fire beyond it does not wait: its run ends at once as a missed start
   * deadline would end it (the job's `onStartDeadline`), saying the queue was full.
   */
  maxWaitingRuns?: number;
  /** Written into the heartbeat (default '0.1.0'). */
  version?: string;
  /**
   * Refuse agents of the single-leader protocol, whose HELLO lacks `allServers` (default false:
   * served as always). For servers that share the jobs out, where such an agent would get only
   * the leader's share: it gets a BYE saying why (admission.ts, docs/protocol.md).
   */
  refuseSingleLeaderAgents?: boolean;
  /**
   * Share the jobs out among every live dispatch-server rather than have one elected leader fire
   * them all (docs/architecture.md, "Scale-out: partitions"). Default false: the single leader.
   * With true, this server joins zk-kit's PartitionOwnership under `paths.partitions` and fires
   * only the jobs of the partitions it owns (`partitionOf(jobId)`): it loads them, adopts their
   * open runs and applies their misfire policies when it acquires them, and stops and hands them
   * over when they are revoked. It still stands in the election, whose candidates the agents
   * read to find every server (its data then says `shares: true`), but being elected changes
   * nothing. Implies `refuseSingleLeaderAgents`. Every server of a cluster must agree.
   */
  shares?: boolean;
  /**
   * With `shares`: the number of partitions, a power of two up to 65,536 (default 1,024,
   * @clover/partitions `defaultPartitionCount`). The same on every server: the first writes it
   * into ZooKeeper and one started with another count fails to start.
   */
  partitionCount?: number;
}

/** Jobs read per page when a new leader loads the job table (the store's largest page). */
const loadPageSize = 1000;
/**
 * Open runs adopted, or jobs armed, per turn of the event loop when partitions are taken over.
 * In one go, a server taking 348 partitions at 100,000 jobs adopted 9,282 open runs and armed
 * 17,000 jobs (each firing its missed slot) with its loop held 12 s, past its ZooKeeper session
 * (bench/README, the 100,000-job kill-and-join runs). Slices of 25 ms of work instead (tried
 * 2026-12-02) made the turns longer, and ZooKeeper answers come one per turn of the loop
 * (bench/zk-turns.bench.ts): that run's takeover was slower (35 s against 22 s), its join never
 * settled; kept at 500 items.
 */
const takeoverTurn = 500;
/** Lets the event loop run what waits (ZooKeeper pings, agents' frames) before going on. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));
/** DispatchServerOptions.pauseLimitMs: well under any ZooKeeper session a cluster would run (4 s at the least). */
const defaultPauseLimitMs = 2000;
const leadConfirmed = 'lead confirmed after a pause';

/**
 * The scheduling core. Every instance heartbeats, binds its ROUTER and stands in the election;
 * only the leader fires. A leader that loses its ZooKeeper connection stops at once, and when
 * it leads again it reloads the job table from the store and schedules by itself. With
 * `shares`, every instance fires: the jobs of the partitions it owns (PartitionOwnership), each
 * partition taken over and handed over as a whole table is by a leader.
 */
export class DispatchServer {
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly transport: RouterTransport;
  private readonly agents: AgentDirectory;
  private readonly admission: AgentAdmission;
  private readonly router = new Router();
  private readonly tracker: RunTracker;
  /** Running executions' output (OUTPUT frames), written to the store for the console. */
  private readonly liveOutputs: LiveOutputs;
  private readonly writes: StoreWriteBatch;
  private readonly lateness: LatenessMeter;
  private readonly metrics: DispatchMetrics;
  private readonly fireDeps: FireDeps;
  private readonly scheduler: JobScheduler;
  private readonly gate: SlotGate;
  private readonly claimAheadMs: number;
  /** Fires under way (claimed, waiting for their slot, or being written): close() lets them finish. */
  private readonly firing = new Set<Promise<unknown>>();
  private readonly heartbeat: Heartbeat;
  private readonly election: LeaderElection;
  private readonly feed: JobChangeFeed;
  private readonly registry: NodeRegistry;
  /** With `shares`: this server's membership and partitions (else null: the election decides). */
  private readonly ownership: PartitionOwnership | null = null;
  /** With `shares`: the partitions owned now, each with the local term it was acquired in. */
  private readonly shares: ShareTable | null = null;
  private stopRegistry: (() => void) | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  /** Sees the event loop run every 100 ms; a longer gap is a pause (checkPause). */
  private pauseTicker: NodeJS.Timeout | null = null;
  /** Looks for open runs no one tracks (sweepOrphans), every TrackerTimings.orphanSweepMs. */
  private orphanTicker: NodeJS.Timeout | null = null;
  private sweeping = false;
  private lastTickAt = Date.now();
  /** The check that this server still leads after a pause, while it runs. */
  private leadCheck: Promise<void> | null = null;
  /** When pingAgents last ran, on the monotonic clock: how late it runs tells how long the event loop was held. */
  private lastPingAt = 0;
  private readonly monotonic: () => number;
  private readonly timings: TrackerTimings;
  private leading = false;
  private leaderEpoch = 0;
  /**
   * The leader term of this server's current (or last) lead: its election znode's sequence
   * number (LeaderElection.term), a fencing token that only grows from leader to leader.
   * Undefined until it first leads; it stays after a step-down, so writes queued in that term
   * still carry it.
   */
  private fenceTerm: number | undefined;
  /** False from an election until the agents have said HELLO (or the settle time ran out). */
  private settled = true;
  private settleTimer: NodeJS.Timeout | null = null;
  /** Fires and dispatches held while not settled, in order. */
  private held: Array<() => void> = [];
  /** Slots handed out whose fire is still writing: the recorded next run time waits for them. */
  private readonly unwritten = new UnwrittenSlots();
  private started = false;
  /** Set when close() begins: runs in flight are still ours to see finish, not the next leader's. */
  private closed = false;
  /** The drain close() began; every later close() returns it. */
  private closing: Promise<void> | undefined;
  private work: Promise<unknown> = Promise.resolve();
  readonly endpoint: string;
  /** Counts for tests and benchmarks. */
  readonly stats = { fired: 0, skippedDuplicates: 0, misfired: 0, electedAt: 0, settledAt: 0, loadedJobs: 0 };

  constructor(private readonly opts: DispatchServerOptions) {
    this.logger = opts.logger ?? noopLogger;
    this.clock = opts.clock ?? Date.now;
    this.endpoint = opts.advertise ?? opts.bind.replace('0.0.0.0', '127.0.0.1').replace('tcp://*:', 'tcp://127.0.0.1:');
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.agents = new AgentDirectory((id) => this.tracker.agentGone(id), this.monotonic);
    this.transport = new RouterTransport({
      bind: opts.bind,
      curve: opts.curve,
      logger: this.logger,
      onMessage: (peer, msg) => this.onMessage(peer, msg),
      onInvalid: (peer, err) => this.onInvalid(peer, err),
    });
    this.timings = { ...defaultTimings, ...opts.timings };
    if (opts.shares === true) this.shares = new ShareTable(opts.partitionCount ?? defaultPartitionCount);
    this.admission = new AgentAdmission({
      // A server that fires only its share would give such an agent only that share.
      refuseSingleLeader: opts.refuseSingleLeaderAgents === true || this.shares !== null,
      logger: this.logger,
      send: (peer, msg) => this.transport.send(peer, msg),
      monotonic: this.monotonic,
    });
    this.metrics = new DispatchMetrics(opts.metrics ?? noopMetrics, {
      inFlight: () => this.tracker.size,
      waiting: () => this.tracker.queue().depth,
      leading: () => this.leading,
      jobsArmed: () => (this.leading ? this.scheduler.size : 0),
      zkState: () => opts.zk.state,
    });
    const metrics = this.metrics;
    // Each write carries the term it was queued in: the store refuses a deposed term's late updates.
    // Sharing the jobs out, no server has a term over every run: each run write carries its
    // partition's token instead (docs/architecture.md, "Fencing", layer 3).
    const shares = this.shares;
    this.writes = new StoreWriteBatch(
      opts.store,
      metrics,
      () => (shares ? undefined : this.fenceTerm),
      shares ? { count: shares.partitionCount, tokenOf: (jobId) => shares.grantOf(jobId) } : undefined,
    );
    this.lateness = new LatenessMeter(this.clock);
    this.tracker = new RunTracker({
      store: opts.store,
      // After a pause nothing leaves until the lead is confirmed: a retry's or a resend's timer,
      // overdue on waking, must not reach an agent on behalf of a leader that no longer leads.
      send: async (peer, msg) => {
        if (!(await this.leadSureAfterPause())) return false;
        return this.transport.send(peer, msg);
      },
      agents: this.agents,
      router: this.router,
      clock: this.clock,
      logger: this.logger,
      timings: this.timings,
      maxWaitingRuns: opts.maxWaitingRuns,
      writes: this.writes,
      onExecSent: (ms) => {
        this.lateness.record(ms);
        metrics.execLateness.observe(Math.max(0, ms) / 1000);
      },
      onExecResent: () => metrics.execResends.inc(),
      onAckTimeout: () => metrics.ackTimeouts.inc(),
      onWaitEnded: (ms, outcome) => metrics.waitDuration.observe(Math.max(0, ms) / 1000, { outcome }),
      leadDoubt: () => (this.checkPause() && this.leadCheck ? this.leadSureAfterPause() : null),
      onFinished: (job, run) => {
        if (run.startedAt) metrics.startLateness.observe(Math.max(0, run.startedAt.getTime() - run.scheduledAt.getTime()) / 1000);
        void this.onFinished(job, run);
      },
      owns: (jobId) => this.shares?.owns(jobId) ?? true,
      nextRunAt: (jobId) => {
        const at = this.leading ? this.scheduler.nextAt(jobId) : undefined;
        return at === undefined ? undefined : new Date(this.unwritten.nextToRecord(jobId, at));
      },
    });
    this.liveOutputs = new LiveOutputs({
      store: opts.store,
      flightOf: (execId) => this.flightOf(execId),
      logger: this.logger,
      clock: this.clock,
    });
    this.gate = new SlotGate(this.clock);
    this.fireDeps = {
      insertRun: (input) => this.writes.insertRun(input),
      updateRun: (id, patch) => this.writes.updateRun(id, patch),
      term: (jobId) => this.termFor(jobId),
      leads: (term, jobId) => this.leadsIn(term, jobId),
      // At the slot, a leader that was paused meanwhile first makes sure it still leads.
      untilSlot: async (slotMs) => {
        await this.gate.until(slotMs);
        await this.leadSureAfterPause();
      },
      jobAtSlot: (job, slotMs) => {
        const current = this.scheduler.job(job.id);
        if (!current) return null;
        return current === job || nextSlot(current, slotMs - 1) === slotMs ? current : null;
      },
      lanes: new KeyedChain(),
      tracker: this.tracker,
      agents: this.agents,
      router: this.router,
      logger: this.logger,
    };
    this.claimAheadMs = opts.claimAheadMs ?? defaultClaimAheadMs;
    this.scheduler = new JobScheduler(
      (job, slot, trigger) => this.fire(job, slot, trigger),
      (job, next, firing) => this.recordNext(job, next, firing),
      this.clock,
      this.claimAheadMs,
    );
    this.heartbeat = new Heartbeat({
      zk: opts.zk,
      paths: opts.paths,
      kind: 'servers',
      id: opts.id,
      version: opts.version ?? '0.1.0',
      endpoint: this.endpoint,
      intervalMs: opts.heartbeatIntervalMs,
      logger: this.logger,
      info: () => ({
        role: 'dispatch',
        leader: this.leading,
        // Sharing the jobs out: this server's share, partitions owned of how many.
        ...(this.shares ? { shares: { partitions: this.shares.size, of: this.shares.partitionCount } } : {}),
        jobs: this.scheduler.size,
        running: this.tracker.size,
        execLatenessMs: this.lateness.snapshot(),
        waiting: this.waitingInfo(),
      }),
    });
    this.election = new LeaderElection(opts.zk, {
      path: opts.paths.electionDispatch,
      id: opts.id,
      // `shares`: agents greet each server with their recent RESULTs when servers come and go.
      data: { endpoint: this.endpoint, batch: true, ...(this.shares ? { shares: true } : {}) },
    });
    if (this.shares) {
      this.ownership = new PartitionOwnership(opts.zk, {
        path: opts.paths.partitions,
        id: opts.id,
        partitionCount: this.shares.partitionCount,
        drain: (partitions) => this.drainPartitions(partitions),
        drainTimeoutMs: this.claimAheadMs + 5000,
        logger: this.logger,
      });
    }
    this.feed = new JobChangeFeed(opts.zk, opts.paths, {
      onChange: (c) => this.onJobChange(c),
      onReset: () => this.reloadJobs(),
      logger: this.logger,
    });
    this.registry = new NodeRegistry(opts.zk, opts.paths);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The leader term (fencing token) of this server's lead now; null while it does not lead (or shares the jobs out). */
  get leaderTerm(): number | null {
    return this.leading && !this.shares ? (this.fenceTerm ?? null) : null;
  }

  /** With `shares`: the partitions this server owns now, ascending (else empty). */
  ownedPartitions(): number[] {
    return this.shares?.partitions() ?? [];
  }

  /**
   * The runs waiting here for an agent with a free slot: how many now, the most at once since
   * this server started, and how long the oldest has waited (ms since its slot; 0: none waits).
   */
  waitingInfo(): { depth: number; peak: number; oldestWaitMs: number } {
    const q = this.tracker.queue();
    return { depth: q.depth, peak: q.peak, oldestWaitMs: q.oldestAt === undefined ? 0 : Math.max(0, this.clock() - q.oldestAt) };
  }

  /** Whether a run of the job is in flight here, waiting for an agent, or waiting out a retry's backoff. */
  busy(jobId: string): boolean {
    return this.tracker.busy(jobId);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.opts.zk.connect();
    await this.refuseOtherMode();
    await this.transport.start();
    await this.heartbeat.start();
    await this.feed.start();
    this.stopRegistry = this.registry.watch('clients', (nodes) => {
      for (const id of this.agents.setLive(nodes.map((n) => n.id))) void this.confirmAgentGone(id);
      if (this.leading) this.tracker.agentsChanged();
      this.checkSettled();
    });
    // PONGs (and HELLOs) prove an agent is still there even while its ZooKeeper session lingers.
    this.lastPingAt = this.monotonic();
    this.pingTimer = setInterval(() => this.pingAgents(), this.timings.pingIntervalMs);
    this.pingTimer.unref();
    this.lastTickAt = Date.now();
    this.pauseTicker = setInterval(() => this.checkPause(), 100);
    this.pauseTicker.unref();
    this.orphanTicker = setInterval(() => void this.sweepOrphans().then(() => this.finishDeadWritersCounts()), this.timings.orphanSweepMs);
    this.orphanTicker.unref();
    if (!this.ownership) {
      this.election.on('elected', () => this.becomeLeader());
      this.election.on('revoked', () => this.stepDown('leadership revoked'));
    }
    await this.election.start();
    if (this.ownership) {
      this.ownership.on('acquired', (grants: PartitionGrant[]) => this.onAcquired(grants));
      this.ownership.on('revoked', (partitions: number[], why: string) => this.onRevoked(partitions, why));
      this.ownership.on('error', (err: unknown) => this.logger.warn('partition ownership pass failed; retrying', { err }));
      await this.ownership.start();
    }
    this.logger.info('dispatch-server started', { id: this.opts.id, endpoint: this.endpoint });
  }

  /**
   * Refuses to start beside dispatch-servers of the other mode, read from the election's
   * candidates (a server sharing the jobs out says `shares: true` there): a single-leader server
   * fires every job, so beside servers that share them out each slot would be fired twice (the
   * run key stops a second run, not a `forbid` overlap across servers). A candidate with this
   * server's own id is an earlier life of it, whose session has not ended yet, and is let be.
   * Servers of both modes started at the same moment can both pass. Switching a cluster's mode
   * means stopping every server first.
   * @throws Error naming the servers of the other mode.
   */
  private async refuseOtherMode(): Promise<void> {
    const sharing = this.shares !== null;
    const { candidates } = await readCandidates(this.opts.zk, this.opts.paths.electionDispatch);
    const other = candidates.filter((c) => c.id !== this.opts.id && (c.data.shares === true) !== sharing).map((c) => c.id);
    if (!other.length) return;
    throw new Error(
      sharing
        ? `dispatch-server ${this.opts.id} shares the jobs out, but ${other.join(', ')} fire every job as a single leader: every dispatch-server of a cluster must run in the same mode (CLOVER_DISPATCH_SHARES); stop them first`
        : `dispatch-server ${this.opts.id} fires every job as a single leader, but ${other.join(', ')} share the jobs out: every dispatch-server of a cluster must run in the same mode (CLOVER_DISPATCH_SHARES); stop them first`,
    );
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.work.then(fn, fn);
    this.work = next.catch((err: unknown) => this.logger.error('dispatch work failed', { err }));
    return next;
  }

  private becomeLeader(): void {
    const epoch = ++this.leaderEpoch;
    this.fenceTerm = this.election.term ?? undefined;
    this.leading = true;
    this.settled = false;
    this.stats.electedAt = this.clock();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.settle(epoch, 'settle time ran out'), this.timings.electionSettleMs);
    this.logger.info('leading: loading jobs', { id: this.opts.id });
    void this.serial(async () => {
      if (!this.leadsIn(epoch)) return;
      // Counts a dead leader left half written (MongoDB: its last tallies) are finished first.
      const reconciled = await this.opts.store.reconcile().catch((err: unknown) => {
        this.logger.error('could not reconcile run counts', { err });
        return { runs: 0 };
      });
      if (reconciled.runs) this.logger.warn('finished run counts a previous writer left half written', { runs: reconciled.runs });
      const jobs = await this.loadEnabledJobs(epoch);
      if (!jobs) return;
      // The open runs are this term's before they are read: a deposed leader's update that
      // reaches the store later (held in TCP through a partition) changes none of them.
      await this.fenceOpenRuns(epoch);
      const active = await this.opts.store.runs.listActive();
      if (!this.leadsIn(epoch)) return;
      // First what the last leader left in flight, then the slots it missed: a misfire fired
      // here must never be taken for a run to adopt (and sent a second time).
      const byId = new Map<string, Job | null>(jobs.map((j) => [j.id, j]));
      await this.addJobsOf(active, byId);
      if (!this.leadsIn(epoch)) return;
      this.adoptRuns(active, byId);
      this.stats.misfired += this.scheduler.load(jobs);
      this.stats.loadedJobs = jobs.length;
      this.logger.info('leading', { jobs: jobs.length, adopted: active.length });
    });
    this.checkSettled();
  }

  /**
   * Partitions granted (shares mode), as becomeLeader is for the single leader but for these
   * partitions only (docs/architecture.md, "Adoption by the new owner"): their enabled jobs are
   * read by hash range, the open runs of their jobs adopted, then the jobs armed with their
   * misfire policies. The first grant after owning none holds fires until the agents have said
   * HELLO, as a new leader does. A partition revoked meanwhile is left out.
   */
  private onAcquired(grants: PartitionGrant[]): void {
    const shares = this.shares;
    if (!shares || this.closed) return;
    if (!this.leading) {
      // The first partitions of a spell: what a leader's election is to the single leader.
      const epoch = ++this.leaderEpoch;
      this.leading = true;
      this.settled = false;
      this.stats.electedAt = this.clock();
      if (this.settleTimer) clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.settle(epoch, 'settle time ran out'), this.timings.electionSettleMs);
    }
    const term = shares.acquire(grants);
    const partitions = grants.map((g) => g.partition);
    const held = () => partitions.filter((p) => shares.holdsPartition(p, term));
    this.logger.info('partitions acquired: loading their jobs', { id: this.opts.id, partitions: partitions.length });
    void this.serial(async () => {
      if (!held().length) return;
      // Counts a dead owner left half written (MongoDB: its last tallies) are finished first.
      const reconciled = await this.opts.store.reconcile().catch((err: unknown) => {
        this.logger.error('could not reconcile run counts', { err });
        return { runs: 0 };
      });
      if (reconciled.runs) this.logger.warn('finished run counts a previous writer left half written', { runs: reconciled.runs });
      // The partitions' runs are this owner's before they are read: an earlier owner's write that
      // reaches the store later (it paused, or was cut off) changes none of them.
      await this.opts.store.runs
        .fencePartitions(grants.filter((g) => shares.holdsPartition(g.partition, term)))
        .catch((err: unknown) => this.logger.error('could not raise the fences of the partitions acquired', { err }));
      const loaded = await this.loadJobsOf(held(), () => held().length > 0);
      if (!loaded) return;
      const active = (await this.opts.store.runs.listActive()).filter((r) => shares.termOf(r.jobId) === term);
      const jobs = loaded.filter((j) => shares.termOf(j.id) === term);
      if (!held().length) return;
      // As a new leader: first what the last owner left in flight, then the slots it missed.
      const byId = new Map<string, Job | null>(jobs.map((j) => [j.id, j]));
      await this.addJobsOf(active, byId);
      // In turns, every one of them adopted before any job is armed; a partition revoked between
      // two turns is left out of the rest (its term is over).
      const inTurns = async <T>(items: T[], jobId: (item: T) => string, apply: (turn: T[]) => void): Promise<number> => {
        let done = 0;
        for (let i = 0; i < items.length && held().length; i += takeoverTurn) {
          const turn = items.slice(i, i + takeoverTurn).filter((item) => shares.termOf(jobId(item)) === term);
          apply(turn);
          done += turn.length;
          await nextTurn();
        }
        return done;
      };
      const adopted = await inTurns(
        active,
        (r) => r.jobId,
        (turn) => this.adoptRuns(turn, byId),
      );
      const armed = await inTurns(
        jobs,
        (j) => j.id,
        (turn) => (this.stats.misfired += this.scheduler.add(turn)),
      );
      this.stats.loadedJobs = this.scheduler.size;
      if (!held().length) return;
      this.logger.info('firing partitions', { partitions: held().length, jobs: armed, adopted });
    });
    this.checkSettled();
  }

  /**
   * Partitions revoked (shares mode): handed to another member, or lost with the connection.
   * Their jobs are disarmed at once; fires claimed ahead stop at their slot (fire.ts, `leads`),
   * and their runs in flight are forgotten here without a write: the next owner adopts the rows.
   * `drainPartitions` then lets what is being written finish before the release.
   */
  private onRevoked(partitions: number[], why: string): void {
    const shares = this.shares;
    if (!shares) return;
    const gone = new Set(shares.revoke(partitions));
    if (!gone.size) return;
    const theirs = (jobId: string) => gone.has(shares.partitionOf(jobId));
    this.unwritten.forget(theirs);
    for (const id of this.scheduler.ids()) {
      if (!theirs(id)) continue;
      this.scheduler.remove(id);
      this.router.forget(id);
    }
    // Shutting down too: close() hands the partitions over before its drain, runs in flight with them.
    this.tracker.abandon(theirs);
    this.logger.info('partitions revoked: stopped firing them', { id: this.opts.id, partitions: gone.size, why });
    if (shares.size > 0) return;
    this.leading = false;
    this.leaderEpoch++;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    this.held = [];
    this.logger.warn('stopped firing', { id: this.opts.id, why });
  }

  /**
   * PartitionOwnership's `drain`, between `revoked` and the release: the fires under way (claimed
   * ahead, being written) and the run writes queued for the revoked partitions reach the store
   * first, so the next owner adopts complete rows. Bounded by the ownership's drain timeout.
   */
  private async drainPartitions(partitions: number[]): Promise<void> {
    const shares = this.shares;
    if (!shares) return;
    const gone = new Set(partitions);
    await settleWithin(Promise.allSettled([...this.firing]), this.claimAheadMs + 2000);
    await this.tracker.writesSettled((runId) => gone.has(shares.partitionOf(jobIdOfRun(runId))));
  }

  /**
   * The enabled jobs of some partitions (shares mode), by hash range (`jobs.listByHash`), a page
   * at a time with a turn of the event loop between pages (see loadEnabledJobs); null once
   * `wanted` says they are no longer wanted.
   */
  private async loadJobsOf(partitions: number[], wanted: () => boolean): Promise<Job[] | null> {
    const shares = this.shares;
    if (!shares) return [];
    const jobs: Job[] = [];
    const ranges = shares.ranges(partitions);
    let cursor: string | null = null;
    do {
      const page = await this.opts.store.jobs.listByHash({ ranges, enabled: true, limit: loadPageSize, cursor });
      jobs.push(...page.items);
      cursor = page.nextCursor;
      await nextTurn();
      if (!wanted()) return null;
    } while (cursor);
    return jobs;
  }

  /**
   * The enabled jobs, read a page at a time with a turn of the event loop between pages; null
   * if the term ended meanwhile. Reading them in one call (`listEnabled`) held the event loop
   * for the whole read, 8.5 s for 100,000 jobs on the embedded store: the ZooKeeper client,
   * which runs on that loop, missed its pings, the session was lost, the lead with it, and the
   * next term began with the same read, over and over (bench/dispatch-minute.bench.ts with
   * JOBS=100000: every run failed while the agent was up). Paged, the longest hold is a page.
   */
  private async loadEnabledJobs(term: number): Promise<Job[] | null> {
    const jobs: Job[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.opts.store.jobs.list({ limit: loadPageSize, cursor });
      for (const job of page.items) if (job.enabled) jobs.push(job);
      cursor = page.nextCursor;
      await nextTurn();
      if (!this.leadsIn(term)) return null;
    } while (cursor);
    return jobs;
  }

  /**
   * Runs a previous leader fired but never saw finish: dispatch the unsent (queued if no agent
   * has room, their start deadline kept: it counts from the slot), adopt the sent.
   */
  private adoptRuns(active: Run[], jobs: Map<string, Job | null>): void {
    for (const run of active) {
      const job = jobs.get(run.jobId);
      if (!job) continue;
      if (run.status === 'scheduled' || run.status === 'waiting') {
        // Written by a leader that claimed its slot ahead and died (or left it waiting): it still
        // leaves at its slot. One whose slot has passed is queued now, ahead of the fires that
        // load() holds next, so `forbid` sees it among the job's runs (issue 16's chaos run: a
        // fire released first ran beside it).
        const term = this.termFor(job.id);
        const send = () => {
          if (this.leadsIn(term, job.id)) this.tracker.sendNew(job, run);
        };
        if (run.scheduledAt.getTime() <= this.clock()) this.whenSettled(send);
        else
          void this.gate.until(run.scheduledAt.getTime()).then(() => {
            if (this.leadsIn(term, job.id)) this.whenSettled(send);
          });
      } else this.tracker.adopt(job, run);
    }
  }

  /**
   * Finishes the run counts that a writer which died mid-batch left half written, once they are
   * old enough to be no live writer's (`Store.reconcile`; a no-op on the embedded store). At the
   * takeover (becomeLeader) the last leader's are usually too young still; without this tick they
   * waited for the next takeover.
   */
  private async finishDeadWritersCounts(): Promise<void> {
    if (!this.leading || !this.settled || this.closed) return;
    try {
      const { runs } = await this.opts.store.reconcile();
      if (runs) this.logger.warn('finished run counts a previous writer left half written', { runs });
    } catch (err) {
      this.logger.warn('could not reconcile run counts', { err });
    }
  }

  /**
   * Adopts the open runs in the store that this settled leader does not track and that are
   * older than `orphanAgeMs`: writes of a leader cut off from the network that reached the store
   * after this one took over and read it (issue 16's partition runs: 16 runs stayed `dispatched`
   * for good). Adopted as at a takeover: sent if unsent, else confirmed by the agent or lost.
   */
  private async sweepOrphans(): Promise<void> {
    if (!this.leading || !this.settled || this.sweeping || this.closed) return;
    this.sweeping = true;
    const term = this.leaderEpoch;
    try {
      const active = await this.opts.store.runs.listActive();
      const cutoff = this.clock() - this.timings.orphanAgeMs;
      const mine = this.fenceTerm;
      // An earlier term's run this leader does not track is an orphan now; one without a term
      // (a writer from before terms) once it is older than orphanAgeMs.
      const earlier = (r: Run) => r.leaderTerm !== null && mine !== undefined && r.leaderTerm < mine;
      const ours = (r: Run) => this.shares?.owns(r.jobId) ?? true;
      const orphans = active.filter(
        (r) => ours(r) && (earlier(r) || (r.dispatchedAt ?? r.scheduledAt).getTime() < cutoff) && !this.tracker.knows(r),
      );
      if (!orphans.length || !this.leadsIn(term)) return;
      if (mine !== undefined)
        await this.opts.store.runs.fence(
          mine,
          orphans.map((r) => r.id),
        );
      if (!this.leadsIn(term)) return;
      const jobs = new Map<string, Job | null>();
      await this.addJobsOf(orphans, jobs);
      // A run that moved on while the jobs were read is no orphan.
      if (!this.leadsIn(term)) return;
      const still = orphans.filter((r) => ours(r) && !this.tracker.knows(r));
      this.logger.warn('adopting open runs no one tracks (written by a leader cut off, after this one took over)', {
        runs: still.length,
        examples: still.slice(0, 3).map((r) => r.id),
      });
      this.adoptRuns(still, jobs);
    } catch (err) {
      this.logger.warn('could not look for orphaned runs', { err });
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Stamps every open run with this leader's term (`RunRepository.fence`). A failure is logged
   * and leadership goes on: the runs are adopted as before, only without the fence.
   */
  private async fenceOpenRuns(epoch: number): Promise<void> {
    const term = this.fenceTerm;
    if (term === undefined || !this.leadsIn(epoch)) return;
    try {
      const n = await this.opts.store.runs.fence(term);
      if (n) this.logger.info('took the open runs for this leader term', { term, runs: n });
    } catch (err) {
      this.logger.error('could not fence the open runs for this leader term', { term, err });
    }
  }

  /** Adds to `jobs` the job of each run not in it yet: the one armed here, else the store's (null: deleted). */
  private async addJobsOf(runs: Run[], jobs: Map<string, Job | null>): Promise<void> {
    for (const r of runs)
      if (!jobs.has(r.jobId)) jobs.set(r.jobId, this.scheduler.job(r.jobId) ?? (await this.opts.store.jobs.get(r.jobId)));
  }

  /**
   * Whether the term of leadership `term` is still going. With `jobId`, where the servers share
   * the jobs out: whether the job's partition is still held under `term` (a term of `termFor`).
   */
  private leadsIn(term: number, jobId?: string): boolean {
    if (this.shares && jobId !== undefined) return this.leading && this.shares.termOf(jobId) === term;
    return this.leading && term === this.leaderEpoch;
  }

  /** The term work for the job begins under now (leadsIn): the leader's, or its partition's (-1: not owned). */
  private termFor(jobId: string): number {
    return this.shares ? (this.shares.termOf(jobId) ?? -1) : this.leaderEpoch;
  }

  /** Whether this server fires the job now: it leads, and, sharing the jobs out, owns the job's partition. */
  private firesFor(jobId: string): boolean {
    return this.leading && (this.shares?.owns(jobId) ?? true);
  }

  private whenSettled(fn: () => void): void {
    if (this.settled) fn();
    else this.held.push(fn);
  }

  /**
   * A new leader fires once the agents have found it: every agent with a live znode has said
   * HELLO. Until then routing would see only the quickest agents (a 'first' or
   * 'consistent_hash' job would move, a broadcast would miss some).
   */
  private checkSettled(): void {
    if (this.settled || !this.leading) return;
    const live = this.agents.liveIds();
    if (live && [...live].every((id) => this.agents.get(id))) this.settle(this.leaderEpoch, 'every live agent said HELLO');
  }

  private settle(epoch: number, why: string): void {
    // While a pause's doubt is unresolved only its confirmation settles (not a HELLO, not the timer).
    if (this.settled || !this.leadsIn(epoch) || (this.leadCheck && why !== leadConfirmed)) return;
    this.settled = true;
    this.stats.settledAt = this.clock();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    const held = this.held;
    this.held = [];
    this.logger.info('dispatching', {
      why,
      agents: this.agents.usable().length,
      waitedMs: this.stats.settledAt - this.stats.electedAt,
      held: held.length,
    });
    for (const fn of held) fn();
    this.tracker.agentsChanged();
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.leaderEpoch++;
    this.scheduler.clear();
    this.unwritten.forget();
    // Fires claimed ahead stop waiting for their slot: their rows go to the next leader.
    this.gate.openAll();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    this.held = [];
    // Shutting down, runs in flight are still ours to see finish; otherwise the next leader
    // adopts them, and the agents follow it: should this server lead again, they say HELLO anew.
    if (!this.closed) {
      this.tracker.abandon();
      this.agents.clear();
    }
    this.logger.warn('stopped firing', { id: this.opts.id, why });
  }

  /**
   * Whether the lead is in doubt after a pause: the event loop stood still longer than
   * pauseLimitMs (measured by the wall clock, which a stopped process does not stop). Fires are
   * then held, as before a new leader settles, until one ZooKeeper round trip says the session
   * lives and the election still names this server (or it steps down): issue 16's chaos run
   * SIGSTOPped a leader past its session, and on SIGCONT it sent the EXECs its overdue timers
   * held while another server already led, running `forbid` jobs twice at once.
   */
  private checkPause(): boolean {
    const now = Date.now();
    const gap = now - this.lastTickAt;
    this.lastTickAt = now;
    if (gap > (this.opts.pauseLimitMs ?? defaultPauseLimitMs) && this.leading && !this.leadCheck) this.doubtLead(gap);
    return this.leadCheck !== null;
  }

  /**
   * Waits out the doubt a pause raised (checkPause), if any: false when the check ended this
   * server's lead, else true (at once when there was no pause).
   */
  private async leadSureAfterPause(): Promise<boolean> {
    if (!(this.checkPause() && this.leadCheck)) return true;
    await this.leadCheck;
    return this.leading;
  }

  private doubtLead(gapMs: number): void {
    const epoch = this.leaderEpoch;
    this.settled = false;
    this.logger.warn('the process stood still; holding fires until ZooKeeper confirms this server still leads', { gapMs });
    this.leadCheck = (async () => {
      for (;;) {
        const confirmed = await this.confirmLead(epoch);
        if (!this.leadsIn(epoch)) break;
        if (confirmed) {
          this.leadCheck = null;
          this.settle(epoch, leadConfirmed);
          return;
        }
        if (!this.shares) {
          this.leadCheck = null;
          this.stepDown('could not confirm the lead after a pause');
          return;
        }
        // Sharing the jobs out, the partitions cannot be given back from here: the doubt (and
        // the fires held with it) lasts until ZooKeeper confirms them or the connection is given
        // up, which revokes them all. Nothing else may settle meanwhile (an agent's HELLO would).
        await new Promise((r) => setTimeout(r, 1000).unref());
        if (!this.leadsIn(epoch)) break;
      }
      // The lead (or every partition) was lost meanwhile; a new one settles as usual.
      this.leadCheck = null;
      this.checkSettled();
    })();
  }

  /**
   * One ZooKeeper round trip after a pause: whether this server still leads in `epoch`. The
   * election names it still; sharing the jobs out, its member znode is there in its session
   * (PartitionOwnership.confirmMember). False when ZooKeeper did not answer (within 10 s).
   */
  private async confirmLead(epoch: number): Promise<boolean> {
    try {
      // An expired session fails this call (or revokes the election before it answers).
      if (this.ownership) {
        // Partitions are taken only from a dead session (or released by their owner), so this
        // member's znode, read in its session, proves none was taken.
        const member = await within(this.ownership.confirmMember(), 10_000, 'a ZooKeeper round trip after a pause');
        return this.leadsIn(epoch) && member;
      }
      await within(this.opts.zk.exists(this.opts.paths.electionDispatch), 10_000, 'a ZooKeeper round trip after a pause');
      return this.leadsIn(epoch) && this.election.isLeader;
    } catch (err) {
      this.logger.warn('could not reach ZooKeeper after a pause', { err: String(err) });
      return false;
    }
  }

  private fire(job: Job, slotMs: number, trigger: FireTrigger | 'manual'): void {
    if (!this.firesFor(job.id)) return;
    this.checkPause();
    // A scheduled slot is spent only once its fire has written it (UnwrittenSlots), held
    // until the agents said HELLO or not; a manual run has no slot.
    const slotted = trigger !== 'manual';
    if (slotted) this.unwritten.add(job.id, slotMs);
    const written = () => {
      if (slotted) this.unwritten.delete(job.id, slotMs);
    };
    if (!this.settled) {
      this.held.push(() => this.fireSettled(job, slotMs, trigger, written));
      return;
    }
    this.fireSettled(job, slotMs, trigger, written);
  }

  /** `fire` once the agents have said HELLO; `written` is called when the fire has written what it writes. */
  private fireSettled(job: Job, slotMs: number, trigger: FireTrigger | 'manual', written: () => void): void {
    // A fire held until the agents said HELLO, for a job removed meanwhile.
    if (trigger !== 'manual' && !this.scheduler.job(job.id)) {
      written();
      return;
    }
    this.stats.fired++;
    const firing = fireJob(this.fireDeps, job, slotMs, trigger)
      .finally(written)
      .then((runs) => {
        if (runs.length || !this.leading) return;
        // Nothing to run (a duplicate slot, or skipped by the concurrency policy): no outcome will carry the next run time.
        this.stats.skippedDuplicates++;
        const next = this.scheduler.nextAt(job.id);
        if (trigger === 'schedule' && next !== undefined) this.recordNext(job, next);
      })
      .catch((err: unknown) => this.logger.error('could not fire job', { jobId: job.id, slot: new Date(slotMs).toISOString(), err }))
      .finally(() => this.firing.delete(firing));
    this.firing.add(firing);
  }

  /**
   * An agent left the registry's list. The list is read child by child after a watch fires,
   * and under load one read can fail or come back after a newer one: its znode is read once
   * more, and the agent removed only if it is really not there (or a later list agrees) and it
   * no longer answers the pings (heard within 1.5 ping intervals: a session that ended is not a
   * process that died).
   */
  private async confirmAgentGone(id: string): Promise<void> {
    const stat = await this.opts.zk.exists(this.opts.paths.node('clients', id)).catch(() => undefined);
    if (stat === undefined) {
      // ZooKeeper did not answer: the agent's silence (agentSilenceMs) decides instead.
      this.logger.warn('could not confirm that an agent left ZooKeeper; keeping it until it goes silent', { agent: id });
      return;
    }
    // Still there (the list was stale), or listed again since.
    if (stat !== null || this.agents.liveIds()?.has(id)) return;
    const agent = this.agents.get(id);
    const speaks = agent !== undefined && this.monotonic() - agent.lastHeardMs < this.timings.pingIntervalMs * 1.5;
    if (agent?.restartedSince && speaks) {
      // A new life said HELLO and speaks: the znode that went was the earlier life's, its
      // session expiring after the restart (issue 16's chaos run: a forbid job's run on the new
      // life taken for lost, and the next slot ran beside it). The new life's znode follows;
      // only what went to the earlier life is lost. (This life's own session expiring is a loss.)
      agent.restartedSince = false;
      this.logger.info('agent znode gone, but the agent speaks: an earlier life of it', { agent: id, life: agent.startedAt });
      this.tracker.agentRestarted(id, agent.startedAt);
      return;
    }
    if (speaks) {
      // Its ZooKeeper session ended, but the process answers: an outage of ZooKeeper longer than
      // the sessions ends every agent's at once (the chaos run's ZooKeeper restart), or it alone
      // is cut off from ZooKeeper. What it runs is still running; taken for lost, each run of a
      // forbid job had its next slot run beside it, and a retry ran beside the first attempt. It
      // takes no new run until its znode is back (it is not live), and its silence
      // (agentSilenceMs) still loses what it runs.
      this.logger.warn('agent znode gone, but the agent still answers: keeping what it runs until it goes silent', { agent: id });
      return;
    }
    if (agent) this.logger.warn('agent znode gone; treating it as lost', { agent: id });
    this.agents.remove(id);
  }

  private pingAgents(): void {
    const now = this.clock();
    // Timers run before the socket is read: after a long hold of the event loop (a burst of
    // work, a major GC) every agent's messages are still waiting unread. That is the leader's
    // deafness, not the agents' silence.
    const pingedAt = this.monotonic();
    const heldMs = pingedAt - this.lastPingAt - this.timings.pingIntervalMs;
    this.lastPingAt = pingedAt;
    if (heldMs > this.timings.pingIntervalMs) {
      this.logger.warn('event loop was held; agent silence not judged this time', { heldMs });
      this.agents.excuse(heldMs + this.timings.pingIntervalMs);
    }
    for (const id of this.agents.silentFor(this.timings.agentSilenceMs)) {
      this.logger.warn('agent silent too long; treating it as lost', { agent: id });
      this.agents.remove(id);
    }
    for (const id of this.agents.ids()) {
      const nonce = this.agents.pingSent(id, now);
      if (nonce) void this.transport.send(id, { type: 'PING', body: { nonce, sentAt: now } });
    }
  }

  /**
   * The job's next run time, for the console (and as where a new leader starts looking for
   * missed slots: an old value only makes it look further back, the slot's unique key stops
   * a repeat). A job that fires now gets it with its run's outcome, in the same store write as
   * its counters, rather than in a write of its own at every fire.
   */
  private recordNext(job: Job, nextMs: number | null, firing = false): void {
    if (firing && nextMs !== null) return;
    const next = this.unwritten.nextToRecord(job.id, nextMs);
    // Batched: a new leader arming 10,000 jobs writes their next run times in a few
    // transactions, not 10,000 while it should be firing.
    void this.writes.recordRunState(job.id, { nextRunAt: next === null ? null : new Date(next) }).catch((err: unknown) => {
      this.logger.warn('could not record next run time', { jobId: job.id, err });
    });
  }

  private onJobChange(change: JobChange): void {
    // Sharing the jobs out, a job of another server's partition is that server's to act on.
    if (!this.firesFor(change.jobId)) return;
    const term = this.termFor(change.jobId);
    void this.serial(async () => {
      if (!this.leadsIn(term, change.jobId)) return;
      const job = await this.opts.store.jobs.get(change.jobId);
      if (change.op === 'trigger') {
        if (job) this.fire(job, this.clock(), 'manual');
        return;
      }
      // The rule for each change is in the README ("Changes reach work in flight").
      if (!job || !job.enabled || change.op === 'delete') {
        // Not fired again; fires claimed ahead are skipped at their slot (fire.ts, jobAtSlot).
        this.scheduler.remove(change.jobId);
        this.router.forget(change.jobId);
        await this.tracker.stopJob(change.jobId, job ? 'disabled' : 'deleted');
        return;
      }
      this.tracker.jobChanged(job);
      this.scheduler.upsert(job);
    });
  }

  /**
   * The change feed's folder was deleted behind its back (zk-kit JobChangeFeed `onReset`): the
   * changes published there and not read yet are gone, so a leader reads its job table again.
   * New and edited jobs (another `updatedAt`) are armed as an `upsert` change arms them; a job
   * armed here that is no longer enabled goes through onJobChange, which reads it and stops its
   * work as a delete or disable would. A follower needs nothing: it reads the table when elected.
   */
  private reloadJobs(): void {
    if (!this.leading) return;
    const epoch = this.leaderEpoch;
    this.logger.warn('job change feed was reset: reloading the jobs', { id: this.opts.id });
    void this.serial(async () => {
      // Sharing the jobs out: those of the partitions owned now (a partition acquired since is loaded whole by onAcquired).
      const shares = this.shares;
      const loaded = shares ? await this.loadJobsOf(shares.partitions(), () => this.leadsIn(epoch)) : await this.loadEnabledJobs(epoch);
      if (!loaded) return;
      const jobs = shares ? loaded.filter((j) => shares.owns(j.id)) : loaded;
      const enabled = new Set(jobs.map((j) => j.id));
      for (const job of jobs) {
        if (this.scheduler.job(job.id)?.updatedAt.getTime() === job.updatedAt.getTime()) continue;
        this.tracker.jobChanged(job);
        this.scheduler.upsert(job);
      }
      const at = new Date(this.clock()).toISOString();
      for (const id of this.scheduler.ids()) if (!enabled.has(id)) this.onJobChange({ seq: -1, jobId: id, op: 'upsert', at });
      this.logger.info('jobs reloaded after the feed reset', { jobs: jobs.length });
    });
  }

  private async onFinished(job: Job, run: Run): Promise<void> {
    if (job.schedule.type !== 'once') return;
    if (job.routing === 'broadcast') {
      // Done when every agent's run is: retiring at the first would delete the others' runs under them.
      if (this.tracker.busy(job.id)) return;
      const runs = (await this.opts.store.runs.list({ jobId: job.id, limit: 1000 })).items;
      if (this.tracker.busy(job.id) || !runs.every((r) => r.status === 'succeeded')) return;
    } else if (run.status !== 'succeeded') return;
    // A one-shot that did its work needs no more runs: delete it (with its data) or retire it.
    this.scheduler.remove(job.id);
    try {
      if (job.deleteWhenDone) await this.opts.store.jobs.delete(job.id);
      else await this.opts.store.jobs.setEnabled(job.id, false);
      await publishJobChange(this.opts.zk, this.opts.paths, { jobId: job.id, op: 'delete' }).catch(() => undefined);
      this.logger.info(job.deleteWhenDone ? 'one-shot job done and deleted' : 'one-shot job done and disabled', { jobId: job.id });
    } catch (err) {
      this.logger.error('could not retire one-shot job', { jobId: job.id, err });
    }
  }

  private onMessage(peer: string, msg: Message): void {
    this.agents.seen(peer, this.clock());
    // Slots the agent freed for other servers let this one place its waiting runs there.
    if (this.agents.reportedLoad(peer, msg) && this.leading) this.tracker.agentsChanged();
    switch (msg.type) {
      case 'HELLO':
        if (msg.body.agentId !== peer) {
          this.logger.warn('HELLO with an agent id that is not its routing id; dropped', { peer, agentId: msg.body.agentId });
          return;
        }
        if (!this.admission.admits(peer, msg.body)) return;
        this.agents.hello(msg.body, this.clock());
        this.transport.setBatching(peer, msg.body.batch === true);
        if (this.leading) {
          this.tracker.agentsChanged();
          this.tracker.agentSaidHello(peer, msg.body.resultsRepeated === true);
        }
        this.checkSettled();
        return;
      case 'ACK':
        this.tracker.onAck(peer, msg.body);
        return;
      case 'START':
        this.tracker.onStart(peer, msg.body);
        return;
      case 'RESULT':
        void this.tracker.onResult(peer, msg.body).catch((err: unknown) => this.logger.error('could not record result', { err }));
        return;
      case 'OUTPUT':
        this.liveOutputs.onOutput(peer, msg.body);
        return;
      case 'PING':
        void this.transport.send(peer, { type: 'PONG', body: msg.body });
        return;
      case 'PONG':
        this.agents.pongReceived(peer, msg.body.nonce);
        return;
      case 'BYE':
        this.agents.remove(peer);
        return;
      default:
        this.logger.debug('ignored message', { peer, type: msg.type });
    }
  }

  /** An execution in flight on this server, as the live output needs it. */
  private flightOf(execId: string): { runId: string; jobId: string; agentId: string | null } | undefined {
    const f = this.tracker.flight(execId);
    return f && { runId: f.run.id, jobId: f.run.jobId, agentId: f.agentId };
  }

  /**
   * A body dropped as malformed. A RESULT that names an execution still settles it: the run
   * ends `failed` at once, its error saying what was wrong with the answer (and how the agent's
   * own error text began), rather than `timed_out` at its deadline with the real error lost.
   */
  private onInvalid(peer: string, err: ProtocolError): void {
    if (err.messageType !== 'RESULT' || !err.execId) return;
    const why = `the agent's RESULT was refused: ${err.message}${err.reportedError ? `; the agent's error began: ${err.reportedError}` : ''}`;
    void this.tracker
      .onBadResult(peer, err.execId, why)
      .catch((e: unknown) => this.logger.error('could not record a refused result', { peer, err: e }));
  }

  /**
   * Stops firing, lets running executions report (up to `drainTimeoutMs`), leaves the cluster.
   * A second call, concurrent or later, returns the same promise: it resolves when the first
   * call's drain is over, never before. Every step of the drain runs even when one before it
   * throws or hangs (each is bounded); the failures are logged by step name, and the promise
   * then rejects with a CleanupError naming them.
   */
  close(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    this.closed = true;
    const drainTimeoutMs = this.opts.drainTimeoutMs ?? 10_000;
    const failed = await runSteps(
      [
        // No more slots handed out; those already claimed go out at their slot (a moment away)
        // while this server still leads, rather than being left to the next leader to find.
        [
          'fires claimed ahead',
          async () => {
            this.scheduler.stop();
            await settleWithin(Promise.allSettled([...this.firing]), this.claimAheadMs + 2000);
          },
        ],
        // Sharing the jobs out: every partition handed over (revoked, drained, released) and its
        // runs in flight with it, so the others fire them again at once rather than after this
        // drain; the RESULTs that still come here are recorded as a new owner's would be.
        ['partition ownership', () => this.ownership?.close()],
        // The standby takes over firing now; what runs here may still report to us while we drain.
        ['election', () => this.election.close()],
        [
          'runs in flight',
          () => {
            this.leading = false;
            this.tracker.retire();
            return this.tracker.drain(drainTimeoutMs);
          },
        ],
        ['run tracker', () => this.tracker.abandon()],
        ['live output', () => this.liveOutputs.close()],
        [
          'timers',
          () => {
            if (this.pingTimer) clearInterval(this.pingTimer);
            if (this.pauseTicker) clearInterval(this.pauseTicker);
            if (this.orphanTicker) clearInterval(this.orphanTicker);
            if (this.settleTimer) clearTimeout(this.settleTimer);
          },
        ],
        // Agents learn we are gone without waiting for ZooKeeper to tell them. Most have left for
        // the new leader by now: say goodbye, but never wait on it for more than a moment.
        [
          'goodbyes',
          () =>
            settleWithin(
              Promise.all(this.agents.ids().map((id) => this.transport.send(id, { type: 'BYE', body: { reason: 'shutdown' } }))),
              500,
            ),
        ],
        ['agent registry watch', () => this.stopRegistry?.()],
        ['job change feed', () => this.feed.close()],
        ['queued leader work', () => this.work],
        ['heartbeat', () => this.heartbeat.close()],
        ['transport', () => this.transport.close()],
      ],
      // Each step's own bound: the runs in flight get their drain time, with room for their writes.
      { timeoutMs: drainTimeoutMs + defaultStepTimeoutMs },
    );
    if (failed.length) {
      const steps = failed.map((f) => ({
        step: f.name,
        err: f.error instanceof Error ? (f.error.stack ?? f.error.message) : String(f.error),
      }));
      this.logger.error('dispatch-server stopped; some of its clean-ups failed', { id: this.opts.id, failed: steps });
      throw new CleanupError(failed);
    }
    this.logger.info('dispatch-server stopped', { id: this.opts.id });
  }
}
