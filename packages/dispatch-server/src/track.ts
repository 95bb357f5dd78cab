import { runFields, type Logger } from '@clover/telemetry';
import { failureStatuses, startDeadlineOf, type Job, type JobRunState, type Run, type RunPatch, type RunStatus } from '@clover/model';
import type { Ack, Message, Result, Start } from '@clover/protocol';
import type { Store } from '@clover/store';
import type { AgentDirectory } from './agents.js';
import { FailureIncidents } from './failure-incidents.js';
import { KeyedChain } from './keyed-chain.js';
import { LogTally } from './log-tally.js';
import { Flight, Flights, execIdOf, runIdOf, type FlightTimer } from './flight.js';
import { RecentIds } from './recent-ids.js';
import { defaultMaxWaitingRuns, type Clock, type TrackerTimings } from './interfaces.js';
import { matches, type Router } from './route.js';
import { WaitingQueue } from './waiting.js';
import type { StoreWriteBatch } from './write-batch.js';

/** What the tracker is built from; the server passes its own, a test fakes what it needs. */
export interface TrackerDeps {
  /** Reads runs and jobs (a RESULT for a run not in flight here, a retry's job); failure incidents. */
  store: Store;
  /** Hands a message to the agent's connection; false when the agent is not connected. */
  send(peer: string, msg: Message): Promise<boolean>;
  /** The agents, and the capacity each run holds on one (reserve/release). */
  agents: AgentDirectory;
  /** Orders the agents that can take a job by its routing. */
  router: Router;
  /** The time now, epoch ms. */
  clock: Clock;
  logger: Logger;
  /** ACK, deadline and adoption timings, in ms (interfaces.ts). */
  timings: TrackerTimings;
  /** The most runs that may wait for capacity at once (default 100,000: defaultMaxWaitingRuns). */
  maxWaitingRuns?: number;
  /** A run reached its final status (no retry left). */
  onFinished(job: Job, run: Run): void;
  /** The job's next slot as armed now, written with a run's outcome (undefined: leave it). */
  nextRunAt?(jobId: string): Date | undefined;
  /** Told how late each scheduled first EXEC left (the server's LatenessMeter). */
  onExecSent?(lateMs: number): void;
  /** Told of each EXEC sent again to the same agent, and each wait for an ACK that ran out (metrics). */
  onExecResent?(): void;
  onAckTimeout?(): void;
  /** A waiting run left the queue: placed on an agent, or ended at its start deadline; `waitedMs` from its slot (metrics). */
  onWaitEnded?(waitedMs: number, outcome: 'placed' | 'expired'): void;
  /** Batches run transitions with their job run states (the server's StoreWriteBatch); default: the store, one write each. */
  writes?: Pick<StoreWriteBatch, 'updateRun'>;
  /**
   * The job as it stands now, read when a retry's backoff is over (a retry follows the job's
   * latest edit, and never runs for a job deleted or disabled meanwhile). Default: the store.
   */
  currentJob?(jobId: string): Promise<Job | null>;
  /**
   * While the server doubts it still leads (its process stood still: a SIGSTOP, a paused VM, a
   * long GC), a promise of whether it does; null when there is no doubt. Every timer here (ACK,
   * deadline, start deadline, retry backoff, adoption) acts only once it resolves true: overdue on
   * waking, they would otherwise write `timed_out` and `lost` and send retries for runs the next
   * leader owns (issue 16's chaos run). Default: never in doubt.
   */
  leadDoubt?(): Promise<boolean> | null;
  /**
   * Whether this server still fires the job: false once its partition was handed over (a server
   * that shares the jobs out). A retry whose backoff ends after that is left to the new owner,
   * which has it from the store. Default: always.
   */
  owns?(jobId: string): boolean;
}

/** A retry waiting out its backoff: the next attempt's run, and how the attempt before ended. */
interface PendingRetry {
  jobId: string;
  run: Run;
  /** The failed attempt's outcome: the run's final one if no retry follows after all. */
  prev: { attempt: number; status: RunStatus; details: RunPatch };
}

/** Why a job's work in flight was stopped (see stopJob). */
export type JobStop = 'disabled' | 'deleted';

/** Jobs remembered as stopped; the oldest is forgotten past this many. */
const haltedKept = 100_000;

const failed = new Set<RunStatus>(failureStatuses);

/**
 * Agents repeat the RESULTs of the last minute to a new leader (scheduler-client's
 * resendResultsForMs) and remember far more execution ids than that: an adopted run younger
 * than this that its agent neither runs nor reports was never delivered, and is safe to send.
 */
const redeliverWithinMs = 60_000;
/** Final outcomes remembered, so repeats of them need no store read (a few MB at most). */
const recordedKept = 100_000;

export { execIdOf, runIdOf };

/** The agent a broadcast run belongs to (`jobId@slot#node`); null for every other routing. */
export function pinnedNode(job: Pick<Job, 'routing'>, run: Pick<Run, 'id'>): string | null {
  if (job.routing !== 'broadcast') return null;
  const i = run.id.lastIndexOf('#');
  return i > 0 ? run.id.slice(i + 1) : null;
}

/** Puts the agents in `avoid` (where an earlier attempt failed) at the back of the line; a pinned run keeps its one agent. */
function avoiding(candidates: string[], avoid: string[], pinned: string | null): string[] {
  if (!avoid.length || pinned) return candidates;
  return [...candidates.filter((c) => !avoid.includes(c)), ...candidates.filter((c) => avoid.includes(c))];
}

/** Refusals that say "not now" (full, unreachable, shutting down, gone) rather than "never": the run waits for a slot. */
/** A forbid job's run not started because `n` others of it are under way (as fire.ts writes it). */
const forbidSkip = (n: number) => `skipped: ${n} run(s) of this job still running (concurrency forbid)`;
const notNow = (refusal: string): boolean => /: (at_capacity|not connected|draining|gone|other_life|not_leader)$/.test(refusal);

/**
 * The waiting queue's lane of a run: the set of agents that can take it, named by what decides
 * it (a broadcast run's own agent; else the job's target and kind). Runs of one lane fit the same agents.
 */
function laneOf(job: Job, run: Pick<Run, 'id'>): string {
  const pinned = pinnedNode(job, run);
  const k = job.kind;
  const kind = k.type === 'handler' ? `handler:${k.name}` : k.type;
  return pinned ? `node:${pinned}|${kind}` : `${JSON.stringify(job.target)}|${kind}`;
}

/** What a job asks of an agent, for a message: `handler "noop" on any agent`, `shell on group "etl"`. */
function describeWanted(job: Job, pinned: string | null): string {
  const k = job.kind;
  const kind = k.type === 'handler' ? `handler "${k.name}"` : k.type;
  if (pinned) return `${kind} on node "${pinned}"`;
  const t = job.target;
  const where =
    t.type === 'any'
      ? 'any agent'
      : t.type === 'node'
        ? `node "${t.nodeId}"`
        : t.type === 'group'
          ? `group "${t.group}"`
          : `tags ${t.tags.join(', ')}`;
  return `${kind} on ${where}`;
}

