import { ApiError } from '@clover/model/wire';
import type { CronPreviewBody, Items, LoginBody, NodeDeleted, Ok, Page, PutNodeBody, SignedIn, Wire } from '@clover/model/wire';
import type {
  AuditEntry,
  ClusterConfigBody,
  ClusterSettings,
  Contact,
  ContactInput,
  CronPreview,
  Health,
  Incident,
  Job,
  JobDetail,
  JobInput,
  JobUpdate,
  LogEntry,
  Machine,
  NodeList,
  NodeView,
  OutboxMail,
  NewUserBody,
  Role,
  Run,
  Schedule,
  Stats,
  TokenCreated,
  TokenView,
  UserView,
} from './types';

export { ApiError };

export const CSRF_COOKIE = 'clover_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

/** Reads one cookie from `document.cookie` (or the given cookie string). */
export function readCookie(name: string, cookies: string = typeof document === 'undefined' ? '' : document.cookie): string | undefined {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

type QueryValue = string | number | boolean | null | undefined;

/** `?a=1&b=x` from the defined, non-empty values; '' when there are none. */
export function qs(params: Record<string, QueryValue>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, String(value));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

let unauthenticated: (() => void) | null = null;
/** Called when a request (other than login / me) answers 401: the session is gone. */
export function onUnauthenticated(handler: (() => void) | null): void {
  unauthenticated = handler;
}

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE_METHODS.has(method.toUpperCase())) {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const error = ApiError.fromAnswer(res.status, res.statusText, json, res.headers.get('Retry-After'));
    if (res.status === 401 && !path.startsWith('/api/auth/')) unauthenticated?.();
    throw error;
  }
  return json as T;
}

const enc = encodeURIComponent;

export interface JobQuery {
  q?: string;
  group?: string;
  enabled?: boolean | '';
  cursor?: string | null;
  limit?: number;
}
export interface RunQuery {
  jobId?: string;
  status?: string;
  node?: string;
  from?: string;
  to?: string;
  cursor?: string | null;
  limit?: number;
}
export interface LogQuery {
  level?: string;
  source?: string;
  node?: string;
  q?: string;
  from?: string;
  to?: string;
  cursor?: string | null;
  limit?: number;
}

/** Every endpoint of docs/console-api.md the console uses. */
export const api = {
  health: () => request<Health>('GET', '/api/health'),

  login: (username: string, password: string) =>
    request<SignedIn>('POST', '/api/auth/login', { body: { username, password } satisfies LoginBody }),
  logout: () => request<Ok>('POST', '/api/auth/logout'),
  me: () => request<SignedIn>('GET', '/api/auth/me'),

  stats: (hours = 24) => request<Stats>('GET', `/api/stats${qs({ hours })}`),

  nodes: () => request<NodeList>('GET', '/api/nodes'),
  node: (path: string) => request<NodeView>('GET', `/api/nodes/data${qs({ path })}`),
  putNode: (path: string, data: unknown, version: number) =>
    request<NodeView>('PUT', `/api/nodes/data${qs({ path })}`, { body: { data, version } satisfies PutNodeBody }),
  /** force: delete one of clover's structural znodes anyway (the API answers 409 structural_node without it). */
  deleteNode: (path: string, confirm: string, force = false) =>
    request<NodeDeleted>('DELETE', `/api/nodes/data${qs({ path, confirm, ...(force ? { force: 'true' } : {}) })}`),

  jobs: (q: JobQuery = {}) => request<Page<Job>>('GET', `/api/jobs${qs({ ...q })}`),
  job: (id: string) => request<JobDetail>('GET', `/api/jobs/${enc(id)}`),
  createJob: (input: JobInput) => request<Job>('POST', '/api/jobs', { body: input }),
  updateJob: (id: string, input: JobUpdate) => request<Job>('PUT', `/api/jobs/${enc(id)}`, { body: input }),
  deleteJob: (id: string) => request<Ok>('DELETE', `/api/jobs/${enc(id)}`),
  enableJob: (id: string) => request<Job>('POST', `/api/jobs/${enc(id)}/enable`),
  disableJob: (id: string) => request<Job>('POST', `/api/jobs/${enc(id)}/disable`),
  triggerJob: (id: string) => request<Ok>('POST', `/api/jobs/${enc(id)}/trigger`),
  cronPreview: (schedule: Schedule, signal?: AbortSignal) =>
    request<CronPreview>('POST', '/api/cron/preview', { body: { schedule } satisfies Wire<CronPreviewBody>, signal }),

  runs: (q: RunQuery = {}) => request<Page<Run>>('GET', `/api/runs${qs({ ...q })}`),
  run: (id: string) => request<Run>('GET', `/api/runs/${enc(id)}`),

  contacts: () => request<Items<Contact>>('GET', '/api/contacts'),
  createContact: (input: ContactInput) => request<Contact>('POST', '/api/contacts', { body: input }),
  updateContact: (id: string, input: ContactInput) => request<Contact>('PUT', `/api/contacts/${enc(id)}`, { body: input }),
  deleteContact: (id: string) => request<Ok>('DELETE', `/api/contacts/${enc(id)}`),

  logs: (q: LogQuery = {}) => request<Page<LogEntry>>('GET', `/api/logs${qs({ ...q })}`),
  incidents: (q: { open?: boolean | ''; cursor?: string | null; limit?: number } = {}) =>
    request<Page<Incident>>('GET', `/api/incidents${qs({ ...q })}`),
  settings: () => request<ClusterSettings>('GET', '/api/config'),
  saveSettings: (body: ClusterConfigBody) => request<ClusterSettings>('PUT', '/api/config', { body }),
  audit: (q: { user?: string; q?: string; method?: string; from?: string; cursor?: string | null; limit?: number } = {}) =>
    request<Page<AuditEntry>>('GET', `/api/audit${qs({ ...q })}`),
  machines: () => request<Items<Machine>>('GET', '/api/machines'),
  closeIncident: (id: string) => request<Ok>('POST', `/api/incidents/${enc(id)}/close`),
  acknowledgeIncident: (id: string) => request<Incident>('POST', `/api/incidents/${enc(id)}/acknowledge`),
  users: () => request<Items<UserView>>('GET', '/api/users'),
  createUser: (body: NewUserBody) => request<UserView>('POST', '/api/users', { body }),
  setUserRole: (name: string, role: Role) => request<UserView>('PUT', `/api/users/${enc(name)}`, { body: { role } }),
  setUserPassword: (name: string, password: string) => request<Ok>('PUT', `/api/users/${enc(name)}/password`, { body: { password } }),
  deleteUser: (name: string) => request<Ok>('DELETE', `/api/users/${enc(name)}`),
  setUserDisabled: (name: string, disabled: boolean) =>
    request<UserView>('POST', `/api/users/${enc(name)}/${disabled ? 'disable' : 'enable'}`),
  tokens: () => request<Items<TokenView>>('GET', '/api/auth/tokens'),
  createToken: (name: string, user: string) => request<TokenCreated>('POST', '/api/auth/tokens', { body: { name, user } }),
  revokeToken: (id: string) => request<Ok>('DELETE', `/api/auth/tokens/${enc(id)}`),
  outbox: (q: { cursor?: string | null; limit?: number } = {}) => request<Page<OutboxMail>>('GET', `/api/outbox${qs({ ...q })}`),
};
