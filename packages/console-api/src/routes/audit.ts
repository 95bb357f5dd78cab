import { Router, type RequestHandler, type Request } from 'express';
import { z } from 'zod';
import type { AuditEntry, Page } from '@clover/model';
import type { ApiDeps } from '../deps.js';
import { principalOf, requireRole } from '../auth/principal.js';
import { optionalDate, pageQuery, parseQuery } from '../query.js';

/** Fields never kept in the audit log, wherever they appear in a thing's before or after. */
const SECRET_KEYS = new Set(['password', 'passwordHash', 'token', 'hash']);

/** `value` without its secrets (SECRET_KEYS, at any depth). */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !SECRET_KEYS.has(k))
      .map(([k, v]) => [k, withoutSecrets(v)]),
  );
}

/** The routes that change something and how to read that thing before they do; the first path segment after /api. */
function subjectOf(req: Request): { target: string | null; read: (d: ApiDeps) => Promise<unknown> } {
  const [group, id] = req.path
    .split('/')
    .filter(Boolean)
    .map((s) => decodeURIComponent(s));
  const none = () => Promise.resolve(null);
  switch (group) {
    case 'jobs':
      return id ? { target: id, read: (d) => d.store.jobs.get(id) } : { target: null, read: none };
    case 'contacts':
      return id
        ? { target: id, read: async (d) => (await d.store.contacts.list()).find((c) => c.id === id) ?? null }
        : { target: null, read: none };
    case 'users':
      return id ? { target: id, read: (d) => d.store.users.get(id) } : { target: null, read: none };
    case 'incidents':
      return id ? { target: id, read: (d) => d.store.incidents.get(id) } : { target: null, read: none };
    case 'config':
      return { target: 'config', read: async (d) => (await d.zk.get(d.paths.config))?.data ?? null };
    case 'nodes': {
      const path = typeof req.query.path === 'string' ? req.query.path : null;
      return { target: path, read: async (d) => (path?.startsWith(`${d.paths.root}/`) ? ((await d.zk.get(path))?.data ?? null) : null) };
    }
    case 'auth': {
      const token = req.path.split('/').filter(Boolean)[2];
      return token
        ? { target: token, read: async (d) => (await d.store.tokens.list()).find((t) => t.id === token) ?? null }
        : { target: null, read: none };
    }
    default:
      return { target: id ?? null, read: none };
  }
}

// Sign-in and out are not changes to the system; a preview writes nothing.
const NOT_AUDITED = new Set(['/auth/login', '/auth/logout', '/cron/preview']);
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const isAck = (body: unknown) => body !== null && typeof body === 'object' && (body as { ok?: unknown }).ok === true;

/**
 * Keeps every successful write through the API in the audit log (store.audit): who, when, the
 * method and path, the target, and the thing before (read before the route runs) and after (the
 * route's answer; its request body when the answer is only `{ ok: true }`; null after a delete),
 * secrets left out. Mounted after authentication; a write whose entry cannot be stored is logged
 * and still answered (the audit log must not take the API down with it).
 */
export function auditWrites(d: ApiDeps): RequestHandler {
  return (req, res, next) => {
    if (!WRITES.has(req.method) || NOT_AUDITED.has(req.path) || !principalOf(res)) {
      next();
      return;
    }
    const subject = subjectOf(req);
    subject.read(d).then(
      (before) => {
        let answer: unknown = null;
        const json = res.json.bind(res);
        res.json = (body: unknown) => {
          answer = body;
          return json(body);
        };
        res.on('finish', () => {
          const who = principalOf(res);
          if (res.statusCode >= 400 || !who) return;
          const after = req.method === 'DELETE' ? null : isAck(answer) ? ((req.body as unknown) ?? null) : answer;
          d.store.audit
            .add({
              at: new Date(d.clock()),
              user: who.name,
              method: req.method,
              path: req.originalUrl.split('?')[0] ?? req.path,
              target: subject.target,
              status: res.statusCode,
              before: withoutSecrets(JSON.parse(JSON.stringify(before ?? null))),
              after: withoutSecrets(JSON.parse(JSON.stringify(after ?? null))),
            })
            .catch((err: unknown) => d.logger.error('could not keep an audit entry', { path: req.path, err: String(err) }));
        });
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

const auditQuery = pageQuery.extend({
  user: z.string().optional(),
  q: z.string().optional(),
  method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'put', 'patch', 'delete']).optional(),
  from: optionalDate,
  to: optionalDate,
});

/** GET /api/audit: admins read who changed what. */
export function auditRoutes(d: ApiDeps): Router {
  const r = Router();
  r.get('/audit', requireRole('admin'), async (req, res) => {
    res.json((await d.store.audit.list(parseQuery(auditQuery, req.query))) satisfies Page<AuditEntry>);
  });
  return r;
}
