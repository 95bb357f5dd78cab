import type { Request, RequestHandler, Response } from 'express';
import type { Grant, JobKind, Role } from '@clover/model';
import { apiError } from '../errors.js';

export interface Principal {
  name: string;
  role: Role;
  /** Permissions beyond the role (model's grantSchema). */
  grants: readonly Grant[];
  /** How the request proved who it is: cookies need CSRF checks on writes, tokens do not. */
  via: 'session' | 'token';
  sessionId?: string;
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

export function requirePrincipal(res: Response): Principal {
  const p = principalOf(res);
  if (!p) throw apiError('unauthenticated', 'log in first');
  return p;
}

/** Job kinds that run commands or make requests on agents: shell and http (issue 21). */
const commandKinds: ReadonlySet<string> = new Set(['shell', 'http']);

/**
 * Throws 403 unless the principal may work with jobs of these kinds: shell and http jobs need the
 * admin role or the `commands` grant (XXL-JOB's history: anyone who may create a job that runs a
 * script owns every executor). Checked when a job is created, changed, enabled or triggered.
 *
 * @param kinds the job's kind now and, for a change, the kind it would have after.
 * @throws {ApiError} `forbidden` (403), naming what is missing.
 */
export function requireKindAllowed(p: Principal, ...kinds: readonly Pick<JobKind, 'type'>[]): void {
  const runsCommands = kinds.find((k) => commandKinds.has(k.type));
  if (!runsCommands || p.role === 'admin' || p.grants.includes('commands')) return;
  throw apiError(
    'forbidden',
    `${runsCommands.type} jobs run commands on agents: they need the admin role or the "commands" grant; you are ${p.role} without it`,
  );
}

/** Lets the request through when its user has at least `role`. */
export function requireRole(role: Role): RequestHandler {
  return (_req: Request, res: Response, next) => {
    const p = requirePrincipal(res);
    if (rank[p.role] < rank[role]) throw apiError('forbidden', `this needs the ${role} role; you are ${p.role}`);
    next();
  };
}
