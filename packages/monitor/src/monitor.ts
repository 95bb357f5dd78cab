import { Heartbeat } from '@clover/heartbeat';
import { cleanUp, type CleanupStep } from '@clover/lifecycle';
import type { Store } from '@clover/store';
import {
  LeaderElection,
  NoNodeError,
  NodeRegistry,
  nodeKinds,
  watchClusterConfig,
  type ClusterConfig,
  type CloverPaths,
  type NodeKind,
  type ZkClient,
} from '@clover/zk-kit';
import { DeathDetector, type Detection } from './detect.js';
import { IncidentBook } from './incident.js';
import { noopMetrics, type Logger, type Metrics } from '@clover/telemetry';
import { MonitorMetrics } from './metrics.js';
import type { Mailer } from './mailer.js';
import { Notifier } from './notify.js';
import { SightProbe } from './sight.js';

export interface MonitorOptions {
  zk: ZkClient;
  paths: CloverPaths;
  store: Store;
  mailer: Mailer;
  logger: Logger;
  /** Where its metrics go (MonitorMetrics: nodes, deaths, detection delay, mails); default: nowhere. */
  metrics?: Metrics;
  id: string;
  /** The wall clock, epoch ms (default Date.now): the times written into incidents and mails. */
  clock?: () => number;
  /**
   * A monotonic clock, ms from any origin (default performance.now): what a node's silence is
   * measured with. A step of the wall clock (NTP, an operator) then neither declares a beating
   * node dead (a step forward) nor keeps a silent one alive (a step back); docs/architecture.md,
   * "Clock trouble".
   */
  monotonic?: () => number;
  consoleUrl?: string;
  /** No second mail about one subject within this, in ms (default 300,000); /clover/config's `quietPeriodMs` overrides it. */
  quietPeriodMs?: number;
  /** Incidents this close together go out as one digest, in ms (default 2,000); /clover/config's `digestWindowMs` overrides it. */
  digestWindowMs?: number;
  /** How often silent nodes are looked for (default 500 ms). */
  checkIntervalMs?: number;
  heartbeatIntervalMs?: number;
  version?: string;
}

/**
 * The watchdog. Every monitor watches the nodes; only the elected one acts: it removes dead
 * nodes' znodes, opens and closes incidents, and mails. A standby keeps watching, so when it
 * takes over it knows who vanished while it stood by.
 */
export class Monitor {
  private readonly clock: () => number;
  private readonly monotonic: () => number;
  private readonly detector = new DeathDetector();
  private readonly book: IncidentBook;
  private readonly notifier: Notifier;
  private readonly heartbeat: Heartbeat;
  private readonly election: LeaderElection;
  private readonly registry: NodeRegistry;
  private config: ClusterConfig | null = null;
  private stops: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private mailTimer: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Deaths seen while standing by, acted on if this monitor takes over. */
  private standbyDeaths: Array<Extract<Detection, { type: 'dead' }>> = [];
  /**
   * Deaths and recoveries whose incident could not be written (the store refused or was out of
   * reach): tried again at every check, since the detector reports each only once.
   */
  private unrecorded: Detection[] = [];
  private started = false;
  private closing: Promise<void> | undefined;
  private readonly metrics: MonitorMetrics;

  constructor(private readonly o: MonitorOptions) {
    this.clock = o.clock ?? Date.now;
    this.monotonic = o.monotonic ?? (() => performance.now());
    this.metrics = new MonitorMetrics(o.metrics ?? noopMetrics, { nodes: () => this.detector.tracked(), active: () => this.isActive });
    this.book = new IncidentBook(o.store, o.logger);
    this.notifier = new Notifier({
      store: o.store,
      mailer: o.mailer,
      logger: o.logger,
      clock: this.clock,
      monotonic: this.monotonic,
      consoleUrl: o.consoleUrl,
      digestWindowMs: o.digestWindowMs ?? 2000,
      quietPeriodMs: o.quietPeriodMs ?? 5 * 60_000,
      metrics: this.metrics,
    });
    this.heartbeat = new Heartbeat({
      zk: o.zk,
      paths: o.paths,
      kind: 'monitors',
      id: o.id,
      version: o.version ?? '0.1.0',
      intervalMs: o.heartbeatIntervalMs,
      logger: o.logger,
      info: () => ({ role: 'monitor', active: this.isActive }),
    });
    this.election = new LeaderElection(o.zk, { path: o.paths.electionMonitor, id: o.id });
    this.registry = new NodeRegistry(o.zk, o.paths);
  }

