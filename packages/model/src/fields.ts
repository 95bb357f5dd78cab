import type { ZodError } from 'zod';

/** A zod error as `{ "schedule.expr": "bad cron rule: ..." }`, the shape the API sends. */
export function fieldErrors(error: ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || '(root)';
    if (!(key in out)) out[key] = issue.message;
  }
  return out;
}

export class ValidationError extends Error {
  constructor(readonly fields: Record<string, string>) {
    super(
      `invalid: ${Object.entries(fields)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}`,
    );
    this.name = 'ValidationError';
  }
}

export function parseOrThrow<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: ZodError } },
  value: unknown,
): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(fieldErrors(r.error));
  return r.data;
}
