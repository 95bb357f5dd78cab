import { EventEmitter } from 'node:events';
import { BadVersionError, InvalidDataError, NoNodeError } from '../errors.js';
import type { ZkClient } from '../interfaces.js';
import { joinPath } from '../paths.js';
import { deleteOwnEphemeral, ownEphemeral } from './own-ephemeral.js';

export interface LeaderElectionOptions {
  /** The election's parent znode, e.g. paths.electionDispatch. */
  path: string;
  id: string;
  data?: Record<string, unknown>;
}

const candidatePrefix = 'c-';
/** How long a follower of the election waits to read it again after a read failed, in ms. */
const retryAfterFailedReadMs = 500;

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
   * election's parent znode is made anew (a rebuilt ZooKeeper): the store then refuses the new
   * leaders' writes to the runs the earlier terms left open (RunRepository.fence).
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
    if (mine && this.zk.state === 'connected') await deleteOwnEphemeral(this.zk, mine, this.candidateSession);
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
    // Another session's znode under this candidate's old name is not ours to write (ownEphemeral).
    if (!node || node.stat.ephemeralOwner !== this.candidateSession) return false;
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
    // Its name alone does not say it is still ours: a re-created folder numbers from 0 again, and
    // another candidate given our old name was taken for ours (both led, each writing its own
    // data over the other's; zk-kit healing test "leader and a follower", CI of 2026-12-01).
    if (
      !this.candidate ||
      this.candidateSession !== this.zk.sessionId ||
      !(await ownEphemeral(this.zk, this.candidate, this.candidateSession))
    ) {
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
    const watch = this.zk.watch(predecessor, (e) => {
      if (e.type === 'deleted') this.schedule();
    });
    this.stopWatch = watch;
    // Armed before the look below: a watch learns the node's state when it arms and reports only
    // changes after that, so a predecessor gone between an earlier look and the arming went
    // unheard, and this candidate never led (contract test "still arming").
    await watch.ready;
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
 * Runs `read` now and again at each `ask()`, one pass at a time: asks that come while a pass
 * runs are answered by one more pass after it, so the last word is always read.
 */
function rereader(read: () => Promise<void>): () => void {
  let running = false;
  let asked = 0;
  const ask = async () => {
    asked++;
    if (running) return;
    running = true;
    try {
      let answered: number;
      do {
        answered = asked;
        await read();
      } while (asked !== answered);
    } finally {
      running = false;
    }
  };
  return () => void ask();
}

/**
 * Reads an election with `read` now, at every change of its children or of the ZooKeeper
 * connection, and at each `again()` (for the data watches a caller sets), one pass at a time.
 * Each answer (null: ZooKeeper out of reach, or no answer) goes to `seen`, and to `listener`
 * when its `key` differs from the last one's. Nothing is called once `stop()` has been.
 */
function followElection<T>(
  zk: ZkClient,
  electionPath: string,
  how: { read: () => Promise<T>; key: (value: T | null) => string; seen?: (value: T | null) => void; listener: (value: T | null) => void },
): { again: () => void; stop: () => void } {
  let stopped = false;
  const isStopped = () => stopped;
  let last: string | undefined;
  let retry: NodeJS.Timeout | null = null;
  const again = rereader(async () => {
    if (isStopped()) return;
    let value: T | null = null;
    let failed = false;
    if (zk.state === 'connected') {
      try {
        value = await how.read();
      } catch {
        failed = true;
      }
    }
    if (isStopped()) return;
    // A read that failed while connected is asked again: no event may come to ask it.
    if (failed && !retry)
      retry = setTimeout(() => {
        retry = null;
        again();
      }, retryAfterFailedReadMs);
    how.seen?.(value);
    const key = how.key(value);
    if (key !== last) {
      last = key;
      how.listener(value);
    }
  });
  const stopWatch = zk.watch(electionPath, again);
  const offState = zk.onState(again);
  again();
  return {
    again,
    stop: () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      stopWatch();
      offState();
    },
  };
}

/**
 * Calls the listener with the current leader (or null) now and whenever it changes: a new
 * lowest candidate, or a change of the leader's data (its own znode is watched too, so a leader
 * whose data was overwritten and written back is reported again).
 */
