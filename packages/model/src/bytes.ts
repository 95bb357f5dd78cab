/**
 * The length of `text` in UTF-8 bytes, as `Buffer.byteLength(text, 'utf8')` counts it (a lone
 * surrogate as the 3 bytes of U+FFFD), without Node's Buffer: the schemas that bound sizes with
 * it are type-checked in the browser console too, and it allocates nothing.
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one code point above U+FFFF
      i++;
    } else bytes += 3;
  }
  return bytes;
}
