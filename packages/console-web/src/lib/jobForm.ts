import type {
  Concurrency,
  HttpMethod,
  Job,
  JobInput,
  JobKind,
  JobUpdate,
  Misfire,
  Routing,
  Schedule,
  StartDeadlineOutcome,
  Target,
} from '../api/types';

export type ScheduleType = Schedule['type'];
export type TargetType = Target['type'];
export type KindType = JobKind['type'];
export type ShellMode = 'sh' | 'program';

/** The program `sh` mode runs, and its flag: the job is stored as `{ command: '/bin/sh', args: ['-c', line] }`. */
export const SHELL_PROGRAM = '/bin/sh';

/** The job form's inputs, all as the controls hold them (strings for numbers and JSON). */
export interface JobFormState {
  name: string;
  description: string;
  group: string;
  enabled: boolean;

  scheduleType: ScheduleType;
  cronExpr: string;
  timezone: string;
  /** `datetime-local` value (browser time zone), e.g. 2030-01-02T03:04 or 2030-01-02T03:04:05 */
  onceAt: string;
  intervalSeconds: string;

  targetType: TargetType;
  targetNode: string;
  targetGroup: string;
  /** comma- or space-separated */
  targetTags: string;
  routing: Routing;

  kindType: KindType;
  handlerName: string;
  /** JSON text; empty means `{}` */
  payload: string;
  /**
   * How a shell job's command runs: `sh`, one command line given to `/bin/sh -c` (pipes, `&&`,
   * variables); `program`, an executable spawned as it is with its arguments, no shell between (the
   * agent spawns the job's `command` without a shell: scheduler-client's executors/shell.ts).
   */
  shellMode: ShellMode;
  /** The command line of `sh` mode. */
  shellLine: string;
  shellCommand: string;
  /** one argument per line */
  shellArgs: string;
  shellCwd: string;
  httpMethod: HttpMethod;
  httpUrl: string;
  /** One `Name: value` per line. */
  httpHeaders: string;
  httpBody: string;
  /** The statuses that mean success (`200-299`, `200,204`); '' for the API's default, any below 400. */
  httpExpectStatus: string;

  timeoutSeconds: string;
  retriesMax: string;
  retryBackoffSeconds: string;
  concurrency: Concurrency;
  misfire: Misfire;
  /** Seconds; empty means the job's default (its period, at least 10 s and at most 60 s). */
  startDeadlineSeconds: string;
  onStartDeadline: StartDeadlineOutcome;
  incidentOnStartDeadline: boolean;
  contacts: string[];
  deleteWhenDone: boolean;

  /** Fields of an edited job the form does not show; sent back unchanged. */
  keep: {
    intervalStartAt?: string;
    shellEnv?: Record<string, string>;
    retryFactor?: number;
    retryMaxBackoffMs?: number;
    window?: { startAt?: string; endAt?: string };
  };
}

