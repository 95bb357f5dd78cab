import { jobSchema, type Job } from './job.js';

/** The run state: kept apart by the SQLite store (columns), changed in place by MongoDB's; filled in below when absent. */
const runStateKeys = new Set(['lastRunAt', 'lastStatus', 'nextRunAt', 'runCount', 'failureCount']);

/** Whether a value has every key a parse would fill in with a default, at every level. */
type Completeness = (value: unknown) => boolean;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The parts of zod 4's schema definitions (`_zod.def`, its documented core) the check is built from. */
interface SchemaDef {
  type: string;
  innerType?: { _zod: { def: SchemaDef; optout?: string } };
  shape?: Record<string, { _zod: { def: SchemaDef; optout?: string } }>;
  options?: Array<{ _zod: { def: SchemaDef } }>;
  discriminator?: string;
  values?: unknown[];
}

/**
 * The completeness check of a schema, built once from its definition: an object needs each key
 * its output always has (required, or defaulted), and each of its values complete in turn; a
 * discriminated union checks the option its discriminator names. Null: nothing inside can be
 * missing (a string, an array of strings, `unknown`).
 */
function completenessOf(def: SchemaDef, skip: ReadonlySet<string> = new Set()): Completeness | null {
  if ((def.type === 'default' || def.type === 'optional' || def.type === 'nullable') && def.innerType) {
    const inner = completenessOf(def.innerType._zod.def);
    return inner && ((v) => v == null || inner(v));
  }
  if (def.type === 'object' && def.shape) {
    const keys = Object.entries(def.shape).filter(([key]) => !skip.has(key));
    const required = keys.filter(([, s]) => s._zod.optout !== 'optional').map(([key]) => key);
    const inner = keys.flatMap(([key, s]) => {
      const check = completenessOf(s._zod.def);
      return check ? [[key, check] as const] : [];
    });
    return (v) => isRecord(v) && required.every((key) => key in v) && inner.every(([key, check]) => check(v[key]));
  }
  if (def.type === 'union' && def.discriminator && def.options) {
    const tag = def.discriminator;
    const byTag = new Map<unknown, Completeness>();
    for (const option of def.options) {
      const check = completenessOf(option._zod.def) ?? (() => true);
      for (const value of option._zod.def.shape?.[tag]?._zod.def.values ?? []) byTag.set(value, check);
    }
    return (v) => isRecord(v) && (byTag.get(v[tag])?.(v) ?? false);
  }
  return null;
}

/**
 * Whether a stored job has every field the schema would default: one written before a field
 * existed lacks it and goes through the full parse to get it.
 */
const complete = completenessOf((jobSchema as unknown as { _zod: { def: SchemaDef } })._zod.def, runStateKeys) as Completeness;

/** A date the store wrote as ISO text (JSON) or as a Date (a MongoDB driver's decoding). */
const asDate = (v: unknown): Date => (v instanceof Date ? v : new Date(v as string));

/** `asDate` of a key that may be absent: absent stays absent. */
function reviveOptional(obj: Record<string, unknown>, key: string): void {
  if (obj[key] !== undefined) obj[key] = asDate(obj[key]);
}

/**
 * A job from a document the store wrote itself: the JSON of a `Job` that went through
 * `jobSchema` on its way in (create, replace), its dates as ISO text. `doc` is changed in place
 * and returned; pass a fresh object (`JSON.parse` of the stored text).
 *
 * Why not `jobSchema.parse`: a dispatch-server maps every job of every partition it takes over,
 * and the full parse costs 19-28 µs a job (`bench/job-parse.bench.ts`, 2026-12-02), 2-3 s of a
 * busy event loop for 100,000 jobs, where this costs 6-9 µs, mostly the `JSON.parse`. The document is trusted
 * to be what the schema produced, so values are not checked again; a document missing a field
 * the schema defaults (written before that field existed) still goes through `jobSchema.parse`,
 * so it gets its defaults exactly as before.
 *
 * @param doc the stored document: every field of a `Job`; the run-state fields (`lastRunAt`,
 *   `lastStatus`, `nextRunAt`, `runCount`, `failureCount`) may be absent (null, null, null, 0, 0
 *   then, the schema's defaults); the SQLite store merges them in from their columns.
 * @returns the `Job`, equal to what `jobSchema.parse(doc)` returns for the same document.
 * @throws ZodError only on the fallback path, for a document the schema refuses.
 */
export function jobFromStored(doc: Record<string, unknown>): Job {
  if (!complete(doc)) return jobSchema.parse(doc);
  doc.createdAt = asDate(doc.createdAt);
  doc.updatedAt = asDate(doc.updatedAt);
  doc.lastRunAt = doc.lastRunAt == null ? null : asDate(doc.lastRunAt);
  doc.nextRunAt = doc.nextRunAt == null ? null : asDate(doc.nextRunAt);
  doc.lastStatus ??= null;
  doc.runCount ??= 0;
  doc.failureCount ??= 0;
  const schedule = doc.schedule as Record<string, unknown>;
  if (schedule.type === 'once') schedule.at = asDate(schedule.at);
  else if (schedule.type === 'interval') reviveOptional(schedule, 'startAt');
  const window = doc.window as Record<string, unknown>;
  reviveOptional(window, 'startAt');
  reviveOptional(window, 'endAt');
  return doc as Job;
}