/**
 * Every execution from EXEC to its final status: ACK resends, refusals and failover to the
 * next agent, deadlines, agents that vanish, and retries with backoff. Each transition is
 * written to the store in order. Each execution in flight is a {@link Flight} that owns its
 * phase and timers; the capacity it holds on an agent is a reservation in the AgentDirectory.
 */
export class RunTracker {
  private readonly flights = new Flights();
  /** Retries waiting out their backoff. */
  private readonly retryTimers = new Map<NodeJS.Timeout, PendingRetry>();
  /** Jobs disabled or deleted since their runs were fired: no retry follows, and a deleted job gets no counters or incident. */
  private readonly halted = new Map<string, JobStop>();
  /** Each run's transitions, written one after another. */
  private readonly writes = new KeyedChain();
  /** Flights no agent could take yet (phase 'waiting'), oldest slot first: offered to agents as they free slots. */
  private readonly waiting: WaitingQueue<Flight>;
  /** A look at the waiting runs is due at the end of this turn (a slot freed, an agent said HELLO). */
  private placing = false;
  /** Execution ids whose outcome is being written: a second RESULT for one is a repeat. */
  private readonly completing = new Set<string>();
  /**
   * Execution ids whose final outcome this tracker wrote, newest last. A repeated RESULT (an
   * agent answering a resent EXEC with the outcome it already sent) is then dropped here
   * instead of costing two store reads; under a backlog nearly every run was repeated so.
   */
  private readonly recorded = new RecentIds(recordedKept);

  private readonly batch: Pick<StoreWriteBatch, 'updateRun'>;
  private retiring = false;
  /** Counts abandon() calls: work begun before one is not this tracker's any more. */
  private term = 0;
  private readonly incidents: FailureIncidents;
  /** Adopted runs sent again after their agent's HELLO, logged as one line a second. */
  private readonly redelivered: LogTally;

  constructor(private readonly d: TrackerDeps) {
    this.incidents = new FailureIncidents(d.store, d.clock);
    this.redelivered = new LogTally(d.logger, 'adopted runs never delivered to their agents: sent now');
    this.waiting = new WaitingQueue(d.maxWaitingRuns ?? defaultMaxWaitingRuns);
    this.batch = d.writes ?? {
      updateRun: async (id, patch, jobState) => (await d.store.runs.update(id, patch, jobState)) !== null,
    };
  }

  /**
   * Arms one of a flight's timers with its action fenced (see `fenced`).
   * @param ms from now, in ms.
   */
  private arm(f: Flight, timer: FlightTimer, ms: number, action: () => void): void {
    f.arm(timer, ms, this.fenced(action));
  }

  /**
   * A timer's action as it must run: after the I/O that arrived before the timer ran out (an ACK
   * or RESULT read late on a busy loop would otherwise lose to its own timeout, and the run would
   * be judged lost while it ran), and only while this server still leads (TrackerDeps.leadDoubt).
   */
  private fenced(action: () => void): () => void {
    const term = this.term;
    return () =>
      setImmediate(() => {
        const doubt = this.d.leadDoubt?.();
        if (!doubt) {
          if (term === this.term) action();
          return;
        }
        void doubt.then((leads) => {
          if (leads && term === this.term) action();
        });
      });
  }

  /** Executions in flight here (waiting, sent, acknowledged, running or adopted). */
  get size(): number {
    return this.flights.size;
  }

  /** The runs waiting for capacity now, the most that waited at once, and the slot of the oldest (epoch ms). */
  queue(): { depth: number; peak: number; oldestAt: number | undefined } {
    return { depth: this.waiting.size, peak: this.waiting.peak, oldestAt: this.waiting.oldestAt() };
  }

  /** The execution in flight under `execId`, if any: for a look at its phase and timers (tests, diagnostics). */
  flight(execId: string): Flight | undefined {
    return this.flights.get(execId);
  }

  /** The runs of the job in flight here (any phase), as last written or read. */
  activeRuns(jobId: string): Run[] {
    return [...this.flights.ofJob(jobId)].map((f) => f.run);
  }

  /**
   * The job's runs in flight here plus those waiting out a retry's backoff: what `forbid` counts
   * as running, as Kubernetes counts a Job that is still retrying (its backoffLimit) as active.
   */
  inProgress(jobId: string): number {
    let n = this.activeRuns(jobId).length;
    for (const r of this.retryTimers.values()) if (r.jobId === jobId) n++;
    return n;
  }

  /**
   * Whether this tracker has the run in hand: in flight, its outcome being written or recorded
   * here lately, or its retry waiting out the backoff. An open run in the store that it does not
   * know is an orphan (DispatchServer's sweep).
   */
  knows(run: Run): boolean {
    const execId = execIdOf(run);
    if (this.flights.has(execId) || this.completing.has(execId) || this.recorded.has(execId)) return true;
    for (const r of this.retryTimers.values()) if (r.run.id === run.id) return true;
    return false;
  }

  /**
   * The other runs of `f`'s job under way: sent from here (an adopted run once sent again),
   * acknowledged, or running by the store's or its agent's word. Adopted runs not yet judged are
   * not counted: they may never have reached their agent.
   */
  private othersUnderway(f: Flight): number {
    let n = 0;
    for (const o of this.flights.ofJob(f.job.id)) {
      if (o === f) continue;
      const agent = o.agentId ? this.d.agents.get(o.agentId) : undefined;
      if (!o.adopted || o.acked || o.run.status === 'running' || agent?.running.has(o.execId)) n++;
    }
    return n;
  }

  /** Whether any run of the job is in flight here or waiting to be retried. */
  busy(jobId: string): boolean {
    return this.inProgress(jobId) > 0;
  }

  /**
   * Writes run transitions one after another per run, so a late write never undoes a newer one.
   * `jobState` (a final status's counts) is written with the run, both or neither; `also` is
   * issued in the same turn as the run's write, for what belongs beside it (a failure incident).
   */
  private persist(runId: string, patch: RunPatch, also?: () => Promise<unknown>, jobState?: JobRunState): Promise<unknown> {
    return this.writes
      .run(runId, () => Promise.all([this.batch.updateRun(runId, patch, jobState), also?.()]))
      .catch((err: unknown) => {
        this.d.logger.error('could not record run transition', { runId, err });
      });
  }

  /**
   * Sends a run a fire has just claimed (fire.ts). Its row is in the store already: dispatched to
   * `order[0]` when `order` (the agents `route()` gave, in order) is not empty, and then the EXEC
   * leaves at once with no second write if that agent still has room; else 'waiting' (no agent
   * had room at the claim), and it is routed now or waits for a free slot.
   */
  sendFired(job: Job, run: Run, order: string[]): void {
    this.launch(job, run, { order: order.length ? order : undefined, recorded: true });
  }

