import { randomBytes } from 'node:crypto';

/** Time-ordered ids (base-36 milliseconds + random hex), so newest-first is id order too. */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}
