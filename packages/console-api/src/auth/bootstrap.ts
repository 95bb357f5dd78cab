import { newId } from '@clover/model';
import type { Store } from '@clover/store';
import { hashPassword, randomSecret } from './passwords.js';
import { digest } from './sessions.js';

/**
 * The first admin on an empty user table: with `password` when given (CLOVER_ADMIN_PASSWORD),
 * else a generated one that the caller prints once. Does nothing when users exist.
 */
export async function ensureAdmin(
  store: Store,
  password?: string,
  name = 'admin',
): Promise<{ created: boolean; generatedPassword?: string }> {
  if ((await store.users.count()) > 0) return { created: false };
  const chosen = password || randomSecret(12);
  await store.users.create({ name, passwordHash: await hashPassword(chosen), role: 'admin', createdAt: new Date() });
  return password ? { created: true } : { created: true, generatedPassword: chosen };
}

/** A bearer token for scripts acting as `user`; only its hash is stored, so show it once. */
export async function createApiToken(store: Store, opts: { name: string; user: string }): Promise<{ id: string; token: string }> {
  const token = `clv_${randomSecret(24)}`;
  const id = newId('tok');
  await store.tokens.create({ id, name: opts.name, user: opts.user, hash: digest(token), createdAt: new Date() });
  return { id, token };
}
