// rtnetlink messages: building the RTM_NEWLINK / RTM_NEWADDR / RTM_NEWROUTE messages the
// guest's NETLINK_ROUTE sockets read (ip, getifaddrs, if_nameindex), and parsing the same
// messages when the sandbox reads its host network namespace (takeover.ts, host mode).
import type { IfAddress, IfInfo, RouteInfo } from "./network.ts";

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_CAPPED = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_GETNEIGH = 30;
export const RTM_GETRULE = 34;
export const RTM_GETQDISC = 38;
export const RTM_GETNETCONF = 82;

export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_QDISC = 6;
export const IFLA_STATS = 7;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_STATS64 = 23;
export const IFLA_GROUP = 27;
export const IFLA_PROMISCUITY = 30;
export const IFLA_NUM_TX_QUEUES = 31;
export const IFLA_NUM_RX_QUEUES = 32;
export const IFLA_CARRIER = 33;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_CACHEINFO = 6;
export const IFA_FLAGS = 8;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_NOPREFIXROUTE = 0x200;

export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_IIF = 3;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;

export const NDA_DST = 1;
export const NDA_LLADDR = 2;

const AF_INET = 2;
const AF_INET6 = 10;
const ARPHRD_LOOPBACK = 772;

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Builds a sequence of netlink messages. */
export class NlWriter {
  private buf = new Uint8Array(4096);
  private dv = new DataView(this.buf.buffer);
  private len = 0;
  private start = -1;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }

  /** Starts a message (struct nlmsghdr). */
  begin(type: number, flags: number, seq: number, pid: number): this {
    this.ensure(16);
    this.start = this.len;
    this.dv.setUint16(this.len + 4, type, true);
    this.dv.setUint16(this.len + 6, flags, true);
    this.dv.setUint32(this.len + 8, seq >>> 0, true);
    this.dv.setUint32(this.len + 12, pid >>> 0, true);
    this.len += 16;
    return this;
  }

  /** Appends raw bytes (a fixed header), padded to 4. */
  bytes(b: Uint8Array): this {
    const n = align4(b.length);
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.buf.set(b, this.len);
    this.len += n;
    return this;
  }

  attr(type: number, data: Uint8Array): this {
    const n = align4(4 + data.length);
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.dv.setUint16(this.len, 4 + data.length, true);
    this.dv.setUint16(this.len + 2, type, true);
    this.buf.set(data, this.len + 4);
    this.len += n;
    return this;
  }

  u32(type: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.attr(type, b);
  }

  u8(type: number, v: number): this {
    return this.attr(type, new Uint8Array([v & 0xff]));
  }

  str(type: number, s: string): this {
    const b = new Uint8Array(s.length + 1);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
    return this.attr(type, b);
  }

  /** Opens a nested attribute; returns its position for nestEnd. */
  nestStart(type: number): number {
    this.ensure(4);
    const at = this.len;
    this.dv.setUint16(at + 2, type, true);
    this.len += 4;
    return at;
  }

  nestEnd(at: number): this {
    this.dv.setUint16(at, this.len - at, true);
    return this;
  }

  /** Finishes the message begun last (sets nlmsg_len). */
  end(): this {
    this.dv.setUint32(this.start, this.len - this.start, true);
    this.start = -1;
    return this;
  }

  get length(): number {
    return this.len;
  }

  take(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header, up to nlmsg_len. */
  payload: Uint8Array;
}

