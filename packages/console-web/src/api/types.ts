/**
 * The console API's JSON as the browser receives it: the API's own types (`@clover/model/wire`,
 * derived from its zod schemas) through `Wire<T>`, which turns every `Date` into the ISO-8601
 * string it arrives as. Types are imported type-only and the value lists come from the model's
 * zod-free module, so no schema code reaches the bundle (docs/console-api.md for the routes).
 */
import { routings, type Routing } from '@clover/model/wire';
import type * as M from '@clover/model/wire';
import type { Wire } from '@clover/model/wire';

export type {
  ApiErrorBody,
  Concurrency,
  DstShift,
  Health,
  HttpMethod,
  Items,
  LogLevel,
  Misfire,
  NodeViewKind,
  Page,
  Role,
  Routing,
  RunStatus,
  StartDeadlineOutcome,
  UserView,
  TokenCreated,
  NewUserBody,
} from '@clover/model/wire';
export {
  runStatuses as RUN_STATUSES,
  httpMethods as HTTP_METHODS,
  concurrencies as CONCURRENCIES,
  misfires as MISFIRES,
  startDeadlineOutcomes as START_DEADLINE_OUTCOMES,
  logLevels as LOG_LEVELS,
} from '@clover/model/wire';

/** The routings as the job form offers them: the default first. */
export const ROUTINGS: readonly Routing[] = ['round_robin', ...routings.filter((r) => r !== 'round_robin')];

export type Schedule = Wire<M.Schedule>;
export type Target = Wire<M.Target>;
export type JobKind = Wire<M.JobKind>;
export type RetryPolicy = Wire<M.RetryPolicy>;
/** What the console sends to create or replace a job (`jobInputSchema`'s input). */
export type JobInput = Wire<M.JobInput>;
/**
 * What PUT /api/jobs/:id takes: the fields to change (the others stay); a field sent as null goes
 * back to its default, the way to unset `startDeadlineMs`.
 */
export type JobUpdate = { [K in keyof JobInput]?: JobInput[K] | null };
export type Job = Wire<M.Job>;
export type UpcomingFire = Wire<M.UpcomingFire>;
export type CronPreview = Wire<M.CronPreview>;
export type JobDetail = Wire<M.JobDetail>;
export type Run = Wire<M.Run>;
export type ContactInput = Wire<M.ContactInput>;
export type Contact = Wire<M.Contact>;
export type Incident = Wire<M.Incident>;
export type LogEntry = Wire<M.LogEntry>;
export type OutboxMail = Wire<M.OutboxMail>;
export type NodeView = Wire<M.NodeView>;
export type NodeList = Wire<M.NodeList>;
export type RunsOverTimeBucket = Wire<M.RunsOverTimeBucket>;
export type Stats = Wire<M.Stats>;
export type TokenView = Wire<M.TokenView>;
export type Machine = Wire<M.Machine>;
export type AuditEntry = Wire<M.AuditEntry>;
export type ClusterSettings = Wire<M.ClusterSettings>;
export type ClusterConfigBody = M.ClusterConfigBody;
