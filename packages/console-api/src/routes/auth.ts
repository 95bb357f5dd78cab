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
    await openSession(d.store, req, res, user);
    res.json({ user: { name: user.name, role: user.role, grants: user.grants } } satisfies SignedIn);
  });

  r.post('/auth/logout', async (_req, res) => {
    await closeSession(d.store, res, principalOf(res));
    res.json({ ok: true } satisfies Ok);
  });

  r.get('/auth/me', (_req, res) => {
    const p = requirePrincipal(res);
    res.json({ user: { name: p.name, role: p.role, grants: [...p.grants] } } satisfies SignedIn);
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
    res.json({ items: (await d.store.users.list()).map((u) => ({ name: u.name, role: u.role, grants: u.grants })) } satisfies UserList);
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
    res.status(201).json({ name: body.name, role: body.role, grants: body.grants } satisfies UserView);
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
    res.json({ name: user.name, role: user.role, grants: user.grants } satisfies UserView);
  });

  return r;
}

/**
 * 409 when `name` is the only admin: deleting or demoting them would leave no one able to manage
 * users, tokens or nodes, and no way back short of editing the store. Checked before the rule
 * against changing yourself (which the only admin always meets), so the answer says why; it
 * also holds for an admin acting through an API token. Two admins demoting each other at the
 * same instant could both pass this read: the store has no transaction across users.
 */
async function refuseLastAdmin(d: ApiDeps, name: string, what: 'delete' | 'demote'): Promise<void> {
  const admins = (await d.store.users.list()).filter((u) => u.role === 'admin');
  if (admins.length === 1 && admins[0]?.name === name)
    throw apiError(
      'conflict',
      `${name} is the last admin: make another user admin before you ${what === 'delete' ? 'delete' : 'demote'} them`,
    );
}
