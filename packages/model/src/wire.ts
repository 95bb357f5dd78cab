/**
 * The console API's JSON, as types: what each route answers and takes (docs/console-api.md).
 * The server builds these shapes with `Date`s; `Wire<T>` is the same shape as the client
 * receives it, every `Date` an ISO-8601 string (`Wire<Run>`, `Wire<Page<Job>>`).
 *
 * This module and the ones it re-exports hold no zod code: the console imports
 * `@clover/model/wire` (types with `import type`, plus the value lists and `ApiError`), so its
 * bundle stays free of schemas. The types are derived from the zod schemas (`z.infer`) in the
 * modules they name, imported here as types only.
 */
import type { DstShift } from './cronTime.js';
import type { ApiToken, Contact, Incident, LogEntry, OutboxMail, User } from './entities.js';
import type { Job, RunStatus } from './job.js';
import type { Run } from './run.js';
import type { MailLanguage } from './lists.js';

export * from './lists.js';
export * from './apiError.js';
export type { Job, JobInput, JobKind, JobSpec, RetryPolicy, Routing, RunStatus, Schedule, Target } from './job.js';
export type { Run } from './run.js';
export type { AuditEntry, Contact, ContactInput, Grant, Incident, LogEntry, LogLevel, OutboxMail, Role, User } from './entities.js';
export type { DstShift } from './cronTime.js';
export type { ClusterConfigBody, CronPreviewBody, LoginBody, NewTokenBody, NewUserBody, PutNodeBody } from './requests.js';

/** GET /api/config: the cluster settings (ms), the node's version (-1: not written yet, the defaults shown), and the defaults. */
export interface ClusterSettings {
  config: {
    heartbeatIntervalMs: number;
    deadTimeoutMs: { servers: number; clients: number; monitors: number };
    /** Absent: each monitor's own setting. */
    quietPeriodMs?: number;
    digestWindowMs?: number;
    language?: MailLanguage;
  };
  version: number;
  defaults: ClusterSettings['config'];
}

/** `T` as JSON carries it: every `Date` (however deep) an ISO-8601 string. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer E)[]
    ? Wire<E>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** A listing that pages: pass `nextCursor` back as `cursor`; null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
/** A listing that comes whole. */
export interface Items<T> {
  items: T[];
}
/** The answer of a change that returns nothing else. */
export interface Ok {
  ok: true;
}

/** GET /api/health (503 with `degraded` when the store does not answer). */
export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  uptimeSec: number;
  zk: 'connected' | 'disconnected';
  store: 'ok' | 'error';
}

/** A user as the API shows one: never the password hash. */
export type UserView = Pick<User, 'name' | 'role' | 'grants' | 'disabled'>;
/** POST /api/auth/login, GET /api/auth/me */
export interface SignedIn {
  user: UserView;
}
/** POST /api/auth/tokens: the token, shown this once (only its hash is kept). */
export interface TokenCreated {
  token: string;
  /** The id to revoke it by (DELETE /api/auth/tokens/:id). */
  id: string;
}
/** An API token as GET /api/auth/tokens lists one: never the token or its hash. */
export type TokenView = Pick<ApiToken, 'id' | 'name' | 'user' | 'createdAt'>;

/** An upcoming fire; `shifted` only when daylight saving time moved it (`gap`, `fold`: see `previewFireTimes`). */
export interface UpcomingFire {
  at: Date;
  shifted?: DstShift;
}
/** POST /api/cron/preview: the next fires, as times alone and with their DST note. */
export interface CronPreview {
  nextFireTimes: Date[];
  fires: UpcomingFire[];
}
/** GET /api/jobs/:id: the job and its next fires (none while it is disabled). */
export interface JobDetail extends CronPreview {
  job: Job;
}

/** The members clover registers under `/nodes/<kind>/<id>`; `other` is any other znode. */
export type NodeViewKind = 'servers' | 'clients' | 'monitors' | 'other';

/**
 * A server, agent (`clients`) or monitor as GET /api/machines shows it: read from its heartbeat
 * znode (nodes/<kind>/<id>) while it lives; `dead` while an open node_dead incident names it and it
 * has not come back (then the facts are the incident's, kept from its last beat). Fields a kind
 * does not beat are null or empty.
 */
