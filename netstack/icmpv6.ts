// ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861, the parts a host on a static link
// needs): echo, errors in both directions, neighbour solicitations and advertisements
// feeding the NDP neighbour cache. Router advertisements are ignored: addresses and routes
// are configured by the caller.
import { IPAddress, IPV6_ALL_NODES, isMulticast, isUnspecified } from "./addr.ts";
import { checksum, finishChecksum, pseudoHeaderSum, sumBytes } from "./checksum.ts";
import * as E from "./errno.ts";
import { ETH_HLEN } from "./ethernet.ts";
import { NH_DEST_OPTS, NH_FRAGMENT, NH_HOP_BY_HOP, NH_ICMPV6, NH_ROUTING } from "./ipv6.ts";
import { NeighborCache } from "./neighbor.ts";
import type { NIC } from "./nic.ts";
import type { PacketInfo } from "./packet.ts";
import { NetError, NetErrorKind, solicitedNode, Stack, TX_L4_OFFSET } from "./stack.ts";
import { RateLimiter } from "./icmp.ts";

export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROBLEM = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
const OPT_SOURCE_LL = 1;
const OPT_TARGET_LL = 2;

export function icmp6Checksum(
  src: IPAddress,
  dst: IPAddress,
  b: Uint8Array,
  off: number,
  len: number,
) {
  return finishChecksum(sumBytes(b, off, len, pseudoHeaderSum(src, dst, NH_ICMPV6, len)));
}

export class Icmp6 {
  readonly errorLimiter = new RateLimiter(100, 50);

  constructor(private readonly stack: Stack) {}

  createCache(nic: NIC): NeighborCache {
    const stack = this.stack;
    return new NeighborCache(stack.timers, () => stack.now, {
      solicit: (target, mac) => this.sendSolicit(nic, target, mac),
      unreachable: (frames) => {
        for (const f of frames) stack.ipv6.neighborFailed(f.subarray(ETH_HLEN));
      },
      transmit: (frame) => nic.writeFrame(frame),
    }, stack.neighborConfig);
  }

  receive(info: PacketInfo): void {
    const p = info.payload;
    const stats = this.stack.stats;
    if (p.length < 4) return stats.inc("icmp6.short");
    if (!info.trusted && icmp6Checksum(info.src, info.dst, p, 0, p.length) !== 0) {
      return stats.inc("icmp6.badChecksum");
    }
    switch (p[0]) {
      case ICMP6_ECHO_REQUEST:
        if (p.length < 8) return;
        this.echoReply(info);
        return;
      case ICMP6_ECHO_REPLY:
        if (p.length < 8) return;
        this.stack.ping.receive(info);
        return;
      case ICMP6_DEST_UNREACH:
      case ICMP6_PACKET_TOO_BIG:
      case ICMP6_TIME_EXCEEDED:
      case ICMP6_PARAM_PROBLEM:
        this.receiveError(info);
        return;
      case ND_NEIGHBOR_SOLICIT:
        this.receiveSolicit(info);
        return;
      case ND_NEIGHBOR_ADVERT:
        this.receiveAdvert(info);
        return;
      default:
        stats.inc("icmp6.ignoredType");
    }
  }

  private echoReply(info: PacketInfo): void {
    const p = info.payload;
    let src: IPAddress | null = info.dst.slice();
    if (isMulticast(src)) src = info.nic.sourceFor(info.src);
    if (!src) return;
    const route = this.stack.findRoute(
      info.src.slice(),
      src,
      info.nic.isLoopback ? null : info.nic,
    );
    if (typeof route === "number") return;
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    b.set(p, o);
    b[o] = ICMP6_ECHO_REPLY;
    b[o + 2] = 0;
    b[o + 3] = 0;
    const c = icmp6Checksum(route.src, route.dst, b, o, p.length);
    b[o + 2] = c >> 8;
    b[o + 3] = c & 0xff;
    this.stack.ipOutput(route, NH_ICMPV6, b, o, p.length, 64, 0, false);
  }