  /**
   * Sends a run the store has as 'scheduled' or 'waiting' that no agent has seen (one a leader
   * claimed ahead and died with, or left waiting): routed now, or waiting for a free slot up to
   * its start deadline, which counts from its slot as before.
   */
  sendNew(job: Job, run: Run): void {
    // Several unsent runs of one `forbid` job can be left by leaders that came and went (a
    // ZooKeeper restart: each short term fired a slot into the queue, then lost the lead):
    // the first goes, the rest are skipped as their fire would have been (issue 16's chaos run
    // ran three at once).
    const others = job.concurrency === 'forbid' ? this.activeRuns(job.id).filter((r) => r.id !== run.id) : [];
    if (others.length && !this.flights.has(execIdOf(run))) {
      this.recordForbidSkip(run.id, others.length);
      return;
    }
    this.launch(job, run, {});
  }

  /**
   * Records a run skipped as forbid skips a fire, `underway` runs of its job still running: as a
   * fire's skip is, with no job state, so it counts for no run of the job.
   */
  private recordForbidSkip(runId: string, underway: number): void {
    void this.persist(runId, { status: 'skipped', error: forbidSkip(underway), finishedAt: new Date(this.d.clock()) });
  }

  /** Sends a retry after its backoff, the agents its earlier attempts failed on (`tried`) last in line. */
  private retryElsewhere(job: Job, run: Run, tried: string[]): void {
    this.launch(job, run, { avoid: tried });
  }

  /**
   * Starts the flight of `run`: to `how.order` (default: routed now), `how.avoid` at the back of
   * the line, each agent only if it has room now; `how.recorded`: the store may already have it
   * dispatched to the first (sendFired). With no agent to take it, or older runs of the same
   * lane still waiting (they go first), it waits. A run this tracker already has in flight is
   * left alone: one execution id, one flight.
   */
  private launch(job: Job, run: Run, how: { order?: string[]; avoid?: string[]; recorded?: boolean }): void {
    if (this.flights.has(execIdOf(run))) {
      this.d.logger.debug('run already in flight here; not dispatched again', runFields(run));
      return;
    }
    const avoid = how.avoid ?? [];
    const pinned = pinnedNode(job, run);
    const order = (how.order ?? this.candidatesFor(job, run)).filter((id) => this.d.agents.hasRoom(id));
    const f = new Flight(job, run, { candidates: avoiding(order, avoid, pinned) });
    f.avoid = avoid;
    this.flights.add(f);
    if (!f.candidates.length || (this.waiting.size > 0 && this.waiting.busy(laneOf(job, run)))) {
      this.wait(f);
      return;
    }
    this.tryNext(f, how.recorded === true && run.status === 'dispatched' && run.node === f.candidates[0]);
  }

  /**
   * The agents with room for a new run now, in the order it would be offered to them (none:
   * empty). A fire asks first, so the run's row can be written as dispatched to the first of
   * them in one go.
   */
  route(job: Job, runId: string): string[] {
    return this.candidatesFor(job, { id: runId }).filter((id) => this.d.agents.hasRoom(id));
  }

  /** The tracker's clock, epoch ms. */
  now(): number {
    return this.d.clock();
  }

  /** Where a run may go: a broadcast run only to its own agent, any other by the job's routing. */
  private candidatesFor(job: Job, run: Pick<Run, 'id'>): string[] {
    const pinned = pinnedNode(job, run);
    if (pinned) return [pinned];
    return this.d.router.order(job, this.d.agents.usable()).map((a) => a.id);
  }

  /**
   * No agent can take the run now: it waits in the queue, `waiting` in the store, until a
   * matching agent frees a slot (placeWaiting), or until its start deadline. The deadline counts
   * from the slot for a scheduled run (kept across a leader change: the new leader reads the
   * same slot), and from the moment it first waits for any other (a retry after its backoff, a
   * misfire or manual run); it is set once. A full queue takes no more: the run ends at once
   * as its deadline would end it.
   */
  private wait(f: Flight): void {
    const now = this.d.clock();
    const slot = f.run.scheduledAt.getTime();
    f.wait();
    f.startDeadlineAt ??= (f.run.trigger === 'schedule' ? slot : now) + startDeadlineOf(f.job, slot);
    if (this.retiring) {
      // Shutting down: the next leader adopts it from the store, where it must not stay
      // dispatched to an agent that refused it.
      this.recordWaiting(f);
      this.letGo(f);
      return;
    }
    if (now >= f.startDeadlineAt) {
      this.missedStart(f, this.capacityMessage(f, `waited ${startDeadlineOf(f.job, slot)} ms for capacity`));
      return;
    }
    if (!this.waiting.add(f, laneOf(f.job, f.run), slot)) {
      this.missedStart(f, this.capacityMessage(f, `not queued: ${this.waiting.max} runs already wait for capacity here (maxWaitingRuns)`));
      return;
    }
    const deadlineAt = f.startDeadlineAt;
    const expire = () => {
      if (!this.flights.holds(f) || f.phase !== 'waiting') return;
      // A timer may fire a millisecond before the clock says its time has come: never end a run early.
      const left = deadlineAt - this.d.clock();
      if (left > 0) this.arm(f, 'startDeadline', left, expire);
      else this.missedStart(f, this.capacityMessage(f, `waited ${startDeadlineOf(f.job, slot)} ms for capacity`));
    };
    this.arm(f, 'startDeadline', deadlineAt - now, expire);
    this.recordWaiting(f);
    this.placeSoon();
  }

  /** The store learns the run waits (unless it says so already: a claim with no agent to go to writes it so). */
  private recordWaiting(f: Flight): void {
    if (f.run.status === 'waiting') return;
    f.run = { ...f.run, status: 'waiting', node: null };
    void this.persist(f.run.id, { status: 'waiting', node: null });
  }

  /**
   * A waiting run that cannot start in time: it ends as its job says (`onStartDeadline`, never
   * retried), with an incident only if the job asks (`incidentOnStartDeadline`).
   */
  private missedStart(f: Flight, error: string): void {
    this.d.logger.info('run missed its start deadline waiting for capacity', { ...runFields(f.run), error });
    this.d.onWaitEnded?.(this.d.clock() - f.run.scheduledAt.getTime(), 'expired');
    void this.finish(f, f.job.onStartDeadline, { error }, false, f.job.incidentOnStartDeadline);
  }

  /** "<what>: no agent for <job's kind and target> had a free slot (<each matching agent's state>)". */
  private capacityMessage(f: Flight, what: string): string {
    const pinned = pinnedNode(f.job, f.run);
    const agents = this.d.agents.usable().filter((a) => (pinned ? a.id === pinned : matches(f.job, a)));
    const wanted = describeWanted(f.job, pinned);
    if (!agents.length) return `${what}: no agent for ${wanted} is connected`;
    const states = agents.map((a) =>
      this.d.agents.hasRoom(a.id) ? `${a.id}: ${a.inFlight} of ${a.capacity} busy` : `${a.id}: at_capacity`,
    );
    return `${what}: no agent for ${wanted} had a free slot (${states.join(', ')})`;
  }