  get isActive(): boolean {
    return this.election.isLeader;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.o.zk.connect();
    // A deleted or garbled config gives the defaults (logged), never a monitor that keeps stale
    // settings or cannot start; a later valid write is picked up.
    const stopConfig = watchClusterConfig(
      this.o.zk,
      this.o.paths,
      (c) => {
        this.config = c;
        this.notifier.configure(c);
      },
      { logger: this.o.logger },
    );
    this.stops.push(stopConfig);
    await stopConfig.ready;
    await this.heartbeat.start();
    for (const kind of nodeKinds) {
      this.stops.push(this.registry.watch(kind, (nodes) => this.handle(this.detector.update(kind, nodes, this.monotonic()))));
    }
    // Silence is on the monotonic clock (the detector's), never the wall clock: a wall-clock
    // time here once put every node's last beat decades ahead, and no hung node was ever
    // called dead after the monitor's first reconnect.
    this.stops.push(
      this.o.zk.onState((state) => (state === 'connected' ? this.detector.regainedSight(this.monotonic()) : this.detector.lostSight())),
    );
    const probe = new SightProbe({
      roundTrip: () => this.o.zk.exists(this.o.paths.electionMonitor),
      monotonic: this.monotonic,
      onBlind: () => this.detector.lostSight(),
      onSight: (now) => this.detector.regainedSight(now),
      logger: this.o.logger,
    });
    probe.start();
    this.stops.push(() => probe.stop());
    this.election.on('elected', () => {
      this.o.logger.info('monitor active', { id: this.o.id });
      const missed = this.standbyDeaths;
      this.standbyDeaths = [];
      this.handle(missed);
    });
    this.election.on('revoked', () => this.o.logger.warn('monitor standing by', { id: this.o.id }));
    await this.election.start();
    this.timer = setInterval(() => {
      if (this.isActive && this.unrecorded.length) this.handle(this.unrecorded.splice(0), true);
      if (this.config) this.handle(this.detector.check(this.monotonic(), this.config.deadTimeoutMs));
    }, this.o.checkIntervalMs ?? 500);
    this.mailTimer = setInterval(() => {
      if (this.isActive) this.serial(() => this.notifier.tick());
    }, 500);
  }

  private serial(fn: () => Promise<unknown>): void {
    this.queue = this.queue.then(fn).catch((err: unknown) => this.o.logger.error('monitor step failed', { err }));
  }

  /** `retry`: detections that failed before; a recovery is then written only if the node is still alive. */
  private handle(detections: Detection[], retry = false): void {
    if (!detections.length) return;
    if (!this.isActive) {
      const now = this.monotonic();
      const horizon = 5 * 60_000;
      this.standbyDeaths = [
        ...this.standbyDeaths.filter((d) => now - d.node.advancedAt < horizon),
        ...detections.filter((d): d is Extract<Detection, { type: 'dead' }> => d.type === 'dead'),
      ];
      return;
    }
    this.serial(async () => {
      for (const d of detections) {
        try {
          if (d.type === 'dead') await this.onDeath(d);
          else if (!retry || !this.detector.isDead(d.node.kind, d.node.id))
            await this.book.closeRecovery(d.node.kind, d.node.id, new Date(this.clock()));
        } catch (err) {
          // Not lost: a death whose incident was never written would never be mailed.
          this.unrecorded.push(d);
          this.o.logger.error(`could not record a node's ${d.type === 'dead' ? 'death' : 'recovery'}; trying again`, {
            err,
            kind: d.node.kind,
            node: d.node.id,
          });
        }
      }
    });
  }

  private async onDeath(d: Extract<Detection, { type: 'dead' }>): Promise<void> {
    const { node } = d;
    // Back already (a standby's old news): nothing to report.
    if (!this.detector.isDead(node.kind, node.id)) return;
    if (d.reason === 'silent') {
      // Hung with its session alive: the znode would lie about it, so it goes.
      try {
        await this.o.zk.delete(node.path);
      } catch (err) {
        if (!(err instanceof NoNodeError)) throw err;
      }
    }
    this.metrics.deaths.inc({ kind: node.kind, reason: d.reason });
    this.metrics.detectionDelay.observe(d.silentForMs / 1000, { reason: d.reason });
    await this.book.openDeath(node, d.reason, d.silentForMs, new Date(this.clock()));
  }

  /**
   * Stops watching, steps down, lets the step in progress (a death, a mail) finish, and removes
   * this monitor's heartbeat znode. A second call, concurrent or later, returns the same promise.
   * Every step runs even when one before it fails; the failures are thrown together at the end
   * (a `CleanupError` naming them). A monitor never started has nothing to close.
   */
  close(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.closing ??= this.drain();
    return this.closing;
  }

  private drain(): Promise<void> {
    const steps: CleanupStep[] = [
      [
        'timers',
        () => {
          if (this.timer) clearInterval(this.timer);
          if (this.mailTimer) clearInterval(this.mailTimer);
        },
      ],
      ...this.stops.map((stop, i): CleanupStep => [`watch ${i + 1} of ${this.stops.length}`, stop]),
      ['election', () => this.election.close()],
      ['the step in progress', () => this.queue],
      ['heartbeat', () => this.heartbeat.close()],
    ];
    return cleanUp(steps);
  }
}

export type { NodeKind };