  private receiveError(info: PacketInfo): void {
    const p = info.payload;
    const stats = this.stack.stats;
    if (p.length < 8 + 40) return stats.inc("icmp6.badQuote");
    const inner = p.subarray(8);
    if (inner[0] >> 4 !== 6) return stats.inc("icmp6.badQuote");
    const src = inner.subarray(8, 24);
    const dst = inner.subarray(24, 40);
    if (!this.stack.isLocalAddress(src)) return stats.inc("icmp6.notOurs");
    // Find the transport header behind any extension headers.
    let next = inner[6];
    let off = 40;
    for (let i = 0; i < 8; i++) {
      if (next === NH_HOP_BY_HOP || next === NH_DEST_OPTS || next === NH_ROUTING) {
        if (off + 2 > inner.length) return;
        const nh = inner[off];
        off += (inner[off + 1] + 1) * 8;
        next = nh;
      } else if (next === NH_FRAGMENT) {
        if (off + 8 > inner.length) return;
        if ((((inner[off + 2] << 8) | inner[off + 3]) & 0xfff8) !== 0) return;
        next = inner[off];
        off += 8;
      } else break;
    }
    if (off + 8 > inner.length) return stats.inc("icmp6.badQuote");
    const err: NetError = {
      kind: NetErrorKind.Unreachable,
      errno: E.EHOSTUNREACH,
      hard: false,
      mtu: 0,
    };
    switch (p[0]) {
      case ICMP6_DEST_UNREACH:
        if (p[1] === 4) {
          err.kind = NetErrorKind.PortUnreachable;
          err.errno = E.ECONNREFUSED;
          err.hard = true;
        } else if (p[1] === 1) {
          err.errno = E.EACCES;
          err.hard = true;
        } else if (p[1] === 0) err.errno = E.ENETUNREACH;
        break;
      case ICMP6_PACKET_TOO_BIG: {
        const mtu = ((p[4] << 24) | (p[5] << 16) | (p[6] << 8) | p[7]) >>> 0;
        err.kind = NetErrorKind.FragNeeded;
        err.errno = E.EMSGSIZE;
        err.mtu = Math.min(Math.max(mtu, 1280), 65535);
        break;
      }
      case ICMP6_TIME_EXCEEDED:
        err.kind = NetErrorKind.TimeExceeded;
        break;
      default:
        err.kind = NetErrorKind.ParamProblem;
        err.errno = E.EPROTO;
        err.hard = p[1] === 1;
    }
    this.stack.transportError(next, src, dst, inner.subarray(off), err);
  }

  /** Parses ND options from `start`; returns the link-layer address option of `want`, null
   * when absent, or undefined when the options are malformed (packet must be dropped). */
  private llOption(p: Uint8Array, start: number, want: number): Uint8Array | null | undefined {
    let found: Uint8Array | null = null;
    for (let i = start; i < p.length;) {
      if (i + 2 > p.length) return undefined;
      const len = p[i + 1] * 8;
      if (len === 0 || i + len > p.length) return undefined;
      if (p[i] === want && len >= 8) found = p.subarray(i + 2, i + 8);
      i += len;
    }
    return found;
  }

  private receiveSolicit(info: PacketInfo): void {
    const p = info.payload;
    const stats = this.stack.stats;
    if (info.ttl !== 255 || p[1] !== 0 || p.length < 24) return stats.inc("ndp.invalid");
    const target = p.subarray(8, 24);
    if (isMulticast(target)) return stats.inc("ndp.invalid");
    const sll = this.llOption(p, 24, OPT_SOURCE_LL);
    if (sll === undefined) return stats.inc("ndp.badOption");
    const dad = isUnspecified(info.src);
    if (dad && (sll || !(info.dst[0] === 0xff && info.dst[11] === 1 && info.dst[12] === 0xff))) {
      return stats.inc("ndp.invalid");
    }
    const nic = info.nic;
    if (!nic.hasAddress(target)) return;
    if (sll && nic.ndp) nic.ndp.learn(info.src, sll);
    const to = dad ? IPV6_ALL_NODES : info.src.slice();
    this.sendAdvert(nic, target.slice(), to, !dad, sll);
  }

  private receiveAdvert(info: PacketInfo): void {
    const p = info.payload;
    const stats = this.stack.stats;
    if (info.ttl !== 255 || p[1] !== 0 || p.length < 24) return stats.inc("ndp.invalid");
    const solicited = (p[4] & 0x40) !== 0;
    const override = (p[4] & 0x20) !== 0;
    const target = p.subarray(8, 24);
    if (isMulticast(target) || (solicited && isMulticast(info.dst))) {
      return stats.inc("ndp.invalid");
    }
    const tll = this.llOption(p, 24, OPT_TARGET_LL);
    if (tll === undefined) return stats.inc("ndp.badOption");
    if (info.nic.hasAddress(target)) return stats.inc("ndp.duplicateAddress");
    const cache = info.nic.ndp;
    if (!cache || !tll) return;
    if (solicited) cache.confirm(target, tll, override);
    else cache.learn(target, tll, false);
  }

