import os from 'node:os';
import { Heartbeat } from '@clover/heartbeat';
import { cleanUp, defaultStepTimeoutMs, settleWithin } from '@clover/lifecycle';
import { isLocalEndpoint, LIMITS, truncateField, type Ack, type Exec, type Hello, type Message, type Result } from '@clover/protocol';
import { cloverPaths, createZkClient, type CloverPaths, type ZkClient } from '@clover/zk-kit';
import { ExecAbort } from './abort.js';
import { ServerChannel } from './channel.js';
import { watchServers, type DispatchServerInfo, type ServerList } from './servers.js';
import { runHandler } from './executors/handler.js';
import { EgressClient } from './executors/egress-client.js';
import { runHttp } from './executors/http.js';
import { failed } from './executors/outcome.js';
import { runShell, type ExecOutcome, type GroupWatch } from './executors/shell.js';
import { noopLogger, noopMetrics, runFields, type Logger } from '@clover/telemetry';
import { runIdOf } from '@clover/model';
import { AgentMetrics } from './metrics.js';
import type { AgentOptions, Handler } from './interfaces.js';
import { GroupReaper } from './orphans/reaper.js';
import { GroupRecords, type LeftBehind } from './orphans/records.js';
import { ExecJournal } from './journal.js';
import { OutputTail } from './output.js';
import { DEFAULT_OUTPUT_INTERVAL_MS, OutputPump } from './live-output.js';
import { RecentExecutions } from './recent.js';
import { checkAgentOptions, checkHandlerName } from './limits.js';
import { DEFAULT_CAPACITY, defaultProcessCapacity, Slots } from './capacity.js';

const helloEveryMs = 5000;
const resendResultsForMs = 60_000;
/** At close, how long executions aborted at the end of the drain timeout get to end. */
const abortedGraceMs = 2000;
/** At close, how long the BYE may take to leave: a server may be gone already. */
const byeWaitMs = 500;
/**
 * An agent that has heard nothing from its leader for this long is not ready: the leader PINGs
 * every 2 s and treats an agent silent for 10 s as lost (TrackerTimings.agentSilenceMs).
 */
const leaderSilenceMs = 10_000;

/**
 * An execution machine's agent, and the SDK an application embeds: it registers in ZooKeeper,
 * connects to every live dispatch-server over ZeroMQ (one DEALER each, docs/protocol.md, Several
 * servers), and runs what they send within its one capacity, answering each on its own channel.
 */
export class Agent {
  readonly id: string;
  private readonly handlers = new Map<string, Handler>();
  private readonly recent = new RecentExecutions();
  private readonly logger: Logger;
  private readonly paths: CloverPaths;
  private readonly capacity: number;
  /** Executions running, in all and as child processes, against `capacity` and `processCapacity`. */
  private readonly slots: Slots;
  private zk: ZkClient | null = null;
  private ownsZk = false;
  private heartbeat: Heartbeat | null = null;
  /** One channel per live dispatch-server, by server id. */
  private readonly channels = new Map<string, ServerChannel>();
  /** The server each execution running here (or not yet answered) answers to, by exec id: the last one that sent its EXEC. */
  private readonly execServer = new Map<string, string>();
  /** Executions holding a slot, by the server they answer to: what each server is told runs for the others. */
  private readonly slotsBy = new Map<string, Set<string>>();
  private stopServerWatch: (() => void) | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  private draining = false;
  private started = false;
  /** Set once the drain is over: nothing more is said to a leader but the BYE. */
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Accepted executions whose answer has not gone out yet: their RESULT goes in its place. */
  private readonly unanswered = new Set<string>();
  /** Kills the shell executions' process groups when this process dies, however it dies. */
  private readonly reaper: GroupReaper | null;
  /** The same groups on disk, for the next life of this agent to find (with a data directory). */
  private readonly records: GroupRecords | null;
  private readonly journal: ExecJournal | null;
  /** The HTTP client of http jobs, holding this agent's egress policy. */
  private readonly egress: EgressClient;
  /** Exec ids whose groups an earlier life left and this start killed; told in HELLO for a while. */
  private orphansKilled: string[] = [];
  private startedAt = 0;
  private readonly metrics: AgentMetrics;
  /** Leaders met so far: the second and later count as reconnects. */
  private leaderConnects = 0;
  /** The dispatch-server the election names the leader (its node id); null: none named. */
  private leaderId: string | null = null;
  /** Servers of the single-leader cluster that led and another leads since: their EXECs are refused. */
  private readonly deposed = new Set<string>();
  /** ZooKeeper has said nothing since the servers were last listed (see the server watch). */
  private serversUnknown = false;
  /** Endpoints refused (off this machine without CURVE), each logged once. */
  private readonly refusedEndpoints = new Set<string>();

