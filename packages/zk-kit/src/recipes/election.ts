import { EventEmitter } from 'node:events';
import { BadVersionError, InvalidDataError, NoNodeError } from '../errors.js';
import type { ZkClient } from '../interfaces.js';
import { joinPath } from '../paths.js';

export interface LeaderElectionOptions {
  /** The election's parent znode, e.g. paths.electionDispatch. */
  path: string;
  id: string;
  data?: Record<string, unknown>;
}

const candidatePrefix = 'c-';

function seqOf(name: string): number {
  return Number(name.slice(name.lastIndexOf('-') + 1));
}

/**
 * Leader election by ephemeral-sequential candidates (the ZooKeeper recipe "Leader Election",
 * zookeeper.apache.org/doc/current/recipes.html): the lowest leads, each other candidate
 * watches only its predecessor (no herd when the leader goes). A leader that loses its
 * connection says 'revoked' at once, since it can no longer know it still leads.
 *
 * Self-healing: every candidate also watches its own znode. When it is deleted behind the
 * recipe's back (the election folder removed from the console, `deleteall` in zkCli), a leader
 * says 'revoked' at once (another candidate may now be lowest), and every candidate re-creates
 * the folder and enters again; whoever is lowest then says 'elected'. When its data is
 * overwritten, the candidate writes `{ id, ...data }` back, since readers find the leader's
 * endpoint there.
 */
export class LeaderElection extends EventEmitter {
  private candidate: string | null = null;
  private candidateSession: string | null = null;
  private leading = false;
  private started = false;
  private stopWatch: (() => void) | null = null;
  /** The watch on this candidate's own znode, and the path it watches. */
  private stopOwnWatch: (() => void) | null = null;
  private ownWatchPath: string | null = null;
  private offState: (() => void) | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly zk: ZkClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    super();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get candidatePath(): string | null {
    return this.candidate;
  }

  /**
   * This candidate's sequence number (null before it has entered): the leader's term, a fencing
   * token. ZooKeeper numbers a parent's sequential children in creation order, and the leader is
   * always the live candidate with the lowest number, so each leader's number is higher than every
   * leader's before it (Kleppmann, "How to do distributed locking"). It begins again only if the
   * election's parent znode is made anew (a rebuilt ZooKeeper).
   */
  get term(): number | null {
    return this.candidate === null ? null : seqOf(this.candidate);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.offState = this.zk.onState((state) => {
      if (state === 'connected') this.schedule();
      else this.setLeading(false);
    });
    if (this.zk.state === 'connected') this.schedule();
    await this.queue;
  }

  async close(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.offState?.();
    this.stopWatch?.();
    this.stopWatch = null;
    await this.queue;
    await this.watchOwn(null);
    this.setLeading(false);
    const mine = this.candidate;
    this.candidate = null;
    if (mine && this.zk.state === 'connected') await this.zk.delete(mine).catch(() => undefined);
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.emit(leading ? 'elected' : 'revoked');
  }

  private schedule(): void {
    this.queue = this.queue
      .then(() => this.check())
      .catch((err: unknown) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        // Keep trying: a failed check must not leave a candidate that never leads.
        setTimeout(() => this.started && this.zk.state === 'connected' && this.schedule(), 500);
      });
  }

  /** What this candidate's znode holds: readers take the leader's id and endpoint from it. */
  private get payload(): Record<string, unknown> {
    return { id: this.opts.id, ...this.opts.data };
  }

  /** Follows this candidate's own znode (null: none), so a deletion or overwrite is healed. */
  private async watchOwn(path: string | null): Promise<void> {
    if (this.ownWatchPath === path) return;
    this.stopOwnWatch?.();
    this.stopOwnWatch = null;
    this.ownWatchPath = path;
    if (!path) return;
    const stop = this.zk.watch(path, (e) => {
      if (!this.started || this.ownWatchPath !== path) return;
      if (e.type === 'deleted') {
        // Without its candidate this process cannot know it is lowest: stop leading now.
        this.setLeading(false);
        this.schedule();
      } else if (e.type === 'data') this.schedule();
    });
    this.stopOwnWatch = stop;
    // Armed before the caller looks at the node, so a deletion right after is not missed.
    await stop.ready;
  }

  /** Writes the candidate's data back when someone else changed it; false when it is gone. */
  private async restorePayload(path: string): Promise<boolean> {
    const node = await this.zk.getRaw(path);
    if (!node) return false;
    const want = JSON.stringify(this.payload);
    let have: string | undefined;
    try {
      have = JSON.stringify(JSON.parse(node.data.toString('utf8')));
    } catch {
      have = undefined;
    }
    if (have === want) return true;
    await this.zk.set(path, this.payload, node.stat.version).catch((err: unknown) => {
      // A newer write or a deletion came in between: its own event schedules another check.
      if (!(err instanceof NoNodeError) && !(err instanceof BadVersionError)) throw err;
    });
    return true;
  }

  private async check(): Promise<void> {
    if (!this.started || this.zk.state !== 'connected') return;
    // An expired session took its candidate with it, or someone deleted it (or the whole
    // election folder): enter again. The folder is re-created, so the election heals itself.
    if (!this.candidate || this.candidateSession !== this.zk.sessionId || !(await this.zk.exists(this.candidate))) {
      this.setLeading(false);
      await this.watchOwn(null);
      await this.zk.ensurePath(this.opts.path);
      this.candidate = await this.zk.create(joinPath(this.opts.path, candidatePrefix), this.payload, 'ephemeral_sequential');
      this.candidateSession = this.zk.sessionId;
    }
    await this.watchOwn(this.candidate);
    if (!(await this.restorePayload(this.candidate))) {
      this.candidate = null;
      return this.check();
    }
    const mine = this.candidate.slice(this.candidate.lastIndexOf('/') + 1);
    const names = (await this.zk.children(this.opts.path)).filter((n) => n.startsWith(candidatePrefix)).sort((a, b) => seqOf(a) - seqOf(b));
    const index = names.indexOf(mine);
    if (index < 0) {
      this.candidate = null;
      this.setLeading(false);
      return this.check();
    }
    this.stopWatch?.();
    this.stopWatch = null;
    // The lowest candidate leads; any other watches the one just ahead of it.
    const ahead = index > 0 ? names[index - 1] : undefined;
    if (ahead === undefined) {
      this.setLeading(true);
      return;
    }
    this.setLeading(false);
    const predecessor = joinPath(this.opts.path, ahead);
    this.stopWatch = this.zk.watch(predecessor, (e) => {
      if (e.type === 'deleted') this.schedule();
    });
    // It may have gone before the watch was set.
    if (!(await this.zk.exists(predecessor))) this.schedule();
  }
}

