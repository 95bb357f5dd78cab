import type { ZodType } from 'zod';
import { InvalidDataError } from './errors.js';

export function encodeJson(data: unknown): Buffer {
  return data === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(data), 'utf8');
}

/** Parses a znode's JSON (empty data is null) and checks it against the schema, if any. */
export function decodeJson<T>(path: string, raw: Buffer, schema?: ZodType<T>): T {
  let value: unknown = null;
  if (raw.length > 0) {
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new InvalidDataError(path, 'not JSON');
    }
  }
  if (!schema) return value as T;
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new InvalidDataError(path, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
}