  /** A slot may have freed, or an agent come: the waiting runs are offered to agents at the end of this turn (once per turn). */
  private placeSoon(): void {
    if (this.placing || !this.waiting.size) return;
    this.placing = true;
    setImmediate(() => {
      this.placing = false;
      this.placeWaiting();
    });
  }

  /** Offers the waiting runs, oldest slot first, to the matching agents with room; each goes to the first of them by its job's routing. */
  private placeWaiting(): void {
    if (this.retiring) return;
    this.waiting.drain((f) => {
      if (!this.flights.holds(f) || f.phase !== 'waiting') return () => undefined;
      const pinned = pinnedNode(f.job, f.run);
      const order = this.route(f.job, f.run.id);
      if (!order.length) return null;
      return () => {
        this.d.onWaitEnded?.(this.d.clock() - f.run.scheduledAt.getTime(), 'placed');
        f.candidates = avoiding(order, f.avoid, pinned);
        this.tryNext(f);
      };
    });
  }

  /** An agent said HELLO (or left the registry's list): the waiting runs are offered to agents again. */
  agentsChanged(): void {
    this.placeSoon();
  }

  /** Takes over a run a previous leader dispatched: it is trusted until its agent says otherwise. */
  adopt(job: Job, run: Run): void {
    if (this.flights.has(execIdOf(run))) return;
    const now = this.d.clock();
    const f = new Flight(job, run, { adopted: { agentId: run.node, deadline: (run.dispatchedAt?.getTime() ?? now) + job.timeoutMs } });
    this.flights.add(f);
    // It holds a slot on its agent like a run sent from here (once the agent is known: its HELLO).
    if (run.node) this.d.agents.reserve(run.id, run.node);
    this.armDeadline(f);
    if (f.agentId && this.d.agents.get(f.agentId)) this.recheckAdopted(f);
    this.arm(f, 'adoptGrace', this.d.timings.adoptGraceMs, () => {
      const agent = f.agentId ? this.d.agents.get(f.agentId) : undefined;
      if (!this.flights.holds(f) || agent?.running.has(f.execId)) return;
      void this.ifStillOpen(
        f,
        () => void this.finish(f, 'lost', { error: `agent ${f.agentId ?? '?'} did not confirm the run after a leader change` }),
      );
    });
  }

  /**
   * An agent said HELLO to this leader, listing what it runs; the RESULTs of what it finished
   * follow. Its adopted runs that are in neither were never delivered: a leader that claimed a
   * slot ahead (or wrote a run as dispatched) and died before its EXEC left. They are sent now,
   * under the same execution id, so an agent that did see one answers 'duplicate' rather than
   * running it twice. `resultsRepeated`: the HELLO an agent sends after the RESULTs it repeats
   * (docs/protocol.md, A new leader), so they have all arrived: judged at once rather than
   * after TrackerTimings.redeliverAfterHelloMs, which is only for agents that do not say so.
   */
  agentSaidHello(agentId: string, resultsRepeated = false): void {
    for (const f of this.flights.values()) {
      if (!f.adopted || f.agentId !== agentId) continue;
      if (this.d.agents.reservedOn(f.run.id) !== agentId) this.d.agents.reserve(f.run.id, agentId);
      this.recheckAdopted(f, resultsRepeated);
    }
  }

  private recheckAdopted(f: Flight, resultsRepeated = false): void {
    if (f.isArmed('redeliver') && !resultsRepeated) return;
    // Never before its slot: a leader that claimed it ahead may have died well before it was due.
    const wait = Math.max(resultsRepeated ? 0 : this.d.timings.redeliverAfterHelloMs, f.run.scheduledAt.getTime() - this.d.clock());
    this.arm(f, 'redeliver', wait, () => {
      const execId = f.execId;
      const agentId = f.agentId;
      const agent = agentId ? this.d.agents.get(agentId) : undefined;
      const dispatchedAt = f.run.dispatchedAt?.getTime() ?? 0;
      if (!this.flights.holds(f) || !f.adopted || !agent || agent.running.has(execId) || f.run.status === 'running') return;
      if (this.d.clock() - dispatchedAt > redeliverWithinMs) return;
      // Sent to an earlier life of the agent, which may have run it and died before its RESULT
      // got anywhere: sending it again under the same exec id could run it twice (issue 16's
      // chaos run, leader and agent killed seconds apart). Its outcome is unknown: lost, and
      // retried as a new attempt if the job allows.
      const sentToEarlierLife = () => {
        const life = agentId ? (this.d.agents.get(agentId)?.startedAt ?? null) : null;
        return life !== null && dispatchedAt < life;
      };
      const lostToRestart = () =>
        void this.finish(f, 'lost', {
          error: `agent ${agentId ?? '?'} restarted after the run was sent to it, and a leader change lost what became of it`,
        });
      if (sentToEarlierLife()) {
        void this.ifStillOpen(f, lostToRestart);
        return;
      }
      void this.ifStillOpen(f, (current) => {
        if (!this.flights.holds(f) || !f.adopted || f.agentId !== agentId) return;
        if (this.d.agents.get(agentId ?? '')?.running.has(execId)) return;
        if (current.status !== 'dispatched' || current.node !== agentId) {
          // Moved on since the leader read it (started, or sent elsewhere by the old leader while
          // it drained): follow the store and judge it on that agent's HELLO.
          f.follow(current);
          if (current.node) this.d.agents.reserve(f.run.id, current.node);
          return;
        }
        // The agent may have restarted while the store was read: its new life never got the run
        // (the MongoDB chaos run: 14 executions ran twice, the new life's HELLO read during the read).
        if (sentToEarlierLife()) {
          lostToRestart();
          return;
        }
        const underway = f.job.concurrency === 'forbid' ? this.othersUnderway(f) : 0;
        if (underway) {
          // Several never-delivered runs of one forbid job, claimed by leaders that came and went:
          // the first goes, the rest are skipped as their fire would have been (the MongoDB chaos
          // run sent four slots of a forbid job side by side, 30 overlaps), as sendNew does.
          // Not through finish, which counted it as a run of the job (the forbid jobs' runCount
          // 2-3 above their runs in that run).
          this.letGo(f);
          this.recordForbidSkip(f.run.id, underway);
          return;
        }
        this.redelivered.note(f.run.id, { ...runFields(f.run), agent: agentId });
        f.redeliver();
        this.sendExec(f);
      });
    });
  }

  /**
   * This server gave up the lead and is draining: what it has in flight may still ACK and
   * report here, but it no longer resends or moves a run to another agent. The agents follow
   * the new leader, which adopts these runs from the store and delivers any that never arrived.
   */
  retire(): void {
    this.retiring = true;
    // The runs waiting here stay `waiting` in the store: the next leader queues them, deadlines kept.
    for (const f of [...this.waiting.values()]) this.letGo(f);
  }

