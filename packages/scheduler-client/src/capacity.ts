import os from 'node:os';
import type { Exec } from '@clover/protocol';

/**
 * An agent's two limits, and why they differ (README, "Capacity"):
 *
 * - **capacity**, executions at once of every kind: what HELLO reports, the one number the leader
 *   fills. An in-process handler or an HTTP call waiting on I/O costs a promise, a timer and its
 *   output tail (at most 8 KiB), so the default is generous: a burst of slow handlers does not
 *   fill it while the host sits idle.
 * - **processCapacity**, shell executions at once: each is a child process (a fork and exec, its
 *   own memory, CPU time the host's cores share), so the default follows the host's cores.
 *   A shell EXEC past it is refused `at_capacity`, as one past `capacity` is: the leader tries the
 *   next agent, or keeps the run waiting, without knowing which limit it met.
 */
export const DEFAULT_CAPACITY = 64;

/** The host's cores (`os.availableParallelism()`, which honours a CPU affinity mask), at least 2. */
export function defaultProcessCapacity(): number {
  return Math.max(2, os.availableParallelism());
}

/** The kinds that run as a child process and so count against `processCapacity`. */
export const runsAsProcess = (kind: Exec['kind']): boolean => kind.type === 'shell';

/**
 * The executions running now, in all and as child processes: whether one more may start. The
 * agent takes a slot when it accepts an EXEC and gives it back when the execution has ended.
 */
export class Slots {
  private all = 0;
  private processes = 0;

  constructor(
    readonly capacity: number,
    /** Never more than `capacity`: a larger setting would promise what the total cannot hold. */
    readonly processCapacity: number,
  ) {}

  /** Takes a slot for an execution of `kind`, or answers false when its limit is reached. */
  take(kind: Exec['kind']): boolean {
    const process = runsAsProcess(kind);
    if (this.all >= this.capacity || (process && this.processes >= this.processCapacity)) return false;
    this.all += 1;
    if (process) this.processes += 1;
    return true;
  }

  give(kind: Exec['kind']): void {
    this.all = Math.max(0, this.all - 1);
    if (runsAsProcess(kind)) this.processes = Math.max(0, this.processes - 1);
  }

  get running(): number {
    return this.all;
  }

  get processesRunning(): number {
    return this.processes;
  }
}
