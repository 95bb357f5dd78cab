import type { Request, RequestHandler, Response } from 'express';
import type { Role } from '@clover/model';
import { apiError } from '../errors.js';

export interface Principal {
  name: string;
  role: Role;
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

/** Lets the request through when its user has at least `role`. */
export function requireRole(role: Role): RequestHandler {
  return (_req: Request, res: Response, next) => {
    const p = requirePrincipal(res);
    if (rank[p.role] < rank[role]) throw apiError('forbidden', `this needs the ${role} role; you are ${p.role}`);
    next();
  };
}
