import type { Logger } from '@clover/telemetry';
import os from 'node:os';
import { NodeExistsError, NoNodeError, parentOf, type CloverPaths, type NodeKind, type ZkClient } from '@clover/zk-kit';

export interface HeartbeatOptions {
  zk: ZkClient;
  paths: CloverPaths;
  kind: NodeKind;
  id: string;
  version: string;
  endpoint?: string;
  /** How often beatAt/seq are rewritten (default 2 s). */
  intervalMs?: number;
  /** Extra fields for the znode, read at every beat: load, running, groups, handlers... */
  info?: () => Record<string, unknown>;
  /**
   * The wall clock, epoch ms (default Date.now): `startedAt` and `beatAt`, for people to read.
   * Nobody judges liveness by them (another host's clock may be off by minutes): the monitor
   * watches `seq` move on its own monotonic clock (@clover/monitor DeathDetector), and the
   * beats themselves are paced by a timer, which a step of this clock does not move.
   */
  clock?: () => number;
  logger?: Logger;
}

export interface HeartbeatData extends Record<string, unknown> {
  id: string;
  kind: NodeKind;
  host: string;
  pid: number;
  version: string;
  endpoint: string | null;
  startedAt: number;
  beatAt: number;
  seq: number;
  status: 'up' | 'leaving';
}

/**
 * A process's presence in the cluster: an ephemeral znode at nodes/<kind>/<id> whose beatAt and
 * seq advance every interval. The znode going away says the session died; the beat going stale
 * says the process is hung while its ZooKeeper thread still keeps the session alive.
 *
 * Self-healing: the znode is watched. Deleted behind our back (by a monitor that thought us
 * dead, from the console, by zkCli, with its kind folder or the whole root), it is written back
 * at once, folders included. Overwritten by anyone else, it is rewritten at once rather than at
 * the next beat. Replaced by a persistent node of the same name (it would outlive us and lie
 * about our death), it is deleted and created again as our ephemeral. A deletion heard while
 * the connection is down is healed as soon as it is back (a beat there needs the connection).
 */
export class Heartbeat {
  readonly path: string;
  private readonly clock: () => number;
  private readonly intervalMs: number;
  private readonly startedAt: number;
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopWatch: (() => void) | null = null;
  private stopStateWatch: (() => void) | null = null;
  private running = false;
  private beating: Promise<void> = Promise.resolve();
  /** The znode version our last write left: a data event at any other version is someone else's. */
  private writtenVersion = -1;

  constructor(private readonly opts: HeartbeatOptions) {
    this.path = opts.paths.node(opts.kind, opts.id);
    this.clock = opts.clock ?? Date.now;
    this.intervalMs = opts.intervalMs ?? 2000;
    this.startedAt = this.clock();
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.opts.zk.ensurePath(this.opts.paths.nodesOf(this.opts.kind));
    await this.beatNow();
    // Someone deleted our node (an admin, or a monitor that thought us dead): come back.
    this.stopWatch = this.opts.zk.watch(this.path, (e) => {
      if (!this.running) return;
      if (e.type === 'deleted') void this.beatNow();
      else if (e.type === 'data' || e.type === 'created') void this.healIfChanged();
    });
    // A beat asked for while the connection was down did nothing (beat() needs it): a deletion
    // heard then would wait for the next timed beat. Back, the heartbeat beats at once.
    this.stopStateWatch = this.opts.zk.onState((state) => {
      if (state === 'connected' && this.running) void this.beatNow();
    });
    this.timer = setInterval(() => void this.beatNow(), this.intervalMs);
  }

  /** The data the next beat writes. */
  snapshot(status: HeartbeatData['status'] = 'up'): HeartbeatData {
    return {
      ...(this.opts.info?.() ?? {}),
      id: this.opts.id,
      kind: this.opts.kind,
      host: os.hostname(),
      pid: process.pid,
      version: this.opts.version,
      endpoint: this.opts.endpoint ?? null,
      startedAt: this.startedAt,
      beatAt: this.clock(),
      seq: this.seq,
      status,
    };
  }

  beatNow(): Promise<void> {
    this.beating = this.beating
      .then(() => this.beat())
      .catch((err: unknown) => {
        this.opts.logger?.warn('heartbeat failed', { path: this.path, err });
      });
    return this.beating;
  }

  /** Beats at once when the znode's version is not the one our last write left. */
  private async healIfChanged(): Promise<void> {
    const stat = await this.opts.zk.exists(this.path).catch(() => null);
    if (stat && stat.version !== this.writtenVersion) await this.beatNow();
  }

  private async beat(): Promise<void> {
    if (!this.running || this.opts.zk.state !== 'connected') return;
    this.seq += 1;
    const data = this.snapshot();
    try {
      const stat = await this.opts.zk.set(this.path, data);
      this.writtenVersion = stat.version;
      if (stat.ephemeralOwner !== '0') return;
      // A persistent node under our name would outlive this process: make it ours again.
      this.opts.logger?.warn('heartbeat node was replaced by a persistent node; re-creating it as ephemeral', { path: this.path });
      await this.opts.zk.delete(this.path, { version: stat.version });
    } catch (err) {
      if (!(err instanceof NoNodeError)) throw err;
    }
    await this.register(data);
  }

  /** Creates the ephemeral znode, and its folders when they were deleted too. */
  private async register(data: HeartbeatData): Promise<void> {
    try {
      // Whoever deletes the folders may still be at it (a recursive delete makes several passes):
      // a folder made here can go again before the node is in it, so make them again, a few times.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.opts.zk.create(this.path, data, 'ephemeral');
          break;
        } catch (err) {
          if (!(err instanceof NoNodeError) || attempt >= 10) throw err;
          await this.opts.zk.ensurePath(parentOf(this.path)).catch((e: unknown) => {
            if (!(e instanceof NoNodeError)) throw e;
          });
        }
      }
      this.writtenVersion = 0;
      this.opts.logger?.info('registered', { path: this.path });
    } catch (createErr) {
      // A previous session of ours may still hold it until the ensemble expires it.
      if (!(createErr instanceof NodeExistsError)) throw createErr;
    }
  }

  /** Says 'leaving' (a clean stop, not a death), then removes the znode. Safe twice. */
  async close(): Promise<void> {
    if (!this.running) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopWatch?.();
    this.stopWatch = null;
    this.stopStateWatch?.();
    this.stopStateWatch = null;
    await this.beating;
    this.running = false;
    if (this.opts.zk.state !== 'connected') return;
    try {
      this.seq += 1;
      await this.opts.zk.set(this.path, this.snapshot('leaving'));
      await this.opts.zk.delete(this.path);
    } catch (err) {
      if (!(err instanceof NoNodeError)) this.opts.logger?.warn('could not remove heartbeat node', { path: this.path, err });
    }
  }
}
