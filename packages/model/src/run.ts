import { z } from 'zod';
import { MAX_OUTPUT_BYTES, runStatusSchema } from './job.js';
import { runTriggers } from './lists.js';
import { utf8Length } from './bytes.js';

export const runTriggerSchema = z.enum(runTriggers);

export const runSchema = z.object({
  id: z.string().min(1),
  jobId: z.string().min(1),
  scheduledAt: z.coerce.date(),
  dispatchedAt: z.coerce.date().nullable().default(null),
  startedAt: z.coerce.date().nullable().default(null),
  finishedAt: z.coerce.date().nullable().default(null),
  node: z.string().nullable().default(null),
  attempt: z.number().int().min(1).default(1),
  trigger: runTriggerSchema.default('schedule'),
  status: runStatusSchema,
  exitCode: z.number().int().nullable().default(null),
  outputTail: z
    .string()
    .refine((s) => utf8Length(s) <= MAX_OUTPUT_BYTES, `output is larger than ${MAX_OUTPUT_BYTES} bytes`)
    .default(''),
  error: z.string().nullable().default(null),
  /**
   * The leader term that last wrote the run (a dispatch-server's fencing token: its election
   * znode's sequence number, which only grows from one leader to the next); null for a run no
   * leader wrote (an import, a test). The store sets it from `RunWrites.term`, never a patch:
   * a write of an earlier term does not change a run a later term has written (store `writeRuns`).
   */
  leaderTerm: z.number().int().min(0).nullable().default(null),
});
export type Run = z.output<typeof runSchema>;
export type RunInput = z.input<typeof runSchema>;
/** What a transition may change: not the run's identity, nor its term (the store's fence sets that). */
export type RunPatch = Partial<Omit<Run, 'id' | 'jobId' | 'scheduledAt' | 'leaderTerm'>>;

/**
 * The id an agent sees: the run id for the first attempt, with `~attempt` after. Agents drop
 * an execution id they have seen, so each retry needs its own.
 */
export function execIdOf(run: Pick<Run, 'id' | 'attempt'>): string {
  return run.attempt <= 1 ? run.id : `${run.id}~${run.attempt}`;
}

/** The run id an execution id belongs to (the inverse of {@link execIdOf}). */
export function runIdOf(execId: string): string {
  const i = execId.lastIndexOf('~');
  return i > 0 && /^\d+$/.test(execId.slice(i + 1)) ? execId.slice(0, i) : execId;
}

/** `jobId@scheduledAt`, plus `#node` for broadcast: one slot, one key. */
export function runId(jobId: string, scheduledAt: Date, node?: string): string {
  return `${jobId}@${scheduledAt.toISOString()}${node ? `#${node}` : ''}`;
}

/**
 * The most of a running execution's output the leader keeps and the store holds (`LiveOutput.text`),
 * in bytes of UTF-8: eight times the run's `outputTail` (MAX_OUTPUT_BYTES), enough for a page of a
 * build log while it runs, small enough that a write every 500 ms per running run costs little.
 */
export const MAX_LIVE_OUTPUT_BYTES = 64 * 1024;

/**
 * The output of a run while it runs, as the leading dispatch-server last wrote it (at most every
 * 500 ms per run): what `GET /api/runs/:id/output/stream` serves. Kept in the store (not only in
 * the leader's memory) so the console-api, another process, can read it, and so it outlives a
 * leader change; removed with the run's job and by the run retention. After the run ends, the
 * run's own `outputTail` is the final word on how the output ended.
 */
export interface LiveOutput {
  runId: string;
  jobId: string;
  /** The execution (attempt) it is the output of: a retry's starts afresh. */
  execId: string;
  /** The last `MAX_LIVE_OUTPUT_BYTES` of the output, never a split character. */
  text: string;
  /**
   * Characters (UTF-16 code units) of output seen since the run began, `text` being the last of
   * them: a reader that has seen up to an earlier `end` takes the rest of `text` as what is new,
   * and knows it missed some when the difference exceeds `text.length`.
   */
  end: number;
  /** When it was written, epoch ms by the writer's clock. */
  updatedAt: Date;
}