  constructor(private readonly opts: AgentOptions) {
    if (!opts.id || opts.id.includes('/')) throw new Error(`agent id must be non-empty without '/', got "${opts.id}"`);
    this.id = opts.id;
    this.logger = opts.logger ?? noopLogger;
    this.paths = opts.paths ?? cloverPaths();
    this.capacity = opts.capacity ?? DEFAULT_CAPACITY;
    const processCapacity = opts.processCapacity ?? defaultProcessCapacity();
    checkAgentOptions(opts, this.capacity, processCapacity);
    this.slots = new Slots(this.capacity, Math.min(processCapacity, this.capacity));
    this.reaper = opts.groupReaper === false ? null : new GroupReaper(this.logger);
    this.records = opts.dataDir ? new GroupRecords(opts.dataDir, this.id, this.logger) : null;
    this.journal = opts.journal
      ? new ExecJournal(opts.journal, (err) => {
          this.logger.error('execution journal write failed; journal stopped', { file: opts.journal, err: String(err) });
        })
      : null;
    this.egress = new EgressClient(opts.httpEgress ?? {});
    this.metrics = new AgentMetrics(opts.metrics ?? noopMetrics, {
      running: () => this.running,
      capacity: () => this.capacity,
      leaderConnected: () => this.leaderConnected,
    });
  }

  /**
   * Whether this agent has heard in the last `leaderSilenceMs` from the dispatch leader (every
   * server PINGs every 2 s), or from any server while the election names no leader it reaches:
   * what its `/readyz` asks besides ZooKeeper.
   */
  get leaderConnected(): boolean {
    const leader = this.leaderId === null ? undefined : this.channels.get(this.leaderId);
    if (leader) return leader.heardWithin(leaderSilenceMs);
    return [...this.channels.values()].some((c) => c.heardWithin(leaderSilenceMs));
  }

  /** The dispatch-servers this agent holds a channel to, by id: for tests and the console. */
  get servers(): string[] {
    return [...this.channels.keys()];
  }

  /**
   * Whether dispatch-server `id` sent anything in the last `leaderSilenceMs` (10 s): a server
   * PINGs every 2 s each agent whose HELLO it took, so this says it serves this agent.
   */
  heardFrom(id: string): boolean {
    return this.channels.get(id)?.heardWithin(leaderSilenceMs) === true;
  }

  /** Serves jobs of kind `handler` with this name. Register before start(). */
  register(name: string, handler: Handler): this {
    checkHandlerName(name, this.handlers.has(name) ? this.handlers.size : this.handlers.size + 1);
    this.handlers.set(name, handler);
    if (this.started) for (const c of this.channels.values()) void this.hello(c);
    return this;
  }

