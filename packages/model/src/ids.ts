import { randomBytes } from 'node:crypto';

/** Time-ordered ids (hex milliseconds + random), so newest-first is id order too. */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}