  /**
   * An adopted flight was built from a read of the store that its result may have overtaken (a
   * RESULT resent to this leader and recorded before the flight existed). Before calling such
   * a run lost or timed out, look again: if the store already has it finished, just let go.
   */
  private async ifStillOpen(f: Flight, then: (current: Run) => void): Promise<void> {
    const execId = f.execId;
    const current = f.adopted ? await this.d.store.runs.get(f.run.id).catch(() => f.run) : f.run;
    if (!this.flights.holds(f)) return;
    if (!current || execIdOf(current) !== execId || !['dispatched', 'running'].includes(current.status)) {
      this.d.logger.debug('adopted run already finished in the store; letting go', { ...runFields(f.run), status: current?.status });
      this.letGo(f);
      return;
    }
    then(current);
  }

  /**
   * Forgets a flight without recording anything: its timers cleared for good, its capacity
   * released (and offered to the runs waiting for it).
   */
  private letGo(f: Flight): void {
    f.end();
    this.waiting.delete(f);
    this.release(f);
    this.flights.delete(f);
  }

  /** The flight no longer holds a slot on its agent: a waiting run may take it. */
  private release(f: Flight): void {
    if (this.d.agents.reservedOn(f.run.id) === undefined) return;
    this.d.agents.release(f.run.id);
    this.placeSoon();
  }

  /** `recorded`: the store already has the run dispatched to the first candidate (written with the run itself). */
  private tryNext(f: Flight, recorded = false): void {
    this.release(f);
    const next = f.candidates.shift();
    if (!next) {
      // Every agent was full, unreachable or shutting down (or none matched): not a failure of
      // the run, which waits for a free slot. Only agents that all refused it for good (no
      // handler, kind not supported, no ACK from a silent agent) fail it.
      if (!f.refusals.length || f.refusals.some(notNow)) {
        this.wait(f);
        return;
      }
      void this.finish(f, 'failed', { error: `no agent accepted it (${f.refusals.join('; ')})` });
      return;
    }
    const now = recorded ? (f.run.dispatchedAt?.getTime() ?? this.d.clock()) : this.d.clock();
    f.assign(next, now);
    this.d.agents.reserve(f.run.id, next);
    if (recorded) {
      this.sendExec(f);
      return;
    }
    f.run = { ...f.run, status: 'dispatched', node: next, dispatchedAt: new Date(now) };
    // The store learns where the run goes before the agent does: a leader that takes over after a
    // crash right here sees 'dispatched' to this agent and adopts it, rather than sending the
    // same execution id to a second agent.
    void this.persist(f.run.id, { status: 'dispatched', node: next, dispatchedAt: new Date(now) }).then(() => {
      if (this.flights.holds(f) && f.agentId === next && f.sends === 0 && !f.acked) this.sendExec(f);
    });
  }

  private sendExec(f: Flight): void {
    const agentId = f.agentId;
    if (!agentId) throw new Error(`run ${f.run.id}: an EXEC with no agent chosen`);
    const execId = f.execId;
    const k = f.job.kind;
    const leftBefore = f.mayHaveLeft;
    const life = this.d.agents.get(agentId)?.startedAt ?? null;
    f.execSent(this.d.agents.nextSeq(agentId), life);
    void this.d
      .send(agentId, {
        type: 'EXEC',
        body: {
          execId,
          jobId: f.job.id,
          jobName: f.job.name,
          attempt: f.run.attempt,
          kind: k,
          payload: f.job.payload ?? null,
          timeoutMs: f.job.timeoutMs,
          deadline: f.deadline,
          scheduledAt: f.run.scheduledAt.getTime(),
          // For the life whose HELLO this server has: a restarted agent (same routing id) refuses it.
          ...(life === null ? {} : { agentStartedAt: life }),
        },
      })
      .then((sent) => {
        if (!this.flights.holds(f) || f.agentId !== agentId || f.acked || this.retiring) return;
        if (!sent) {
          this.d.agents.markFull(agentId);
          if (leftBefore) {
            // An earlier EXEC of it left (from here, or from the leader before for a run adopted
            // and sent again), and may have reached the agent before it went: waited for like a
            // sent one (lost once the resends are spent), never given to the next agent or the
            // queue under the same execution id (issue 16's chaos runs ran 2, then 12, so).
            f.sentAt = this.d.clock();
            this.armAck(f, agentId, this.d.timings.ackTimeoutMs);
            return;
          }
          f.refusals.push(`${agentId}: not connected`);
          this.tryNext(f);
          return;
        }
        // The wait for the ACK starts when the EXEC has left, not when it was queued here.
        f.sentAt = this.d.clock();
        if (f.sends > 1) this.d.onExecResent?.();
        if (f.sends === 1 && f.run.attempt === 1 && f.run.trigger === 'schedule')
          this.d.onExecSent?.(f.sentAt - f.run.scheduledAt.getTime());
        this.armAck(f, agentId, f.ackBackoffMs || this.d.timings.ackTimeoutMs);
      });
  }

  /**
   * No ACK in time. An agent answers in order, so one that has sent us anything since the EXEC
   * left is alive and working through a backlog: the run is late, not lost (declaring it lost
   * would run it a second time on a retry while the first still runs). Its EXEC is sent again
   * only once the agent has answered a message sent after it (an ACK of a later EXEC, the PONG
   * of a later PING): then it, or its ACK, went missing. Resending on a timer alone answered
   * every backlog with a second EXEC, a second ACK and a second RESULT per run, which at 5,000
   * fires/s on a slow machine cut what got recorded by 45%. It waits until the run's deadline.
   * An agent silent since the EXEC left is given up after `maxExecSends`: the run is lost (and
   * retried as a new attempt if the job allows); only an EXEC that never left goes to the next agent.
   */
  private armAck(f: Flight, agentId: string, waitMs: number): void {
    this.arm(f, 'ack', waitMs, () => {
      if (!this.flights.holds(f) || f.acked || f.agentId !== agentId || this.retiring) return;
      this.d.onAckTimeout?.();
      const now = this.d.clock();
      const agent = this.d.agents.get(agentId);
      const talking = agent !== undefined && agent.lastSeenAt > f.sentAt;
      if (agent && f.sentToEarlierLife(agent.startedAt)) {
        // Unanswered, and its agent has restarted since: never sent to the new life, since the
        // life before may have run it and died before answering (issue 16's chaos run: runs
        // started twice on one agent, before and after its SIGKILL). Once the new life answers
        // what was sent after it, it never got it: lost. Until then it may yet (sent as it
        // connected), and is waited for, up to its deadline.
        if (agent.answeredSeq > f.execSeq || now >= f.deadline + this.d.timings.deadlineGraceMs) this.lostToEarlierLife(f, agentId);
        else this.armAck(f, agentId, this.d.timings.ackTimeoutMs);
        return;
      }
      if (talking && now < f.deadline + this.d.timings.deadlineGraceMs) {
        const ackMs = this.d.timings.ackTimeoutMs;
        if (agent.answeredSeq > f.execSeq) {
          this.d.logger.debug('agent answered later messages but not this EXEC; sending it again', {
            ...runFields(f.run),
            agent: agentId,
            sends: f.sends,
          });
          f.ackBackoffMs = 0;
          this.sendExec(f);
          return;
        }
        // Busy: our EXEC is still ahead of what it has read. Look again later, less often.
        f.ackBackoffMs = Math.min(
          (f.ackBackoffMs || ackMs) * 2,
          4 * ackMs,
          Math.max(ackMs, f.deadline + this.d.timings.deadlineGraceMs - now),
        );
        this.d.logger.debug('no ACK yet from a busy agent; waiting longer', {
          ...runFields(f.run),
          agent: agentId,
          waitMs: f.ackBackoffMs,
        });
        this.armAck(f, agentId, f.ackBackoffMs);
      } else if (talking) {
        void this.d.send(agentId, { type: 'CANCEL', body: { execId: f.execId, reason: 'timeout' } });
        void this.finish(f, 'timed_out', {
          error: `deadline of ${f.job.timeoutMs} ms passed and agent ${agentId} never acknowledged the execution`,
        });
      } else if (f.sends < this.d.timings.maxExecSends) {
        this.d.logger.debug('no ACK and nothing else from the agent, sending EXEC again', {
          ...runFields(f.run),
          agent: agentId,
          sends: f.sends,
        });
        this.sendExec(f);
      } else {
        // Not the next agent under the same execution id, even for 'failover' routing: an EXEC
        // that left may have reached an agent that ran it and died before answering (issue 16's
        // chaos run started 14 executions twice so). Lost, and a new attempt if the job allows.
        void this.finish(f, 'lost', { error: `agent ${agentId} did not acknowledge the execution and went silent` });
      }
    });
  }

