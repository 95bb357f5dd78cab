import type { CloverPaths, ZkClient } from '@clover/zk-kit';
import type { ClientCurve } from '@clover/protocol';
import type { Logger, Metrics } from '@clover/telemetry';
import type { EgressPolicy } from './executors/egress.js';

/** What a registered handler gets for one execution. */
export interface HandlerContext {
  execId: string;
  jobId: string;
  jobName: string;
  attempt: number;
  payload: unknown;
  scheduledAt: Date;
  deadline: Date;
  /** Aborted on deadline, cancel or shutdown: stop work and return. */
  signal: AbortSignal;
  /** Adds a line to the output tail the console shows. */
  log(line: string): void;
}

export type Handler = (ctx: HandlerContext) => unknown;

export interface AgentOptions {
  /** A ZooKeeper connect string ('memory[:name]' for in-process), or a client the agent will not close. */
  zk: string | ZkClient;
  paths?: CloverPaths;
  id: string;
  groups?: string[];
  tags?: string[];
  /**
   * Executions at once, of every kind (default 64): what HELLO tells the leader, the one number it
   * fills. An execution past it is refused `at_capacity`.
   */
  capacity?: number;
  /**
   * Shell executions at once, each a child process (default: the host's cores,
   * `os.availableParallelism()`, at least 2; never more than `capacity`). A shell execution past
   * it is refused `at_capacity` too, while handlers and HTTP calls still start up to `capacity`.
   */
  processCapacity?: number;
  /**
   * Whether shell jobs may run here (default false). An agent is a machine for running commands
   * for whoever may create jobs, so running them is this host's own opt-in (issue 21); an agent
   * without it refuses them (`unsupported`) and the leader offers them to another.
   */
  shell?: boolean;
  /**
   * When set, only these executables may run as shell jobs: the job's `command` (spawned without a
   * shell, its `args` passed as they are) must equal one of them exactly, so list absolute paths
   * (`/opt/jobs/backup.sh`). Listing an interpreter (`sh`, `bash`, `python3`) admits whatever it is
   * asked to run. Another command fails with an error naming this setting. Default: any command,
   * when `shell` is on.
   */
  shellCommands?: readonly string[];
  /** Whether http jobs may run here (default false; see `shell`). */
  http?: boolean;
  /**
   * The least time between two OUTPUT frames of one running execution, in ms (default 250): its
   * output streams to the leader, and on to its run page, while it runs (docs/protocol.md,
   * OUTPUT). 0 sends none; the RESULT's `outputTail` still carries the end.
   */
  outputIntervalMs?: number;
  /**
   * Where http jobs may go (default: public addresses only, any URL): see {@link EgressPolicy}.
   * The rule holds after DNS resolution and on every redirect.
   */
  httpEgress?: EgressPolicy;
  /**
   * CURVE keys: this agent's pair and the dispatch-servers' public key, which it pins: a server
   * that cannot prove it holds the matching secret key gets no connection, whatever endpoint the
   * election znode names.
   */
  curve?: ClientCurve;
  /**
   * Without `curve`, an agent connects only to leaders on this machine (loopback, ipc); set this to
   * follow a leader elsewhere in plaintext, where anyone who can write to ZooKeeper can point it at
   * a server of their own (default false; docs/security.md).
   */
  insecurePlaintext?: boolean;
  logger?: Logger;
  /** Where its metrics go (AgentMetrics: executions running, started, finished, duration...); default: nowhere. */
  metrics?: Metrics;
  heartbeatIntervalMs?: number;
  /** How long close() waits for running executions (default 30 s). */
  drainTimeoutMs?: number;
  /** Reported in HELLO and the heartbeat; at most LIMITS.versionChars (64) characters. */
  version?: string;
  /**
   * A directory this agent may write to (created if missing). With it, each running shell
   * execution's process group is recorded under `<dataDir>/process-groups/`, and start() kills
   * what an earlier life of the agent left running there before its first HELLO, and reports
   * it (Linux: it reads /proc). Default: none, nothing recorded.
   */
  dataDir?: string;
  /**
   * A file to append a JSON line to as each execution starts (before it begins) and ends, on
   * this host, whatever the leader or the store hear (ExecJournal, journal.ts; CLOVER_EXEC_JOURNAL).
   * Default: none. The agent fails to construct when the file cannot be opened for appending.
   */
  journal?: string;
  /**
   * Whether the process groups of shell executions die with the agent, whatever its death, even
   * SIGKILL (default true): one `sh` helper per agent kills them when the agent's pipe to it
   * closes. Turn off only where no `/bin/sh` exists; the data directory's records still catch
   * them at the next start.
   */
  groupReaper?: boolean;
}
