export interface DispatchLogger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export const silentLogger: DispatchLogger = { debug() {}, info() {}, warn() {}, error() {} };

export type Clock = () => number;

export interface TrackerTimings {
  /** How long to wait for an ACK before sending EXEC again (default 1 s). */
  ackTimeoutMs: number;
  /**
   * EXEC sends to one agent, unacknowledged, before giving up on it (default 3) — when it has
   * gone silent. An agent that keeps talking is busy, not gone: it gets the EXEC again, less
   * and less often, until the run's deadline.
   */
  maxExecSends: number;
  /** Slack after a deadline before the server itself declares timed_out (default 1 s). */
  deadlineGraceMs: number;
  /** How long an adopted run (from a previous leader) may go unconfirmed by its agent (default 12 s). */
  adoptGraceMs: number;
  /**
   * How long a run that finds no live agent matching its target and kind waits for one to say
   * HELLO, in ms (default 10,000, two of the agents' 5 s HELLO periods, so an agent this leader
   * lost sight of, or that has yet to find it, is back in time; `CLOVER_NO_AGENT_WAIT_MS`). It stays `scheduled` meanwhile and
   * goes to the first matching agent that says HELLO; at the bound it ends `failed` with "no
   * live agent matches the job's target and kind (waited N ms ...)". 0: fails at once.
   */
  noAgentWaitMs: number;
  /** How often the leader PINGs its agents (default 2 s). */
  pingIntervalMs: number;
  /** An agent silent this long (no HELLO, PONG or anything) is lost (default 10 s). */
  agentSilenceMs: number;
  /**
   * A new leader holds its first fires until every agent registered in ZooKeeper has said
   * HELLO to it, or this long (default 3 s): routing and broadcast then see all the agents.
   */
  electionSettleMs: number;
  /** A run still going this long after its START is written 'running'; a quicker one only gets its final write (default 500 ms). */
  runningWriteDelayMs: number;
}

/** How long before its slot a fire's run is written (DispatchServerOptions.claimAheadMs). */
export const defaultClaimAheadMs = 100;

export const defaultTimings: TrackerTimings = {
  ackTimeoutMs: 1000,
  maxExecSends: 3,
  deadlineGraceMs: 1000,
  adoptGraceMs: 12_000,
  noAgentWaitMs: 10_000,
  pingIntervalMs: 2000,
  agentSilenceMs: 10_000,
  electionSettleMs: 3000,
  runningWriteDelayMs: 500,
};