  private armDeadline(f: Flight): void {
    const delay = Math.max(0, f.deadline - this.d.clock()) + this.d.timings.deadlineGraceMs;
    this.arm(f, 'deadline', delay, () => {
      if (!this.flights.holds(f)) return;
      void this.ifStillOpen(f, () => {
        if (f.agentId) void this.d.send(f.agentId, { type: 'CANCEL', body: { execId: f.execId, reason: 'timeout' } });
        void this.finish(f, 'timed_out', { error: `deadline of ${f.job.timeoutMs} ms exceeded` });
      });
    });
  }

  /** The agent's answer to an EXEC: it takes the run (or already has it), or refuses and the next candidate is tried. */
  onAck(agentId: string, ack: Ack): void {
    const f = this.flights.get(ack.execId);
    if (!f || f.agentId !== agentId || f.acked) return;
    if (f.execSeq) this.d.agents.answered(agentId, f.execSeq);
    // 'duplicate' means the agent already has it (our earlier ACK was lost): as good as yes.
    if (ack.accepted || ack.reason === 'duplicate') {
      f.acknowledge();
      this.armDeadline(f);
      if (ack.startedAt !== undefined) this.started(f, ack.startedAt);
      return;
    }
    if (ack.reason === 'other_life' && (f.sends > 1 || f.takenOver)) {
      // Sent for an earlier life of the agent, and an EXEC of it went before this one (from here,
      // or from the leader before): that life may have run it and died before answering. Never
      // sent again under this execution id: lost, and retried as a new attempt if the job allows.
      this.lostToEarlierLife(f, agentId);
      return;
    }
    // Whatever the reason, it is offered nothing more until it frees a slot or says HELLO: a run
    // that waits after this refusal would otherwise go straight back to it, turn after turn. (An
    // `other_life` refusal of a first EXEC: no life has it, and the new one says HELLO soon.)
    this.d.agents.markFull(agentId);
    // An EXEC of it sent again is still unanswered: the agent may take that one (Flight.refused).
    if (!f.refused()) return;
    f.refusals.push(`${agentId}: ${ack.reason ?? 'refused'}`);
    this.tryNext(f);
  }

  /** The agent started the run (an ACK too, if none came before). */
  onStart(agentId: string, start: Start): void {
    const f = this.flights.get(start.execId);
    if (!f || f.agentId !== agentId) return;
    if (!f.acked) this.onAck(agentId, { execId: start.execId, accepted: true });
    this.started(f, start.startedAt);
  }

  private started(f: Flight, startedAt: number): void {
    f.start(startedAt);
    // Most runs are over in moments: their final write carries startedAt, and a store write
    // for 'running' is only worth it for a run still going a little later.
    if (f.isArmed('runningWrite')) return;
    this.arm(f, 'runningWrite', this.d.timings.runningWriteDelayMs, () => {
      if (this.flights.holds(f)) void this.persist(f.run.id, { status: 'running', startedAt: new Date(startedAt) });
    });
  }

  /**
   * The agent's outcome of an execution: the flight ends (retried if the job allows); one not in
   * flight here is recorded only if the store still has that attempt open on that agent, once.
   */
  async onResult(agentId: string, r: Result): Promise<void> {
    // The agent has a slot free now, whatever it said before (and whichever run this is).
    this.d.agents.freed(agentId);
    this.placeSoon();
    const f = this.flights.get(r.execId);
    const details = {
      exitCode: r.exitCode,
      outputTail: r.outputTail,
      error: r.error,
      startedAt: new Date(r.startedAt),
      finishedAt: new Date(r.finishedAt),
    };
    if (f) {
      if (f.agentId !== agentId) return;
      // A run over before its ACK went out is answered by its RESULT alone, in the ACK's place.
      if (!f.acked && f.execSeq) this.d.agents.answered(agentId, f.execSeq);
      void this.finish(f, r.status, details);
      return;
    }
    // A result for a run this server is not tracking: resent after a leader change, or for a
    // run whose flight timed out here first. Record it only if that attempt is still open, and
    // only once: an agent that follows a new leader sends a held RESULT and then repeats it.
    if (this.completing.has(r.execId) || this.recorded.has(r.execId)) return;
    this.completing.add(r.execId);
    try {
      const run = await this.d.store.runs.get(runIdOf(r.execId));
      if (!run || execIdOf(run) !== r.execId || run.node !== agentId || !['dispatched', 'running'].includes(run.status)) return;
      const job = await this.d.store.jobs.get(run.jobId);
      await this.complete(job, run, r.status, details);
    } finally {
      this.completing.delete(r.execId);
    }
  }

  /**
   * The agent answered an execution with a RESULT that failed validation (`why` says how): the
   * attempt is over on the agent, but what it said cannot be trusted, so it ends `failed` now,
   * with `why` as its error (retried if the job allows), instead of waiting out its deadline.
   * Only for an execution this agent holds, here or (after a leader change) in the store.
   */
  async onBadResult(agentId: string, execId: string, why: string): Promise<void> {
    const now = this.d.clock();
    const f = this.flights.get(execId);
    const startedAt = f?.run.startedAt?.getTime() ?? now;
    await this.onResult(agentId, { execId, status: 'failed', exitCode: null, startedAt, finishedAt: now, outputTail: '', error: why });
  }

