import { z } from 'zod';
import {
  cronPreviewBodySchema,
  incidentKinds,
  logLevels,
  loginBodySchema,
  newTokenBodySchema,
  newUserBodySchema,
  putNodeBodySchema,
  runStatuses,
  userAccessBodySchema,
  contactInputSchema,
  contactSchema,
  incidentSchema,
  jobInputSchema,
  jobSchema,
  logEntrySchema,
  outboxMailSchema,
  runSchema,
  scheduleSchema,
} from '@clover/model';

type Method = 'get' | 'post' | 'put' | 'delete';
interface Op {
  summary: string;
  role?: string;
  body?: string;
  answer?: string;
  list?: boolean;
  status?: number;
  params?: string[];
  /** Answers with server-sent events (text/event-stream), not JSON. */
  stream?: boolean;
}

const schemas = {
  Job: jobSchema,
  JobInput: jobInputSchema,
  Schedule: scheduleSchema,
  Run: runSchema,
  Contact: contactSchema,
  ContactInput: contactInputSchema,
  Incident: incidentSchema,
  LogEntry: logEntrySchema,
  OutboxMail: outboxMailSchema,
  LoginBody: loginBodySchema,
  NewTokenBody: newTokenBodySchema,
  NewUserBody: newUserBodySchema,
  UserAccessBody: userAccessBodySchema,
  PutNodeBody: putNodeBodySchema,
  CronPreviewBody: cronPreviewBodySchema,
};

/**
 * The query parameters' schemas: what the routes' zod query schemas accept (query.ts and the
 * routes), so a client (or Schemathesis) can tell a valid value from one answered with 400.
 */
const trueOrFalse = { type: 'string', enum: ['true', 'false'] };
const dateTime = { type: 'string', format: 'date-time' };
const queryParams: Record<string, object> = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  cursor: { type: 'string', minLength: 1 },
  hours: { type: 'integer', minimum: 1, maximum: 744, default: 24 },
  path: { type: 'string', minLength: 1 },
  confirm: { type: 'string', minLength: 1 },
  force: trueOrFalse,
  enabled: trueOrFalse,
  open: trueOrFalse,
  status: { type: 'string', enum: [...runStatuses] },
  level: { type: 'string', enum: [...logLevels] },
  kind: { type: 'string', enum: [...incidentKinds] },
  from: dateTime,
  to: dateTime,
};

