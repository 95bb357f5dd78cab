import { Router } from 'express';
import {
  loginBodySchema,
  newPasswordBodySchema,
  newTokenBodySchema,
  newUserBodySchema,
  userAccessBodySchema,
  parseOrThrow,
  type Ok,
  type SignedIn,
  type TokenCreated,
  type TokenList,
  type User,
  type UserList,
  type UserView,
} from '@clover/model';
import { DuplicateError } from '@clover/store';
import type { ApiDeps } from '../deps.js';
import { apiError, notFound } from '../errors.js';
import { createApiToken } from '../auth/bootstrap.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { principalOf, requirePrincipal, requireRole } from '../auth/principal.js';
import { closeSession, openSession } from '../auth/sessions.js';

// A constant hash to verify against when the user does not exist, so timing does not say which names exist.
let decoy: Promise<string> | undefined;

export function authRoutes(d: ApiDeps): Router {
  const r = Router();

  r.post('/auth/login', async (req, res) => {
    const body = parseOrThrow(loginBodySchema, req.body);
    const key = `${body.username}|${req.ip}`;
    const wait = d.throttle.retryAfterMs(key);
    if (wait > 0) {
      d.metrics.loginsThrottled.inc();
      const secs = Math.ceil(wait / 1000);
      throw apiError('too_many_requests', `too many failed logins; try again in ${secs} s`, undefined, secs);
    }
    const user = await d.store.users.get(body.username);
    const ok = await verifyPassword(body.password, user?.passwordHash ?? (await (decoy ??= hashPassword('decoy'))));
    if (!user || !ok) {
      d.throttle.fail(key);
      d.metrics.loginsFailed.inc();
      d.logger.warn('failed login', { user: body.username, ip: req.ip });
      throw apiError('unauthenticated', 'wrong user name or password');
    }
    d.throttle.succeed(key);
    // Said only to whoever knows the password: it tells nothing to someone guessing names.
    if (user.disabled) throw apiError('unauthenticated', 'this user is disabled; ask an admin to enable it');
    await openSession(d.store, req, res, user);
    res.json({ user: viewOf(user) } satisfies SignedIn);
  });

  r.post('/auth/logout', async (_req, res) => {
    await closeSession(d.store, res, principalOf(res));
    res.json({ ok: true } satisfies Ok);
  });

  r.get('/auth/me', (_req, res) => {
    const p = requirePrincipal(res);
    res.json({ user: { name: p.name, role: p.role, grants: [...p.grants], disabled: false } } satisfies SignedIn);
  });

  r.post('/auth/tokens', requireRole('admin'), async (req, res) => {
    const body = parseOrThrow(newTokenBodySchema, req.body);
    const owner = body.user ?? requirePrincipal(res).name;
    if (!(await d.store.users.get(owner))) throw notFound(`user ${owner}`);
    const { token, id } = await createApiToken(d.store, { name: body.name, user: owner });
    res.status(201).json({ token, id } satisfies TokenCreated);
  });

  r.get('/auth/tokens', requireRole('admin'), async (_req, res) => {
    const tokens = await d.store.tokens.list();
    res.json({ items: tokens.map(({ id, name, user, createdAt }) => ({ id, name, user, createdAt })) } satisfies TokenList);
  });

  r.delete('/auth/tokens/:id', requireRole('admin'), async (req, res) => {
    const id = String(req.params.id);
    if (!(await d.store.tokens.delete(id))) throw notFound(`token ${id}`);
    d.logger.info('API token revoked', { token: id, by: requirePrincipal(res).name });
    res.json({ ok: true } satisfies Ok);
  });

  r.get('/users', requireRole('admin'), async (_req, res) => {
    res.json({ items: (await d.store.users.list()).map(viewOf) } satisfies UserList);
  });

  r.post('/users', requireRole('admin'), async (req, res) => {
    const body = parseOrThrow(newUserBodySchema, req.body);
    try {
      await d.store.users.create({
        name: body.name,
        role: body.role,
        grants: body.grants,
        passwordHash: await hashPassword(body.password),
        createdAt: new Date(d.clock()),
      });
    } catch (err) {
      if (err instanceof DuplicateError) throw apiError('conflict', `user ${body.name} exists`, { name: 'taken' });
      throw err;
    }
    res.status(201).json({ name: body.name, role: body.role, grants: body.grants, disabled: false } satisfies UserView);
  });

  r.delete('/users/:name', requireRole('admin'), async (req, res) => {
    const name = String(req.params.name);
    await refuseLastAdmin(d, name, 'delete');
    if (name === requirePrincipal(res).name) throw apiError('bad_request', 'you cannot delete yourself');
    if (!(await d.store.users.delete(name))) throw notFound(`user ${name}`);
    // A deleted user's tokens would fail anyway (the user is looked up on each call); revoke them so none is left listed.
    for (const token of await d.store.tokens.list()) if (token.user === name) await d.store.tokens.delete(token.id);
    d.logger.info('user deleted', { user: name, by: requirePrincipal(res).name });
    res.json({ ok: true } satisfies Ok);
  });

  r.put('/users/:name/password', requireRole('admin'), async (req, res) => {
    const name = String(req.params.name);
    const body = parseOrThrow(newPasswordBodySchema, req.body);
    if (!(await d.store.users.setPassword(name, await hashPassword(body.password)))) throw notFound(`user ${name}`);
    d.logger.info('password reset', { user: name, by: requirePrincipal(res).name });
    res.json({ ok: true } satisfies Ok);
  });

  r.put('/users/:name', requireRole('admin'), async (req, res) => {
    const name = String(req.params.name);
    const body = parseOrThrow(userAccessBodySchema, req.body);
    const by = requirePrincipal(res).name;
    if (body.role !== undefined && body.role !== 'admin') await refuseLastAdmin(d, name, 'demote');
    // The last word on access must stay with an admin: no one demotes themselves by accident.
    if (name === by && body.role !== undefined && body.role !== 'admin')
      throw apiError('bad_request', 'you cannot take the admin role from yourself');
    const user = await d.store.users.setAccess(name, body);
    if (!user) throw notFound(`user ${name}`);
    d.logger.info('user access changed', { user: name, role: user.role, grants: user.grants, by });
    res.json(viewOf(user) satisfies UserView);
  });

  // Disabling keeps the user, their tokens and their history; each request reads the user, so
  // their sessions and tokens stop working at once (auth/sessions.ts), and enabling brings them back.
  for (const disabled of [true, false]) {
    r.post(`/users/:name/${disabled ? 'disable' : 'enable'}`, requireRole('admin'), async (req, res) => {
      const name = String(req.params.name);
      const by = requirePrincipal(res).name;
      if (disabled) {
        await refuseLastAdmin(d, name, 'disable');
        if (name === by) throw apiError('bad_request', 'you cannot disable yourself');
      }
      const user = await d.store.users.setAccess(name, { disabled });
      if (!user) throw notFound(`user ${name}`);
      d.logger.info(disabled ? 'user disabled' : 'user enabled', { user: name, by });
      res.json(viewOf(user) satisfies UserView);
    });
  }

  return r;
}

/** What the API shows of a user: never the password's hash. */
function viewOf(u: User): UserView {
  return { name: u.name, role: u.role, grants: u.grants, disabled: u.disabled };
}

/**
 * 409 when `name` is the only enabled admin: deleting, demoting or disabling them would leave no one able to manage
 * users, tokens or nodes, and no way back short of editing the store. Checked before the rule
 * against changing yourself (which the only admin always meets), so the answer says why; it
 * also holds for an admin acting through an API token. Two admins demoting each other at the
 * same instant could both pass this read: the store has no transaction across users.
 */
async function refuseLastAdmin(d: ApiDeps, name: string, what: 'delete' | 'demote' | 'disable'): Promise<void> {
  const admins = (await d.store.users.list()).filter((u) => u.role === 'admin' && !u.disabled);
  if (admins.length === 1 && admins[0]?.name === name)
    throw apiError('conflict', `${name} is the last admin: make another user admin before you ${what} them`);
}