/** Splits a buffer into messages; stops at the first malformed one. */
export function parseMessages(b: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 0;
  while (off + 16 <= b.length) {
    const len = dv.getUint32(off, true);
    if (len < 16 || off + len > b.length) break;
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      payload: b.subarray(off + 16, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** The attributes after a fixed header of `skip` bytes: type -> value (first wins). */
export function parseAttrs(p: Uint8Array, skip: number): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  let off = align4(skip);
  while (off + 4 <= p.length) {
    const len = dv.getUint16(off, true);
    const type = dv.getUint16(off + 2, true) & 0x3fff;
    if (len < 4 || off + len > p.length) break;
    if (!m.has(type)) m.set(type, p.subarray(off + 4, off + len));
    off += align4(len);
  }
  return m;
}

export function attrU32(a: Uint8Array | undefined): number | null {
  if (!a || a.length < 4) return null;
  return new DataView(a.buffer, a.byteOffset, 4).getUint32(0, true);
}

export function attrStr(a: Uint8Array | undefined): string | null {
  if (!a) return null;
  let s = "";
  for (let i = 0; i < a.length && a[i] !== 0; i++) s += String.fromCharCode(a[i]);
  return s;
}

// ---- building what the guest reads ------------------------------------------------------

/** struct ifinfomsg + attributes for one interface. */
export function writeLink(
  w: NlWriter,
  i: IfInfo,
  type: number,
  flags: number,
  seq: number,
  pid: number,
): void {
  const hdr = new Uint8Array(16);
  const dv = new DataView(hdr.buffer);
  hdr[0] = 0; // AF_UNSPEC
  dv.setUint16(2, i.type, true);
  dv.setInt32(4, i.index, true);
  dv.setUint32(8, i.flags, true);
  dv.setUint32(12, 0, true);
  const lo = i.type === ARPHRD_LOOPBACK;
  w.begin(type, flags, seq, pid).bytes(hdr)
    .str(IFLA_IFNAME, i.name)
    .u32(IFLA_TXQLEN, 1000)
    .u8(IFLA_OPERSTATE, lo ? 0 : (i.flags & 1 ? 6 : 2))
    .u8(IFLA_LINKMODE, 0)
    .u32(IFLA_MTU, i.mtu)
    .u32(IFLA_MIN_MTU, lo ? 0 : 68)
    .u32(IFLA_MAX_MTU, lo ? 0 : 65535)
    .u32(IFLA_GROUP, 0)
    .u32(IFLA_PROMISCUITY, 0)
    .u32(IFLA_NUM_TX_QUEUES, 1)
    .u32(IFLA_NUM_RX_QUEUES, 1)
    .u8(IFLA_CARRIER, i.flags & 1 ? 1 : 0)
    .str(IFLA_QDISC, lo ? "noqueue" : "pfifo_fast")
    .attr(IFLA_ADDRESS, i.mac.subarray(0, 6))
    .attr(IFLA_BROADCAST, lo ? new Uint8Array(6) : new Uint8Array([255, 255, 255, 255, 255, 255]));
  const st = [i.rxPackets, i.txPackets, i.rxBytes, i.txBytes, 0, 0, i.rxDropped, i.txDropped];
  const s64 = new Uint8Array(24 * 8);
  const d64 = new DataView(s64.buffer);
  st.forEach((v, k) => d64.setBigUint64(k * 8, BigInt(Math.max(0, Math.floor(v))), true));
  const s32 = new Uint8Array(24 * 4);
  const d32 = new DataView(s32.buffer);
  st.forEach((v, k) => d32.setUint32(k * 4, Math.max(0, Math.floor(v)) >>> 0, true));
  w.attr(IFLA_STATS, s32).attr(IFLA_STATS64, s64).end();
}

/** struct ifaddrmsg + attributes for one address of interface i. */
export function writeAddr(
  w: NlWriter,
  i: IfInfo,
  a: IfAddress,
  type: number,
  flags: number,
  seq: number,
  pid: number,
): void {
  const hdr = new Uint8Array(8);
  hdr[0] = a.family;
  hdr[1] = a.prefix;
  hdr[2] = IFA_F_PERMANENT;
  hdr[3] = a.scope;
  new DataView(hdr.buffer).setUint32(4, i.index, true);
  w.begin(type, flags, seq, pid).bytes(hdr).attr(IFA_ADDRESS, a.addr);
  if (a.family === AF_INET) {
    w.attr(IFA_LOCAL, a.addr);
    if (i.type !== ARPHRD_LOOPBACK && a.prefix < 31) {
      const b = a.addr.slice();
      for (let bit = a.prefix; bit < 32; bit++) b[bit >> 3] |= 0x80 >> (bit & 7);
      w.attr(IFA_BROADCAST, b);
    }
    w.str(IFA_LABEL, i.name);
  }
  const ci = new Uint8Array(16);
  const cdv = new DataView(ci.buffer);
  cdv.setUint32(0, 0xffffffff, true);
  cdv.setUint32(4, 0xffffffff, true);
  w.u32(IFA_FLAGS, IFA_F_PERMANENT).attr(IFA_CACHEINFO, ci).end();
}

/** struct rtmsg + attributes for one route. */
export function writeRoute(
  w: NlWriter,
  r: RouteInfo,
  type: number,
  flags: number,
  seq: number,
  pid: number,
): void {
  const hdr = new Uint8Array(12);
  hdr[0] = r.family;
  hdr[1] = r.prefix;
  hdr[2] = 0;
  hdr[3] = 0;
  hdr[4] = r.table;
  hdr[5] = r.protocol;
  hdr[6] = r.scope;
  hdr[7] = r.type;
  w.begin(type, flags, seq, pid).bytes(hdr).u32(RTA_TABLE, r.table);
  if (r.prefix > 0) w.attr(RTA_DST, r.dst);
  if (r.metric) w.u32(RTA_PRIORITY, r.metric);
  if (r.src) w.attr(RTA_PREFSRC, r.src);
  if (r.gateway) w.attr(RTA_GATEWAY, r.gateway);
  w.u32(RTA_OIF, r.ifindex).end();
}

// ---- reading a host namespace's dumps ------------------------------------------------------

/** RTM_NEWLINK messages as IfInfo (addresses filled in by addAddresses). */
export function readLinks(msgs: NlMessage[]): IfInfo[] {
  const out: IfInfo[] = [];
  for (const m of msgs) {
    if (m.type !== RTM_NEWLINK || m.payload.length < 16) continue;
    const dv = new DataView(m.payload.buffer, m.payload.byteOffset, 16);
    const at = parseAttrs(m.payload, 16);
    const st = at.get(IFLA_STATS64);
    const s = (
      k: number,
    ) => (st && st.length >= (k + 1) * 8
      ? Number(new DataView(st.buffer, st.byteOffset).getBigUint64(k * 8, true))
      : 0);
    out.push({
      index: dv.getInt32(4, true),
      name: attrStr(at.get(IFLA_IFNAME)) ?? "",
      flags: dv.getUint32(8, true),
      mtu: attrU32(at.get(IFLA_MTU)) ?? 1500,
      mac: (at.get(IFLA_ADDRESS) ?? new Uint8Array(6)).slice(0, 6),
      type: dv.getUint16(2, true),
      addrs: [],
      rxPackets: s(0),
      txPackets: s(1),
      rxBytes: s(2),
      txBytes: s(3),
      rxDropped: s(6),
      txDropped: s(7),
    });
  }
  return out;
}

/** Adds RTM_NEWADDR messages' addresses to their interfaces. */
export function addAddresses(links: IfInfo[], msgs: NlMessage[]): void {
  for (const m of msgs) {
    if (m.type !== RTM_NEWADDR || m.payload.length < 8) continue;
    const p = m.payload;
    const index = new DataView(p.buffer, p.byteOffset, 8).getUint32(4, true);
    const link = links.find((l) => l.index === index);
    if (!link) continue;
    const at = parseAttrs(p, 8);
    const addr = at.get(IFA_LOCAL) ?? at.get(IFA_ADDRESS);
    if (!addr || (p[0] !== AF_INET && p[0] !== AF_INET6)) continue;
    link.addrs.push({ family: p[0], addr: addr.slice(), prefix: p[1], scope: p[3] });
  }
}

/** RTM_NEWROUTE messages as RouteInfo. */
export function readRoutes(msgs: NlMessage[]): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const m of msgs) {
    if (m.type !== RTM_NEWROUTE || m.payload.length < 12) continue;
    const p = m.payload;
    const at = parseAttrs(p, 12);
    const family = p[0];
    const size = family === AF_INET ? 4 : 16;
    out.push({
      family,
      dst: (at.get(RTA_DST) ?? new Uint8Array(size)).slice(),
      prefix: p[1],
      gateway: at.get(RTA_GATEWAY)?.slice() ?? null,
      ifindex: attrU32(at.get(RTA_OIF)) ?? 0,
      metric: attrU32(at.get(RTA_PRIORITY)) ?? 0,
      src: at.get(RTA_PREFSRC)?.slice() ?? null,
      scope: p[6],
      type: p[7],
      table: attrU32(at.get(RTA_TABLE)) ?? p[4],
      protocol: p[5],
    });
  }
  return out;
}

export interface NeighborEntry {
  family: number;
  ifindex: number;
  addr: Uint8Array;
  mac: Uint8Array;
  state: number;
}

/** RTM_NEWNEIGH messages (struct ndmsg: family, pad, pad, ifindex, state, flags, type). */
export function readNeighbors(msgs: NlMessage[]): NeighborEntry[] {
  const out: NeighborEntry[] = [];
  for (const m of msgs) {
    if (m.type !== RTM_NEWNEIGH || m.payload.length < 12) continue;
    const p = m.payload;
    const dv = new DataView(p.buffer, p.byteOffset, 12);
    const at = parseAttrs(p, 12);
    const addr = at.get(NDA_DST), mac = at.get(NDA_LLADDR);
    if (!addr || !mac || mac.length !== 6) continue;
    out.push({
      family: p[0],
      ifindex: dv.getInt32(4, true),
      addr: addr.slice(),
      mac: mac.slice(),
      state: dv.getUint16(8, true),
    });
  }
  return out;
}