  private sendSolicit(nic: NIC, target: IPAddress, mac: Uint8Array | null): void {
    const src = nic.sourceFor(target);
    if (!src) return;
    const dst = mac ? target : solicitedNode(target);
    const b = this.stack.txBuf;
    // Solicitations can be sent while a transport packet sits in txBuf at TX_L4_OFFSET (the
    // neighbour cache solicits from inside sendIP): build this one in a private buffer.
    const buf = this.ndBuf;
    const o = TX_L4_OFFSET;
    buf.fill(0, o, o + 32);
    buf[o] = ND_NEIGHBOR_SOLICIT;
    buf.set(target, o + 8);
    buf[o + 24] = OPT_SOURCE_LL;
    buf[o + 25] = 1;
    buf.set(nic.mac, o + 26);
    const c = icmp6Checksum(src, dst, buf, o, 32);
    buf[o + 2] = c >> 8;
    buf[o + 3] = c & 0xff;
    void b;
    this.stack.ipv6.output(
      { nic, src, dst, nextHop: dst, mtu: nic.mtu },
      NH_ICMPV6,
      buf,
      o,
      32,
      255,
      0,
      false,
    );
  }

  private ndBuf = new Uint8Array(TX_L4_OFFSET + 64);

  private sendAdvert(
    nic: NIC,
    target: IPAddress,
    to: IPAddress,
    solicited: boolean,
    mac: Uint8Array | null,
  ) {
    const buf = this.ndBuf;
    const o = TX_L4_OFFSET;
    buf.fill(0, o, o + 32);
    buf[o] = ND_NEIGHBOR_ADVERT;
    buf[o + 4] = (solicited ? 0x40 : 0) | 0x20;
    buf.set(target, o + 8);
    buf[o + 24] = OPT_TARGET_LL;
    buf[o + 25] = 1;
    buf.set(nic.mac, o + 26);
    const c = icmp6Checksum(target, to, buf, o, 32);
    buf[o + 2] = c >> 8;
    buf[o + 3] = c & 0xff;
    const route = { nic, src: target, dst: to, nextHop: to, mtu: nic.mtu };
    if (mac && !isMulticast(to) && nic.ndp) {
      // Answer straight to the MAC the solicitation gave, without resolving it again.
      const h = o - 40;
      writeV6Header(buf, h, 32, target, to);
      buf.set(mac, h - ETH_HLEN);
      buf.set(nic.mac, h - ETH_HLEN + 6);
      buf[h - 2] = 0x86;
      buf[h - 1] = 0xdd;
      nic.writeFrame(buf.subarray(h - ETH_HLEN, o + 32));
      return;
    }
    this.stack.ipv6.output(route, NH_ICMPV6, buf, o, 32, 255, 0, false);
  }

  sendParamProblem(ip: Uint8Array, code: number, pointer: number, multicast: boolean): void {
    if (multicast) return;
    this.sendErrorAbout(ip, ICMP6_PARAM_PROBLEM, code, pointer);
  }

  /** Sends an ICMPv6 error about a received packet (RFC 4443 2.4 rules). */
  sendError(info: PacketInfo, type: number, code: number, param: number): void {
    if (info.multicast && !(type === ICMP6_PACKET_TOO_BIG)) return;
    this.sendErrorAbout(info.ip, type, code, param);
  }

  sendErrorAbout(ip: Uint8Array, type: number, code: number, param: number): void {
    if (ip.length < 40) return;
    const src = ip.subarray(8, 24);
    if (isUnspecified(src) || isMulticast(src)) return;
    if (ip[6] === NH_ICMPV6 && ip.length > 40 && ip[40] < 128) return; // error about an error
    if (!this.errorLimiter.allow(this.stack.now)) return;
    const dst = src.slice();
    const local = ip.subarray(24, 40);
    const route = this.stack.findRoute(dst, isMulticast(local) ? null : local.slice());
    if (typeof route === "number") return;
    const quote = Math.min(ip.length, 1280 - 48);
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    b[o] = type;
    b[o + 1] = code;
    b[o + 2] = 0;
    b[o + 3] = 0;
    b[o + 4] = param >>> 24;
    b[o + 5] = (param >> 16) & 0xff;
    b[o + 6] = (param >> 8) & 0xff;
    b[o + 7] = param & 0xff;
    b.set(ip.subarray(0, quote), o + 8);
    const c = icmp6Checksum(route.src, route.dst, b, o, 8 + quote);
    b[o + 2] = c >> 8;
    b[o + 3] = c & 0xff;
    this.stack.ipOutput(route, NH_ICMPV6, b, o, 8 + quote, 64, 0, false);
  }
}

function writeV6Header(b: Uint8Array, h: number, plen: number, src: IPAddress, dst: IPAddress) {
  b[h] = 0x60;
  b[h + 1] = 0;
  b[h + 2] = 0;
  b[h + 3] = 0;
  b[h + 4] = plen >> 8;
  b[h + 5] = plen & 0xff;
  b[h + 6] = NH_ICMPV6;
  b[h + 7] = 255;
  b.set(src, h + 8);
  b.set(dst, h + 24);
}

export { checksum };
