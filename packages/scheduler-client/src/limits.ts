import { LIMITS } from '@clover/protocol';
import type { AgentOptions } from './interfaces.js';

/**
 * What an agent says in HELLO is checked where it is given, against the protocol's own bounds
 * (LIMITS): a name or list over them would make every HELLO invalid, and the leader would drop
 * them all and never route to this agent. These are names, not text, so they are refused with
 * an error naming the option, never cut (a cut handler name would serve another job).
 */
export function checkAgentOptions(opts: AgentOptions, capacity: number, processCapacity: number): void {
  const id = opts.id;
  if (!id || id.includes('/')) throw new Error(`agent id must be non-empty without '/', got "${id}"`);
  if (id.length > LIMITS.idChars || Buffer.byteLength(id, 'utf8') > LIMITS.routingIdBytes) {
    throw new Error(
      `agent id is its ZeroMQ routing id: at most ${LIMITS.routingIdBytes} bytes as UTF-8, got ${Buffer.byteLength(id, 'utf8')}`,
    );
  }
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > LIMITS.capacity)
    throw new Error(`capacity must be an integer from 1 to ${LIMITS.capacity}, got ${opts.capacity}`);
  if (!Number.isInteger(processCapacity) || processCapacity < 1 || processCapacity > LIMITS.capacity)
    throw new Error(`processCapacity must be an integer from 1 to ${LIMITS.capacity}, got ${opts.processCapacity}`);
  const version = opts.version ?? '';
  if (version.length > LIMITS.versionChars)
    throw new Error(`version must be at most ${LIMITS.versionChars} characters, got ${version.length}`);
  for (const key of ['groups', 'tags'] as const) {
    // Typed string[], but an SDK user's JavaScript may pass anything.
    const list: readonly unknown[] = opts[key] ?? [];
    if (list.length > LIMITS.labels) throw new Error(`${key}: at most ${LIMITS.labels}, got ${list.length}`);
    const long = list.find((x) => typeof x !== 'string' || x.length > LIMITS.nameChars);
    if (long !== undefined) {
      const got = typeof long === 'string' ? `"${long.slice(0, 40)}…"` : `a ${typeof long}`;
      throw new Error(`${key}: each must be a string of at most ${LIMITS.nameChars} characters, got ${got}`);
    }
  }
}

/** A handler name as HELLO carries it; `count` is how many there would be with it. */
export function checkHandlerName(name: string, count: number): void {
  if (!name || typeof name !== 'string') throw new Error('handler name must not be empty');
  if (name.length > LIMITS.nameChars) throw new Error(`handler name must be at most ${LIMITS.nameChars} characters, got ${name.length}`);
  if (count > LIMITS.handlers) throw new Error(`an agent serves at most ${LIMITS.handlers} handlers`);
}