  /**
   * An agent is gone (znode vanished, BYE): what it ran is lost, and retried if the job allows.
   * Only a run whose EXEC never left for it goes on to the next agent under the same exec id:
   * one sent may be running there, since a znode can vanish while its agent lives on (a restarted
   * agent's earlier session expiring after the new one said HELLO: issue 16's chaos run started
   * 90 executions twice so, on the gone agent and on the next).
   */
  /** Ends a run sent to an earlier life of its agent: `lost`, retried as a new attempt if the job allows. */
  private lostToEarlierLife(f: Flight, agentId: string): void {
    void this.finish(f, 'lost', { error: `agent ${agentId} restarted after this execution was sent to it` });
  }

  /**
   * The agent lives, in a later life (`life`, its HELLO's `startedAt`) than some of its runs were
   * sent to: those not acknowledged are lost (retried as new attempts if the job allows), the
   * rest are its present life's and go on. For the znode of an earlier life vanishing after the
   * new one said HELLO (DispatchServer.confirmAgentGone).
   */
  agentRestarted(agentId: string, life: number | null): void {
    for (const f of [...this.flights.values()]) {
      if (f.agentId !== agentId || f.acked || !f.sentToEarlierLife(life)) continue;
      this.lostToEarlierLife(f, agentId);
    }
  }

  agentGone(agentId: string): void {
    for (const f of [...this.flights.values()]) {
      if (f.agentId !== agentId) continue;
      if (!f.acked && f.sends === 0 && f.candidates.length) {
        f.refusals.push(`${agentId}: gone`);
        this.tryNext(f);
      } else {
        void this.finish(f, 'lost', { error: `agent ${agentId} was lost` });
      }
    }
  }

  /** Stops a running run for good (concurrency 'replace'); no retry. */
  cancel(run: Run, reason: 'replaced' | 'requested'): void {
    const execId = execIdOf(run);
    const f = this.flights.get(execId);
    if (!f) return;
    if (f.agentId) void this.d.send(f.agentId, { type: 'CANCEL', body: { execId, reason } });
    void this.finish(f, 'cancelled', { error: `cancelled (${reason})` }, false);
  }

  /**
   * The flight is over with `status`: forgotten here, and either retried after the job's backoff
   * (a failure with attempts left, `retry` allowing it) or recorded as final.
   */
  private finish(f: Flight, status: Run['status'], details: RunPatch, retry = true, incident?: boolean): Promise<void> {
    this.letGo(f);
    const attempt = f.run.attempt;
    if (retry && failed.has(status) && attempt <= f.job.retries.max && !this.halted.has(f.job.id)) {
      const r = f.job.retries;
      const backoff = Math.min(r.maxBackoffMs, r.backoffMs * r.factor ** (attempt - 1));
      const run: Run = { ...f.run, status: 'scheduled', attempt: attempt + 1, trigger: 'retry', node: null, error: details.error ?? null };
      this.d.logger.info('retrying run', { ...runFields(run), backoffMs: backoff, after: status });
      // Until the store has the next attempt, a repeated RESULT of this one must not be recorded.
      const execId = f.execId;
      this.completing.add(execId);
      void this.persist(run.id, {
        status: 'scheduled',
        attempt: run.attempt,
        trigger: 'retry',
        node: null,
        error: run.error,
        exitCode: details.exitCode ?? null,
        outputTail: details.outputTail ?? '',
      }).finally(() => this.completing.delete(execId));
      const tried = f.agentId ? [f.agentId] : [];
      const pending: PendingRetry = { jobId: f.job.id, run, prev: { attempt, status, details } };
      const timer = setTimeout(
        this.fenced(() => {
          this.retryTimers.delete(timer);
          void this.retryNow(pending, tried).catch((err: unknown) =>
            this.d.logger.error('could not retry run', { ...runFields(run), err }),
          );
        }),
        backoff,
      );
      this.retryTimers.set(timer, pending);
      return Promise.resolve();
    }
    return this.complete(f.job, f.run, status, details, incident);
  }

  /** `incident`, when given, overrides whether the outcome opens a failure incident (FailureIncidents.record). */
  private async complete(job: Job | null, run: Run, status: Run['status'], details: RunPatch, incident?: boolean): Promise<void> {
    // A deleted job has no counters to keep and no incident to open: only the run row, if the
    // store still has it.
    if (job && this.halted.get(job.id) === 'deleted') job = null;
    const execId = execIdOf(run);
    const mine = !this.completing.has(execId);
    this.completing.add(execId);
    const finishedAt = details.finishedAt ?? new Date(this.d.clock());
    const final: Run = { ...run, ...details, status, finishedAt };
    const isFailure = failed.has(status);
    const nextRunAt = job ? this.d.nextRunAt?.(job.id) : undefined;
    try {
      // The job's counts travel with the run's final status (RunUpdate.jobState): the store
      // writes both or neither, exactly once, even if this process dies between its writes
      // (one transaction on SQLite; a tally that reconcile() finishes on MongoDB).
      const jobState: JobRunState | undefined = job
        ? {
            lastRunAt: run.scheduledAt,
            lastStatus: status,
            runCountDelta: 1,
            failureCountDelta: isFailure ? 1 : 0,
            ...(nextRunAt ? { nextRunAt } : {}),
          }
        : undefined;
      await this.persist(
        run.id,
        { ...details, status, finishedAt },
        job ? () => this.incidents.record(job, run, status, details, finishedAt, incident) : undefined,
        jobState,
      );
      this.recorded.add(execId);
    } finally {
      if (mine) this.completing.delete(execId);
    }
    if (!job) return;
    // `error`: a run that ended failed, timed out or lost wants a look (docs/deploy.md, Log levels).
    if (isFailure) this.d.logger.error('run failed', { ...runFields(run), status, agent: run.node, error: details.error });
    this.d.onFinished(job, final);
  }

