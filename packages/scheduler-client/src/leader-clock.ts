/**
 * The leader's wall clock as this agent reads it. An EXEC's `deadline` is epoch ms on the
 * leader's clock (docs/protocol.md); set against this host's clock, it made every execution on
 * an agent ten minutes ahead of its leader end `timed_out` at once, and it gives one on an agent
 * behind its leader more time than the leader allows. The leader's PINGs (every 2 s) carry its
 * time (`sentAt`): the offset the latest one shows turns the deadline into time left on this
 * host's own timers. The PING's transit (a millisecond or so on a LAN) counts as skew, which
 * only leaves the execution that much more time.
 */
export class LeaderClock {
  private offsetMs: number | null = null;

  /** @param now this host's wall clock, epoch ms (default Date.now). */
  constructor(private readonly now: () => number = Date.now) {}

  /** A PING came from the leader, sent at `sentAtMs` on its clock. */
  sampled(sentAtMs: number): void {
    this.offsetMs = sentAtMs - this.now();
  }

  /** Another leader (its clock may differ): forget the offset until its first PING. */
  reset(): void {
    this.offsetMs = null;
  }

  /** The leader's clock offset from this host's (ms, positive when the leader is ahead), or null before its first PING. */
  get offset(): number | null {
    return this.offsetMs;
  }

  /**
   * How long an execution may run from now, in ms: `min(deadline − the leader's now, timeoutMs)`,
   * never negative. Before the leader's first PING its now is taken to be the EXEC's dispatch
   * (`deadline − timeoutMs`, its own clock too): the whole `timeoutMs`, which the leader's own
   * deadline (plus its grace) still bounds.
   */
  /** How long past its deadline the execution is on the leader's clock, in ms: 0 when it is not (or before the leader's first PING). */
  overdueMs(exec: { deadline: number }): number {
    return this.offsetMs === null ? 0 : Math.max(0, this.now() + this.offsetMs - exec.deadline);
  }

  timeLeftMs(exec: { deadline: number; timeoutMs: number }): number {
    const leaderNow = this.offsetMs === null ? exec.deadline - exec.timeoutMs : this.now() + this.offsetMs;
    return Math.max(0, Math.min(exec.deadline - leaderNow, exec.timeoutMs));
  }
}
