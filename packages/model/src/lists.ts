/**
 * The closed sets of values in clover's model, as plain arrays: the zod schemas are built from
 * them (`z.enum(runStatuses)`), and the console lists them in its forms and filters. No zod
 * here, so the browser bundle can import them through `@clover/model/wire`.
 */

/**
 * A run's life: `scheduled`, `waiting` (fired, but no agent that can take it has a free slot yet: it
 * waits in the leader's queue until one frees a slot or its start deadline passes), `dispatched`,
 * `running`, then one of the terminal statuses.
 */
export const runStatuses = [
  'scheduled',
  'waiting',
  'dispatched',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'lost',
  'skipped',
  'cancelled',
] as const;
/**
 * The statuses of a run not over yet: a `forbid` job skips a fire while one of its runs is in
 * one (a waiting run counts as running), a job's delete cancels them, a new leader adopts them.
 * The store finds them through its status index.
 */
export const activeStatuses = ['scheduled', 'waiting', 'dispatched', 'running'] as const satisfies ReadonlyArray<
  (typeof runStatuses)[number]
>;
/** Why a run exists. */
export const runTriggers = ['schedule', 'manual', 'retry', 'misfire'] as const;
/** How a job's fire picks its agent(s). */
export const routings = ['first', 'round_robin', 'random', 'least_busy', 'consistent_hash', 'failover', 'broadcast'] as const;
/** The methods an `http` job may use. */
export const httpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
/** What a fire does while a run of the same job is still active. */
export const concurrencies = ['allow', 'forbid', 'replace'] as const;
/** How a run that waited for capacity past its start deadline ends (Job.onStartDeadline). */
export const startDeadlineOutcomes = ['skipped', 'failed'] as const;
/** What a new leader does with a slot missed while no leader was up. */
export const misfires = ['fire_once', 'skip'] as const;
/** A console user's role, weakest last. */
export const roles = ['admin', 'operator', 'viewer'] as const;
/** Permissions beyond a role: `commands` may create, change, enable and trigger shell and http jobs. */
export const grants = ['commands'] as const;
export const incidentKinds = ['node_dead', 'job_failed'] as const;
/** Log levels, most severe first. */
export const logLevels = ['error', 'warn', 'info', 'debug'] as const;

export type ActiveStatus = (typeof activeStatuses)[number];
export type HttpMethod = (typeof httpMethods)[number];
export type Concurrency = (typeof concurrencies)[number];
export type Misfire = (typeof misfires)[number];
export type StartDeadlineOutcome = (typeof startDeadlineOutcomes)[number];
export type RunTrigger = (typeof runTriggers)[number];
export type IncidentKind = (typeof incidentKinds)[number];

/** Languages incident mails are written in (monitor templates): a contact's `language`, the cluster's. */
export const mailLanguages = ['en', 'zh'] as const;
export type MailLanguage = (typeof mailLanguages)[number];
