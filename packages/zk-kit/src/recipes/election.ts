import { EventEmitter } from 'node:events';
import { NoNodeError } from '../errors.js';
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
 * Leader election by ephemeral-sequential candidates: the lowest leads, each other candidate
 * watches only its predecessor (no herd when the leader goes). A leader that loses its
 * connection says 'revoked' at once, since it can no longer know it still leads.
 */
export class LeaderElection extends EventEmitter {
  private candidate: string | null = null;
  private candidateSession: string | null = null;
  private leading = false;
  private started = false;
  private stopWatch: (() => void) | null = null;
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
    this.queue = this.queue.then(() => this.check()).catch((err: unknown) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      // Keep trying: a failed check must not leave a candidate that never leads.
      setTimeout(() => this.started && this.zk.state === 'connected' && this.schedule(), 500);
    });
  }

  private async check(): Promise<void> {
    if (!this.started || this.zk.state !== 'connected') return;
    // An expired session took its candidate with it: enter again in the new one.
    if (!this.candidate || this.candidateSession !== this.zk.sessionId || !(await this.zk.exists(this.candidate))) {
      await this.zk.ensurePath(this.opts.path);
      this.candidate = await this.zk.create(joinPath(this.opts.path, candidatePrefix), { id: this.opts.id, ...this.opts.data }, 'ephemeral_sequential');
      this.candidateSession = this.zk.sessionId;
    }
    const mine = this.candidate.slice(this.candidate.lastIndexOf('/') + 1);
    const names = (await this.zk.children(this.opts.path)).filter((n) => n.startsWith(candidatePrefix)).sort((a, b) => seqOf(a) - seqOf(b));
    const index = names.indexOf(mine);
    if (index < 0) {
      this.candidate = null;
      return this.check();
    }
    this.stopWatch?.();
    this.stopWatch = null;
    if (index === 0) {
      this.setLeading(true);
      return;
    }
    this.setLeading(false);
    const predecessor = joinPath(this.opts.path, names[index - 1]!);
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

/** Reads who leads an election now: the lowest candidate's data. */
export async function readLeader(zk: ZkClient, electionPath: string): Promise<LeaderInfo | null> {
  let names: string[];
  try {
    names = (await zk.children(electionPath)).filter((n) => n.startsWith(candidatePrefix)).sort((a, b) => seqOf(a) - seqOf(b));
  } catch (err) {
    if (err instanceof NoNodeError) return null;
    throw err;
  }
  for (const name of names) {
    const node = await zk.get<Record<string, unknown>>(joinPath(electionPath, name)).catch(() => null);
    if (node && node.data && typeof node.data.id === 'string') return { id: node.data.id, data: node.data };
  }
  return null;
}

/** Calls the listener with the current leader (or null) now and whenever it changes. */
export function watchLeader(zk: ZkClient, electionPath: string, listener: (leader: LeaderInfo | null) => void): () => void {
  let stopped = false;
  let last: string | undefined;
  let running = false;
  let again = false;
  const refresh = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const leader = zk.state === 'connected' ? await readLeader(zk, electionPath).catch(() => null) : null;
        const key = leader ? `${leader.id}|${JSON.stringify(leader.data)}` : '';
        if (!stopped && key !== last) {
          last = key;
          listener(leader);
        }
      } while (again && !stopped);
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
  };
}
