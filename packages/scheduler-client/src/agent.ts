import os from 'node:os';
import { Heartbeat } from '@clover/heartbeat';
import { cleanUp, defaultStepTimeoutMs, settleWithin } from '@clover/lifecycle';
import {
  DealerTransport,
  isLocalEndpoint,
  LIMITS,
  truncateField,
  type Ack,
  type Exec,
  type Hello,
  type Message,
  type Result,
} from '@clover/protocol';
import { cloverPaths, createZkClient, watchLeader, type CloverPaths, type ZkClient } from '@clover/zk-kit';
import { ExecAbort } from './abort.js';
import { OrderedAnswers } from './answers.js';
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
import { LeaderClock } from './leader-clock.js';

const helloEveryMs = 5000;
const resendResultsForMs = 60_000;
/** At close, how long executions aborted at the end of the drain timeout get to end. */
const abortedGraceMs = 2000;
/** At close, how long the BYE may take to leave: the leader may be gone already. */
const byeWaitMs = 500;
/**
 * An agent that has heard nothing from its leader for this long is not ready: the leader PINGs
 * every 2 s and treats an agent silent for 10 s as lost (TrackerTimings.agentSilenceMs).
 */
const leaderSilenceMs = 10_000;

/**
 * An execution machine's agent, and the SDK an application embeds: it registers in ZooKeeper,
 * follows the dispatch leader over ZeroMQ, and runs what it is sent within its capacity.
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
  private transport: DealerTransport | null = null;
  private readonly leaderClock = new LeaderClock();
  private stopLeaderWatch: (() => void) | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  private draining = false;
  private started = false;
  /** Set once the drain is over: nothing more is said to a leader but the BYE. */
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly answers = new OrderedAnswers((msgs) => void this.transport?.sendAll(msgs));
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
  /** Leaders followed so far: the second and later count as reconnects. */
  private leaderConnects = 0;
  /** The dispatch-server followed now (its node id), the only one this agent hears from; null: none. */
  private leaderId: string | null = null;
  /** ZooKeeper has named no leader since the one followed now was (see the leader watch). */
  private leaderUnknown = false;

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
   * Whether this agent follows a dispatch leader and has heard from it in the last
   * `leaderSilenceMs` (the leader PINGs every 2 s): what its `/readyz` asks besides ZooKeeper.
   */
  get leaderConnected(): boolean {
    const t = this.transport;
    return t?.endpoint != null && t.lastReceivedAt > 0 && Date.now() - t.lastReceivedAt < leaderSilenceMs;
  }

  /** Serves jobs of kind `handler` with this name. Register before start(). */
  register(name: string, handler: Handler): this {
    checkHandlerName(name, this.handlers.has(name) ? this.handlers.size : this.handlers.size + 1);
    this.handlers.set(name, handler);
    if (this.started) void this.hello();
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
    this.transport = new DealerTransport({ id: this.id, curve: this.opts.curve, logger: this.logger, onMessage: (m) => this.onMessage(m) });
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
    this.stopLeaderWatch = watchLeader(this.zk, this.paths.electionDispatch, (leader) => {
      const endpoint = typeof leader?.data.endpoint === 'string' ? leader.data.endpoint : null;
      if (!endpoint && this.transport?.endpoint) {
        // No leader known (ZooKeeper out of reach, or an election under way): keep the connection
        // to the last one, which may lead still, until another is known. Closing the socket here
        // closed it just as the ZooKeeper client reconnected: in issue 16's partition runs the
        // sessions an agent opened then went deaf or spun ("zookeeper_process returned no response
        // too many times"), agent after agent, until the flapping stopped by chance; the two
        // native addons share this event loop and its file descriptor numbers.
        if (!this.leaderUnknown) this.logger.info('no dispatch leader known; still following the last one', { leader: this.leaderId });
        this.leaderUnknown = true;
        return;
      }
      if (this.transport) this.transport.batching = leader?.data.batch === true;
      if (endpoint === this.transport?.endpoint) {
        // The same leader after a spell without one: it may have lost and won the lead meanwhile,
        // so it hears the recent RESULTs again, as a new leader would.
        if (endpoint && this.leaderUnknown) void this.hello(true);
        this.leaderUnknown = false;
        return;
      }
      this.leaderUnknown = false;
      if (endpoint && !this.opts.curve && this.opts.insecurePlaintext !== true && !isLocalEndpoint(endpoint)) {
        // Whoever can write the election znode chooses where a plaintext agent connects, and what it
        // runs: off this machine, only a server that proves it holds the pinned CURVE key may.
        this.logger.error('not following the dispatch leader: its endpoint is off this machine and this agent has no CURVE keys', {
          leader: leader?.id,
          endpoint,
          fix: 'set CLOVER_CURVE_PUBLIC_KEY, CLOVER_CURVE_SECRET_KEY and CLOVER_CURVE_SERVER_KEY (clover keys), or CLOVER_INSECURE_PLAINTEXT=true',
        });
        this.transport?.connect(null);
        this.leaderId = null;
        return;
      }
      this.leaderId = endpoint ? (leader?.id ?? null) : null;
      this.logger.info(endpoint ? 'following dispatch leader' : 'no dispatch leader', { leader: leader?.id, endpoint });
      this.transport?.connect(endpoint);
      this.leaderClock.reset();
      if (endpoint && this.leaderConnects++ > 0) this.metrics.reconnects.inc();
      if (endpoint) void this.hello(true);
    });
    // HELLO doubles as a keepalive: a leader that restarted on the same endpoint learns of us.
    this.helloTimer = setInterval(() => void this.hello(), helloEveryMs);
    this.helloTimer.unref();
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
   * Says HELLO to the leader. To a new leader (`resendResults`), the RESULTs of the last minute
   * follow, then a second HELLO with `resultsRepeated`: the leader then knows every one of them
   * has arrived (one connection keeps the order) and judges the runs it adopted at once.
   */
  private async hello(resendResults = false): Promise<void> {
    if (!this.transport?.endpoint || this.closed) return;
    await this.transport.send({ type: 'HELLO', body: this.helloBody() });
    if (!resendResults) return;
    // A new leader may never have heard how recent executions ended.
    for (const r of this.recent.finishedSince(Date.now() - resendResultsForMs)) await this.transport.send({ type: 'RESULT', body: r });
    await this.transport.send({ type: 'HELLO', body: { ...this.helloBody(), resultsRepeated: true } });
  }

  private helloBody(): Hello {
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
      ...orphansKilled,
    };
  }

  private onMessage(msg: Message): void {
    switch (msg.type) {
      case 'EXEC':
        this.onExec(msg.body);
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
        this.leaderClock.sampled(msg.body.sentAt);
        this.answers.push(() => ({ type: 'PONG', body: msg.body }));
        return;
      case 'BYE':
        this.logger.info('dispatch-server said goodbye', { reason: msg.body.reason });
        return;
      default:
        this.logger.debug('ignored message', { type: msg.type });
    }
  }

  private refuse(execId: string, reason: NonNullable<Ack['reason']>): void {
    this.metrics.refused.inc({ reason });
    this.answers.push(() => ({ type: 'ACK', body: { execId, accepted: false, reason } }));
  }

  private onExec(exec: Exec): void {
    const seen = this.recent.get(exec.execId);
    if (seen) {
      // A re-delivery (lost ACK, new leader): never run it twice; repeat the outcome if known.
      this.refuse(exec.execId, 'duplicate');
      if (seen.phase === 'finished') this.answers.push(() => ({ type: 'RESULT', body: seen.result }));
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
      this.refuse(exec.execId, 'other_life');
      return;
    }
    if (this.draining) {
      this.refuse(exec.execId, 'draining');
      return;
    }
    const now = Date.now();
    // On the leader's clock, as the time it may run (a skewed agent's own clock would refuse all).
    if (this.leaderClock.timeLeftMs(exec) <= 0) {
      const lateMs = this.leaderClock.overdueMs(exec);
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
      this.answers.push(() => ({ type: 'RESULT', body: result }));
      return;
    }
    if (exec.kind.type === 'handler' && !this.handlers.has(exec.kind.name)) {
      this.refuse(exec.execId, 'no_handler');
      return;
    }
    if ((exec.kind.type === 'shell' && this.opts.shell !== true) || (exec.kind.type === 'http' && this.opts.http !== true)) {
      this.refuse(exec.execId, 'unsupported');
      return;
    }
    // Past either limit, the same answer: HELLO tells the leader one capacity, and the refusal
    // sends the run on to another agent or back to wait, whichever limit it met.
    if (!this.slots.take(exec.kind)) {
      this.refuse(exec.execId, 'at_capacity');
      return;
    }
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
      ...(this.leaderId ? { leader: this.leaderId } : {}),
    });
    this.metrics.started.inc({ kind: exec.kind.type });
    this.logger.debug('execution started', { ...runFieldsOf(exec), kind: exec.kind.type });
    this.unanswered.add(exec.execId);
    this.answers.push(() => {
      this.unanswered.delete(exec.execId);
      const state = this.recent.get(exec.execId);
      return state?.phase === 'finished'
        ? { type: 'RESULT', body: state.result }
        : { type: 'ACK', body: { execId: exec.execId, accepted: true, startedAt } };
    });
    // The slot goes back once the outcome is recorded (a new EXEC may take it before the RESULT
    // is sent, as it could before), and at the latest when the task ends, whatever happened.
    let slotHeld = true;
    const giveSlot = () => {
      if (slotHeld) this.slots.give(exec.kind);
      slotHeld = false;
    };
    const task = this.execute(exec, abort, startedAt, giveSlot).finally(() => {
      giveSlot();
      this.inFlight.delete(task);
    });
    this.inFlight.add(task);
  }

  private async execute(exec: Exec, abort: ExecAbort, startedAt: number, ended: () => void): Promise<void> {
    const intervalMs = this.opts.outputIntervalMs ?? DEFAULT_OUTPUT_INTERVAL_MS;
    const pump =
      intervalMs > 0 && !this.closed
        ? new OutputPump(exec.execId, (body) => void this.transport?.send({ type: 'OUTPUT', body }), intervalMs)
        : null;
    const out = new OutputTail(pump ? (chunk) => pump.push(chunk) : undefined);
    // Set by the timer's callback, so held in an object: a `let` would read as always false here.
    const deadline = { passed: false };
    const timer = setTimeout(
      () => {
        deadline.passed = true;
        abort.abort('timeout');
      },
      // The deadline is on the leader's clock, not this host's.
      this.leaderClock.timeLeftMs(exec),
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
    if (!this.unanswered.has(exec.execId)) await this.transport?.send({ type: 'RESULT', body: result });
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
          'HELLO timer and leader watch',
          () => {
            this.closed = true;
            if (this.helloTimer) clearInterval(this.helloTimer);
            this.stopLeaderWatch?.();
          },
        ],
        // Results still waiting to answer their EXEC go before the BYE, or the leader counts them lost.
        ['answers owed', () => this.answers.flush()],
        // The leader may be gone already: say goodbye, but do not wait on a peer that is not there.
        [
          'BYE',
          () => (this.transport ? settleWithin(this.transport.send({ type: 'BYE', body: { reason: 'shutdown' } }), byeWaitMs) : undefined),
        ],
        ['transport', () => this.transport?.close()],
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
