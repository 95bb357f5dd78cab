import { ApiError } from '../api/client';
import type { MessageKey, Translate } from '../i18n';

/** One invalid field as the API codes it (`FieldIssue` of @clover/model, docs/console-api.md "Errors"). */
interface FieldIssue {
  code: string;
  params?: Record<string, string | number>;
}

const WORDED = new Set([
  'required',
  'min',
  'max',
  'min_length',
  'max_length',
  'min_items',
  'max_items',
  'email',
  'url',
  'expect_status',
  'format',
  'one_of',
  'type',
  'cron',
  'timezone',
  'too_large',
]);

/**
 * An issue in the console's language and in the form's units: the API's numbers for a `…Ms` field
 * (or below one: `deadTimeoutMs.servers`) are milliseconds, and the form asks for seconds, so
 * `timeoutMs` ≥ 100 reads "at least 0.1 s".
 * Null for a code the console has no words for (then the API's English message stands).
 */
export function issueText(path: string, issue: FieldIssue, t: Translate): string | null {
  if (!WORDED.has(issue.code)) return null;
  const params = issue.params ?? {};
  const inMs = path.split('.').some((segment) => segment.endsWith('Ms'));
  if ((issue.code === 'min' || issue.code === 'max') && inMs && typeof params.n === 'number')
    return t(`validation.${issue.code}_seconds` as MessageKey, { n: params.n / 1000 });
  return t(`validation.${issue.code}` as MessageKey, params);
}

/**
 * The invalid fields of a failed call, `{ path: message }`, each worded by the console from its
 * code when the API sent one, else the API's own message; {} for anything but an ApiError.
 */
export function fieldTexts(error: unknown, t: Translate): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const issues = error.issues as Record<string, FieldIssue>;
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(error.fields)) {
    const issue = issues[path];
    out[path] = (issue && issueText(path, issue, t)) ?? message;
  }
  return out;
}
