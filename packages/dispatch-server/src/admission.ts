import type { Hello, Message } from '@clover/protocol';
import type { Logger } from '@clover/telemetry';

/**
 * The BYE reason an agent of the single-leader protocol gets where it is refused (at most 200
 * characters, LIMITS.reasonChars): what it must become to be served.
 */
export const singleLeaderRefusal =
  'refused: every dispatch-server here fires a share of the jobs and this agent follows only the leader; ' +
  'upgrade it to one that connects to each (HELLO allServers, docs/protocol.md)';

/** How often a refused agent is logged, per agent, in ms: it says HELLO every 5 s. */
const warnEveryMs = 60_000;

/**
 * Which agents a dispatch-server serves (docs/protocol.md, Several servers). An agent that says
 * `allServers` holds a channel to every server and is served by each. One written to the
 * single-leader protocol connects only to the election's leader: where the servers share the
 * jobs out (`refuseSingleLeader`), it would get only the leader's share, and a job of another
 * share targeted at it would wait and fail with "no live agent matches", far from the cause. So
 * there it is refused: its HELLO is answered with a BYE saying why ({@link singleLeaderRefusal}),
 * which the reference agent logs, and a warning is logged here. Otherwise it is served as always.
 */
export class AgentAdmission {
  /** When each refused agent was last logged, on the monotonic clock. */
  private readonly warned = new Map<string, number>();

  constructor(
    private readonly opts: {
      /** Refuse agents whose HELLO lacks `allServers` (default false: every agent is served). */
      refuseSingleLeader: boolean;
      logger: Logger;
      send: (peer: string, msg: Message) => Promise<boolean>;
      /** A monotonic clock in ms (default performance.now). */
      monotonic?: () => number;
    },
  ) {}

  /** Whether the agent that said this HELLO is served here; a refused one is told so. */
  admits(peer: string, hello: Hello): boolean {
    if (!this.opts.refuseSingleLeader || hello.allServers === true) return true;
    const now = (this.opts.monotonic ?? (() => performance.now()))();
    const last = this.warned.get(peer);
    if (last === undefined || now - last >= warnEveryMs) {
      this.warned.set(peer, now);
      // Bounded: one entry per agent id that was ever refused, pruned as they age out.
      for (const [id, at] of this.warned) if (now - at >= warnEveryMs && id !== peer) this.warned.delete(id);
      this.opts.logger.warn('refused an agent of the single-leader protocol (its HELLO lacks allServers); it must be upgraded', {
        agent: peer,
        version: hello.version,
      });
    }
    void this.opts.send(peer, { type: 'BYE', body: { reason: singleLeaderRefusal } });
    return false;
  }
}
