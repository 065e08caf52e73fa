// Linux names are bytes, not text. The sentry carries them as "binary strings": one char
// per byte (code 0-255), so every byte survives a round trip exactly. Decode as UTF-8 only
// to show them to people (logs, strace).

export function bytesToBinary(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

export function binaryToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** A binary string with a trailing NUL, for host calls. */
export function binaryToCString(s: string): Uint8Array {
  const b = new Uint8Array(s.length + 1);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

/** For display: binary string to readable text. */
export function binaryToText(s: string): string {
  return utf8.decode(binaryToBytes(s));
}

/** Text (e.g. from the command line, which Deno gives as UTF-8 text) to a binary string. */
export function textToBinary(s: string): string {
  return bytesToBinary(utf8enc.encode(s));
}
