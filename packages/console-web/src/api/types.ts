/**
 * The console API's JSON shapes (docs/console-api.md), mirrored from the zod schemas in
 * `@clover/model` as plain types so the browser bundle carries no zod or server code.
 * Dates arrive as ISO-8601 strings.
 */

export type Role = 'admin' | 'operator' | 'viewer';
export interface User {
  name: string;
  role: Role;
}

export type RunStatus = 'scheduled' | 'dispatched' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'lost' | 'skipped' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = [
  'scheduled',
  'dispatched',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'lost',
  'skipped',
  'cancelled',
];

export type Schedule =
  | { type: 'cron'; expr: string; timezone?: string }
  | { type: 'once'; at: string }
  | { type: 'interval'; everyMs: number; startAt?: string };

export type Target =
  { type: 'any' } | { type: 'node'; nodeId: string } | { type: 'group'; group: string } | { type: 'tags'; tags: string[] };

export type Routing = 'first' | 'round_robin' | 'random' | 'least_busy' | 'consistent_hash' | 'failover' | 'broadcast';
export const ROUTINGS: readonly Routing[] = ['round_robin', 'first', 'random', 'least_busy', 'consistent_hash', 'failover', 'broadcast'];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
export const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];

export type JobKind =
  | { type: 'handler'; name: string }
  | { type: 'shell'; command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { type: 'http'; method?: HttpMethod; url: string; headers?: Record<string, string>; body?: string };

export interface RetryPolicy {
  max?: number;
  backoffMs?: number;
  factor?: number;
  maxBackoffMs?: number;
}
export type Concurrency = 'allow' | 'forbid' | 'replace';
export const CONCURRENCIES: readonly Concurrency[] = ['allow', 'forbid', 'replace'];
export type Misfire = 'fire_once' | 'skip';
export const MISFIRES: readonly Misfire[] = ['fire_once', 'skip'];

/** What the console sends to create or replace a job (`jobInputSchema`). */
export interface JobInput {
  name: string;
  description?: string;
  group?: string;
  schedule: Schedule;
  enabled?: boolean;
  target?: Target;
  routing?: Routing;
  kind: JobKind;
  payload?: unknown;
  timeoutMs?: number;
  retries?: RetryPolicy;
  concurrency?: Concurrency;
  misfire?: Misfire;
  window?: { startAt?: string; endAt?: string };
  contacts?: string[];
  deleteWhenDone?: boolean;
}

export interface Job extends Required<Omit<JobInput, 'payload' | 'retries' | 'window'>> {
  id: string;
  payload: unknown;
  retries: Required<RetryPolicy>;
  window: { startAt?: string; endAt?: string };
  createdAt: string;
  updatedAt: string;
  lastRunAt: string | null;
  lastStatus: RunStatus | null;
  nextRunAt: string | null;
  runCount: number;
  failureCount: number;
}

/** How daylight saving time moved a fire: `gap` (a skipped wall time, fired as the clock jumps), `fold` (a wall time that happens twice). */
export type DstShift = 'gap' | 'fold';
/** An upcoming fire as the API sends it; `shifted` only when DST moved it. */
export interface UpcomingFire {
  at: string;
  shifted?: DstShift;
}

export interface JobDetail {
  job: Job;
  nextFireTimes: string[];
  fires?: UpcomingFire[];
}

export interface Run {
  id: string;
  jobId: string;
  scheduledAt: string;
  dispatchedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  node: string | null;
  attempt: number;
  trigger: 'schedule' | 'manual' | 'retry' | 'misfire';
  status: RunStatus;
  exitCode: number | null;
  outputTail: string;
  error: string | null;
}

export interface ContactInput {
  name: string;
  email: string;
  phone?: string;
  groups?: string[];
  enabled?: boolean;
}
export interface Contact {
  id: string;
  name: string;
  email: string;
  phone?: string;
  groups: string[];
  enabled: boolean;
}

export interface Incident {
  id: string;
  kind: 'node_dead' | 'job_failed';
  subject: string;
  nodeKind: string | null;
  jobId: string | null;
  runId: string | null;
  openedAt: string;
  closedAt: string | null;
  message: string;
  details: Record<string, unknown>;
  notifiedAt: string | null;
  notifiedContacts: string[];
  recoveryNotifiedAt: string | null;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
export interface LogEntry {
  id: string;
  time: string;
  level: LogLevel;
  source: string;
  node: string | null;
  message: string;
  context: Record<string, unknown>;
}

export interface OutboxMail {
  id: string;
  createdAt: string;
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  incidentIds: string[];
}

export type NodeKind = 'servers' | 'clients' | 'monitors' | 'other';
export interface ZNode {
  path: string;
  kind: NodeKind;
  id: string;
  data: unknown;
  raw: string;
  version: number;
  ephemeral: boolean;
  /** now − data.beatAt, null when the node carries no heartbeat */
  ageMs: number | null;
  children: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface Items<T> {
  items: T[];
}

export interface RunsOverTimeBucket {
  hour: string;
  succeeded: number;
  failed: number;
  timed_out: number;
  lost: number;
  other: number;
}
export interface Stats {
  runsByStatus: Partial<Record<RunStatus, number>>;
  successRate: number | null;
  runsOverTime: RunsOverTimeBucket[];
  nodes: { servers: number; clients: number; monitors: number };
  jobs: { total: number; enabled: number; disabled: number };
  recentFailures: Run[];
  openIncidents: Incident[];
}

export interface Health {
  status: 'ok';
  version: string;
  uptimeSec: number;
  zk: 'connected' | 'disconnected';
  store: 'ok';
}

/** The error body of every 4xx/5xx answer. */
export interface ApiErrorBody {
  error: string;
  message: string;
  fields?: Record<string, string>;
}