export function watchLeader(zk: ZkClient, electionPath: string, listener: (leader: LeaderInfo | null) => void): () => void {
  let leaderPath: string | null = null;
  let stopLeaderWatch: (() => void) | null = null;
  const followLeaderNode = (path: string | null) => {
    if (path === leaderPath) return;
    stopLeaderWatch?.();
    stopLeaderWatch = null;
    leaderPath = path;
    if (path) stopLeaderWatch = zk.watch(path, (e) => e.type === 'data' && election.again());
  };
  const election = followElection(zk, electionPath, {
    read: () => readLeaderAt(zk, electionPath),
    key: (found) => (found?.leader ? `${found.leader.id}|${JSON.stringify(found.leader.data)}` : ''),
    seen: (found) => followLeaderNode(found?.path ?? null),
    listener: (found) => listener(found?.leader ?? null),
  });
  return () => {
    election.stop();
    followLeaderNode(null);
  };
}

/** A candidate of an election: its znode's name (`c-<seq>`), its `id` and the rest of its data. */
export interface CandidateInfo {
  node: string;
  id: string;
  data: Record<string, unknown>;
}

/** Every candidate of an election, in election order, and the leader's id (null: none usable). */
export interface CandidateList {
  candidates: CandidateInfo[];
  leader: string | null;
}

/**
 * Reads every candidate of an election whose data is `{ id, ... }`, lowest first, and who
 * leads: the lowest candidate, only if its data is usable (as {@link readLeader} says: a garbled
 * lowest candidate means no leader, never the next one). A candidate gone between the listing
 * and its read is skipped; an absent folder is an empty list. Throws what ZooKeeper throws
 * otherwise.
 */
export async function readCandidates(zk: ZkClient, electionPath: string): Promise<CandidateList> {
  let names: string[];
  try {
    names = (await zk.children(electionPath)).filter((n) => n.startsWith(candidatePrefix)).sort((a, b) => seqOf(a) - seqOf(b));
  } catch (err) {
    if (err instanceof NoNodeError) return { candidates: [], leader: null };
    throw err;
  }
  const candidates: CandidateInfo[] = [];
  let leader: string | null = null;
  let lowest = true;
  for (const node of names) {
    // Garbled data is an unusable candidate; a read that failed is no answer at all (throws): a
    // candidate left out would read as a server gone to the agents that follow the list.
    const data = await zk.get<Record<string, unknown> | null>(joinPath(electionPath, node)).then(
      (n) => n?.data,
      (err: unknown) => {
        if (err instanceof InvalidDataError) return null;
        throw err;
      },
    );
    if (data === undefined) continue;
    const usable = data !== null && typeof data === 'object' && typeof data.id === 'string';
    if (lowest && usable) leader = data.id as string;
    lowest = false;
    if (usable) candidates.push({ node, id: data.id as string, data });
  }
  return { candidates, leader };
}

/**
 * Calls `listener` with every candidate of an election now and whenever the candidates change
 * (one enters, leaves, re-enters, or its data is rewritten: each candidate's znode is watched).
 * `null` means not known: ZooKeeper is out of reach or did not answer; a listener keeps what it
 * has until a list comes. Returns the stop.
 */
export function watchCandidates(zk: ZkClient, electionPath: string, listener: (list: CandidateList | null) => void): () => void {
  /** A data watch on each candidate, so a candidate's data written back is seen. */
  const nodeWatches = new Map<string, () => void>();
  const followNodes = (nodes: string[]) => {
    for (const [node, stop] of nodeWatches)
      if (!nodes.includes(node)) {
        stop();
        nodeWatches.delete(node);
      }
    for (const node of nodes)
      if (!nodeWatches.has(node))
        nodeWatches.set(
          node,
          zk.watch(joinPath(electionPath, node), (e) => e.type === 'data' && election.again()),
        );
  };
  const election = followElection(zk, electionPath, {
    read: () => readCandidates(zk, electionPath),
    key: (list) => JSON.stringify(list),
    seen: (list) => list && followNodes(list.candidates.map((c) => c.node)),
    listener,
  });
  return () => {
    election.stop();
    followNodes([]);
  };
}