export interface Machine {
  kind: Exclude<NodeViewKind, 'other'>;
  id: string;
  /** `up`, `leaving` (drains before it stops), `dead` (an open incident, no znode). */
  state: 'up' | 'leaving' | 'dead';
  host: string | null;
  pid: number | null;
  version: string | null;
  endpoint: string | null;
  startedAt: Date | null;
  /** The last beat; `ageMs` is now − beatAt, in ms (a live machine beats every 2 s by default). */
  beatAt: Date | null;
  ageMs: number | null;
  /** Executions in flight (agents; a server's: runs it tracks), and the agent's slots. */
  running: number | null;
  capacity: number | null;
  groups: string[];
  tags: string[];
  /** The handlers an agent serves. */
  handlers: string[];
  /** A server leading dispatch; the monitor that is active; null for agents. */
  leader: boolean | null;
  /** A server's lateness figures as it beats them (execLatenessMs of dispatch-server), null otherwise. */
  lateness: Record<string, unknown> | null;
  /** A server's jobs armed now (it fires them), null for agents and monitors. */
  jobs: number | null;
  /**
   * A server sharing the jobs out (dispatch-server `shares`): the partitions it owns, of the
   * cluster's partition count; null for a server of the single-leader cluster and for the rest.
   */
  share: { partitions: number; of: number } | null;
  /** The open node_dead incident of a dead machine. */
  incident: Incident | null;
}
export type MachineList = Items<Machine>;
/** A ZooKeeper node as GET /api/nodes lists it. */
export interface NodeView {
  path: string;
  kind: NodeViewKind;
  /** The last segment of the path ('/' for the root). */
  id: string;
  /** The data parsed as JSON; null when it is empty or not JSON. */
  data: unknown;
  /** The data as text. */
  raw: string;
  /** The version a PUT must name. */
  version: number;
  ephemeral: boolean;
  /** now − data.beatAt, null when the node carries no heartbeat. */
  ageMs: number | null;
  children: number;
  /** When the data last changed. */
  mtime: Date;
}
/** GET /api/nodes: the tree under clover's root; `truncated` when it stopped at its bound. */
export interface NodeList extends Items<NodeView> {
  truncated: boolean;
}
/** DELETE /api/nodes/data; `recreated` when a structural node was written back at once by the running recipes. */
export interface NodeDeleted extends Ok {
  recreated: boolean;
}

/** One hour of the dashboard's chart: runs by outcome. */
export interface RunsOverTimeBucket {
  hour: Date;
  succeeded: number;
  failed: number;
  timed_out: number;
  lost: number;
  other: number;
}
/** The run that has waited longest for an agent with a free slot. */
export interface WaitingRun {
  runId: string;
  jobId: string;
  /** Null when the job is gone (deleted since). */
  jobName: string | null;
  scheduledAt: Date;
  /** now − scheduledAt: a run waits from its slot. */
  waitedMs: number;
}
/** The runs fired that wait in the leader's queue for an agent with a free slot. */
export interface WaitingBacklog {
  count: number;
  /** Null when none waits. */
  oldest: WaitingRun | null;
}
/** GET /api/stats?hours=N */
export interface Stats {
  hours: number;
  runsByStatus: Partial<Record<RunStatus, number>>;
  /** succeeded ÷ (succeeded + failed + timed_out + lost); null when there were none. */
  successRate: number | null;
  runsOverTime: RunsOverTimeBucket[];
  nodes: Record<Exclude<NodeViewKind, 'other'>, number>;
  jobs: { total: number; enabled: number; disabled: number };
  recentFailures: Run[];
  openIncidents: Incident[];
  /** The waiting backlog now (not over `hours`). */
  waiting: WaitingBacklog;
}

/** The listings, as their routes answer. */
export type JobPage = Page<Job>;
export type RunPage = Page<Run>;
export type LogPage = Page<LogEntry>;
export type IncidentPage = Page<Incident>;
export type OutboxPage = Page<OutboxMail>;
export type ContactList = Items<Contact>;
export type UserList = Items<UserView>;
export type TokenList = Items<TokenView>;
