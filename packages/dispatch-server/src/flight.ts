import { execIdOf, runIdOf, type Job, type Run } from '@clover/model';

/**
 * Where one execution in flight stands, from its EXEC to its final status:
 * - `waiting`: no agent can take it now (every matching one at capacity, or none connected or
 *   serving its kind); it waits in the leader's queue (`waiting` in the store) for one to free a
 *   slot, up to its start deadline.
 * - `sent`: an agent is chosen (the store says `dispatched` to it); the EXEC is on its way or out,
 *   not yet acknowledged.
 * - `acknowledged`: the agent ACKed it (or answered `duplicate`); its deadline is armed.
 * - `running`: the agent said it started (START, or an ACK carrying `startedAt`).
 * - `adopted`: taken over from a previous leader, read from the store; trusted until its agent
 *   says otherwise.
 * - `ended`: a final status was reached, or the flight was let go: no timer is armed, none can be.
 */
export type FlightPhase = 'waiting' | 'sent' | 'acknowledged' | 'running' | 'adopted' | 'ended';

/** The timers a flight may have armed, each named for what it waits for. */
export type FlightTimer =
  /** The start deadline of a waiting run (its slot + the job's start deadline). */
  | 'startDeadline'
  /** The wait for an ACK (`ackTimeoutMs`, longer for a busy agent). */
  | 'ack'
  /** The run's deadline plus `deadlineGraceMs`. */
  | 'deadline'
  /** How long an adopted run may go unconfirmed by its agent (`adoptGraceMs`). */
  | 'adoptGrace'
  /** The deferred store write of `running` (`runningWriteDelayMs`). */
  | 'runningWrite'
  /** After an agent's HELLO, the look at whether an adopted run was ever delivered to it. */
  | 'redeliver';

// The execution id scheme is the wire's, so it lives in @clover/model beside the run id (an agent reads it too).
export { execIdOf, runIdOf };

/**
 * One execution in flight on this leader: its run, the agent it went to, its phase, and the
 * timers that belong to it. Every timer is armed through {@link Flight.arm}, so the flight knows
 * what it has pending, and each transition clears the timers it ends; {@link Flight.end}
 * clears them all, and after it nothing can be armed again. The RunTracker decides what
 * happens next; the flight keeps the state straight.
 */
export class Flight {
  private currentPhase: FlightPhase;
  private readonly timers = new Map<FlightTimer, NodeJS.Timeout>();
  /** The agents still to try, in routing order. */
  candidates: string[];
  /** The agent it is sent to (or, adopted, the one the store names); null while waiting. */
  agentId: string | null;
  /** EXECs sent to the current agent (an adopted run counts as sent once). */
  sends = 0;
  /** How many of those EXECs its agent refused: it answers each, in order. */
  refusedSends = 0;
  /** When the current agent must be done, epoch ms (dispatch time + the job's timeoutMs). */
  deadline = 0;
  /** Why agents before the current one did not take it (`agent: reason`), for the final error. */
  readonly refusals: string[] = [];
  /** When the last EXEC left the transport, epoch ms; 0 before. */
  sentAt = 0;
  /** Its number among the messages its agent answers in order (AgentInfo.sentSeq); 0: not sent. */
  execSeq = 0;
  /**
   * The life of its agent (HELLO `startedAt`) the first EXEC was sent to; null when the agent does
   * not say. An EXEC sent to an earlier life may have run there unheard: never sent again to a later one.
   */
  sentToLife: number | null = null;
  /**
   * Whether an EXEC of this execution may be at an agent: one left (from here, or from an earlier
   * leader for an adopted run) and no agent has refused it since. Such a run never moves to
   * another agent under the same execution id: it is answered, or lost.
   */
  mayHaveLeft = false;
  /** The wait for an ACK from a busy agent, in ms, doubling (0: the plain `ackTimeoutMs`). */
  ackBackoffMs = 0;
  /** When a waiting run gives up (epoch ms): its start deadline, set the first time it waits and kept. */
  startDeadlineAt?: number;
  /** Agents an earlier attempt failed on: they go to the back of the line when it is routed again. */
  avoid: string[] = [];
  /** Taken over from a previous leader (built from the store), and not sent again by this one. */
  adopted: boolean;
  /** Taken over from a previous leader (adopted), even once sent again from here: an EXEC of it left before this leader's. */
  readonly takenOver: boolean;

  /**
   * @param job the job as it stands (its retry policy follows later edits: {@link Flight.job} is replaced then)
   * @param run the run as this tracker last wrote or read it
   */
  constructor(
    public job: Job,
    public run: Run,
    opts: { candidates?: string[]; adopted?: { agentId: string | null; deadline: number } } = {},
  ) {
    this.candidates = opts.candidates ?? [];
    this.adopted = opts.adopted !== undefined;
    this.takenOver = this.adopted;
    this.agentId = opts.adopted?.agentId ?? null;
    if (opts.adopted) {
      this.deadline = opts.adopted.deadline;
      this.sends = 1;
      this.mayHaveLeft = true;
    }
    this.currentPhase = opts.adopted ? 'adopted' : 'waiting';
  }

  get phase(): FlightPhase {
    return this.currentPhase;
  }

  get execId(): string {
    return execIdOf(this.run);
  }

  /** Whether its current agent has it: acknowledged, running, or adopted (trusted until told otherwise). */
  get acked(): boolean {
    return this.currentPhase === 'acknowledged' || this.currentPhase === 'running' || this.currentPhase === 'adopted';
  }

