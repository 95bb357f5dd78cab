/**
 * The chaos harness of issue 16: a whole cluster of real processes (the built bins, a real
 * ZooKeeper, one shared store, a real SMTP sink) under sustained failure, then checked from
 * evidence that owes nothing to the leader: the agents' execution journals (CLOVER_EXEC_JOURNAL:
 * a line per execution started, written before it starts), the store's runs, the jobs' counts
 * and the hourly counters.
 *
 * The cluster: 3 dispatch-servers, 3 agents, 2 monitors, the console API. The jobs (`jobs`, by
 * index mod 10): 5 every-second `noop` handlers (misfire `fire_once`), 1 every-second shell
 * `true`, 1 every-second `forbid` sleeper that runs longer than its period, 1 every-second
 * `flaky` handler that fails half the time with 2 retries, 1 one-shot at a random second of the
 * window, 1 every-second `noop` with misfire `skip`. For the window (`durationMs`): the leading
 * dispatch-server SIGKILLed every `leaderKillEveryMs` and started again; a random agent
 * SIGKILLed every `agentKillEveryMs` and started again; the leader SIGSTOPped for longer than its
 * ZooKeeper session and continued; ZooKeeper itself stopped and started once.
 *
 * Sharing the jobs out (`shares: true`, issue 17): every dispatch-server runs with
 * CLOVER_DISPATCH_SHARES=1 and fires the jobs of the partitions it owns. The leader kills become
 * kills of a random server, started again once its session has expired (its partitions taken over
 * by the others, then a share of them handed back when it joins); the SIGSTOP stops a random
 * server; and halfway through the window a fourth server, `dispatch-4`, joins for good. The
 * figures count the executions each server sent (the journals' `leader`).
 *
 * On hosts (`hosts: true`, issue 16's "Hosts and partitions"): every process, ZooKeeper and the
 * store (MongoDB: FerretDB) on a host of its own, a network namespace with its own address on one
 * bridge (@clover/testkit `createHostNetwork`), so a `scenario` can cut a host off the network and
 * put it back (e2e/chaos/partitions.test.ts).
 *
 * {@link checkChaos} counts what must be 0: executions started twice for one execution id,
 * slots with more than one run, slots missed beyond the job's misfire policy, `forbid` overlaps,
 * runs not in a final state, counters that disagree with the runs.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CleanupStack } from '@clover/lifecycle';
import { failureStatuses, terminalStatuses, type Job, type Machine, type NodeView, type Run } from '@clover/model';
import { openStore, type Store } from '@clover/store';
import {
  cleanUp,
  createHostNetwork,
  freePort,
  parseMetrics,
  startMongo,
  followCursor,
  spawnProcess,
  startSmtpSink,
  startZooKeeper,
  tempDir,
  waitFor,
  within,
  type ChildHandle,
  type HostNetwork,
  type Scrape,
} from '@clover/testkit';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cloverPaths, createZkClient, writeClusterConfig, type ZkClient } from '@clover/zk-kit';
import { ConsoleSession, waitForHealth } from '../lib/api.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (pkg: string) => path.join(repoRoot, 'packages', pkg, 'dist/bin.js');
const paths = cloverPaths('/clover');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const run = promisify(execFile);
/** Every bin's /metrics port on hosts of their own (each host has its ports to itself). */
const metricsPort = 9464;
/**
 * How long the counts may take to agree with the runs once the runs have ended (ms): MongoDB's
 * tally of a leader killed mid-batch is finished by a settled leader's sweep (every 10 s) once it
 * is older than the store's `reconcileAfterMs` (30 s); the embedded store agrees at once.
 */
const countsSettleMs = 45_000;

export interface ChaosOptions {
  /** The window the jobs fire in and the chaos runs in, ms (default 600,000: 10 minutes). */
  durationMs?: number;
  /** How many jobs (default 1,000), mixed by index as the module says. */
  jobs?: number;
  /** SIGKILL the leading dispatch-server this often, ms (default 20,000). */
  leaderKillEveryMs?: number;
  /** SIGKILL a random agent this often, ms (default 30,000). */
  agentKillEveryMs?: number;
  /** Every process's ZooKeeper session timeout and the monitors' dead timeout, ms (default 4,000). */
  sessionMs?: number;
  /** Environment that points every process at the store (default none: the SQLite file in the cluster's data dir). */
  storeEnv?: Record<string, string>;
  /** Opens the harness's own handle on that store (default: the SQLite file). */
  openStore?: (dataDir: string) => Promise<Store>;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
  /** Keep the cluster's data directory (store, journals, log files) instead of removing it (default false). */
  keepDir?: boolean;
  /** The processes' log level (default 'warn'). */
  logLevel?: string;
  /** Only these kinds of disruption (default all): to look at one alone. */
  only?: ReadonlyArray<DisruptionKind>;
  /**
   * Every process on a host of its own (default false: all on this machine's loopback): a network
   * namespace each, ZooKeeper and the store (MongoDB: FerretDB, on a host of its own; `storeEnv`
   * and `openStore` are then ignored) too. Needs root (`ip netns`).
   */
  hosts?: boolean;
  /**
   * The disruptions to run instead of the kills, stops and restart above (default: those), given
   * the cluster once its jobs are written; it records each in `cluster.disruptions`. Its answer
   * comes back in the report's `scenario`.
   */
  scenario?: (cluster: ChaosCluster) => Promise<unknown>;
  /** The job mix, job i getting `mix[i % mix.length]` (default {@link defaultMix}: 5 noop, shell, forbid, flaky, once, skip). */
  mix?: readonly Mix[];
  /**
   * Every dispatch-server fires its partitions' share of the jobs (CLOVER_DISPATCH_SHARES=1;
   * default false: one leader fires all). The kills and the stop then take a random server, and a
   * fourth server joins halfway through (see the top of this module).
   */
  shares?: boolean;
}