  get running(): number {
    return this.recent.runningCount;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.startedAt = Date.now();
    // Before anything can reach a leader: what an earlier life left running is killed, so no
    // execution of it outlives it unnoticed, and its outcome is the first thing said.
    if (this.records) this.reportLeftBehind(await this.records.sweep());
    if (typeof this.opts.zk === 'string') {
      this.zk = createZkClient({ connect: this.opts.zk, logger: this.logger });
      this.ownsZk = true;
    } else {
      this.zk = this.opts.zk;
    }
    await this.zk.connect();
    this.heartbeat = new Heartbeat({
      zk: this.zk,
      paths: this.paths,
      kind: 'clients',
      id: this.id,
      version: this.opts.version ?? '0.1.0',
      intervalMs: this.opts.heartbeatIntervalMs,
      logger: this.logger,
      info: () => ({
        running: this.running,
        capacity: this.capacity,
        processesRunning: this.slots.processesRunning,
        processCapacity: this.slots.processCapacity,
        handlers: [...this.handlers.keys()],
        groups: this.opts.groups ?? [],
        tags: this.opts.tags ?? [],
        load: os.loadavg()[0],
        draining: this.draining,
      }),
    });
    await this.heartbeat.start();
    this.stopServerWatch = watchServers(this.zk, this.paths.electionDispatch, (list) => this.serversChanged(list));
    // HELLO doubles as a keepalive: a server that restarted on the same endpoint learns of us.
    this.helloTimer = setInterval(() => {
      for (const c of this.channels.values()) void this.hello(c);
    }, helloEveryMs);
    this.helloTimer.unref();
  }

  /**
   * ZooKeeper listed the live dispatch-servers (or, with null, could not say): a channel opens
   * to each new one (with a HELLO), closes for each gone, follows one that moved. The recent
   * RESULTs, then a HELLO saying they are all in, go to each server that may have taken runs
   * over: the one the election names leader when that changes (it adopts what the last leader
   * left), and, where servers share the jobs out, a server that joins and every server when one
   * leaves. While the list is unknown or empty every channel stays: closing the sockets just as
   * the ZooKeeper client reconnected broke the agents' next sessions in issue 16's partition runs
   * (the two native addons share this event loop and its file descriptor numbers), and a server
   * that leads may lead still.
   */
  private serversChanged(list: ServerList | null): void {
    if (this.closed) return;
    if (!list || list.servers.length === 0) {
      if (!this.serversUnknown && this.channels.size)
        this.logger.info('no dispatch-server listed; keeping the channels open', { servers: this.servers, leader: this.leaderId });
      this.serversUnknown = true;
      return;
    }
    const wasUnknown = this.serversUnknown;
    this.serversUnknown = false;
    const listed = new Map(list.servers.filter((s) => this.reachable(s)).map((s) => [s.id, s]));
    let left = false;
    for (const [id, channel] of this.channels)
      if (!listed.has(id)) {
        this.channels.delete(id);
        left = true;
        this.logger.info('dispatch-server gone; channel closed', { server: id, endpoint: channel.server.endpoint });
        void channel.close();
      }
    /** Each channel to greet, and whether with the recent RESULTs. */
    const greet = new Map<ServerChannel, boolean>();
    for (const [id, server] of listed) {
      const channel = this.channels.get(id);
      if (channel) {
        if (channel.follow(server)) greet.set(channel, server.shares);
        else if (left && server.shares) greet.set(channel, true);
        continue;
      }
      const opened = new ServerChannel(server, {
        agentId: this.id,
        curve: this.opts.curve,
        logger: this.logger,
        onMessage: (c, m) => this.onMessage(c, m),
      });
      this.channels.set(id, opened);
      this.logger.info('dispatch-server found; channel opened', { server: id, endpoint: server.endpoint });
      greet.set(opened, server.shares);
    }
    const leader = list.leader === null ? undefined : this.channels.get(list.leader);
    if (list.leader !== this.leaderId && list.leader !== null) {
      // The one before is deposed: what it sends from now on is refused (onExec).
      if (this.leaderId !== null) this.deposed.add(this.leaderId);
      this.deposed.delete(list.leader);
    }
    if (list.leader !== this.leaderId) {
      this.logger.info(list.leader ? 'following dispatch leader' : 'no dispatch leader', {
        leader: list.leader,
        endpoint: leader?.server.endpoint,
      });
      if (list.leader && this.leaderConnects++ > 0) this.metrics.reconnects.inc();
      if (leader) greet.set(leader, true);
    } else if (wasUnknown && leader) {
      // The same leader after a spell without word from ZooKeeper: it may have lost and won the
      // lead meanwhile, so it hears the recent RESULTs again, as a new leader would.
      greet.set(leader, true);
    }
    this.leaderId = list.leader;
    this.answerToLeader();
    for (const [c, resend] of greet) void this.hello(c, resend);
  }

