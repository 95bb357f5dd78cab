/**
 * The leader's wall clock as this agent reads it. An EXEC's `deadline` is epoch ms on the
 * leader's clock (docs/protocol.md); set against this host's clock, it made every execution on
 * an agent ten minutes ahead of its leader end `timed_out` at once, and it gives one on an agent
 * behind its leader more time than the leader allows. The leader's PINGs (every 2 s) carry its
 * time (`sentAt`): the offset they show turns the deadline into time left on this host's own
 * timers. A PING's transit counts as skew: each sample is the true offset less its delay, so
 * the largest of the last `filterSize` samples is taken, the one that waited least (NTP's clock
 * filter, RFC 5905 §10, keeps the sample of least delay the same way). The latest alone was
 * wrong by whole seconds after a partition healed: PINGs held in the connection arrived ten
 * seconds late, the agent thought the leader ten seconds behind, ran past the leader's
 * deadline, and the leader's retry ran beside it (issue 16's partition runs).
 */
/** PING samples the offset is taken from: 8, about 16 s of PINGs, so a step of the leader's clock is followed within that. */
const filterSize = 8;

export class LeaderClock {
  private offsetMs: number | null = null;
  /** The offsets the last PINGs showed, oldest first. */
  private readonly samples: number[] = [];

  /** @param now this host's wall clock, epoch ms (default Date.now). */
  constructor(private readonly now: () => number = Date.now) {}

  /** A PING came from the leader, sent at `sentAtMs` on its clock. */
  sampled(sentAtMs: number): void {
    this.samples.push(sentAtMs - this.now());
    if (this.samples.length > filterSize) this.samples.shift();
    this.offsetMs = Math.max(...this.samples);
  }

  /** Another leader (its clock may differ): forget the offset until its first PING. */
  reset(): void {
    this.offsetMs = null;
    this.samples.length = 0;
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
