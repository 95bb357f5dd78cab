import { createHash } from 'node:crypto';
import type { CookieOptions, Request, RequestHandler, Response } from 'express';
import type { Store } from '@clover/store';
import type { User } from '@clover/model';
import { apiError } from '../errors.js';
import { randomSecret } from './passwords.js';
import type { Principal } from './principal.js';

export const sessionCookie = 'clover_session';
export const csrfCookie = 'clover_csrf';
export const csrfHeader = 'x-csrf-token';
const sessionTtlMs = 12 * 3600_000;

// The store holds hashes only: a leaked database holds no usable session or token.
export const digest = (secret: string) => createHash('sha256').update(secret).digest('base64url');

const cookieBase = (req: Request): CookieOptions => ({ path: '/', sameSite: 'strict', secure: req.secure, maxAge: sessionTtlMs });

export async function openSession(store: Store, req: Request, res: Response, user: User): Promise<void> {
  const id = randomSecret();
  const csrf = randomSecret(18);
  await store.sessions.create({ id: digest(id), user: user.name, csrf, expiresAt: new Date(Date.now() + sessionTtlMs) });
  res.cookie(sessionCookie, id, { ...cookieBase(req), httpOnly: true });
  res.cookie(csrfCookie, csrf, { ...cookieBase(req), httpOnly: false });
}

export async function closeSession(store: Store, res: Response, principal: Principal | undefined): Promise<void> {
  if (principal?.sessionId) await store.sessions.delete(principal.sessionId);
  res.clearCookie(sessionCookie, { path: '/' });
  res.clearCookie(csrfCookie, { path: '/' });
}

const unsafe = (method: string) => !['GET', 'HEAD', 'OPTIONS'].includes(method);

/**
 * Finds who is calling (session cookie or bearer token) and puts it in res.locals.principal;
 * anonymous requests pass through, the routes decide. Cookie-authenticated writes must echo
 * the session's CSRF secret in X-CSRF-Token (double submit, checked against the store).
 */
export function authenticate(store: Store): RequestHandler {
  return async (req, res, next) => {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
    if (bearer) {
      const token = await store.tokens.findByHash(digest(bearer.trim()));
      const user = token && (await store.users.get(token.user));
      if (!user) throw apiError('unauthenticated', 'unknown or revoked API token');
      if (user.disabled) throw apiError('unauthenticated', `the token's user ${user.name} is disabled`);
      res.locals.principal = { name: user.name, role: user.role, grants: user.grants, via: 'token' } satisfies Principal;
      next();
      return;
    }
    const raw = (req.cookies as Record<string, string> | undefined)?.[sessionCookie];
    if (!raw) {
      next();
      return;
    }
    const sessionId = digest(raw);
    const session = await store.sessions.get(sessionId);
    if (!session || session.expiresAt.getTime() < Date.now()) {
      next();
      return;
    }
    const user = await store.users.get(session.user);
    // A disabled user's session reads as no session: the console shows its login page.
    if (!user || user.disabled) {
      next();
      return;
    }
    if (unsafe(req.method) && req.get(csrfHeader) !== session.csrf) {
      throw apiError('csrf_failed', `send the ${csrfCookie} cookie's value in the X-CSRF-Token header`);
    }
    res.locals.principal = { name: user.name, role: user.role, grants: user.grants, via: 'session', sessionId } satisfies Principal;
    next();
  };
}
