import { MAX_OUTPUT_BYTES } from './job.js';

/** Keeps the end of the output, where errors are, within the byte bound. */
export function truncateOutput(text: string, maxBytes = MAX_OUTPUT_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const buf = Buffer.from(text, 'utf8');
  let tail = buf.subarray(buf.length - maxBytes).toString('utf8');
  // Cutting may split a multi-byte character; drop the replacement char and keep under the bound.
  while (Buffer.byteLength(tail, 'utf8') > maxBytes || tail.startsWith('\uFFFD')) tail = tail.slice(1);
  return tail;
}
