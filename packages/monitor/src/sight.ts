import { noopLogger, type Logger } from '@clover/telemetry';

export interface SightProbeOptions {
  /** One request to ZooKeeper and its answer (the monitor's: `exists` of its election folder). */
  roundTrip: () => Promise<unknown>;
  /** The monitor's monotonic clock, ms. */
  monotonic: () => number;
  /** How often a probe goes out when none is outstanding, ms (default 250). */
  intervalMs?: number;
  /**
   * A probe unanswered this long (ms, default 1,000) makes the monitor blind from then until it
   * is answered: a stall this long is one in which a beat could not reach it either.
   */
  blindAfterMs?: number;
  /** The monitor cannot hear ZooKeeper (DeathDetector.lostSight). */
  onBlind: () => void;
  /** It hears again at `now`, monotonic ms (DeathDetector.regainedSight). */
  onSight: (now: number) => void;
  logger?: Logger;
}

/**
 * Finds the stalls of the monitor's own link to ZooKeeper that its client does not report. The
 * client says `disconnected` only after 2/3 of the session timeout without an answer; a shorter
 * cut (a ZooKeeper host off the network for 2 s, issue 16's partition runs) passes unseen, and
 * TCP's retransmission backoff then brings each node's beats back up to a few seconds after the
 * link: the monitor, judging silence as if it had heard all along, called two live servers dead
 * after 4.1 s of a 4-s dead timeout. A probe that is not answered within `blindAfterMs` makes the
 * detector blind until its answer comes, and silence counts from then, as after a reconnect.
 */
export class SightProbe {
  private timer: NodeJS.Timeout | null = null;
  private sentAt: number | null = null;
  private blind = false;
  private readonly intervalMs: number;
  private readonly blindAfterMs: number;
  private readonly logger: Logger;

  constructor(private readonly o: SightProbeOptions) {
    this.intervalMs = o.intervalMs ?? 250;
    this.blindAfterMs = o.blindAfterMs ?? 1000;
    this.logger = o.logger ?? noopLogger;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One step: a probe out if none is, or blindness if the one out is late. Public for tests. */
  tick(): void {
    const now = this.o.monotonic();
    if (this.sentAt === null) {
      const sentAt = (this.sentAt = now);
      this.o.roundTrip().then(
        () => this.answered(sentAt),
        // Connection loss: the client's own state tells the detector; the next probe tries again.
        () => {
          if (this.sentAt === sentAt) this.sentAt = null;
        },
      );
      return;
    }
    if (!this.blind && now - this.sentAt > this.blindAfterMs) {
      this.blind = true;
      this.logger.warn('no answer from ZooKeeper: judging no silence until one comes', { waitedMs: Math.round(now - this.sentAt) });
      this.o.onBlind();
    }
  }

  private answered(sentAt: number): void {
    if (this.sentAt !== sentAt) return;
    this.sentAt = null;
    if (!this.blind) return;
    this.blind = false;
    const now = this.o.monotonic();
    this.logger.info('ZooKeeper answers again: silence counts from now', { blindForMs: Math.round(now - sentAt) });
    this.o.onSight(now);
  }
}
