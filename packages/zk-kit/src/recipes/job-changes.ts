import type { Logger } from '@clover/telemetry';
import { z } from 'zod';
import type { JobChange, ZkClient, ZkStat } from '../interfaces.js';
import type { CloverPaths } from '../paths.js';
import { joinPath } from '../paths.js';

const prefix = 'c-';
const retentionMs = 10 * 60_000;

/** A change node's data as publishJobChange writes it; a node that is not one is passed over. */
const changeData = z.object({
  jobId: z.string().min(1),
  op: z.enum(['upsert', 'delete', 'trigger'] satisfies Array<JobChange['op']>),
  at: z.string().optional(),
});

/** Announces a job write to every dispatch-server: a sequential child of paths.jobChanges. */
export async function publishJobChange(zk: ZkClient, paths: CloverPaths, change: { jobId: string; op: JobChange['op'] }): Promise<void> {
  await zk.ensurePath(paths.jobChanges);
  await zk.create(
    joinPath(paths.jobChanges, prefix),
    { jobId: change.jobId, op: change.op, at: new Date().toISOString() },
    'persistent_sequential',
  );
}

export interface JobChangeFeedOptions {
  onChange(change: JobChange): void;
  /**
   * Called when the feed's folder was deleted (or replaced) behind its back: changes published
   * in the old folder and not yet read are gone, so a consumer that must not miss any reloads
   * what the changes describe. The feed goes on by itself either way.
   */
  onReset?(): void;
  logger?: Logger;
}

/**
 * Delivers each job change published after start() exactly once, in order. Changes are
 * sequential znodes rather than bumps of one node, so a burst of writes loses none of them.
 *
 * Self-healing: the folder is watched too. When it is deleted, or deleted and re-created, its
 * sequence numbers start again at 0 (ZooKeeper numbers children by the parent's cversion), so
 * the feed re-creates the folder, starts counting again from the new folder's first child, logs
 * a warning and calls `onReset`. A new folder is told from the old one by its stat (a creation
 * time of its own, or a child version that went back), never by watch events alone: a late
 * `deleted` event about a folder already replaced must not start the count again (and deliver
 * changes twice).
 */
export class JobChangeFeed {
  private lastSeq = -1;
  /** The folder whose sequence lastSeq counts in: its creation time and child version. */
  private folder: { ctime: number; cversion: number } | null = null;
  private stop: (() => void) | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private pruning: Promise<void> = Promise.resolve();

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: CloverPaths,
    private readonly opts: JobChangeFeedOptions,
  ) {}

  async start(): Promise<void> {
    if (this.stop) return;
    await this.zk.ensurePath(this.paths.jobChanges);
    const stat = await this.zk.exists(this.paths.jobChanges);
    const names = await this.zk.children(this.paths.jobChanges);
    this.lastSeq = names.reduce((max, n) => Math.max(max, seq(n)), -1);
    this.folder = stat && { ctime: stat.ctime, cversion: stat.cversion };
    this.stop = this.zk.watch(this.paths.jobChanges, (e) => {
      if (e.type !== 'data') this.pull();
    });
    this.pruneTimer = setInterval(() => {
      this.pruning = this.prune().catch(() => undefined);
    }, 60_000);
    this.pruneTimer.unref();
    this.pull();
  }

  async close(): Promise<void> {
    this.stop?.();
    this.stop = null;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    await Promise.all([this.busy, this.pruning]);
  }

  private pull(): void {
    this.busy = this.busy.then(async () => {
      if (!this.stop) return;
      await this.checkFolder().catch((err: unknown) =>
        this.opts.logger?.warn('could not check the job change folder', { path: this.paths.jobChanges, err }),
      );
      const names = await this.zk.children(this.paths.jobChanges).catch(() => [] as string[]);
      const fresh = names
        .map((n) => ({ n, s: seq(n) }))
        .filter((x) => x.s > this.lastSeq)
        .sort((a, b) => a.s - b.s);
      for (const { n, s } of fresh) {
        const node = await this.zk.get(joinPath(this.paths.jobChanges, n), changeData).catch(() => null);
        this.lastSeq = s;
        if (!node) continue;
        try {
          this.opts.onChange({
            seq: s,
            jobId: node.data.jobId,
            op: node.data.op,
            at: node.data.at ?? new Date(node.stat.ctime).toISOString(),
          });
        } catch (err) {
          this.opts.logger?.error('job change handler threw', { err, jobId: node.data.jobId });
        }
      }
    });
  }

  /** Re-creates a deleted folder, and starts counting again in a folder that is not the one read before. */
  private async checkFolder(): Promise<void> {
    let stat: ZkStat | null = await this.zk.exists(this.paths.jobChanges);
    let lost = false;
    if (!stat) {
      lost = true;
      await this.zk.ensurePath(this.paths.jobChanges);
      stat = await this.zk.exists(this.paths.jobChanges);
      if (!stat) return;
    }
    const known = this.folder;
    const replaced = lost || (known !== null && (stat.ctime !== known.ctime || stat.cversion < known.cversion));
    this.folder = { ctime: stat.ctime, cversion: stat.cversion };
    if (!replaced) return;
    this.lastSeq = -1;
    this.opts.logger?.warn('the job change folder was deleted or replaced; reading the new one from its start', {
      path: this.paths.jobChanges,
    });
    try {
      this.opts.onReset?.();
    } catch (err) {
      this.opts.logger?.error('job change reset handler threw', { err });
    }
  }

  private async prune(): Promise<void> {
    const names = await this.zk.children(this.paths.jobChanges).catch(() => [] as string[]);
    const cutoff = Date.now() - retentionMs;
    for (const n of names) {
      if (!this.stop) return;
      const path = joinPath(this.paths.jobChanges, n);
      const stat = await this.zk.exists(path).catch(() => null);
      if (stat && stat.ctime < cutoff) await this.zk.delete(path).catch(() => undefined);
    }
  }
}

function seq(name: string): number {
  return name.startsWith(prefix) ? Number(name.slice(prefix.length)) : -1;
}