  /**
   * An execution answers to the server that sent it while that server fires a share of the jobs.
   * One sent by a server of the single-leader cluster, or by a server gone since, answers to the
   * server that leads now, which adopts it (as the single-leader agent's one connection, moved
   * to each new leader, did); its slot counts as that server's.
   */
  private answerToLeader(): void {
    const leader = this.leaderId;
    if (leader === null || !this.channels.has(leader)) return;
    for (const [execId, server] of this.execServer)
      if (server !== leader && this.channels.get(server)?.server.shares !== true) this.answerTo(execId, leader);
  }

  /**
   * Whoever can write the election's znodes chooses where a plaintext agent connects, and what it
   * runs: off this machine, only a server that proves it holds the pinned CURVE key may.
   */
  private reachable(server: DispatchServerInfo): boolean {
    if (this.opts.curve || this.opts.insecurePlaintext === true || isLocalEndpoint(server.endpoint)) return true;
    if (!this.refusedEndpoints.has(server.endpoint)) {
      this.refusedEndpoints.add(server.endpoint);
      this.logger.error('not connecting to a dispatch-server: its endpoint is off this machine and this agent has no CURVE keys', {
        server: server.id,
        endpoint: server.endpoint,
        fix: 'set CLOVER_CURVE_PUBLIC_KEY, CLOVER_CURVE_SECRET_KEY and CLOVER_CURVE_SERVER_KEY (clover keys), or CLOVER_INSECURE_PLAINTEXT=true',
      });
    }
    return false;
  }

  /**
   * Each execution an earlier life was running when it died becomes a finished one of this
   * life: a `failed` RESULT saying what happened, sent after the first HELLO to each leader
   * (within resendResultsForMs) and repeated for a re-delivered EXEC, which is refused as a
   * duplicate: a crash never makes an execution run twice on this agent.
   */
  private reportLeftBehind(found: LeftBehind[]): void {
    const now = Date.now();
    for (const f of found) {
      const error = f.killed
        ? `the agent stopped while this ran; at its restart it killed process group ${f.pgid}, which was still running`
        : `the agent stopped while this ran; nothing of it (process group ${f.pgid}) was left at its restart`;
      const result: Result = {
        execId: f.execId,
        status: 'failed',
        exitCode: null,
        startedAt: f.startedAt,
        finishedAt: now,
        outputTail: '',
        error: truncateField(error, LIMITS.errorChars),
      };
      if (!this.recent.get(f.execId)) this.recent.set(f.execId, { phase: 'finished', result, finishedAt: now });
    }
    this.orphansKilled = found
      .filter((f) => f.killed)
      .map((f) => f.execId)
      .slice(0, LIMITS.orphansKilled);
  }

  /**
   * Says HELLO to the server. To a new one, or a new leader (`resendResults`), the RESULTs of the
   * last minute follow, then a second HELLO with `resultsRepeated`: the server then knows every
   * one of them has arrived (one connection keeps the order) and judges the runs it adopted at once.
   */
  private async hello(channel: ServerChannel, resendResults = false): Promise<void> {
    if (this.closed) return;
    const t = channel.transport;
    await t.send({ type: 'HELLO', body: this.helloBody(channel) });
    if (!resendResults) return;
    // A new server (or leader) may never have heard how recent executions ended.
    for (const r of this.recent.finishedSince(Date.now() - resendResultsForMs)) await t.send({ type: 'RESULT', body: r });
    await t.send({ type: 'HELLO', body: { ...this.helloBody(channel), resultsRepeated: true } });
  }