/** What a scenario may use: the cluster running, its jobs written, the window about to open. */
export interface ChaosCluster {
  /** The window, epoch ms: the jobs fire on every second of [from, to). */
  from: number;
  to: number;
  sessionMs: number;
  servers: readonly string[];
  agents: readonly string[];
  /** The hosts (with `hosts: true`), each process's named for its id, plus `zookeeper`, `store`. */
  network: HostNetwork | null;
  /** The jobs written, by id, each with its kind in the mix. */
  jobs: ReadonlyArray<{ id: string; mix: Mix }>;
  /** An admin's session on the console API. */
  api: ConsoleSession;
  /** Disruptions done so far: a scenario adds each, for the slots it may excuse. */
  disruptions: Disruption[];
  /** The leading dispatch-server as the console sees it, or null. */
  leaderNow: () => Promise<string | null>;
  /** Waits (60 s at most) for a leader other than `old`. @throws when none comes. */
  newLeader(old: string | null): Promise<string>;
  /** The running process of that id. @throws when there is none. */
  process(id: string): ChildHandle;
  /** The agents' journals as they stand. */
  journals(): Promise<JournalLine[]>;
  /**
   * The process's /metrics, read on its own host (so also while the host is cut off).
   * @throws when it does not answer within 5 s.
   */
  metrics(id: string): Promise<Scrape>;
  progress(line: string): void;
}

/** The mix of the 10-minute run: 5 noop, shell, forbid, flaky, once, skip. */
export const defaultMix: readonly Mix[] = ['noop', 'noop', 'noop', 'noop', 'noop', 'shell', 'forbid', 'flaky', 'once', 'skip'];

export type DisruptionKind = 'leader' | 'agent' | 'stop' | 'zookeeper' | 'join';

/** One disruption and the time it may excuse missed slots for: [from, to], epoch ms. */
export interface Disruption {
  what: string;
  from: number;
  to: number;
}

export interface ChaosFigures {
  window: { from: number; to: number };
  jobs: number;
  runs: number;
  runsByStatus: Record<string, number>;
  runsByTrigger: Record<string, number>;
  executionsJournaled: number;
  disruptions: Disruption[];
  leaderKills: number;
  agentKills: number;
  stops: number;
  zooKeeperRestarts: number;
  /** Servers started mid-run beside the others (`shares`: `dispatch-4`). */
  serverJoins: number;
  /** Executions started, by the dispatch-server whose EXEC it was (the journals' `leader`). */
  executionsByServer: Record<string, number>;
}

/** The counts that must all be 0, each with up to 10 examples. */
export interface ChaosZeros {
  executionsStartedTwice: number;
  slotsWithMoreThanOneRun: number;
  slotsMissedBeyondPolicy: number;
  forbidOverlaps: number;
  runsNotFinal: number;
  countersDisagreeing: number;
}

export interface ChaosReport {
  figures: ChaosFigures;
  zeros: ChaosZeros;
  examples: Record<keyof ChaosZeros, string[]>;
  /** What the checks read, for a scenario's own checks. */
  evidence: Evidence;
  /** The scenario's answer (`scenario` option), if any. */
  scenario?: unknown;
}

/**
 * A job's kind in the mix. `slow`: a 4-second `sleep` every 5 s, `forbid`, one retry: a run long
 * enough to be cut off in the middle of.
 */
export type Mix = 'noop' | 'shell' | 'forbid' | 'flaky' | 'once' | 'skip' | 'slow';
/** The slots of a job of that mix, ms apart. */
const periodOf = (mix: Mix) => (mix === 'slow' ? 5000 : 1000);

/** A line of an agent's execution journal (scheduler-client's JournalEntry). */
export interface JournalLine {
  event: 'start' | 'end';
  at: number;
  agentId: string;
  execId: string;
  jobId: string;
  attempt?: number;
  status?: string;
  /** The dispatch-server the EXEC came from (start lines). */
  leader?: string;
}

/**
 * Runs the cluster under chaos for the window, waits for every run of it to end, reads the
 * evidence and answers the report. Everything it started is stopped and removed, whatever
 * happens. Throws when the cluster cannot be brought up or a disruption cannot heal (no leader
 * within 60 s).
 */
