// TCP header parsing (into one reused object) and option encoding. Option parsing stops at
// the first malformed option (length < 2 or past the header), so zero-length options cannot
// loop, and options are honoured only where RFCs allow them (MSS/WS/SACK-permitted on SYN).
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;

export const OPT_END = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WS = 3;
export const OPT_SACK_PERM = 4;
export const OPT_SACK = 5;
export const OPT_TS = 8;

export const TCP_HLEN = 20;
export const MAX_WSCALE = 14;

export class Segment {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  headerLength = 0;
  hasMss = false;
  mss = 0;
  hasWs = false;
  ws = 0;
  sackPermitted = false;
  hasTs = false;
  tsVal = 0;
  tsEcr = 0;
  /** SACK blocks as [start, end) pairs, at most 4. */
  sack: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  sackCount = 0;
  data: Uint8Array = new Uint8Array(0);

  /** Sequence space the segment occupies: data plus SYN and FIN. */
  get seqLength(): number {
    return this.data.length + (this.flags & SYN ? 1 : 0) + (this.flags & FIN ? 1 : 0);
  }
}

/** Parses `p` (the TCP header and data) into `s`; false when malformed. */
export function parseSegment(p: Uint8Array, s: Segment): boolean {
  if (p.length < TCP_HLEN) return false;
  const hlen = (p[12] >> 4) * 4;
  if (hlen < TCP_HLEN || hlen > p.length) return false;
  s.srcPort = (p[0] << 8) | p[1];
  s.dstPort = (p[2] << 8) | p[3];
  s.seq = ((p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7]) >>> 0;
  s.ack = ((p[8] << 24) | (p[9] << 16) | (p[10] << 8) | p[11]) >>> 0;
  s.flags = p[13];
  s.window = (p[14] << 8) | p[15];
  s.headerLength = hlen;
  s.hasMss =
    s.hasWs =
    s.sackPermitted =
    s.hasTs =
      false;
  s.sackCount = 0;
  const syn = (s.flags & SYN) !== 0;
  for (let i = TCP_HLEN; i < hlen;) {
    const kind = p[i];
    if (kind === OPT_END) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= hlen) break;
    const len = p[i + 1];
    if (len < 2 || i + len > hlen) break;
    switch (kind) {
      case OPT_MSS:
        if (len === 4 && syn) {
          s.hasMss = true;
          s.mss = (p[i + 2] << 8) | p[i + 3];
        }
        break;
      case OPT_WS:
        if (len === 3 && syn) {
          s.hasWs = true;
          s.ws = Math.min(p[i + 2], MAX_WSCALE); // RFC 7323 2.3: clamp, don't refuse
        }
        break;
      case OPT_SACK_PERM:
        if (len === 2 && syn) s.sackPermitted = true;
        break;
      case OPT_SACK:
        if (!syn && len >= 10 && (len - 2) % 8 === 0) {
          const n = Math.min(4, (len - 2) / 8);
          for (let k = 0; k < n; k++) {
            const o = i + 2 + k * 8;
            s.sack[2 * k] = ((p[o] << 24) | (p[o + 1] << 16) | (p[o + 2] << 8) | p[o + 3]) >>> 0;
            s.sack[2 * k + 1] =
              ((p[o + 4] << 24) | (p[o + 5] << 16) | (p[o + 6] << 8) | p[o + 7]) >>> 0;
          }
          s.sackCount = n;
        }
        break;
      case OPT_TS:
        if (len === 10) {
          s.hasTs = true;
          s.tsVal = ((p[i + 2] << 24) | (p[i + 3] << 16) | (p[i + 4] << 8) | p[i + 5]) >>> 0;
          s.tsEcr = ((p[i + 6] << 24) | (p[i + 7] << 16) | (p[i + 8] << 8) | p[i + 9]) >>> 0;
        }
        break;
    }
    i += len;
  }
  s.data = p.subarray(hlen);
  return true;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Writes the fixed header; options (already placed after it) are counted in `hlen`. */
export function writeHeader(
  b: Uint8Array,
  o: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  hlen: number,
  flags: number,
  window: number,
): void {
  b[o] = srcPort >> 8;
  b[o + 1] = srcPort & 0xff;
  b[o + 2] = dstPort >> 8;
  b[o + 3] = dstPort & 0xff;
  put32(b, o + 4, seq);
  put32(b, o + 8, ack);
  b[o + 12] = (hlen / 4) << 4;
  b[o + 13] = flags;
  b[o + 14] = window >> 8;
  b[o + 15] = window & 0xff;
  b[o + 16] = 0;
  b[o + 17] = 0;
  b[o + 18] = 0;
  b[o + 19] = 0;
}
