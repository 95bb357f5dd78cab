import type { Hello, Message } from '@clover/protocol';
import { runningForOthersIn, slotsTaken } from './agent-load.js';

export interface AgentInfo {
  id: string;
  handlers: Set<string>;
  groups: Set<string>;
  tags: Set<string>;
  capacity: number;
  shell: boolean;
  http: boolean;
  /**
   * Executions this server has in flight on the agent: its reservations of capacity
   * (AgentDirectory.reserve). Read by 'least_busy' routing; only the directory changes it.
   */
  inFlight: number;
  /**
   * Executions the agent last said run on it for other dispatch-servers (HELLO, ACK, RESULT,
   * PONG `runningForOthers`; 0 from an agent that serves one server): its slots this server
   * cannot see in `inFlight` (agent-load.ts).
   */
  runningForOthers: number;
  /**
   * It refused a run (`at_capacity`, `draining`, …) or could not be reached, whatever `inFlight`
   * says: no run is offered to it until it frees a slot (a RESULT) or says HELLO.
   */
  full: boolean;
  lastHelloAt: number;
  /** Last time anything arrived from the agent (HELLO, ACK, PONG, ...). */
  lastSeenAt: number;
  /**
   * The same moment on the server's monotonic clock (ms): what the agent's silence is judged by
   * ({@link AgentDirectory.silentFor}), so that a step of the wall clock neither silences every
   * agent (forward) nor keeps a silent one for the length of the step (back).
   */
  lastHeardMs: number;
  /** Executions the agent said it runs, in its last HELLO. */
  running: Set<string>;
  /** When this life of the agent began, epoch ms by its clock (HELLO `startedAt`); null from an agent that does not say. */
  startedAt: number | null;
  /**
   * Set when a HELLO came from a new life of the agent: the znode of the life before may still
   * be there, and vanish when its session expires while this life runs (DispatchServer.confirmAgentGone).
   * Cleared once that has happened.
   */
  restartedSince: boolean;
  /** Numbers the messages it answers in order (EXEC by an ACK, PING by a PONG) as they are sent. */
  sentSeq: number;
  /** The highest of those answered: the agent has read everything sent before it. */
  answeredSeq: number;
  /** The last PING sent to it. */
  ping: { nonce: string; seq: number } | null;
}

/**
 * The agents this server can dispatch to: those that said HELLO over ZeroMQ and whose znode
 * is alive in ZooKeeper. Either signal going away removes the agent.
 */
export class AgentDirectory {
  private readonly agents = new Map<string, AgentInfo>();
  private live: Set<string> | null = null;
  /** Capacity held on an agent, by run id: one reservation per run, on one agent at a time. */
  private readonly reservations = new Map<string, string>();