  /**
   * Arms (or re-arms) `timer`: `fire` runs after `ms` unless the timer is cleared first. A flight
   * that has ended arms nothing: a callback that comes late finds nothing to do.
   */
  arm(timer: FlightTimer, ms: number, fire: () => void): void {
    if (this.currentPhase === 'ended') return;
    this.disarm(timer);
    this.timers.set(
      timer,
      setTimeout(() => {
        this.timers.delete(timer);
        fire();
      }, ms),
    );
  }

  isArmed(timer: FlightTimer): boolean {
    return this.timers.has(timer);
  }

  /** The timers armed now (none once it has ended). */
  armed(): FlightTimer[] {
    return [...this.timers.keys()];
  }

  disarm(timer: FlightTimer): void {
    const t = this.timers.get(timer);
    if (t) clearTimeout(t);
    this.timers.delete(timer);
  }

  private disarmAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * No agent can take it now: it waits for a free slot. The timers and refusals of the agent
   * before are cleared (the start deadline is armed by the tracker).
   */
  wait(): void {
    this.disarmAll();
    this.currentPhase = 'waiting';
    this.agentId = null;
    this.sends = 0;
    this.refusedSends = 0;
    this.refusals.length = 0;
  }

  /**
   * Goes to `agentId`, the next candidate: every timer of the agent before is cleared, the sends
   * start over, and the deadline runs from `dispatchedAtMs` (epoch ms).
   */
  assign(agentId: string, dispatchedAtMs: number): void {
    this.disarmAll();
    this.currentPhase = 'sent';
    this.agentId = agentId;
    this.sends = 0;
    this.refusedSends = 0;
    this.ackBackoffMs = 0;
    this.deadline = dispatchedAtMs + this.job.timeoutMs;
  }

  /** An EXEC was handed to the transport, numbered `seq` among what its agent answers in order, for its agent's life `life`. */
  execSent(seq: number, life: number | null): void {
    if (this.sends === 0) this.sentToLife = life;
    this.sends += 1;
    this.mayHaveLeft = true;
    this.execSeq = seq;
  }

  /** Whether an EXEC of this flight left for an earlier life of the agent than `life` (HELLO `startedAt`). */
  sentToEarlierLife(life: number | null): boolean {
    return this.sends > 0 && this.sentToLife !== null && life !== null && life !== this.sentToLife;
  }

  /**
   * Its agent refused one of its EXECs (an ACK that says no). True once every EXEC of it sent to
   * this agent is refused: then none is at an agent any more. While one is unanswered, the answer
   * to it decides: an agent that refused the first EXEC at capacity may take the one sent again
   * (issue 16's 10-minute chaos run: the refusal sent the run on to the next agent while the
   * busy agent, a slot freed, started the resent EXEC: one execution on two agents).
   */
  refused(): boolean {
    this.refusedSends += 1;
    if (this.refusedSends < this.sends) return false;
    this.mayHaveLeft = false;
    return true;
  }

  /** The agent has it: the wait for its ACK is over. */
  acknowledge(): void {
    this.disarm('ack');
    this.currentPhase = 'acknowledged';
  }

  /** The agent started it at `startedAtMs` (epoch ms). */
  start(startedAtMs: number): void {
    this.run = { ...this.run, status: 'running', startedAt: new Date(startedAtMs) };
    this.currentPhase = 'running';
  }

  /** An adopted run the store shows moved on (started, or sent elsewhere): follow the store. */
  follow(current: Run): void {
    this.run = current;
    this.agentId = current.node;
  }

  /** An adopted run that never reached its agent is sent again, as this leader's own: every timer of the adoption is cleared. */
  redeliver(): void {
    this.disarmAll();
    this.adopted = false;
    this.currentPhase = 'sent';
    this.sends = 0;
    this.refusedSends = 0;
  }

  /** A final status, or let go (finished in the store, or leadership lost): every timer is cleared for good. */
  end(): void {
    this.disarmAll();
    this.currentPhase = 'ended';
  }
}

/** Flights by execution id, and by job (a fire asks for its job's runs: no scan of them all). */
export class Flights {
  private readonly byExec = new Map<string, Flight>();
  private readonly byJob = new Map<string, Set<Flight>>();

  get size(): number {
    return this.byExec.size;
  }

  get(execId: string): Flight | undefined {
    return this.byExec.get(execId);
  }

  has(execId: string): boolean {
    return this.byExec.has(execId);
  }

  /** Whether `f` is still the flight of its execution id (not ended and replaced, not let go). */
  holds(f: Flight): boolean {
    return this.byExec.get(f.execId) === f;
  }

  add(f: Flight): void {
    const prev = this.byExec.get(f.execId);
    if (prev) this.byJob.get(prev.job.id)?.delete(prev);
    this.byExec.set(f.execId, f);
    let set = this.byJob.get(f.job.id);
    if (!set) this.byJob.set(f.job.id, (set = new Set()));
    set.add(f);
  }

  delete(f: Flight): void {
    if (this.byExec.get(f.execId) !== f) return;
    this.byExec.delete(f.execId);
    const set = this.byJob.get(f.job.id);
    set?.delete(f);
    if (set && !set.size) this.byJob.delete(f.job.id);
  }

  ofJob(jobId: string): Iterable<Flight> {
    return this.byJob.get(jobId) ?? [];
  }

  values(): IterableIterator<Flight> {
    return this.byExec.values();
  }

  clear(): void {
    this.byExec.clear();
    this.byJob.clear();
  }
}