export interface LeaderInfo {
  id: string;
  data: Record<string, unknown>;
}

/**
 * Reads who leads an election now: the lowest candidate's data. A lowest candidate whose data is
 * not `{ id, ... }` (overwritten behind the election's back) means no usable leader until its
 * owner writes it back: the next candidate is not the leader, so it is never reported as one.
 */
export async function readLeader(zk: ZkClient, electionPath: string): Promise<LeaderInfo | null> {
  return (await readLeaderAt(zk, electionPath))?.leader ?? null;
}

async function readLeaderAt(zk: ZkClient, electionPath: string): Promise<{ leader: LeaderInfo | null; path: string } | null> {
  let names: string[];
  try {
    names = (await zk.children(electionPath)).filter((n) => n.startsWith(candidatePrefix)).sort((a, b) => seqOf(a) - seqOf(b));
  } catch (err) {
    if (err instanceof NoNodeError) return null;
    throw err;
  }
  for (const name of names) {
    const path = joinPath(electionPath, name);
    let node: { data: Record<string, unknown> | null } | null;
    try {
      node = await zk.get<Record<string, unknown> | null>(path);
    } catch (err) {
      if (err instanceof InvalidDataError) return { leader: null, path };
      throw err;
    }
    // Gone between the listing and the read: the next one is lowest now.
    if (!node) continue;
    if (node.data && typeof node.data === 'object' && typeof node.data.id === 'string')
      return { leader: { id: node.data.id, data: node.data }, path };
    return { leader: null, path };
  }
  return null;
}

/**
 * Calls the listener with the current leader (or null) now and whenever it changes: a new
 * lowest candidate, or a change of the leader's data (its own znode is watched too, so a leader
 * whose data was overwritten and written back is reported again).
 */
export function watchLeader(zk: ZkClient, electionPath: string, listener: (leader: LeaderInfo | null) => void): () => void {
  let stopped = false;
  let last: string | undefined;
  let running = false;
  /** Refreshes asked for: one running pass goes round again if more were asked while it read. */
  let asked = 0;
  let leaderPath: string | null = null;
  let stopLeaderWatch: (() => void) | null = null;
  const followLeaderNode = (path: string | null) => {
    if (path === leaderPath) return;
    stopLeaderWatch?.();
    stopLeaderWatch = null;
    leaderPath = path;
    if (path && !stopped) stopLeaderWatch = zk.watch(path, (e) => e.type === 'data' && void refresh());
  };
  const refresh = async () => {
    asked++;
    if (running) return;
    running = true;
    try {
      let answered: number;
      do {
        answered = asked;
        const found = zk.state === 'connected' ? await readLeaderAt(zk, electionPath).catch(() => null) : null;
        const leader = found?.leader ?? null;
        if (!stopped) followLeaderNode(found?.path ?? null);
        const key = leader ? `${leader.id}|${JSON.stringify(leader.data)}` : '';
        if (!stopped && key !== last) {
          last = key;
          listener(leader);
        }
      } while (asked !== answered && !stopped);
    } finally {
      running = false;
    }
  };
  const stopWatch = zk.watch(electionPath, () => void refresh());
  const offState = zk.onState(() => void refresh());
  void refresh();
  return () => {
    stopped = true;
    stopWatch();
    offState();
    followLeaderNode(null);
  };
}