  /**
   * @param onGone called once for each agent removed.
   * @param monotonic a monotonic clock in ms (default performance.now): silence is measured by it.
   */
  constructor(
    private readonly onGone: (id: string) => void,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  hello(h: Hello, now: number): AgentInfo {
    const prev = this.agents.get(h.agentId);
    const info: AgentInfo = {
      id: h.agentId,
      handlers: new Set(h.handlers),
      groups: new Set(h.groups),
      tags: new Set(h.tags),
      capacity: h.capacity,
      shell: h.shell,
      http: h.http,
      inFlight: prev?.inFlight ?? 0,
      runningForOthers: h.runningForOthers ?? 0,
      full: false,
      lastHelloAt: now,
      lastSeenAt: now,
      lastHeardMs: this.monotonic(),
      running: new Set(h.running),
      startedAt: h.startedAt ?? null,
      restartedSince:
        prev !== undefined &&
        (prev.restartedSince || (prev.startedAt !== null && h.startedAt !== undefined && prev.startedAt !== h.startedAt)),
      sentSeq: prev?.sentSeq ?? 0,
      answeredSeq: prev?.answeredSeq ?? 0,
      ping: prev?.ping ?? null,
    };
    this.agents.set(h.agentId, info);
    return info;
  }

  /**
   * The ids with a live znode under nodes/clients, as the registry last listed them. Answers
   * the agents known here that left that list since the last one: the caller confirms each is
   * really gone (a list read under load can be stale or cut short) and then removes it.
   */
  setLive(ids: Iterable<string>): string[] {
    const before = this.live;
    const live = new Set(ids);
    this.live = live;
    return [...this.agents.keys()].filter((id) => before?.has(id) && !live.has(id));
  }

  /** The ids with a live znode, or null before ZooKeeper's first answer. */
  liveIds(): ReadonlySet<string> | null {
    return this.live;
  }

  /**
   * The run `runId` goes to agent `agentId`: it counts in that agent's `inFlight` until
   * {@link release}. A run holds one reservation at a time: reserving it again moves it (the
   * agent before is released), so a reservation is never counted twice. An agent not known
   * here (gone meanwhile) gets none.
   */
  reserve(runId: string, agentId: string): void {
    this.release(runId);
    const agent = this.agents.get(agentId);
    if (!agent) return;
    agent.inFlight += 1;
    this.reservations.set(runId, agentId);
  }

  /** The run no longer holds capacity (ended, or tried elsewhere). Releasing a run that holds none does nothing. */
  release(runId: string): void {
    const agentId = this.reservations.get(runId);
    if (agentId === undefined) return;
    this.reservations.delete(runId);
    const agent = this.agents.get(agentId);
    if (agent && agent.inFlight > 0) agent.inFlight -= 1;
  }

  /**
   * Whether a run offered to the agent now would find a free slot: it is known here, its slots
   * taken (this server's reservations and what runs there for other servers) are fewer than its
   * capacity, and it has not said it is full since it last freed one.
   */
  hasRoom(id: string): boolean {
    const a = this.agents.get(id);
    return a !== undefined && !a.full && slotsTaken(a) < a.capacity;
  }

  /**
   * Reads what runs on the agent for other servers from a message of it that says so. Answers
   * true when that fell: slots freed that this server learns of by no RESULT of its own, so it
   * may offer the agent a run again (and place its waiting runs) though it was refused before.
   */
  reportedLoad(id: string, msg: Message): boolean {
    const a = this.agents.get(id);
    const others = runningForOthersIn(msg);
    if (!a || others === undefined || others === a.runningForOthers) return false;
    const fell = others < a.runningForOthers;
    a.runningForOthers = others;
    if (fell) a.full = false;
    return fell;
  }

  /** The agent refused a run (or could not be reached): offer it nothing until {@link freed} or its next HELLO. */
  markFull(id: string): void {
    const a = this.agents.get(id);
    if (a) a.full = true;
  }

  /** The agent finished an execution (a RESULT): it has a free slot, whatever it said before. */
  freed(id: string): void {
    const a = this.agents.get(id);
    if (a) a.full = false;
  }

  /** The agent holding the run's reservation, if any. */
  reservedOn(runId: string): string | undefined {
    return this.reservations.get(runId);
  }

  seen(id: string, now: number): void {
    const a = this.agents.get(id);
    if (!a) return;
    a.lastSeenAt = now;
    a.lastHeardMs = this.monotonic();
  }

  /**
   * The number of a message the agent answers in order (EXEC, PING), taken just before it is
   * handed to the socket (sends are immediate, so this is the order it reads them in).
   */
  nextSeq(id: string): number {
    const a = this.agents.get(id);
    return a ? ++a.sentSeq : 0;
  }

  /** The agent answered message `seq`: it has read everything sent to it before. */
  answered(id: string, seq: number): void {
    const a = this.agents.get(id);
    if (a && seq > a.answeredSeq) a.answeredSeq = seq;
  }

  /** Numbers a PING about to be sent; its nonce, for the PONG to name (null: unknown agent). */
  pingSent(id: string, now: number): string | null {
    const a = this.agents.get(id);
    if (!a) return null;
    const seq = this.nextSeq(id);
    a.ping = { nonce: `${now}-${seq}`, seq };
    return a.ping.nonce;
  }

  /** A PONG came: answered in order, so every EXEC sent before its PING has been read. */
  pongReceived(id: string, nonce: string): void {
    const ping = this.agents.get(id)?.ping;
    if (ping && ping.nonce === nonce) this.answered(id, ping.seq);
  }

  /** Agents not heard from for longer than `ms`, on the monotonic clock. */
  silentFor(ms: number): string[] {
    const cutoff = this.monotonic() - ms;
    return [...this.agents.values()].filter((a) => a.lastHeardMs < cutoff).map((a) => a.id);
  }

  ids(): string[] {
    return [...this.agents.keys()];
  }

  remove(id: string): void {
    if (this.agents.delete(id)) this.onGone(id);
  }

  get(id: string): AgentInfo | undefined {
    return this.agents.get(id);
  }

  /**
   * Agents usable now, in a stable order (by id): every agent that said HELLO and has not been
   * removed since. A HELLO comes over the agent's own open connection, so it is proof of life
   * enough; the registry's view only removes (a znode that went away), and a HELLO after that
   * brings the agent back. Waiting for the znode to show as well left a live agent unusable for
   * as long as the registry's view missed it (bench/dispatch-minute.bench.ts, 100,000 jobs).
   */
  usable(): AgentInfo[] {
    return [...this.agents.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The leader was not listening for `ms` (its event loop held by other work): messages from
   * the agents waited in the socket meanwhile. Nobody's silence counts over that time.
   */
  excuse(ms: number): void {
    for (const a of this.agents.values()) {
      a.lastSeenAt += ms;
      a.lastHeardMs += ms;
    }
  }

  clear(): void {
    this.agents.clear();
    this.reservations.clear();
  }
}