  /**
   * A retry's backoff is over: it follows the job as it stands now, read from the store. A job
   * deleted meanwhile gets its run recorded `cancelled` (where the row is still there); a job
   * disabled meanwhile, likewise; a job whose `retries.max` no longer allows this attempt
   * keeps the last attempt's outcome as final. Otherwise the attempt goes out with the job's
   * current kind, payload, timeout, target and routing.
   */
  private async retryNow(p: PendingRetry, tried: string[]): Promise<void> {
    const term = this.term;
    const job = await (this.d.currentJob ?? ((id: string) => this.d.store.jobs.get(id)))(p.jobId);
    // Leadership lost (or shutting down) while reading: the next leader has the run from the store.
    if (this.stale(term) || this.d.owns?.(p.jobId) === false) return;
    if (!job) return this.dropRetry(p, null, 'deleted');
    if (!job.enabled) return this.dropRetry(p, job, 'disabled');
    if (p.run.attempt > job.retries.max + 1) {
      // The policy was lowered under this run: the attempt that failed was its last.
      return this.complete(job, { ...p.run, attempt: p.prev.attempt }, p.prev.status, { ...p.prev.details, attempt: p.prev.attempt });
    }
    // The store must still have this attempt waiting, as this server wrote it: another leader
    // may have recorded the run's outcome meanwhile (a RESULT it was repeated; the store then
    // keeps the run final) or sent the retry itself. Sending ours too would run it again.
    await this.writes.settled((id) => id === p.run.id);
    const row = await this.d.store.runs.get(p.run.id);
    if (this.stale(term) || this.d.owns?.(p.jobId) === false) return;
    if (!row || row.attempt !== p.run.attempt || row.status !== 'scheduled') {
      this.d.logger.info('retry not sent: the store has the run elsewhere', {
        ...runFields(p.run),
        stored: row ? `${row.status}, attempt ${row.attempt}` : 'gone',
      });
      return;
    }
    this.retryElsewhere(job, p.run, tried);
  }

  /** Whether work begun in `term` is no longer this tracker's: it is retiring, or abandon() came since. */
  private stale(term: number): boolean {
    return this.retiring || term !== this.term;
  }

  /** A pending retry that will not be sent: recorded `cancelled`, naming how the attempt before it ended. */
  private dropRetry(p: PendingRetry, job: Job | null, why: JobStop): Promise<void> {
    const error = `retry cancelled: the job was ${why} (attempt ${p.prev.attempt} ended ${p.prev.status}${p.prev.details.error ? `: ${p.prev.details.error}` : ''})`;
    this.d.logger.info('retry cancelled', { ...runFields(p.run), why });
    return this.complete(job, { ...p.run, attempt: p.prev.attempt }, 'cancelled', { ...p.prev.details, attempt: p.prev.attempt, error });
  }

  /**
   * The job was disabled or deleted (the change feed said so). Its pending retries and the runs
   * still waiting for an agent are recorded `cancelled` and never sent; runs it has going go on
   * to their end, with no retry after. A deleted job's running executions are stopped too:
   * CANCEL to their agent, and the run recorded `cancelled` at once, where the store still has
   * its row (console-api deletes a job with its runs before it announces the delete, so usually
   * none is left); its job counters are not written, no incident is opened for it from now on,
   * and the `job_failed` incident it has open is closed. Resolves when all that is written.
   */
  async stopJob(jobId: string, why: JobStop): Promise<void> {
    this.halted.delete(jobId);
    this.halted.set(jobId, why);
    const oldest = this.halted.keys().next();
    if (this.halted.size > haltedKept && !oldest.done) this.halted.delete(oldest.value);
    const done: Array<Promise<unknown>> = [];
    const retries = [...this.retryTimers].filter(([, p]) => p.jobId === jobId);
    for (const [timer] of retries) {
      clearTimeout(timer);
      this.retryTimers.delete(timer);
    }
    if (retries.length) {
      // A disabled job's runs still count in its figures; a deleted one has none.
      const job = why === 'deleted' ? null : await this.d.store.jobs.get(jobId).catch(() => null);
      for (const [, p] of retries) done.push(this.dropRetry(p, job, why));
    }
    for (const f of [...this.flights.ofJob(jobId)]) {
      const unsent = f.phase === 'waiting' || (f.sends === 0 && !f.adopted);
      if (unsent) done.push(this.finish(f, 'cancelled', { error: `cancelled before it was sent: the job was ${why}` }, false));
      else if (why === 'deleted') {
        if (f.agentId) void this.d.send(f.agentId, { type: 'CANCEL', body: { execId: f.execId, reason: 'requested' } });
        done.push(this.finish(f, 'cancelled', { error: 'cancelled: the job was deleted' }, false));
      }
    }
    await Promise.all(done);
    if (why !== 'deleted') return;
    // Outcomes of this job's runs already on their way to the store (one may open an incident).
    await this.writes.settled((runId) => runId.startsWith(`${jobId}@`));
    for (let i = 0; i < 10; i++) {
      const open = await this.d.store.incidents.findOpen('job_failed', jobId);
      if (!open) break;
      await this.d.store.incidents.close(open.id, new Date(this.d.clock()));
      this.d.logger.info('closed the incident of a deleted job', { jobId, incident: open.id });
    }
  }

  /**
   * The job is enabled (again) or was edited: its runs may be retried as usual, and those going
   * now are retried by its retry policy as it stands (each keeps the EXEC it was sent).
   */
  jobChanged(job: Job): void {
    this.halted.delete(job.id);
    for (const f of [...this.flights.ofJob(job.id)]) {
      if (f.phase !== 'waiting') {
        f.job = { ...f.job, retries: job.retries };
        continue;
      }
      // Not sent yet: it goes out as the job stands, to the agents its target now names.
      f.job = job;
      this.waiting.delete(f);
      if (!this.waiting.add(f, laneOf(job, f.run), f.run.scheduledAt.getTime())) {
        this.missedStart(
          f,
          this.capacityMessage(f, `not queued: ${this.waiting.max} runs already wait for capacity here (maxWaitingRuns)`),
        );
      }
    }
    this.placeSoon();
  }

  /**
   * Leadership lost: forget every flight (the next leader adopts them from the store). With
   * `which`, only the flights and pending retries of the jobs it picks (the partitions a server
   * that shares the jobs out handed over, docs/architecture.md, "Scale-out: partitions"); the
   * rest go on. Nothing is written: the next owner adopts the rows as they stand.
   */
  abandon(which?: (jobId: string) => boolean): void {
    if (!which) {
      this.term++;
      // A job disabled now may be enabled before this server leads again, unseen.
      this.halted.clear();
      for (const f of this.flights.values()) {
        f.end();
        this.d.agents.release(f.run.id);
      }
      this.flights.clear();
      this.waiting.clear();
      for (const t of this.retryTimers.keys()) clearTimeout(t);
      this.retryTimers.clear();
      return;
    }
    for (const id of [...this.halted.keys()]) if (which(id)) this.halted.delete(id);
    for (const f of [...this.flights.values()]) {
      if (!which(f.job.id)) continue;
      f.end();
      this.waiting.delete(f);
      this.d.agents.release(f.run.id);
      this.flights.delete(f);
    }
    for (const [t, p] of [...this.retryTimers]) {
      if (!which(p.jobId)) continue;
      clearTimeout(t);
      this.retryTimers.delete(t);
    }
    this.placeSoon();
  }

  /** Resolves once the run writes queued now for the runs `which` picks (by run id) are done. */
  writesSettled(which: (runId: string) => boolean): Promise<void> {
    return this.writes.settled(which);
  }

  /** Waits up to `timeoutMs` (ms) for the flights to end, then for the store writes under way. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = this.d.clock() + timeoutMs;
    while (this.flights.size > 0 && this.d.clock() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.writes.settled();
    this.redelivered.flush();
  }
}