  /**
   * What a server is told runs here for the other servers (`runningForOthers`): the slots held
   * by executions that answer to another server. Absent when 0, as an agent of one server says.
   */
  private loadFor(channel: ServerChannel): { runningForOthers?: number } {
    const others = this.slots.running - (this.slotsBy.get(channel.server.id)?.size ?? 0);
    return others > 0 ? { runningForOthers: others } : {};
  }

  private helloBody(channel: ServerChannel): Hello {
    const orphansKilled =
      this.orphansKilled.length && Date.now() - this.startedAt < resendResultsForMs ? { orphansKilled: this.orphansKilled } : {};
    return {
      agentId: this.id,
      version: this.opts.version ?? '0.1.0',
      handlers: [...this.handlers.keys()],
      capacity: this.capacity,
      running: this.recent.running().map(([id]) => id),
      groups: this.opts.groups ?? [],
      tags: this.opts.tags ?? [],
      shell: this.opts.shell ?? false,
      http: this.opts.http ?? false,
      batch: true,
      startedAt: this.startedAt,
      allServers: true,
      ...this.loadFor(channel),
      ...orphansKilled,
    };
  }

  private onMessage(channel: ServerChannel, msg: Message): void {
    switch (msg.type) {
      case 'EXEC':
        this.onExec(channel, msg.body);
        return;
      case 'CANCEL': {
        const state = this.recent.get(msg.body.execId);
        if (state?.phase === 'running') {
          state.cancelReason = msg.body.reason;
          state.abort.abort(msg.body.reason);
        }
        return;
      }
      case 'PING':
        channel.clock.sampled(msg.body.sentAt);
        channel.answers.push(() => ({ type: 'PONG', body: { ...msg.body, ...this.loadFor(channel) } }));
        return;
      case 'BYE':
        this.logger.info('dispatch-server said goodbye', { server: channel.server.id, reason: msg.body.reason });
        return;
      default:
        this.logger.debug('ignored message', { type: msg.type });
    }
  }

  private refuse(channel: ServerChannel, execId: string, reason: NonNullable<Ack['reason']>): void {
    this.metrics.refused.inc({ reason });
    channel.answers.push(() => ({ type: 'ACK', body: { execId, accepted: false, reason, ...this.loadFor(channel) } }));
  }

  /**
   * The execution now answers to `server`: a server that sends an EXEC again (a new leader, or
   * the next owner of its job) is the one that waits for its RESULT. Its slot moves with it.
   */
  private answerTo(execId: string, server: string): void {
    const before = this.execServer.get(execId);
    if (before === undefined || before === server) return;
    this.execServer.set(execId, server);
    if (this.releaseSlot(before, execId)) this.holdSlot(server, execId);
  }

  /** The execution no longer holds a slot on `server`'s account; true if it held one. */
  private releaseSlot(server: string, execId: string): boolean {
    const held = this.slotsBy.get(server);
    if (!held?.delete(execId)) return false;
    // A server gone for good leaves no entry behind.
    if (held.size === 0) this.slotsBy.delete(server);
    return true;
  }

  private holdSlot(server: string, execId: string): void {
    let held = this.slotsBy.get(server);
    if (!held) this.slotsBy.set(server, (held = new Set()));
    held.add(execId);
  }

  /** The channel an execution's answers go on now, if its server is still listed. */
  private channelOf(execId: string): ServerChannel | undefined {
    const server = this.execServer.get(execId);
    return server === undefined ? undefined : this.channels.get(server);
  }

