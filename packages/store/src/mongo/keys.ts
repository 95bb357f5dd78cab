/**
 * Free-form maps (a shell job's `env`, an HTTP job's `headers`, an incident's `details`, a log
 * entry's `context`) may have keys such as `a.b` or `$x`. MongoDB reads a `.` in a key as a path
 * and a leading `$` as an operator; FerretDB 1.x refuses both outright ("invalid key"). So keys
 * are escaped on the way in and unescaped on the way out, percent-style: `%` → `%25`,
 * `.` → `%2E`, `$` → `%24` (every `$`, not only a leading one, so decoding needs no position).
 * A key without those characters is stored as it is, and costs one regex test.
 */
const needsEscape = /[%.$]/;
const escape = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
const unescape = (_: string, hex: string) => String.fromCharCode(parseInt(hex, 16));

/** Deep copy of `value` with every object key escaped; arrays and scalars keep their shape. */
export function encodeKeys<T>(value: T): T {
  return walk(value, (k) => (needsEscape.test(k) ? k.replace(/[%.$]/g, escape) : k)) as T;
}

/** The inverse of encodeKeys. */
export function decodeKeys<T>(value: T): T {
  return walk(value, (k) => (k.includes('%') ? k.replace(/%(25|2E|24)/g, unescape) : k)) as T;
}

function walk(value: unknown, key: (k: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => walk(v, key));
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  // Driver values other than plain objects (ObjectId, Decimal128, Buffer) are kept whole.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[key(k)] = walk(v, key);
  return out;
}
