import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@clover/testkit';
import type { ZkClient } from '../src/index.js';

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

/**
 * Connects a twin to a session and closes it, in a child process (test/fixtures/session-twin.ts:
 * the binding can abort the process that closes a handle just connected); gives up after 15 s.
 */
async function joinAndClose(connect: string, idHex: string, password: string): Promise<void> {
  await new Promise<void>((resolve) => {
    execFile(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        fileURLToPath(new URL('fixtures/session-twin.ts', import.meta.url)),
        connect,
        idHex,
        password,
      ],
      { timeout: 15_000 },
      () => resolve(),
    );
  });
}

function sessionCredentials(zk: ZkClient): [string, string] {
  const creds = (zk as unknown as { sessionCredentials?: () => [string, string] }).sessionCredentials?.();
  if (!creds) throw new Error('client does not expose its session credentials');
  return creds;
}