  private onExec(channel: ServerChannel, exec: Exec): void {
    const seen = this.recent.get(exec.execId);
    if (seen) {
      // A re-delivery (lost ACK, new leader, another server): never run it twice; repeat the outcome if known.
      this.refuse(channel, exec.execId, 'duplicate');
      if (seen.phase === 'finished') channel.answers.push(() => ({ type: 'RESULT', body: { ...seen.result, ...this.loadFor(channel) } }));
      else this.answerTo(exec.execId, channel.server.id);
      return;
    }
    if (!channel.server.shares && this.deposed.has(channel.server.id)) {
      // A server of the single-leader cluster that led and another leads since: a deposed
      // leader's EXEC held in TCP through a partition arrives when the link is back, over the
      // channel the agent keeps to every server, after the next leader has fired the job's next
      // slots (issue 16's partition run: a forbid job ran beside itself). Only the leader's run.
      this.logger.info('execution refused: its server no longer leads', {
        ...runFieldsOf(exec),
        server: channel.server.id,
        leader: this.leaderId,
      });
      this.refuse(channel, exec.execId, 'not_leader');
      return;
    }
    if (exec.agentStartedAt !== undefined && exec.agentStartedAt !== this.startedAt) {
      // Meant for an earlier life of this agent (same routing id), which may have run it: this
      // life must not run it again; the leader judges the run (docs/protocol.md, ACK).
      this.logger.info('execution refused: it was sent to an earlier life of this agent', {
        ...runFieldsOf(exec),
        sentTo: exec.agentStartedAt,
        life: this.startedAt,
      });
      this.refuse(channel, exec.execId, 'other_life');
      return;
    }
    if (this.draining) {
      this.refuse(channel, exec.execId, 'draining');
      return;
    }
    const now = Date.now();
    // On the sending server's clock, as the time it may run (a skewed agent's own clock would refuse all).
    if (channel.clock.timeLeftMs(exec) <= 0) {
      const lateMs = channel.clock.overdueMs(exec);
      // Its time to run (min(deadline − now, timeoutMs), docs/protocol.md) is gone before it
      // starts: it is not started, and its RESULT says so. An EXEC held in a TCP connection
      // through a partition arrives when the link is back, long after its leader recorded the run
      // lost and retried it elsewhere (issue 16's partition runs: a forbid job's run started there
      // 13 s after its slot, beside the job's next run).
      const result: Result = {
        execId: exec.execId,
        status: 'timed_out',
        exitCode: null,
        startedAt: now,
        finishedAt: now,
        outputTail: '',
        error: `arrived ${lateMs} ms after its deadline; not started`,
      };
      this.recent.set(exec.execId, { phase: 'finished', result, finishedAt: now });
      this.logger.info('execution not started: it arrived after its deadline', { ...runFieldsOf(exec), lateMs });
      channel.answers.push(() => ({ type: 'RESULT', body: { ...result, ...this.loadFor(channel) } }));
      return;
    }
    if (exec.kind.type === 'handler' && !this.handlers.has(exec.kind.name)) {
      this.refuse(channel, exec.execId, 'no_handler');
      return;
    }
    if ((exec.kind.type === 'shell' && this.opts.shell !== true) || (exec.kind.type === 'http' && this.opts.http !== true)) {
      this.refuse(channel, exec.execId, 'unsupported');
      return;
    }
    // Past either limit, the same answer: HELLO tells the server one capacity, and the refusal
    // sends the run on to another agent or back to wait, whichever limit it met. The slots are
    // the machine's, one pool whichever server sends.
    if (!this.slots.take(exec.kind)) {
      this.refuse(channel, exec.execId, 'at_capacity');
      return;
    }
    const server = channel.server.id;
    this.execServer.set(exec.execId, server);
    this.holdSlot(server, exec.execId);
    const abort = new ExecAbort();
    this.recent.set(exec.execId, { phase: 'running', abort });
    const startedAt = Date.now();
    this.journal?.record({
      event: 'start',
      at: startedAt,
      agentId: this.id,
      execId: exec.execId,
      jobId: exec.jobId,
      attempt: exec.attempt,
      scheduledAt: exec.scheduledAt,
      leader: server,
    });
    this.metrics.started.inc({ kind: exec.kind.type });
    this.logger.debug('execution started', { ...runFieldsOf(exec), kind: exec.kind.type });
    this.unanswered.add(exec.execId);
    channel.answers.push(() => {
      this.unanswered.delete(exec.execId);
      const state = this.recent.get(exec.execId);
      return state?.phase === 'finished'
        ? { type: 'RESULT', body: { ...state.result, ...this.loadFor(channel) } }
        : { type: 'ACK', body: { execId: exec.execId, accepted: true, startedAt, ...this.loadFor(channel) } };
    });
    // The slot goes back once the outcome is recorded (a new EXEC may take it before the RESULT
    // is sent, as it could before), and at the latest when the task ends, whatever happened.
    let slotHeld = true;
    const giveSlot = () => {
      if (slotHeld) {
        this.slots.give(exec.kind);
        const by = this.execServer.get(exec.execId);
        if (by !== undefined) this.releaseSlot(by, exec.execId);
      }
      slotHeld = false;
    };
    const task = this.execute(channel, exec, abort, startedAt, giveSlot).finally(() => {
      giveSlot();
      this.execServer.delete(exec.execId);
      this.inFlight.delete(task);
    });
    this.inFlight.add(task);
  }