const ops: Record<string, Partial<Record<Method, Op>>> = {
  '/api/health': { get: { summary: 'liveness of the console, its store and ZooKeeper' } },
  '/api/auth/login': { post: { summary: 'log in; sets clover_session and clover_csrf cookies', body: 'LoginBody' } },
  // No login needed: it clears the cookies whoever calls, so a stale browser tab can always log out.
  '/api/auth/logout': { post: { summary: 'log out (ends the session if there is one; clears the cookies)' } },
  '/api/auth/me': { get: { summary: 'who is logged in', role: 'any' } },
  '/api/auth/tokens': {
    get: { summary: 'API tokens (never the token itself)', role: 'admin' },
    post: { summary: 'create an API token (shown once)', role: 'admin', body: 'NewTokenBody', status: 201 },
  },
  '/api/auth/tokens/{id}': { delete: { summary: 'revoke an API token', role: 'admin' } },
  '/api/stats': {
    get: { summary: 'dashboard figures from the hourly counters, and the waiting backlog', role: 'viewer', params: ['hours'] },
  },
  '/api/machines': {
    get: { summary: 'servers, agents and monitors from their heartbeats, and the dead ones an open incident names', role: 'viewer' },
  },
  '/api/incidents/{id}/close': { post: { summary: 'close an incident by hand (dismiss a dead machine)', role: 'operator' } },
  '/api/incidents/{id}/acknowledge': { post: { summary: 'acknowledge an incident (who and when; it stays open)', role: 'operator' } },
  '/api/audit': {
    get: {
      summary: 'the audit log: every write through the API, newest first',
      role: 'admin',
      params: ['user', 'q', 'method', 'from', 'to', 'cursor', 'limit'],
    },
  },
  '/api/config': {
    get: { summary: 'the cluster settings (/clover/config), their version and defaults', role: 'viewer' },
    put: { summary: 'change the cluster settings (validated, version-checked)', role: 'admin' },
  },
  '/api/nodes': { get: { summary: 'every znode under the clover root', role: 'viewer' } },
  '/api/nodes/data': {
    get: { summary: 'one znode', role: 'viewer', params: ['path'] },
    put: { summary: "replace a znode's data (version-checked)", role: 'admin', body: 'PutNodeBody', params: ['path'] },
    delete: {
      summary: "delete a znode recursively; clover's structural znodes answer 409 structural_node unless force=true",
      role: 'admin',
      params: ['path', 'confirm', 'force'],
    },
  },
  '/api/jobs': {
    get: { summary: 'list jobs', role: 'viewer', answer: 'Job', list: true, params: ['q', 'group', 'enabled', 'cursor', 'limit'] },
    post: { summary: 'create a job', role: 'operator', body: 'JobInput', answer: 'Job', status: 201 },
  },
  '/api/jobs/{id}': {
    get: { summary: 'a job and its next 10 fire times', role: 'viewer' },
    put: {
      summary: 'replace or patch a job (a field sent as null goes back to its default)',
      role: 'operator',
      body: 'JobInput',
      answer: 'Job',
    },
    delete: { summary: 'delete a job with its runs and counters', role: 'operator' },
  },
  '/api/jobs/{id}/enable': { post: { summary: 'enable a job', role: 'operator', answer: 'Job' } },
  '/api/jobs/{id}/disable': { post: { summary: 'disable a job', role: 'operator', answer: 'Job' } },
  '/api/jobs/{id}/trigger': { post: { summary: 'fire a job once now', role: 'operator', status: 202 } },
  '/api/cron/preview': {
    post: {
      summary: 'next fire times of a schedule: nextFireTimes, and fires ({ at, shifted?: gap | fold } when DST moved one)',
      role: 'viewer',
      body: 'CronPreviewBody',
    },
  },
  '/api/runs': {
    get: {
      summary: 'runs, newest first',
      role: 'viewer',
      answer: 'Run',
      list: true,
      params: ['jobId', 'status', 'node', 'from', 'to', 'cursor', 'limit'],
    },
  },
  '/api/runs/{id}': { get: { summary: 'one run with its output tail', role: 'viewer', answer: 'Run' } },
  '/api/runs/{id}/output/stream': {
    get: {
      summary:
        'the output of a running run as server-sent events: `output` {text, reset} with what is new (the whole tail when reset), `end` {status, outputTail} when it is over',
      role: 'viewer',
      stream: true,
    },
  },
  '/api/contacts': {
    get: { summary: 'contacts', role: 'viewer', answer: 'Contact', list: true },
    post: { summary: 'add a contact', role: 'operator', body: 'ContactInput', answer: 'Contact', status: 201 },
  },
  '/api/contacts/{id}': {
    put: { summary: 'change a contact', role: 'operator', body: 'ContactInput', answer: 'Contact' },
    delete: { summary: 'delete a contact', role: 'operator' },
  },
  '/api/logs': {
    get: {
      summary: 'log entries of the cluster (warn and above)',
      role: 'viewer',
      answer: 'LogEntry',
      list: true,
      params: ['level', 'source', 'node', 'from', 'to', 'q', 'cursor', 'limit'],
    },
  },
  '/api/incidents': {
    get: { summary: 'incidents', role: 'viewer', answer: 'Incident', list: true, params: ['open', 'kind', 'cursor', 'limit'] },
  },
  '/api/outbox': {
    get: {
      summary: 'mails kept when no SMTP is configured',
      role: 'viewer',
      answer: 'OutboxMail',
      list: true,
      params: ['cursor', 'limit'],
    },
  },
  '/api/users': {
    get: { summary: 'users', role: 'admin' },
    post: { summary: 'add a user', role: 'admin', body: 'NewUserBody', status: 201 },
  },
  '/api/users/{name}': {
    put: { summary: "change a user's role and/or grants", role: 'admin', body: 'UserAccessBody' },
    delete: { summary: 'delete a user (409 for the last admin)', role: 'admin' },
  },
  '/api/users/{name}/password': { put: { summary: "set a user's new password", role: 'admin' } },
  '/api/users/{name}/disable': {
    post: {
      summary: 'disable a user: no login, and their sessions and tokens stop working (409 for the last enabled admin; not yourself)',
      role: 'admin',
    },
  },
  '/api/users/{name}/enable': { post: { summary: 'enable a disabled user again', role: 'admin' } },
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    fields: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

/** OpenAPI 3.1 from the same zod schemas the API validates with, so the two cannot drift. */
export function openApiDocument(version: string): object {
  const components: Record<string, unknown> = { Error: errorSchema };
  for (const [name, schema] of Object.entries(schemas)) {
    components[name] = z.toJSONSchema(schema, {
      io: name.endsWith('Input') || name.endsWith('Body') ? 'input' : 'output',
      unrepresentable: 'any',
      target: 'draft-2020-12',
    });
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, methods] of Object.entries(ops)) {
    paths[path] = {};
    for (const [method, op] of Object.entries(methods) as Array<[Method, Op]>) {
      const answer = op.answer
        ? op.list
          ? { type: 'object', properties: { items: { type: 'array', items: ref(op.answer) }, nextCursor: { type: ['string', 'null'] } } }
          : ref(op.answer)
        : { type: 'object' };
      const parameters = [
        ...[...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
        ...(op.params ?? []).map((name) => ({
          name,
          in: 'query',
          required: name === 'path' || name === 'confirm',
          schema: queryParams[name] ?? { type: 'string' },
        })),
      ];
      paths[path][method] = {
        summary: op.summary,
        ...(op.role ? { description: `role: ${op.role}`, security: [{ session: [] }, { token: [] }] } : {}),
        ...(parameters.length ? { parameters } : {}),
        ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
        responses: {
          [String(op.status ?? 200)]: op.stream
            ? { description: 'ok: server-sent events', content: { 'text/event-stream': { schema: { type: 'string' } } } }
            : { description: 'ok', content: { 'application/json': { schema: answer } } },
          default: { description: 'error', content: { 'application/json': { schema: ref('Error') } } },
        },
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'clover console API', version },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'clover_session',
          description: 'writes also need X-CSRF-Token = the clover_csrf cookie',
        },
        token: { type: 'http', scheme: 'bearer' },
      },
    },
  };
}
