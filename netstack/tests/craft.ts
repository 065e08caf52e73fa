// Builds test frames by hand (Ethernet + IPv4/IPv6 + TCP/UDP/ICMP) with valid checksums,
// so tests can inject exactly the packet an attacker or a broken peer would send.
import { checksum, finishChecksum, pseudoHeaderSum, sumBytes } from "../checksum.ts";
import { put32 } from "../tcp/segment.ts";

export interface TcpSpec {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  options?: number[];
  data?: Uint8Array;
}

export function tcpSegment(t: TcpSpec): Uint8Array {
  const opts = t.options ?? [];
  const optLen = (opts.length + 3) & ~3;
  const hlen = 20 + optLen;
  const data = t.data ?? new Uint8Array(0);
  const seg = new Uint8Array(hlen + data.length);
  seg[0] = t.sport >> 8;
  seg[1] = t.sport & 0xff;
  seg[2] = t.dport >> 8;
  seg[3] = t.dport & 0xff;
  put32(seg, 4, t.seq >>> 0);
  put32(seg, 8, t.ack >>> 0);
  seg[12] = (hlen / 4) << 4;
  seg[13] = t.flags;
  const w = t.window ?? 65535;
  seg[14] = w >> 8;
  seg[15] = w & 0xff;
  seg.set(opts, 20);
  seg.set(data, hlen);
  const c = finishChecksum(
    sumBytes(seg, 0, seg.length, pseudoHeaderSum(t.src, t.dst, 6, seg.length)),
  );
  seg[16] = c >> 8;
  seg[17] = c & 0xff;
  return seg;
}

export function ipv4Packet(
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  payload: Uint8Array,
  opts: {
    id?: number;
    fragOffset?: number;
    more?: boolean;
    ttl?: number;
    ipOptions?: number[];
  } = {},
): Uint8Array {
  const o = opts.ipOptions ?? [];
  const ihl = 20 + ((o.length + 3) & ~3);
  const p = new Uint8Array(ihl + payload.length);
  p[0] = 0x40 | (ihl / 4);
  const total = p.length;
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[4] = (opts.id ?? 1) >> 8;
  p[5] = (opts.id ?? 1) & 0xff;
  const frag = ((opts.fragOffset ?? 0) >> 3) | (opts.more ? 0x2000 : 0);
  p[6] = frag >> 8;
  p[7] = frag & 0xff;
  p[8] = opts.ttl ?? 64;
  p[9] = proto;
  p.set(src, 12);
  p.set(dst, 16);
  p.set(o, 20);
  const c = checksum(p, 0, ihl);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p.set(payload, ihl);
  return p;
}

export function ipv6Packet(
  src: Uint8Array,
  dst: Uint8Array,
  next: number,
  payload: Uint8Array,
  hop = 64,
): Uint8Array {
  const p = new Uint8Array(40 + payload.length);
  p[0] = 0x60;
  p[4] = payload.length >> 8;
  p[5] = payload.length & 0xff;
  p[6] = next;
  p[7] = hop;
  p.set(src, 8);
  p.set(dst, 24);
  p.set(payload, 40);
  return p;
}

export function ethernet(
  dst: Uint8Array,
  src: Uint8Array,
  type: number,
  payload: Uint8Array,
): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

export function udpDatagram(
  src: Uint8Array,
  dst: Uint8Array,
  sport: number,
  dport: number,
  data: Uint8Array,
): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  u[0] = sport >> 8;
  u[1] = sport & 0xff;
  u[2] = dport >> 8;
  u[3] = dport & 0xff;
  u[4] = u.length >> 8;
  u[5] = u.length & 0xff;
  u.set(data, 8);
  let c = finishChecksum(sumBytes(u, 0, u.length, pseudoHeaderSum(src, dst, 17, u.length)));
  if (c === 0) c = 0xffff;
  u[6] = c >> 8;
  u[7] = c & 0xff;
  return u;
}
