/**
 * The scheduler's own words, as the code and its comments use them.
 *
 * - **slot**: one moment a job's schedule says it fires (epoch ms), e.g. every whole minute for
 *   `0 * * * * *`. A run is named by its job and slot (`runId(jobId, slot)`), and the store keeps
 *   one run per slot: the unique key that stops two leaders firing it twice.
 * - **claim**: writing a slot's run row ahead of the slot (`claimAheadMs`, default 100 ms), routed
 *   already, so that at the slot only the EXEC is left to send (fire.ts). A claim that hits the
 *   unique key finds the slot taken.
 * - **flight** (an execution in flight): one attempt of a run between its EXEC and its final status,
 *   held by the leader as a `Flight` (flight.ts) with its agent, its phase and its timers. Its
 *   execution id is the run id, `~attempt` after the first.
 * - **phase**: where a flight stands: waiting, sent, acknowledged, running or adopted (then ended).
 * - **wait**: a run that no agent can take now (every matching agent at capacity, none connected,
 *   none serving its kind) waits in the leader's queue (waiting.ts), status `waiting`, oldest slot
 *   first, until a matching agent frees a slot, instead of failing at once.
 * - **start deadline**: how long after its slot a waiting run may still start (Job.startDeadlineMs,
 *   Kubernetes' `startingDeadlineSeconds`); past it the run ends `skipped` (or `failed`, per the job).
 * - **reservation**: the capacity a flight holds on its agent (AgentDirectory.reserve/release):
 *   an agent with as many reservations as its capacity is offered no more runs, and 'least_busy'
 *   routing reads them.
 * - **adopt**: a new leader takes over the runs the last one left `dispatched` or `running`, from
 *   the store, and trusts them until their agent says otherwise (`adoptGraceMs`).
 * - **term**: one spell of leadership, numbered; work begun in a term that has ended (a fire, a
 *   retry's read) is dropped, the next leader has it from the store.
 * - **settle**: a new leader holds its first fires until every live agent has said HELLO to it, or
 *   `electionSettleMs` passed, so routing sees all the agents.
 */

/** The time now, epoch ms: `Date.now` but for tests. */
export type Clock = () => number;

/** The run tracker's and the leader's timings, all in milliseconds but `maxExecSends` (DispatchServerOptions.timings). */
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
  /**
   * After an agent's HELLO to a new leader, the wait for the RESULTs it repeats before its
   * adopted runs are judged undelivered (default 1 s). Only for agents that do not say when
   * they are done (an agent's HELLO with `resultsRepeated`, docs/protocol.md, ends it at once).
   */
  redeliverAfterHelloMs: number;
  /**
   * How often a settled leader looks in the store for open runs it does not track (default
   * 10 s): writes of a leader cut off from the network reach the store once the link is back,
   * after the next leader adopted what it found (issue 16's partition runs left 16 runs
   * `dispatched` for ever so). Those older than `orphanAgeMs` are adopted as at a takeover.
   * At the same tick it finishes the run counts a dead writer left half written
   * (`Store.reconcile`; MongoDB's tallies older than its `reconcileAfterMs`): at the takeover alone,
   * a leader killed less than that before was left uncounted until the next takeover (issue 16's
   * MongoDB chaos run: 516 jobs' counts disagreed with their runs at its end).
   */
  orphanSweepMs: number;
  /** How old an untracked open run must be (since its dispatch, else its slot) to be taken for an orphan (default 15 s). */
  orphanAgeMs: number;
}

/**
 * The most runs that wait for capacity at once on a leader (DispatchServerOptions.maxWaitingRuns).
 * A waiting run costs ~1.2 KB of heap here (bench/dispatch-burst.bench.ts): 100,000 is ~115 MB at most.
 */
export const defaultMaxWaitingRuns = 100_000;

/** How long before its slot a fire's run is written (DispatchServerOptions.claimAheadMs). */
export const defaultClaimAheadMs = 100;

/** The timings a server uses where DispatchServerOptions.timings says nothing. */
export const defaultTimings: TrackerTimings = {
  ackTimeoutMs: 1000,
  maxExecSends: 3,
  deadlineGraceMs: 1000,
  adoptGraceMs: 12_000,
  pingIntervalMs: 2000,
  agentSilenceMs: 10_000,
  electionSettleMs: 3000,
  runningWriteDelayMs: 500,
  redeliverAfterHelloMs: 1000,
  orphanSweepMs: 10_000,
  orphanAgeMs: 15_000,
};
