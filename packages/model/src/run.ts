import { z } from 'zod';
import { MAX_OUTPUT_BYTES, runStatusSchema } from './job.js';

export const runTriggerSchema = z.enum(['schedule', 'manual', 'retry', 'misfire']);

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
    .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_OUTPUT_BYTES, `output is larger than ${MAX_OUTPUT_BYTES} bytes`)
    .default(''),
  error: z.string().nullable().default(null),
});
export type Run = z.output<typeof runSchema>;
export type RunInput = z.input<typeof runSchema>;
export type RunPatch = Partial<Omit<Run, 'id' | 'jobId' | 'scheduledAt'>>;

/** `jobId@scheduledAt`, plus `#node` for broadcast: one slot, one key. */
export function runId(jobId: string, scheduledAt: Date, node?: string): string {
  return `${jobId}@${scheduledAt.toISOString()}${node ? `#${node}` : ''}`;
}

/** Keeps the end of the output, where errors are, within the byte bound. */
export function truncateOutput(text: string, maxBytes = MAX_OUTPUT_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const buf = Buffer.from(text, 'utf8');
  let tail = buf.subarray(buf.length - maxBytes).toString('utf8');
  // Cutting may split a multi-byte character; drop the replacement char and keep under the bound.
  while (Buffer.byteLength(tail, 'utf8') > maxBytes || tail.startsWith('\uFFFD')) tail = tail.slice(1);
  return tail;
}
