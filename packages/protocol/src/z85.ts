const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Z85 (ZeroMQ RFC 32), the text form of CURVE keys; ZAP hands keys over as 32 raw bytes. */
export function z85Encode(data: Buffer): string {
  if (data.length % 4 !== 0) throw new Error('Z85 input length must be a multiple of 4');
  let out = '';
  for (let i = 0; i < data.length; i += 4) {
    let value = data.readUInt32BE(i);
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.unshift(alphabet.charAt(value % 85));
      value = Math.floor(value / 85);
    }
    out += chunk.join('');
  }
  return out;
}