  private async execute(channel: ServerChannel, exec: Exec, abort: ExecAbort, startedAt: number, ended: () => void): Promise<void> {
    const intervalMs = this.opts.outputIntervalMs ?? DEFAULT_OUTPUT_INTERVAL_MS;
    const pump =
      intervalMs > 0 && !this.closed
        ? new OutputPump(exec.execId, (body) => void this.channelOf(exec.execId)?.transport.send({ type: 'OUTPUT', body }), intervalMs)
        : null;
    const out = new OutputTail(pump ? (chunk) => pump.push(chunk) : undefined);
    // Set by the timer's callback, so held in an object: a `let` would read as always false here.
    const deadline = { passed: false };
    const timer = setTimeout(
      () => {
        deadline.passed = true;
        abort.abort('timeout');
      },
      // The deadline is on the sending server's clock, not this host's.
      channel.clock.timeLeftMs(exec),
    );
    let outcome: ExecOutcome;
    try {
      const kind = exec.kind;
      if (kind.type === 'handler') {
        const handler = this.handlers.get(kind.name);
        // onExec refuses an EXEC that names no registered handler.
        if (!handler) throw new Error(`no handler named "${kind.name}"`);
        outcome = await runHandler(handler, exec, abort, out);
      } else if (kind.type === 'shell') {
        const listed = this.opts.shellCommands;
        outcome =
          listed && !listed.includes(kind.command)
            ? failed(
                null,
                `refused: this agent runs only the commands listed in CLOVER_SHELL_COMMANDS, and "${truncateField(kind.command, 200)}" is not one`,
              )
            : await runShell(kind, abort.signal, out, this.groupWatch(exec.execId, startedAt));
      } else outcome = await runHttp(kind, abort.signal, out, this.egress);
    } catch (err) {
      outcome = { exitCode: null, error: `the agent failed to run it: ${String(err)}` };
    } finally {
      clearTimeout(timer);
      pump?.stop();
    }
    const state = this.recent.get(exec.execId);
    const cancelReason = state?.phase === 'running' ? state.cancelReason : undefined;
    const status: Result['status'] =
      deadline.passed || cancelReason === 'timeout' ? 'timed_out' : abort.aborted ? 'cancelled' : outcome.error ? 'failed' : 'succeeded';
    const result: Result = {
      execId: exec.execId,
      status,
      exitCode: outcome.exitCode,
      startedAt,
      finishedAt: Date.now(),
      outputTail: out.toString(),
      error:
        status === 'timed_out'
          ? `deadline of ${exec.timeoutMs} ms exceeded`
          : status === 'cancelled'
            ? `cancelled (${String(cancelReason ?? abort.reason)})`
            : outcome.error,
    };
    // The executors bound their reasons; this guards the agent's own and any executor added later.
    if (result.error !== null) result.error = truncateField(result.error, LIMITS.errorChars);
    this.recent.set(exec.execId, { phase: 'finished', result, finishedAt: result.finishedAt });
    this.journal?.record({ event: 'end', at: result.finishedAt, agentId: this.id, execId: exec.execId, status });
    this.metrics.ended(status, (result.finishedAt - startedAt) / 1000);
    // A failure is worth a line at info: the run's fields let one grep follow it to the server's.
    this.logger[status === 'succeeded' ? 'debug' : 'info']('execution ended', { ...runFieldsOf(exec), status, error: result.error });
    ended();
    if (this.unanswered.has(exec.execId)) return;
    // On the channel of the server it answers to; a server gone meanwhile hears it, if it comes
    // back, among the RESULTs repeated to a new life, as does whichever server leads next.
    const to = this.channelOf(exec.execId);
    await to?.transport.send({ type: 'RESULT', body: { ...result, ...this.loadFor(to) } });
  }