export async function runChaos(opts: ChaosOptions = {}): Promise<ChaosReport> {
  const durationMs = opts.durationMs ?? 600_000;
  const jobCount = opts.jobs ?? 1000;
  const leaderKillEveryMs = opts.leaderKillEveryMs ?? 20_000;
  const agentKillEveryMs = opts.agentKillEveryMs ?? 30_000;
  const sessionMs = opts.sessionMs ?? 4000;
  const progress = opts.progress ?? ((line: string) => console.error(`[${new Date().toISOString()}] ${line}`));
  const opened = new CleanupStack();
  const procsSeen = new Map<string, ChildHandle>();
  const servers = ['dispatch-1', 'dispatch-2', 'dispatch-3'];
  /** The server that joins halfway through a `shares` run. */
  const joiner = 'dispatch-4';
  const agents = ['agent-1', 'agent-2', 'agent-3'];
  const monitors = ['monitor-1', 'monitor-2'];
  try {
    let network: HostNetwork | null = null;
    if (opts.hosts) {
      network = await createHostNetwork([
        'zookeeper',
        'store',
        'console',
        ...servers,
        ...(opts.shares ? [joiner] : []),
        ...agents,
        ...monitors,
      ]);
      opened.push('host network', () => network?.close());
    }
    const onHost = (id: string) => (network ? { host: network.host(id).address, command: network.host(id).command } : {});
    const zkServer = await startZooKeeper(onHost('zookeeper'));
    opened.push('ZooKeeper', () => zkServer.cleanup());
    const sink = await startSmtpSink(network ? { host: network.gateway } : {});
    opened.push('SMTP sink', () => sink.stop());
    const dir = await tempDir('clover-chaos-');
    if (opts.keepDir) progress(`keeping the cluster's data and logs in ${dir.path}`);
    else opened.push('temp dir', () => dir.cleanup());
    let storeEnv = opts.storeEnv;
    let storeOf = opts.openStore ?? ((d: string) => openStore({ dataDir: d }));
    if (network) {
      // A store the cut-off hosts cannot reach either: SQLite would be one file every namespace shares.
      const mongo = await startMongo(onHost('store'));
      opened.push('MongoDB (FerretDB)', () => mongo.stop());
      const mongoUrl = mongo.databaseUrl('chaos');
      storeEnv = { CLOVER_MONGO_URL: mongoUrl };
      storeOf = () => openStore({ mongoUrl });
    }
    // The harness's own session, for the cluster's settings and to see every part come up.
    const admin: ZkClient = createZkClient({ connect: zkServer.connectString, sessionTimeoutMs: sessionMs });
    opened.push('admin ZooKeeper session', () => admin.close());
    await within(admin.connect(), 20_000, 'the admin ZooKeeper session');
    await writeClusterConfig(admin, paths, {
      heartbeatIntervalMs: 1000,
      deadTimeoutMs: { servers: sessionMs, clients: sessionMs, monitors: sessionMs },
    });
    const httpPort = await freePort();
    const consoleHost = network?.host('console').address ?? '127.0.0.1';
    const baseUrl = `http://${consoleHost}:${httpPort}`;
    const common: Record<string, string> = {
      CLOVER_ZK: zkServer.connectString,
      CLOVER_ZK_SESSION_TIMEOUT_MS: String(sessionMs),
      CLOVER_HEARTBEAT_MS: '1000',
      // Each bin's /metrics on a free port: nine bins share this machine. On hosts, one port each.
      CLOVER_METRICS_PORT: network ? String(metricsPort) : '0',
      // The agents follow a leader on another host's address, without CURVE keys, on a private bridge.
      ...(network ? { CLOVER_INSECURE_PLAINTEXT: 'true' } : {}),
      CLOVER_DATA_DIR: dir.path,
      CLOVER_LOG_DIR: path.join(dir.path, 'logs'),
      CLOVER_LOG_LEVEL: opts.logLevel ?? 'warn',
      ...storeEnv,
    };
    const procs = new Map<string, ChildHandle>();
    opened.push('processes', () => cleanUp([...procs].map(([id, p]) => [id, () => p.kill('SIGKILL')] as const)));
    const env = new Map<string, Record<string, string>>();
    const pkgOf = new Map<string, string>();
    const start = (id: string): ChildHandle => {
      const cmd = network?.host(id).command ?? ((c: string, a: readonly string[]): [string, string[]] => [c, [...a]]);
      const child = spawnProcess(...cmd(process.execPath, [bin(pkgOf.get(id)!)]), {
        name: id,
        cwd: repoRoot,
        env: { ...common, CLOVER_NODE_ID: id, ...env.get(id) },
      });
      procs.set(id, child);
      procsSeen.set(id, child);
      return child;
    };
    const define = (id: string, pkg: string, extra: Record<string, string> = {}) => {
      pkgOf.set(id, pkg);
      env.set(id, extra);
    };
    for (const id of [...servers, ...(opts.shares ? [joiner] : [])])
      define(id, 'dispatch-server', {
        CLOVER_DISPATCH_BIND: network ? `tcp://${network.host(id).address}:7000` : `tcp://127.0.0.1:${await freePort()}`,
        ...(opts.shares ? { CLOVER_DISPATCH_SHARES: '1' } : {}),
      });
    for (const id of agents)
      define(id, 'scheduler-client', {
        CLOVER_EXEC_JOURNAL: path.join(dir.path, 'journals', `${id}.jsonl`),
        CLOVER_ALLOW_SHELL: 'true',
        CLOVER_DATA_DIR: path.join(dir.path, id),
      });
    for (const id of monitors)
      define(id, 'monitor', { CLOVER_SMTP_URL: sink.url, CLOVER_MAIL_FROM: 'clover@chaos.test', CLOVER_CONSOLE_URL: baseUrl });
    define('console', 'console-api', {
      CLOVER_HTTP_PORT: String(httpPort),
      CLOVER_HTTP_HOST: consoleHost,
      CLOVER_ADMIN_PASSWORD: 'chaos-admin-pw',
    });
    for (const id of [...servers, ...monitors, ...agents, 'console']) start(id);
    await waitForHealth(baseUrl, 90_000);
    for (const id of agents)
      await waitFor(() => admin.exists(paths.node('clients', id)), { timeoutMs: 60_000, message: `${id} registered` });
    await waitFor(async () => (await admin.children(paths.electionDispatch)).length === servers.length, {
      timeoutMs: 60_000,
      message: 'every dispatch-server in the election',
    });
    const store = await storeOf(dir.path);
    opened.push('store', () => store.close());
    const api = await ConsoleSession.login(baseUrl, 'admin', 'chaos-admin-pw');
    /**
     * Sharing: whether every partition is owned by one of `ids` and each of them owns some, by
     * the servers' heartbeats (`shares: { partitions, of }`) as the console reads them.
     */
    const sharesSettled = async (ids: readonly string[]): Promise<boolean> => {
      // The machine list reads the heartbeat znodes alone (the node list would read every partition's too).
      const machines = await api.call<{ items: Machine[] }>('GET', '/api/machines').catch(() => null);
      const share = new Map<string, { partitions: number; of: number }>();
      for (const m of machines?.items ?? []) if (m.kind === 'servers' && m.state === 'up' && m.share) share.set(m.id, m.share);
      const of = share.get(ids[0] ?? '')?.of;
      if (!of || !ids.every((id) => (share.get(id)?.partitions ?? 0) > 0)) return false;
      return ids.reduce((sum, id) => sum + share.get(id)!.partitions, 0) === of;
    };
    /**
     * Who holds the partitions, by their owner znodes as the console reads them: per owner and
     * session, how many, and whether that session is a live member's; then the servers' shares by
     * their heartbeats. What a failed wait for the shares prints, since CI keeps no logs.
     */
    const ownershipNow = async (): Promise<string> => {
      const nodes = await api.call<{ items: NodeView[] }>('GET', '/api/nodes');
      const members = new Map<string, string>();
      const holders = new Map<string, number>();
      for (const n of nodes.items) {
        const d = (n.data ?? {}) as { id?: unknown; owner?: unknown; session?: unknown };
        if (n.path.startsWith(`${paths.partitions}/members/`)) members.set(String(d.session), String(d.id));
      }
      for (const n of nodes.items) {
        if (!n.path.startsWith(`${paths.partitions}/owners/`)) continue;
        const d = (n.data ?? {}) as { owner?: unknown; session?: unknown };
        const key =
          typeof d.owner === 'string'
            ? `${d.owner} (session ${String(d.session)}, ${members.has(String(d.session)) ? 'live' : 'ended'})`
            : 'free';
        holders.set(key, (holders.get(key) ?? 0) + 1);
      }
      const machines = await api.call<{ items: Machine[] }>('GET', '/api/machines');
      const shares = machines.items.filter((m) => m.kind === 'servers').map((m) => `${m.id} ${m.state} ${JSON.stringify(m.share ?? null)}`);
      return `owner znodes: ${JSON.stringify(Object.fromEntries(holders))}; members: ${JSON.stringify(Object.fromEntries(members))}; heartbeats: ${shares.join(', ')}`;
    };
    /** Waits (60 s at most, by default) until `sharesSettled(ids)`. @throws naming `what`, and who holds what, when they do not. */
    const untilShares = (ids: readonly string[], what: string, timeoutMs = 60_000) =>
      waitFor(() => sharesSettled(ids), { timeoutMs, intervalMs: 100, message: what }).catch(async (err: unknown) => {
        const state = await within(ownershipNow(), 30_000, 'the ownership read').catch((e: unknown) => `unread: ${String(e)}`);
        throw new Error(`${(err as Error).message}; ${state}`);
      });
    // The servers came up one after another, each taking its share from those before it: the
    // window opens once the shares have settled.
    if (opts.shares) await untilShares(servers, 'every partition owned, each server a share', 90_000);

    // The window opens once every job is written (about 10 ms a job through the API), on a second.
    const from = Math.ceil((Date.now() + 5000 + jobCount * 15) / 1000) * 1000;
    const to = from + durationMs;
    const window = { startAt: new Date(from).toISOString(), endAt: new Date(to - 1000).toISOString() };
    const jobs: Array<{ id: string; mix: Mix; createdAt: number }> = [];
    const mixes = opts.mix ?? defaultMix;
    for (let i = 0; i < jobCount; i++) {
      const mix = mixes[i % mixes.length]!;
      const every = { type: 'cron', expr: '* * * * * *' };
      const spec = {
        noop: { schedule: every, kind: { type: 'handler', name: 'noop' } },
        shell: { schedule: every, kind: { type: 'shell', command: 'true' } },
        forbid: { schedule: every, kind: { type: 'handler', name: 'sleep' }, payload: { ms: 1500 }, concurrency: 'forbid' },
        flaky: {
          schedule: every,
          kind: { type: 'handler', name: 'flaky' },
          payload: { failRate: 0.5 },
          retries: { max: 2, backoffMs: 200, factor: 2, maxBackoffMs: 1000 },
        },
        once: {
          schedule: { type: 'once', at: new Date(from + 1000 * Math.floor(Math.random() * (durationMs / 1000 - 1))).toISOString() },
          kind: { type: 'handler', name: 'noop' },
        },
        skip: { schedule: every, kind: { type: 'handler', name: 'noop' }, misfire: 'skip' },
        slow: {
          schedule: { type: 'cron', expr: '*/5 * * * * *' },
          kind: { type: 'handler', name: 'sleep' },
          payload: { ms: 4000 },
          concurrency: 'forbid',
          retries: { max: 1, backoffMs: 200, factor: 2, maxBackoffMs: 1000 },
        },
      }[mix];
      const job = await api.call<Job>('POST', '/api/jobs', {
        name: `chaos-${mix}-${i}`,
        ...spec,
        timeoutMs: 10_000,
        ...(mix === 'once' ? {} : { window }),
        deleteWhenDone: false,
      });
      jobs.push({ id: job.id, mix, createdAt: Date.now() });
    }
    if (Date.now() > from - 1000) progress('warning: the set-up ran into the window');
    progress(`${jobCount} jobs written; window ${new Date(from).toISOString()} → ${new Date(to).toISOString()}`);

    // The disruptions, one after another, each healed before the next.
    const disruptions: Disruption[] = [];
    const agentKillsAt = new Map<string, number[]>();
    const counts = { leaderKills: 0, agentKills: 0, stops: 0, zooKeeperRestarts: 0, serverJoins: 0 };
    // Sharing, every server fires: a kill or a stop takes any of those running.
    const firing = [...servers];
    const anyServer = () => firing[Math.floor(Math.random() * firing.length)]!;
    // The leader as the cluster's console sees it: the server whose heartbeat says it leads, the
    // freshest one if a dead leader's znode still lingers. Read through the console-api process,
    // not a ZooKeeper session of the harness's own (see the ZooKeeper restart below).
    const leaderNow = async (): Promise<string | null> => {
      const nodes = await api.call<{ items: NodeView[] }>('GET', '/api/nodes').catch(() => null);
      const leading = (nodes?.items ?? [])
        .filter((n) => n.path.startsWith(`${paths.root}/nodes/servers/`) && (n.data as { leader?: unknown } | null)?.leader === true)
        .sort((a, b) => (a.ageMs ?? Infinity) - (b.ageMs ?? Infinity));
      return leading[0]?.id ?? null;
    };
    const newLeader = (old: string | null) =>
      waitFor(
        async () => {
          const l = await leaderNow();
          return l && l !== old ? l : null;
        },
        { timeoutMs: 60_000, intervalMs: 20, message: 'a new dispatch leader' },
      );
    // A new leader holds its first fires until its agents say HELLO (electionSettleMs, 3 s): the
    // slots of the gap are the misfire policy's from then, with a second of slack.
    const healedAfterElectionMs = 4000;
    const readJournals = async () => {
      const lines: JournalLine[] = [];
      for (const id of agents) {
        const text = await readFile(path.join(dir.path, 'journals', `${id}.jsonl`), 'utf8').catch(() => '');
        for (const line of text.split('\n')) if (line) lines.push(JSON.parse(line) as JournalLine);
      }
      return lines;
    };
    const cluster: ChaosCluster = {
      from,
      to,
      sessionMs,
      servers,
      agents,
      network,
      jobs,
      api,
      disruptions,
      leaderNow,
      newLeader,
      process: (id) => {
        const p = procs.get(id);
        if (!p) throw new Error(`no process ${id}`);
        return p;
      },
      journals: readJournals,
      metrics: async (id) => {
        if (!network) throw new Error('metrics(id) reads a host of its own: only with hosts: true');
        // From inside the host's namespace, over its loopback: it answers while the host is cut off.
        const { stdout } = await run(
          ...network.host(id).command('curl', ['-sf', '--max-time', '4', `http://127.0.0.1:${metricsPort}/metrics`]),
          {
            timeout: 5000,
          },
        );
        return parseMetrics(stdout);
      },
      progress,
    };
    type Event = { at: number; kind: DisruptionKind };
    const events: Event[] = [];
    if (!opts.scenario) {
      for (let t = from + leaderKillEveryMs; t < to - 5000; t += leaderKillEveryMs) events.push({ at: t, kind: 'leader' });
      for (let t = from + agentKillEveryMs; t < to - 5000; t += agentKillEveryMs) events.push({ at: t + 5000, kind: 'agent' });
      events.push({ at: from + Math.round(durationMs * 0.35) + 2500, kind: 'stop' });
      events.push({ at: from + Math.round(durationMs * 0.7) + 7500, kind: 'zookeeper' });
      if (opts.shares) events.push({ at: from + Math.round(durationMs * 0.5) + 10_000, kind: 'join' });
      events.sort((a, b) => a.at - b.at);
    }
    const scenario = await opts.scenario?.(cluster);
    for (const e of events) {
      if (e.at >= to - 3000 || (opts.only && !opts.only.includes(e.kind))) continue;
      await sleep(e.at - Date.now());
      const t0 = Date.now();
      if (e.kind === 'leader' && opts.shares) {
        // Its partitions go to the others once its session has expired (within the session and a
        // second), then it comes back and takes a share again.
        const victim = anyServer();
        await procs.get(victim)!.kill('SIGKILL');
        const others = firing.filter((id) => id !== victim);
        await untilShares(others, `${victim}'s partitions taken over`);
        const takenOverMs = Date.now() - t0;
        start(victim);
        await untilShares(firing, `${victim} back with a share`);
        disruptions.push({
          what: `SIGKILL server ${victim} (its partitions taken over in ${takenOverMs} ms), started again`,
          from: t0,
          to: Date.now() + healedAfterElectionMs,
        });
        counts.leaderKills++;
      } else if (e.kind === 'join') {
        start(joiner);
        firing.push(joiner);
        await untilShares(firing, `${joiner} with a share`);
        disruptions.push({ what: `${joiner} joins (a share in ${Date.now() - t0} ms)`, from: t0, to: Date.now() + healedAfterElectionMs });
        counts.serverJoins++;
      } else if (e.kind === 'leader') {
        const leader = await leaderNow();
        if (!leader) continue;
        await procs.get(leader)!.kill('SIGKILL');
        const next = await newLeader(leader);
        disruptions.push({ what: `SIGKILL leader ${leader} → ${next}`, from: t0, to: Date.now() + healedAfterElectionMs });
        counts.leaderKills++;
        start(leader);
      } else if (e.kind === 'agent') {
        const victim = agents[Math.floor(Math.random() * agents.length)]!;
        await procs.get(victim)!.kill('SIGKILL');
        agentKillsAt.set(victim, [...(agentKillsAt.get(victim) ?? []), Date.now()]);
        counts.agentKills++;
        start(victim);
        progress(`SIGKILL agent ${victim}`);
        continue;
      } else if (e.kind === 'stop') {
        // Longer than its session: another server leads (or owns its partitions), and this one must
        // fire nothing once it may no longer lead (own them).
        const leader = opts.shares ? anyServer() : await leaderNow();
        if (!leader) continue;
        const pid = procs.get(leader)!.pid;
        process.kill(pid, 'SIGSTOP');
        const next = opts.shares ? 'the others' : await newLeader(leader);
        if (opts.shares)
          await untilShares(
            firing.filter((id) => id !== leader),
            `${leader}'s partitions taken over`,
          );
        await sleep(t0 + sessionMs * 2 - Date.now());
        process.kill(pid, 'SIGCONT');
        // Sharing, it finds its session gone, joins again and takes a share back.
        if (opts.shares) await untilShares(firing, `${leader} back with a share`);
        disruptions.push({
          what: `SIGSTOP leader ${leader} for ${Date.now() - t0} ms → ${next}`,
          from: t0,
          to: Date.now() + healedAfterElectionMs,
        });
        counts.stops++;
      } else {
        // The harness's own session ends before the restart: in this process (which spawns the
        // ZooKeeper server) no session of the npm binding, old or new, answered after it
        // ("zookeeper_process returned no response too many times"), while every process of the
        // cluster recovered; the leader is read through the console from here on anyway.
        await admin.close().catch(() => undefined);
        await zkServer.stop();
        await sleep(2000);
        await zkServer.start();
        const leader = await waitFor(leaderNow, { timeoutMs: 60_000, intervalMs: 50, message: 'a leader after ZooKeeper came back' });
        disruptions.push({
          what: `ZooKeeper stopped and started (leader then ${leader})`,
          from: t0,
          to: Date.now() + sessionMs + healedAfterElectionMs,
        });
        counts.zooKeeperRestarts++;
      }
      progress(disruptions.at(-1)?.what ?? e.kind);
    }
    await sleep(to - Date.now());
    progress('window over; waiting for its runs to end');
    const jobIds = new Set(jobs.map((j) => j.id));
    const readRuns = async () =>
      (
        await followCursor((cursor) => store.runs.list({ from: new Date(from - 60_000), limit: 1000, cursor }), {
          maxPages: 100_000,
          what: 'the chaos runs',
        })
      ).flatMap((p) => p.items.filter((r) => jobIds.has(r.jobId)));
    // Ends by the job timeout (10 s), a lost agent's grace (12 s) and the retries' backoff.
    await waitFor(async () => !(await store.runs.listActive()).some((r) => jobIds.has(r.jobId)), {
      timeoutMs: 90_000,
      intervalMs: 1000,
      message: 'every run of the window over',
    }).catch(() => progress('runs still active 90 s after the window: counted as not final'));
    const runs = await readRuns();
    const journals = await readJournals();
    const readCounts = async () => {
      const jobRows = new Map<string, Job>();
      const counters = new Map<string, Record<string, number>>();
      for (const j of jobs) {
        const row = await store.jobs.get(j.id);
        if (row) jobRows.set(j.id, row);
        const s = await store.counters.summary({ from: new Date(from - 3_600_000), to: new Date(to + 3_600_000), jobId: j.id });
        counters.set(j.id, s.totals);
      }
      return checkChaos({ from, to, jobs, runs, journals, jobRows, counters, disruptions, agentKillsAt, counts });
    };
    let report = await readCounts();
    // MongoDB's counts are eventually consistent: a leader killed mid-batch leaves a tally that
    // the next settled leader finishes once it is older than the store's reconcileAfterMs (30 s),
    // at its next sweep (10 s). The counts are read again until they agree, within that bound.
    const countsSettleBy = Date.now() + countsSettleMs;
    while (report.zeros.countersDisagreeing && Date.now() < countsSettleBy) {
      await sleep(2000);
      report = await readCounts();
    }
    if (report.zeros.countersDisagreeing) progress(`counts still disagree ${countsSettleMs / 1000} s after the runs ended`);
    return opts.scenario ? { ...report, scenario } : report;
  } catch (err) {
    // What each process said last, to see why.
    for (const [id, p] of procsSeen) progress(`--- ${id} (last lines) ---\n${p.output().split('\n').slice(-15).join('\n')}`);
    throw err;
  } finally {
    await opened.close();
  }
}

