// The Internet checksum (RFC 1071). The fast path adds 32-bit little-endian words: a
// ones'-complement sum is byte-order independent up to a final byte swap, and a JS number
// holds 2^21 such words before it loses precision, far more than any packet.

/** Adds `len` bytes of `buf` from `off` to the running big-endian 16-bit-word sum `acc`.
 * Precondition: the data before `off` that was summed into `acc` had even length. The result
 * is not folded; pass it to finishChecksum. */
export function sumBytes(buf: Uint8Array, off: number, len: number, acc: number): number {
  const abs = buf.byteOffset + off;
  if (len < 64 || (abs & 1) !== 0) return sumSlow(buf, off, len, acc);
  if ((abs & 3) === 2) {
    acc += (buf[off] << 8) | buf[off + 1];
    off += 2;
    len -= 2;
  }
  const words = len >>> 2;
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset + off, words);
  let s = 0;
  let i = 0;
  const unrolled = words & ~7;
  for (; i < unrolled; i += 8) {
    s += u32[i] + u32[i + 1] + u32[i + 2] + u32[i + 3] + u32[i + 4] + u32[i + 5] +
      u32[i + 6] + u32[i + 7];
  }
  for (; i < words; i++) s += u32[i];
  // Fold the little-endian word sum to 16 bits, then swap to big-endian order.
  s = fold(s);
  acc += ((s & 0xff) << 8) | (s >>> 8);
  const done = words << 2;
  if (done < len) acc = sumSlow(buf, off + done, len - done, acc);
  return acc;
}

function fold(s: number): number {
  // s may exceed 2^32: split with division-free arithmetic that stays exact below 2^53.
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

function sumSlow(buf: Uint8Array, off: number, len: number, acc: number): number {
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) acc += (buf[i] << 8) | buf[i + 1];
  if (len & 1) acc += buf[off + len - 1] << 8;
  return acc;
}

/** Folds a running sum and returns the ones'-complement checksum field value. */
export function finishChecksum(acc: number): number {
  return ~fold(acc) & 0xffff;
}

export function checksum(buf: Uint8Array, off: number, len: number, acc = 0): number {
  return finishChecksum(sumBytes(buf, off, len, acc));
}

/** The pseudo-header sum for TCP/UDP/ICMPv6 over IPv4 (4-byte addresses) or IPv6 (16). */
export function pseudoHeaderSum(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  length: number,
): number {
  let acc = sumSlow(src, 0, src.length, 0);
  acc = sumSlow(dst, 0, dst.length, acc);
  if (src.length === 4) return acc + protocol + length;
  return acc + (length >>> 16) + (length & 0xffff) + protocol;
}