  /** The reaper and the data directory's records follow a shell execution's process group. */
  private groupWatch(execId: string, startedAt: number): GroupWatch | undefined {
    const { reaper, records } = this;
    if (!reaper && !records) return undefined;
    return {
      started: (pgid) => {
        reaper?.watch(pgid);
        records?.add(execId, pgid, startedAt);
      },
      ended: (pgid) => {
        records?.remove(pgid);
        reaper?.forget(pgid);
      },
    };
  }

  /**
   * Stops taking work, lets running executions finish (up to the drain timeout, then aborts them),
   * sends the answers still owed and a BYE, and closes its socket, heartbeat and (when it opened
   * it) ZooKeeper session. A second call, concurrent or later, returns the same promise. Every
   * step runs even when one before it fails; the failures are thrown together at the end (a
   * `CleanupError` naming them). An agent never started has nothing to close.
   */
  close(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.closing ??= this.drain();
    return this.closing;
  }

  private drain(): Promise<void> {
    this.draining = true;
    const drainMs = this.opts.drainTimeoutMs ?? 30_000;
    return cleanUp(
      [
        ['heartbeat saying draining', () => this.heartbeat?.beatNow()],
        ['running executions', () => this.finishRunning(drainMs)],
        ['execution journal', () => this.journal?.close()],
        [
          'HELLO timer and server watch',
          () => {
            this.closed = true;
            if (this.helloTimer) clearInterval(this.helloTimer);
            this.stopServerWatch?.();
          },
        ],
        // Results still waiting to answer their EXEC go before the BYE, or the server counts them lost.
        ['answers owed', () => this.channels.forEach((c) => c.answers.flush())],
        // A server may be gone already: say goodbye, but do not wait on a peer that is not there.
        [
          'BYE',
          () =>
            settleWithin(
              Promise.all([...this.channels.values()].map((c) => c.transport.send({ type: 'BYE', body: { reason: 'shutdown' } }))),
              byeWaitMs,
            ),
        ],
        ['channels', () => Promise.all([...this.channels.values()].map((c) => c.close()))],
        ['HTTP client', () => this.egress.close()],
        ['group reaper', () => this.reaper?.close()],
        ['heartbeat', () => this.heartbeat?.close()],
        ['ZooKeeper session', () => (this.ownsZk ? this.zk?.close() : undefined)],
      ],
      // No step may be cut before the executions' own bound has passed.
      { timeoutMs: Math.max(defaultStepTimeoutMs, drainMs + abortedGraceMs + 1000) },
    );
  }

  /** Waits up to `drainMs` for the running executions, then aborts them and waits a little more. */
  private async finishRunning(drainMs: number): Promise<void> {
    if ((await settleWithin(Promise.allSettled([...this.inFlight]), drainMs)) === 'settled') return;
    for (const [, s] of this.recent.running()) s.abort.abort('shutdown');
    await settleWithin(Promise.allSettled([...this.inFlight]), abortedGraceMs);
  }
}

/** The fields every log line about an execution carries (jobId, runId, attempt), as the dispatch-server logs them. */
function runFieldsOf(exec: Exec): ReturnType<typeof runFields> {
  return runFields({ jobId: exec.jobId, id: runIdOf(exec.execId), attempt: exec.attempt });
}
