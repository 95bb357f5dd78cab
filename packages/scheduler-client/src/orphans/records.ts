import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LIMITS } from '@clover/protocol';
import type { Logger } from '@clover/telemetry';
import { bootId, groupMembers, processStartTime } from './proc.js';

/** One running shell execution's process group, as written to the data directory. */
export interface GroupRecord {
  execId: string;
  /** The group's id: the pid of the process the agent spawned, its leader. */
  pgid: number;
  /** The leader's start time (clock ticks since boot): tells it from a later process given the same pid. */
  startTime: number;
  bootId: string;
  /** The agent that ran it: its pid and start time, to tell a live agent's records from a dead one's. */
  agentId: string;
  agentPid: number;
  agentStartTime: number;
  /** When the execution started, epoch ms. */
  startedAt: number;
}

/** What a start found of an earlier life: each execution it was running, and whether its group was still there (and is now killed). */
export interface LeftBehind {
  execId: string;
  pgid: number;
  startedAt: number;
  killed: boolean;
}

const dirName = 'process-groups';

function drop(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    /* a directory in its place, say: found again next start, and logged then */
  }
}

/**
 * The process groups of an agent's running shell executions, one JSON file each under
 * `<dataDir>/process-groups/<pgid>.json` (written when the execution starts, removed when it
 * ends), so that a restarted agent finds what its previous life left (sweep()). Linux only: it
 * needs /proc for start times; elsewhere nothing is written and sweep() finds nothing.
 *
 * Several agents may share a data directory: a record whose agent still lives (pid and start
 * time) is left alone. A file named by pgid cannot belong to two live groups: Linux gives no
 * process a pid that is still some group's id.
 */
export class GroupRecords {
  private readonly dir: string;
  private readonly boot = bootId();
  private readonly self = processStartTime(process.pid);
  private warned = false;

  constructor(
    dataDir: string,
    private readonly agentId: string,
    private readonly logger: Logger,
  ) {
    this.dir = path.join(dataDir, dirName);
  }

  private get usable(): boolean {
    return this.boot !== null && this.self !== null;
  }

  /** Writes the record of a group just spawned (synchronously: it must exist before anything else can go wrong). */
  add(execId: string, pgid: number, startedAt: number): void {
    const { boot, self } = this;
    if (boot === null || self === null) return;
    const startTime = processStartTime(pgid);
    // A leader already gone: its group is killed at once by the executor; nothing to keep.
    if (startTime === null) return;
    const record: GroupRecord = {
      execId,
      pgid,
      startTime,
      bootId: boot,
      agentId: this.agentId,
      agentPid: process.pid,
      agentStartTime: self,
      startedAt,
    };
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(this.file(pgid), JSON.stringify(record));
    } catch (err) {
      if (!this.warned)
        this.logger.warn('could not record a process group in the data directory: a restart will not find it', {
          dir: this.dir,
          err,
        });
      this.warned = true;
    }
  }

  remove(pgid: number): void {
    if (!this.usable) return;
    drop(this.file(pgid));
  }

  /**
   * Finds the records an earlier life of an agent left (their agent is no longer running),
   * SIGKILLs each group that is still there and waits, up to `waitMs` (default 5 s), for it to be
   * gone; removes those records; answers what it found. A group counts as the record's when its
   * leader lives with the recorded start time, or when the leader is gone but members remain:
   * the pgid cannot have been reused while they live. A leader with another start time is a
   * later process given the same pid: left alone. Never throws.
   */
  async sweep(waitMs = 5000): Promise<LeftBehind[]> {
    if (!this.usable) return [];
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    const found: LeftBehind[] = [];
    const killed: number[] = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      let r: GroupRecord;
      try {
        r = JSON.parse(readFileSync(file, 'utf8')) as GroupRecord;
        // What it holds goes into a RESULT and a HELLO: checked against the protocol's bounds here.
        if (
          typeof r.execId !== 'string' ||
          r.execId.length < 1 ||
          r.execId.length > LIMITS.idChars ||
          !Number.isInteger(r.pgid) ||
          r.pgid <= 1
        )
          throw new Error('not a record');
        if (!Number.isInteger(r.startedAt) || r.startedAt < 0) r.startedAt = Date.now();
      } catch (err) {
        this.logger.warn('dropped an unreadable process-group record', { file, err });
        drop(file);
        continue;
      }
      // Its agent still runs (another agent sharing the directory, or this very life): not ours to judge.
      if (r.bootId === this.boot && processStartTime(r.agentPid) === r.agentStartTime) continue;
      let ours = false;
      if (r.bootId === this.boot) {
        const leader = processStartTime(r.pgid);
        ours = leader === null ? groupMembers(r.pgid).length > 0 : leader === r.startTime;
      }
      if (ours) {
        try {
          process.kill(-r.pgid, 'SIGKILL');
          killed.push(r.pgid);
        } catch (err) {
          this.logger.warn('could not kill a process group an earlier life of this agent left', {
            execId: r.execId,
            pgid: r.pgid,
            err,
          });
          ours = false;
        }
      }
      found.push({ execId: r.execId, pgid: r.pgid, startedAt: r.startedAt, killed: ours });
      if (ours)
        this.logger.warn('killed a process group an earlier life of this agent left running', {
          execId: r.execId,
          pgid: r.pgid,
          previousAgentPid: r.agentPid,
        });
      else this.logger.info('an execution of an earlier life of this agent ended with it', { execId: r.execId, pgid: r.pgid });
      drop(file);
    }
    // SIGKILL cannot be caught, but a process in uninterruptible sleep dies only when it wakes.
    const until = Date.now() + waitMs;
    while (killed.some((g) => groupMembers(g).length) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const still = killed.filter((g) => groupMembers(g).length);
    if (still.length) this.logger.error('process groups still alive after SIGKILL', { pgids: still });
    return found;
  }

  private file(pgid: number): string {
    return path.join(this.dir, `${pgid}.json`);
  }
}