/** What {@link checkChaos} reads: the window, the jobs, the store's runs, the agents' journals, the counters. */
/**
 * Fails (AssertionError) unless every count of `report.zeros` is 0, naming the examples of each
 * that is not: the check every chaos test ends with.
 */
export function assertNoFaults(report: ChaosReport): void {
  const none: ChaosZeros = {
    executionsStartedTwice: 0,
    slotsWithMoreThanOneRun: 0,
    slotsMissedBeyondPolicy: 0,
    forbidOverlaps: 0,
    runsNotFinal: 0,
    countersDisagreeing: 0,
  };
  assert.deepEqual(report.zeros, none, JSON.stringify(report.examples, null, 1));
}

export interface Evidence {
  from: number;
  to: number;
  /** The jobs, and when the console answered each one's creation (epoch ms): a slot before that is no job's yet. */
  jobs: Array<{ id: string; mix: Mix; createdAt: number }>;
  runs: Run[];
  journals: JournalLine[];
  jobRows: Map<string, Job>;
  counters: Map<string, Record<string, number>>;
  disruptions: Disruption[];
  agentKillsAt: Map<string, number[]>;
  counts: { leaderKills: number; agentKills: number; stops: number; zooKeeperRestarts: number; serverJoins: number };
}

const tally = <T>(items: T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
};