export function emptyJobForm(): JobFormState {
  return {
    name: '',
    description: '',
    group: 'default',
    enabled: true,
    scheduleType: 'cron',
    cronExpr: '0 * * * * *',
    timezone: 'UTC',
    onceAt: '',
    intervalSeconds: '60',
    targetType: 'any',
    targetNode: '',
    targetGroup: '',
    targetTags: '',
    routing: 'round_robin',
    kindType: 'handler',
    handlerName: '',
    payload: '{}',
    shellMode: 'sh',
    shellLine: '',
    shellCommand: '',
    shellArgs: '',
    shellCwd: '',
    httpMethod: 'GET',
    httpUrl: '',
    httpHeaders: '',
    httpBody: '',
    // A new HTTP job expects a 2xx: a 3xx left after the redirects followed is rarely what was meant.
    httpExpectStatus: '200-299',
    timeoutSeconds: '60',
    retriesMax: '0',
    retryBackoffSeconds: '1',
    concurrency: 'allow',
    misfire: 'fire_once',
    startDeadlineSeconds: '',
    onStartDeadline: 'skipped',
    incidentOnStartDeadline: false,
    contacts: [],
    deleteWhenDone: true,
    keep: {},
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An ISO instant as a `datetime-local` value in the browser's time zone. */
export function isoToLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.getSeconds() ? `${base}:${pad(d.getSeconds())}` : base;
}

/** A `datetime-local` value (browser time zone) as an ISO instant; null when it is not a date. */
export function localInputToIso(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

const seconds = (ms: number) => String(ms / 1000);

export function jobToForm(job: Job): JobFormState {
  const f = emptyJobForm();
  f.name = job.name;
  f.description = job.description;
  f.group = job.group;
  f.enabled = job.enabled;
  const s = job.schedule;
  f.scheduleType = s.type;
  if (s.type === 'cron') {
    f.cronExpr = s.expr;
    f.timezone = s.timezone;
  } else if (s.type === 'once') {
    f.onceAt = isoToLocalInput(s.at);
  } else {
    f.intervalSeconds = seconds(s.everyMs);
    if (s.startAt) f.keep.intervalStartAt = s.startAt;
  }
  const tg = job.target;
  f.targetType = tg.type;
  if (tg.type === 'node') f.targetNode = tg.nodeId;
  if (tg.type === 'group') f.targetGroup = tg.group;
  if (tg.type === 'tags') f.targetTags = tg.tags.join(', ');
  f.routing = job.routing;
  const k = job.kind;
  f.kindType = k.type;
  if (k.type === 'handler') f.handlerName = k.name;
  if (k.type === 'shell') {
    const viaShell = k.command === SHELL_PROGRAM && k.args.length === 2 && k.args[0] === '-c';
    f.shellMode = viaShell ? 'sh' : 'program';
    f.shellLine = viaShell ? (k.args[1] ?? '') : '';
    f.shellCommand = viaShell ? '' : k.command;
    f.shellArgs = viaShell ? '' : k.args.join('\n');
    f.shellCwd = k.cwd ?? '';
    if (Object.keys(k.env).length) f.keep.shellEnv = k.env;
  }
  if (k.type === 'http') {
    f.httpMethod = k.method;
    f.httpUrl = k.url;
    f.httpBody = k.body ?? '';
    f.httpExpectStatus = k.expectStatus ?? '';
    f.httpHeaders = Object.entries(k.headers)
      .map(([name, value]) => `${name}: ${value}`)
      .join('\n');
  }
  f.payload = job.payload === undefined ? '{}' : JSON.stringify(job.payload, null, 2);
  f.timeoutSeconds = seconds(job.timeoutMs);
  f.retriesMax = String(job.retries.max);
  f.retryBackoffSeconds = seconds(job.retries.backoffMs);
  f.keep.retryFactor = job.retries.factor;
  f.keep.retryMaxBackoffMs = job.retries.maxBackoffMs;
  f.concurrency = job.concurrency;
  f.misfire = job.misfire;
  f.startDeadlineSeconds = job.startDeadlineMs === undefined ? '' : seconds(job.startDeadlineMs);
  f.onStartDeadline = job.onStartDeadline;
  f.incidentOnStartDeadline = job.incidentOnStartDeadline;
  f.contacts = [...job.contacts];
  f.deleteWhenDone = job.deleteWhenDone;
  if (job.window.startAt || job.window.endAt) f.keep.window = job.window;
  return f;
}

export function splitList(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Error message keys (i18n) the form itself finds, by JobInput field path. */
export type ClientErrors = Record<string, 'form.error.json' | 'form.error.number' | 'form.error.date' | 'form.error.header'>;

/** `Name: value` lines as headers; null when a line that is not blank has no name before a colon. */
export function parseHeaders(text: string): Record<string, string> | null {
  const headers: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!name) return null;
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function schedulePart(f: JobFormState): { schedule: Schedule | null; errors: ClientErrors } {
  switch (f.scheduleType) {
    case 'cron':
      return { schedule: { type: 'cron', expr: f.cronExpr.trim(), timezone: f.timezone.trim() || 'UTC' }, errors: {} };
    case 'once': {
      const at = localInputToIso(f.onceAt);
      return at ? { schedule: { type: 'once', at }, errors: {} } : { schedule: null, errors: { 'schedule.at': 'form.error.date' } };
    }
    case 'interval': {
      const n = Number(f.intervalSeconds);
      if (!f.intervalSeconds.trim() || !Number.isFinite(n)) return { schedule: null, errors: { 'schedule.everyMs': 'form.error.number' } };
      const schedule: Schedule = { type: 'interval', everyMs: Math.round(n * 1000) };
      if (f.keep.intervalStartAt) schedule.startAt = f.keep.intervalStartAt;
      return { schedule, errors: {} };
    }
  }
}

function targetPart(f: JobFormState): Target {
  switch (f.targetType) {
    case 'any':
      return { type: 'any' };
    case 'node':
      return { type: 'node', nodeId: f.targetNode.trim() };
    case 'group':
      return { type: 'group', group: f.targetGroup.trim() };
    case 'tags':
      return { type: 'tags', tags: splitList(f.targetTags) };
  }
}

function kindPart(f: JobFormState): JobInput['kind'] {
  switch (f.kindType) {
    case 'handler':
      return { type: 'handler', name: f.handlerName.trim() };
    case 'shell': {
      const kind: JobInput['kind'] & { type: 'shell' } =
        f.shellMode === 'sh'
          ? { type: 'shell', command: SHELL_PROGRAM, args: ['-c', f.shellLine.trim()] }
          : {
              type: 'shell',
              command: f.shellCommand.trim(),
              args: f.shellArgs
                .split('\n')
                .map((a) => a.replace(/\r$/, ''))
                .filter((a) => a.trim() !== ''),
            };
      if (f.keep.shellEnv) kind.env = f.keep.shellEnv;
      if (f.shellCwd.trim()) kind.cwd = f.shellCwd.trim();
      return kind;
    }
    case 'http': {
      const kind: JobInput['kind'] & { type: 'http' } = { type: 'http', method: f.httpMethod, url: f.httpUrl.trim() };
      const headers = parseHeaders(f.httpHeaders);
      if (headers && Object.keys(headers).length) kind.headers = headers;
      if (f.httpBody !== '' && f.httpMethod !== 'GET' && f.httpMethod !== 'HEAD') kind.body = f.httpBody;
      if (f.httpExpectStatus.trim() !== '') kind.expectStatus = f.httpExpectStatus.trim();
      return kind;
    }
  }
}

function num(text: string, path: string, errors: ClientErrors, scale = 1): number | undefined {
  const n = Number(text);
  if (!text.trim() || !Number.isFinite(n)) {
    errors[path] = 'form.error.number';
    return undefined;
  }
  return Math.round(n * scale);
}

/**
 * The JobInput the API expects (`jobInputSchema` of @clover/model) from the form, plus the errors the
 * form can see by itself (bad JSON, not a number, not a date) keyed by the same field paths the
 * server uses. The server checks everything else and answers `fields` with the same keys.
 */
export function buildJobInput(f: JobFormState): { input: JobInput | null; errors: ClientErrors } {
  const errors: ClientErrors = {};
  const { schedule, errors: scheduleErrors } = schedulePart(f);
  Object.assign(errors, scheduleErrors);

  let payload: unknown = {};
  if (f.payload.trim()) {
    try {
      payload = JSON.parse(f.payload);
    } catch {
      errors.payload = 'form.error.json';
    }
  }
  if (f.kindType === 'http' && !parseHeaders(f.httpHeaders)) errors['kind.headers'] = 'form.error.header';
  const timeoutMs = num(f.timeoutSeconds, 'timeoutMs', errors, 1000);
  const retriesMax = num(f.retriesMax, 'retries.max', errors);
  const backoffMs = num(f.retryBackoffSeconds, 'retries.backoffMs', errors, 1000);
  // Empty: the job has none of its own and gets the default for its schedule.
  const startDeadlineMs = f.startDeadlineSeconds.trim() ? num(f.startDeadlineSeconds, 'startDeadlineMs', errors, 1000) : undefined;

  if (Object.keys(errors).length || !schedule || timeoutMs === undefined || retriesMax === undefined || backoffMs === undefined) {
    return { input: null, errors };
  }

  const input: JobInput = {
    name: f.name.trim(),
    description: f.description,
    group: f.group.trim() || 'default',
    schedule,
    enabled: f.enabled,
    target: targetPart(f),
    routing: f.routing,
    kind: kindPart(f),
    payload,
    timeoutMs,
    retries: {
      max: retriesMax,
      backoffMs,
      ...(f.keep.retryFactor !== undefined ? { factor: f.keep.retryFactor } : {}),
      ...(f.keep.retryMaxBackoffMs !== undefined ? { maxBackoffMs: f.keep.retryMaxBackoffMs } : {}),
    },
    concurrency: f.concurrency,
    misfire: f.misfire,
    onStartDeadline: f.onStartDeadline,
    incidentOnStartDeadline: f.incidentOnStartDeadline,
    contacts: [...f.contacts],
    deleteWhenDone: f.deleteWhenDone,
  };
  if (startDeadlineMs !== undefined) input.startDeadlineMs = startDeadlineMs;
  if (f.keep.window) input.window = f.keep.window;
  return { input, errors };
}

/**
 * The body that replaces an edited job with `input`: the API changes only the fields a PUT names,
 * so the optional field the form left empty is sent as null, which unsets it (an emptied start
 * deadline: the job gets the default for its schedule again).
 */
export function jobUpdateOf(input: JobInput): JobUpdate {
  return { ...input, startDeadlineMs: input.startDeadlineMs ?? null };
}

/** The server's message for a field path, or for anything below it (`target.tags.0`). */
export function fieldError(fields: Record<string, string>, ...paths: string[]): string | undefined {
  for (const path of paths) {
    if (fields[path]) return fields[path];
    const below = Object.keys(fields).find((k) => k.startsWith(`${path}.`));
    if (below) return fields[below];
  }
  return undefined;
}

/** Field paths the form shows next to a control; the rest go into the banner. */
export const FORM_FIELD_PATHS = [
  'name',
  'description',
  'group',
  'enabled',
  'schedule',
  'target',
  'routing',
  'kind',
  'payload',
  'timeoutMs',
  'retries',
  'concurrency',
  'misfire',
  'startDeadlineMs',
  'onStartDeadline',
  'incidentOnStartDeadline',
  'contacts',
  'deleteWhenDone',
];
