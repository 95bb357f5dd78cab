import type { ZodError } from 'zod';
import type { FieldIssue } from './apiError.js';

/** A zod error as `{ "schedule.expr": "bad cron rule: ..." }`, the shape the API sends. */
export function fieldErrors(error: ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || '(root)';
    if (!(key in out)) out[key] = issue.message;
  }
  return out;
}

type Issue = ZodError['issues'][number];

/**
 * One zod issue as a code and parameters a client translates (the list is `FieldIssue`'s). A
 * schema's own rule names its code in `params.code` (`refine(…, { params: { code: 'timezone' } })`);
 * zod's built-in checks are mapped here. Numbers keep the schema's units (`min` of `timeoutMs` is in
 * ms): the client, which knows the unit its form shows, converts.
 */
export function fieldIssue(issue: Issue): FieldIssue {
  switch (issue.code) {
    case 'too_small':
    case 'too_big': {
      const limit = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const bound = issue.code === 'too_small' ? 'min' : 'max';
      if (issue.origin === 'string')
        return issue.code === 'too_small' && limit === 1 ? { code: 'required' } : { code: `${bound}_length`, params: { n: limit } };
      if (issue.origin === 'array' || issue.origin === 'set') return { code: `${bound}_items`, params: { n: limit } };
      return { code: bound, params: { n: limit } };
    }
    case 'invalid_format':
      return { code: issue.format === 'email' || issue.format === 'url' ? issue.format : 'format' };
    case 'invalid_value':
      return { code: 'one_of', params: { values: issue.values.map(String).join(', ') } };
    case 'invalid_type':
      return { code: 'type', params: { expected: issue.expected } };
    case 'custom': {
      const params: Record<string, unknown> = issue.params ?? {};
      const out: Record<string, string | number> = {};
      for (const [k, v] of Object.entries(params)) if (k !== 'code' && (typeof v === 'string' || typeof v === 'number')) out[k] = v;
      return { code: typeof params.code === 'string' ? params.code : 'invalid', ...(Object.keys(out).length ? { params: out } : {}) };
    }
    default:
      return { code: 'invalid' };
  }
}

/** A zod error as `{ "timeoutMs": { code: "min", params: { n: 100 } } }`, keyed as `fieldErrors` is. */
export function fieldIssues(error: ZodError): Record<string, FieldIssue> {
  const out: Record<string, FieldIssue> = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || '(root)';
    if (!(key in out)) out[key] = fieldIssue(issue);
  }
  return out;
}

export class ValidationError extends Error {
  constructor(
    readonly fields: Record<string, string>,
    /** The same fields as codes and parameters; empty when the error was raised by hand with messages only. */
    readonly issues: Record<string, FieldIssue> = {},
  ) {
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
  if (!r.success) throw new ValidationError(fieldErrors(r.error), fieldIssues(r.error));
  return r.data;
}