/** Reads the evidence against the rules; exported so its rules can be tested on made-up evidence. */
export function checkChaos(e: Evidence): ChaosReport {
  const examples: Record<keyof ChaosZeros, string[]> = {
    executionsStartedTwice: [],
    slotsWithMoreThanOneRun: [],
    slotsMissedBeyondPolicy: [],
    forbidOverlaps: [],
    runsNotFinal: [],
    countersDisagreeing: [],
  };
  const zeros: ChaosZeros = {
    executionsStartedTwice: 0,
    slotsWithMoreThanOneRun: 0,
    slotsMissedBeyondPolicy: 0,
    forbidOverlaps: 0,
    runsNotFinal: 0,
    countersDisagreeing: 0,
  };
  const count = (k: keyof ChaosZeros, example: string, n = 1) => {
    zeros[k] += n;
    if (examples[k].length < 25) examples[k].push(example);
  };
  const starts = e.journals.filter((l) => l.event === 'start');

  // 1. An execution id started more than once, on any agent, in any life of it.
  for (const [execId, n] of Object.entries(tally(starts, (l) => l.execId)))
    if (n > 1) count('executionsStartedTwice', `${execId} started ${n} times`);

  // 2. More than one run for one slot of one job.
  const bySlot = new Map<string, Run[]>();
  for (const r of e.runs) {
    const k = `${r.jobId}@${r.scheduledAt.getTime()}`;
    bySlot.set(k, [...(bySlot.get(k) ?? []), r]);
  }
  for (const [k, rs] of bySlot) if (rs.length > 1) count('slotsWithMoreThanOneRun', `${k}: ${rs.map((r) => r.id).join(', ')}`);

  // 3. Slots missed beyond the misfire policy. A slot may go without a run only inside a
  //    disruption; under `fire_once` the gap then ends in one run with trigger `misfire` at the
  //    gap's last slot, under `skip` in none. A one-shot has exactly one run.
  //    A slot is excused inside a disruption (from a second before it), and also next to one
  //    (5 s before, 10 s after) when the whole cluster lost it: fewer than half the every-second
  //    jobs have a run for it. That is a dying leader's last fires whose rows never reached the
  //    store, and a new leader's first seconds while it reads a slow store; each job's gap must
  //    still end as its policy says (below). On SQLite both last milliseconds; on MongoDB, with
  //    its writes seconds behind under chaos, they take whole seconds (bench/README, MongoDB).
  const everySecond = e.jobs.filter((j) => j.mix !== 'once' && periodOf(j.mix) === 1000).length;
  const runsAt = new Map<number, number>();
  for (const r of e.runs) runsAt.set(r.scheduledAt.getTime(), (runsAt.get(r.scheduledAt.getTime()) ?? 0) + 1);
  const clusterLost = (t: number) => (runsAt.get(t) ?? 0) < everySecond / 2;
  // A stall: a leader whose store stopped taking its writes some seconds before it was killed
  //    (on MongoDB under overload, 10 s in the 14:36 run), seen as every second from some point up
  //    to the disruption lost by the whole cluster (at most 30 s back). Its seconds are excused,
  //    and so is the one before it: a `forbid` job's skip is written at its slot, not claimed
  //    ahead, so the stall's first moment caught that row where the other jobs' claims had landed.
  const stalled = new Set<number>();
  for (const d of e.disruptions) {
    let t = Math.ceil((d.from - 1000) / 1000) * 1000 - 1000;
    let lost = 0;
    for (; lost < 30 && clusterLost(t); lost++, t -= 1000) stalled.add(t);
    if (lost > 0) stalled.add(t);
  }
  const excused = (t: number) =>
    stalled.has(t) ||
    e.disruptions.some((d) => (t >= d.from - 1000 && t <= d.to) || (t >= d.from - 5000 && t <= d.to + 10_000 && clusterLost(t)));
  // The slots a new leader found missed, by its `fire_once` jobs' misfire runs: each such run is
  // the last slot missed of its job's gap. A `skip` job's slots up to it went by its policy, even
  // past the disruption's recorded end (a leader is known before it has read a slow store and
  // fired: the MongoDB run, 10 skip jobs each missing the second before the new leader's first).
  const misfireRunsAt = e.runs.filter((r) => r.trigger === 'misfire').map((r) => r.scheduledAt.getTime());
  const missedByTakeover = (t: number) =>
    e.disruptions.some((d) => t >= d.from - 5000 && misfireRunsAt.some((m) => m >= t && m >= d.from && m <= d.to + 10_000));
  const runsOf = new Map<string, Run[]>();
  for (const r of e.runs) runsOf.set(r.jobId, [...(runsOf.get(r.jobId) ?? []), r]);
  for (const job of e.jobs) {
    const rs = runsOf.get(job.id) ?? [];
    if (job.mix === 'once') {
      if (rs.length !== 1) count('slotsMissedBeyondPolicy', `one-shot ${job.id}: ${rs.length} runs`);
      continue;
    }
    const at = new Map(rs.map((r) => [r.scheduledAt.getTime(), r]));
    for (const r of rs)
      if (job.mix === 'skip' && r.trigger === 'misfire') count('slotsMissedBeyondPolicy', `${r.id}: a misfire run of a misfire=skip job`);
    let gap: number[] = [];
    const period = periodOf(job.mix);
    // A loaded machine writes the jobs into the window's first seconds: a slot that came before
    // its job was created (and the second its leader needs to hear of it) is no miss.
    const first = Math.max(e.from, job.createdAt + 1000);
    for (let s = Math.ceil(first / period) * period; s < e.to; s += period) {
      if (!at.has(s)) {
        gap.push(s);
        continue;
      }
      if (gap.length) {
        const closing = at.get(s)!;
        // A gap the new leader's own misfire run for this job closes, begun at most 5 s before
        // the disruption: the dying leader's last rows of this job never landed (its writes
        // seconds behind on MongoDB), and the next leader's misfire policy covered them.
        const closedByTakeover =
          closing.trigger === 'misfire' && e.disruptions.some((d) => gap[0]! >= d.from - 5000 && s >= d.from && s <= d.to + 10_000);
        // The rows either side say what the server did about the gap (a skip, a misfire, whose term).
        const side = (r: Run | undefined) =>
          r
            ? `${r.scheduledAt.toISOString().slice(11, 23)} ${r.trigger} ${r.status} term ${r.leaderTerm ?? '-'}${r.error ? ` "${r.error.slice(0, 60)}"` : ''}`
            : 'none';
        const before = at.get(gap[0]! - period);
        for (const g of gap)
          if (!excused(g) && !(job.mix === 'skip' ? missedByTakeover(g) : closedByTakeover))
            count(
              'slotsMissedBeyondPolicy',
              `${job.id}@${new Date(g).toISOString()}: no run, outside any disruption (before: ${side(before)}; after: ${side(closing)})`,
            );
        // Under fire_once, the run that ends the gap is its misfire (the latest slot missed); a
        // retried run's trigger says 'retry' from its second attempt on, whatever fired it first.
        if (job.mix !== 'skip' && closing.trigger !== 'misfire' && !(closing.trigger === 'retry' && closing.attempt > 1))
          count(
            'slotsMissedBeyondPolicy',
            `${closing.id}: ends a gap of ${gap.length} missed slot(s) as '${closing.trigger}', not 'misfire'`,
            gap.length,
          );
        gap = [];
      }
    }
    for (const g of gap)
      if (!excused(g)) count('slotsMissedBeyondPolicy', `${job.id}@${new Date(g).toISOString()}: no run at the window's end`);
  }

  // 4. forbid: no two executions of one job overlap, by the agents' own journals. An execution
  //    whose agent was SIGKILLed has no end line: it ended with its agent.
  const ends = new Map(e.journals.filter((l) => l.event === 'end').map((l) => [l.execId, l.at]));
  const forbidJobs = new Set(e.jobs.filter((j) => j.mix === 'forbid' || j.mix === 'slow').map((j) => j.id));
  const spans = new Map<string, Array<{ execId: string; from: number; to: number }>>();
  for (const s of starts) {
    if (!forbidJobs.has(s.jobId)) continue;
    const end = ends.get(s.execId) ?? (e.agentKillsAt.get(s.agentId) ?? []).find((k) => k >= s.at) ?? Infinity;
    spans.set(s.jobId, [...(spans.get(s.jobId) ?? []), { execId: s.execId, from: s.at, to: end }]);
  }
  for (const [jobId, list] of spans) {
    list.sort((a, b) => a.from - b.from);
    // The execution still open the longest among those started before: any later start before its end overlaps it.
    let open = list[0];
    for (const span of list.slice(1)) {
      if (open && span.from < open.to)
        count('forbidOverlaps', `${jobId}: ${span.execId} started ${open.to - span.from} ms before ${open.execId} ended`);
      if (!open || span.to > open.to) open = span;
    }
  }

  // 5. Every run of the window over.
  const final = new Set<string>(terminalStatuses);
  for (const r of e.runs) if (!final.has(r.status)) count('runsNotFinal', `${r.id}: ${r.status}`);

  // 6. Counters: the hourly counters hold every final run; the job's failure count its failed,
  //    timed-out and lost runs; its run count every final run but those skipped at their fire
  //    (`forbid`, or a job changed before its slot: "skipped: …"), which no execution ended.
  const failing = new Set<string>(failureStatuses);
  for (const job of e.jobs) {
    const rs = (runsOf.get(job.id) ?? []).filter((r) => final.has(r.status));
    const row = e.jobRows.get(job.id);
    const byStatus = tally(rs, (r) => r.status);
    const counted = e.counters.get(job.id) ?? {};
    for (const s of new Set([...Object.keys(byStatus), ...Object.keys(counted)]))
      if ((byStatus[s] ?? 0) !== (counted[s] ?? 0))
        count('countersDisagreeing', `${job.id} hourly counters: ${s} ${counted[s] ?? 0}, runs ${byStatus[s] ?? 0}`);
    if (!row) {
      count('countersDisagreeing', `${job.id}: the job is gone`);
      continue;
    }
    const failures = rs.filter((r) => failing.has(r.status)).length;
    const ran = rs.filter((r) => !(r.status === 'skipped' && (r.error ?? '').startsWith('skipped:'))).length;
    if (row.failureCount !== failures) count('countersDisagreeing', `${job.id} failureCount ${row.failureCount}, failed runs ${failures}`);
    if (row.runCount !== ran) count('countersDisagreeing', `${job.id} runCount ${row.runCount}, runs that ended ${ran}`);
  }

  return {
    evidence: e,
    figures: {
      window: { from: e.from, to: e.to },
      jobs: e.jobs.length,
      runs: e.runs.length,
      runsByStatus: tally(e.runs, (r) => r.status),
      runsByTrigger: tally(e.runs, (r) => r.trigger),
      executionsJournaled: starts.length,
      executionsByServer: tally(starts, (l) => l.leader ?? 'unknown'),
      disruptions: e.disruptions,
      ...e.counts,
    },
    zeros,
    examples,
  };
}
