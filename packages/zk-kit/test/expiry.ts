import { settleWithin } from '@clover/lifecycle';
import { waitFor } from '@clover/testkit';
import type { ZkClient } from '../src/index.js';
import { NativeZooKeeper } from '../src/native/binding.js';

/**
 * Ends a real session from outside: a second connection joins it with its id and password and
 * closes it. The owner may win its connection back before the close goes out (the server keeps
 * the newer connection of a session), so this repeats until the owner has seen its expiry.
 * Every wait is bounded: a twin joining a session that is already gone never connects, and the
 * owner learns of the expiry only when it reconnects, which can take a few seconds.
 */
export async function forceExpiry(zk: ZkClient, connect: string): Promise<void> {
  const original = zk.sessionId;
  let sawExpiry = false;
  let states: string[] = [];
  const off = zk.onState((s) => {
    states.push(s);
    if (s === 'expired') sawExpiry = true;
  });
  const done = () => sawExpiry || zk.sessionId !== original;
  // The owner reconnected into the same session before the twin's close went out.
  const wonBack = () => states.includes('disconnected') && states.at(-1) === 'connected';
  try {
    for (let attempt = 0; attempt < 10 && !done(); attempt++) {
      states = [];
      const [idHex, password] = sessionCredentials(zk);
      await joinAndClose(connect, idHex, password);
      await waitFor(() => done() || wonBack(), { timeoutMs: 15_000 }).catch(() => undefined);
    }
  } finally {
    off();
  }
  if (!done()) throw new Error(`session ${original} did not expire after 10 attempts`);
}

/** Connects a twin to a session and closes it; gives up after 10 s if the session is gone. */
async function joinAndClose(connect: string, idHex: string, password: string): Promise<void> {
  const twin = new NativeZooKeeper({ connect, timeout: 4000, debug_level: 1, client_id: idHex, client_password: password });
  await settleWithin(
    new Promise<void>((resolve) => {
      twin.on('connect', () => resolve());
      twin.on('close', () => resolve());
      twin.init({});
    }),
    10_000,
  );
  try {
    twin.close();
  } catch {
    // already closed by the server's expiry
  }
}

function sessionCredentials(zk: ZkClient): [string, string] {
  const creds = (zk as unknown as { sessionCredentials?: () => [string, string] }).sessionCredentials?.();
  if (!creds) throw new Error('client does not expose its session credentials');
  return creds;
}
