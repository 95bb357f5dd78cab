import { z } from 'zod';
import { CronError, parseCron } from './cron.js';
import { isValidTimezone } from './zone.js';
import { utf8Length } from './bytes.js';
import { concurrencies, httpMethods, misfires, routings, runStatuses, startDeadlineOutcomes } from './lists.js';
import { nextFireTimeInWindow } from './schedule.js';
import { parseExpectStatus } from './http-status.js';

export const MAX_PAYLOAD_BYTES = 64 * 1024;
export const MAX_OUTPUT_BYTES = 8 * 1024;

const nonEmpty = (what: string) => z.string().trim().min(1, `${what} must not be empty`);
const timezone = z
  .string()
  .default('UTC')
  .refine(isValidTimezone, { error: 'unknown timezone (use an IANA name such as Europe/Berlin)', params: { code: 'timezone' } });

/** What `parseCron` said of a rule: null (fine) or its CronError's message ('' for another error). */
const cronVerdicts = new Map<string, string | null>();
/** Rules remembered at most; past it the memory starts over (a cluster has far fewer distinct rules). */
const cronVerdictsKept = 10_000;

/**
 * `parseCron`'s verdict on `expr`, remembered: every job a dispatch-server loads is parsed with
 * this schema, and the 100,000-job kill-and-join profile spent 21 s of a server's CPU compiling
 * the same 60 rules again for each job (bench/job-parse.bench.ts has the figure).
 */
function cronVerdict(expr: string): string | null {
  let verdict = cronVerdicts.get(expr);
  if (verdict !== undefined) return verdict;
  try {
    parseCron(expr);
    verdict = null;
  } catch (err) {
    verdict = err instanceof CronError ? err.message : '';
  }
  if (cronVerdicts.size >= cronVerdictsKept) cronVerdicts.clear();
  cronVerdicts.set(expr, verdict);
  return verdict;
}

export const cronScheduleSchema = z.object({
  type: z.literal('cron'),
  expr: z.string().superRefine((expr, ctx) => {
    const verdict = cronVerdict(expr);
    if (verdict === null) return;
    ctx.addIssue({
      code: 'custom',
      message: verdict ? `bad cron rule: ${verdict}` : 'bad cron rule',
      params: { code: 'cron', ...(verdict ? { detail: verdict } : {}) },
    });
  }),
  timezone,
});
export const onceScheduleSchema = z.object({ type: z.literal('once'), at: z.coerce.date() });
export const intervalScheduleSchema = z.object({
  type: z.literal('interval'),
  everyMs: z.number().int().min(1000, 'an interval is at least 1000 ms'),
  startAt: z.coerce.date().optional(),
});
export const scheduleSchema = z.discriminatedUnion('type', [cronScheduleSchema, onceScheduleSchema, intervalScheduleSchema]);
export type Schedule = z.infer<typeof scheduleSchema>;

export const targetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('node'), nodeId: nonEmpty('target node id') }),
  z.object({ type: z.literal('group'), group: nonEmpty('target group') }),
  z.object({ type: z.literal('tags'), tags: z.array(nonEmpty('tag')).min(1, 'give at least one tag') }),
  z.object({ type: z.literal('any') }),
]);
export type Target = z.infer<typeof targetSchema>;

export const routingSchema = z.enum(routings);
export type Routing = z.infer<typeof routingSchema>;

export const jobKindSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('handler'), name: nonEmpty('handler name') }),
  z.object({
    type: z.literal('shell'),
    command: nonEmpty('command'),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
  }),
  z.object({
    type: z.literal('http'),
    method: z.enum(httpMethods).default('GET'),
    url: z.url('must be an http(s) URL').refine((u) => /^https?:/.test(u), { error: 'must be an http(s) URL', params: { code: 'url' } }),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    /**
     * The statuses that mean success, codes and ranges comma separated (`200-299`, `200,204`);
     * absent: any below 400 (DEFAULT_EXPECTED_STATUS). The agent judges the final status, after
     * the redirects it follows.
     */
    expectStatus: z
      .string()
      .max(200)
      .refine((s) => parseExpectStatus(s) !== null, {
        error: 'expected statuses are codes and ranges, comma separated: 200-299, 200,204 (codes 100 to 599)',
        params: { code: 'expect_status' },
      })
      .optional(),
  }),
]);
export type JobKind = z.infer<typeof jobKindSchema>;

/** Bytes of `value` as JSON; 0 for what JSON cannot hold (undefined, a function), which JSON.stringify answers with undefined. */
function jsonBytes(value: unknown): number {
  const text: unknown = JSON.stringify(value);
  return typeof text === 'string' ? utf8Length(text) : 0;
}

export const payloadSchema = z.unknown().refine((v) => jsonBytes(v) <= MAX_PAYLOAD_BYTES, {
  error: `payload is larger than ${MAX_PAYLOAD_BYTES} bytes of JSON`,
  params: { code: 'too_large', n: MAX_PAYLOAD_BYTES },
});

export const retriesSchema = z.object({
  max: z.number().int().min(0).max(100).default(0),
  backoffMs: z.number().int().min(0).default(1000),
  factor: z.number().min(1).max(10).default(2),
  maxBackoffMs: z.number().int().min(0).default(60_000),
});
export type RetryPolicy = z.infer<typeof retriesSchema>;

export const concurrencySchema = z.enum(concurrencies);
export const misfireSchema = z.enum(misfires);
export const runStatusSchema = z.enum(runStatuses);
export type RunStatus = z.infer<typeof runStatusSchema>;
export const terminalStatuses: readonly RunStatus[] = ['succeeded', 'failed', 'timed_out', 'lost', 'skipped', 'cancelled'];
/** The outcomes that count as a job failing: its failure count, retries and failure incidents. */
export const failureStatuses: readonly RunStatus[] = ['failed', 'timed_out', 'lost'];

/** What a client sends to create or replace a job. */
export const jobInputSchema = z.object({
  name: nonEmpty('name').max(200),
  description: z.string().max(2000).default(''),
  group: z.string().trim().max(100).default('default'),
  schedule: scheduleSchema,
  enabled: z.boolean().default(true),
  target: targetSchema.default({ type: 'any' }),
  routing: routingSchema.default('round_robin'),
  kind: jobKindSchema,
  payload: payloadSchema.default({}),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(7 * 24 * 3600_000)
    .default(60_000),
  retries: retriesSchema.default({ max: 0, backoffMs: 1000, factor: 2, maxBackoffMs: 60_000 }),
  concurrency: concurrencySchema.default('allow'),
  misfire: misfireSchema.default('fire_once'),
  window: z.object({ startAt: z.coerce.date().optional(), endAt: z.coerce.date().optional() }).default({}),
  contacts: z.array(z.string()).default([]),
  deleteWhenDone: z.boolean().default(true),
  /**
   * How long after its slot a run may still start, in ms, when no agent could take it at the
   * slot (all at capacity, none connected, none serving its kind): it waits (status `waiting`)
   * in the leader's queue until then. Kubernetes CronJob's `startingDeadlineSeconds`, in ms.
   * Unset (the default): the job's period, at least 10,000 ms and at most 60,000 ms
   * ({@link startDeadlineOf}). 0: a run that cannot start at once does not wait. At most 7 days.
   */
  startDeadlineMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600_000)
    .optional(),
  /**
   * How a run still waiting at its start deadline ends: `skipped` (the default: a missed start,
   * not a failure of the job) or `failed` (counted as a failure; never retried).
   */
  onStartDeadline: z.enum(startDeadlineOutcomes).default('skipped'),
  /** Whether a run that missed its start deadline opens a `job_failed` incident (default false: none, whatever `onStartDeadline` says). */
  incidentOnStartDeadline: z.boolean().default(false),
});
export type JobInput = z.input<typeof jobInputSchema>;
export type JobSpec = z.output<typeof jobInputSchema>;

/** A stored job: the spec plus what the server keeps. */
export const jobSchema = jobInputSchema.extend({
  id: z.string(),
  createdAt: z.coerce.date(),
  updatedAt: z.coerce.date(),
  lastRunAt: z.coerce.date().nullable().default(null),
  lastStatus: runStatusSchema.nullable().default(null),
  nextRunAt: z.coerce.date().nullable().default(null),
  runCount: z.number().int().default(0),
  failureCount: z.number().int().default(0),
});
export type Job = z.output<typeof jobSchema>;

/** The fields the scheduler maintains on a job. */
export interface JobRunState {
  lastRunAt?: Date | null;
  lastStatus?: RunStatus | null;
  nextRunAt?: Date | null;
  runCountDelta?: number;
  failureCountDelta?: number;
}

/** The start deadline of a job that sets none: its period, capped at this (ms). */
export const defaultStartDeadlineMs = 60_000;

/**
 * The start deadline of a job that sets none is never shorter than this (ms), whatever its
 * period: the pool of an every-second job is full for a few seconds whenever longer runs hold
 * every slot, and a run should wait that out late rather than be skipped. Kubernetes warns
 * against a `startingDeadlineSeconds` under 10 s for the same reason (its controller looks every
 * 10 s); clover's figure is issue 20's chaos run: at the bare period (1 s) 34-42 % of the no-op
 * runs were skipped behind 2.5 s sleepers, at 10 s none.
 */
export const minDefaultStartDeadlineMs = 10_000;

/**
 * How long after `slot` (epoch ms) a run of `job` that waits for an agent may still start, in ms:
 * `job.startDeadlineMs` when set, else the job's period at that slot, at least 10,000 ms
 * ({@link minDefaultStartDeadlineMs}) and at most 60,000 ms ({@link defaultStartDeadlineMs}).
 * The period is the time from `slot` to the job's next slot: `everyMs` for an interval, the gap
 * to the rule's next match for cron (so an irregular rule such as `0 0 9,17 * * *` gets the gap
 * that follows the slot). A one-shot, or a job with no slot after this one (its window ends), has
 * no period: 60,000 ms. A run should rarely still be waiting when its job fires again, yet ride
 * out a few seconds of a full pool; a job that fires rarely does not wait more than a minute.
 */
export function startDeadlineOf(
  job: { schedule: Schedule; window?: { startAt?: Date; endAt?: Date }; startDeadlineMs?: number },
  slot: number,
): number {
  if (job.startDeadlineMs !== undefined) return job.startDeadlineMs;
  const period =
    job.schedule.type === 'interval'
      ? job.schedule.everyMs
      : job.schedule.type === 'cron'
        ? (nextFireTimeInWindow(job.schedule, job.window ?? {}, new Date(slot))?.getTime() ?? Infinity) - slot
        : Infinity;
  return Math.min(Math.max(period, minDefaultStartDeadlineMs), defaultStartDeadlineMs);
}
