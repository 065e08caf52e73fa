// IPv6 (RFC 8200) for a host: header validation, extension-header walk (hop-by-hop and
// destination options with their unknown-option actions, routing headers refused when they
// ask us to forward, fragments reassembled with limits), local delivery, and fragmentation of
// our own packets when they exceed the path MTU.
import { IPAddress, ipKey, isMulticast, isUnspecified } from "./addr.ts";
import * as E from "./errno.ts";
import { ETH_HLEN, ETH_P_IPV6 } from "./ethernet.ts";
import type { GsoInfo } from "./link/endpoint.ts";
import type { NIC } from "./nic.ts";
import { newPacketInfo, PacketInfo } from "./packet.ts";
import { Reassembler } from "./reassembly.ts";
import type { Route } from "./route.ts";
import { NetErrorKind, Stack } from "./stack.ts";

export const IPV6_HLEN = 40;
export const NH_HOP_BY_HOP = 0;
export const NH_TCP = 6;
export const NH_UDP = 17;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_ICMPV6 = 58;
export const NH_NONE = 59;
export const NH_DEST_OPTS = 60;
const MAX_EXTENSION_HEADERS = 16;

export class IPv6 {
  readonly reassembler: Reassembler;
  private info: PacketInfo | null = null;
  private fragBuf: Uint8Array | null = null;
  private fragId: number;
  defaultHopLimit = 64;

  constructor(private readonly stack: Stack) {
    this.fragId = stack.randomU32();
    this.reassembler = new Reassembler(stack.timers, () => stack.now, {}, (first) => {
      stack.icmp6.sendErrorAbout(first, 3, 1, 0);
    });
  }

  receive(nic: NIC, p: Uint8Array): void {
    const stats = this.stack.stats;
    if (p.length < IPV6_HLEN) return stats.inc("ipv6.short");
    if (p[0] >> 4 !== 6) return stats.inc("ipv6.badVersion");
    const plen = (p[4] << 8) | p[5];
    if (IPV6_HLEN + plen > p.length) return stats.inc("ipv6.badLength");
    p = p.subarray(0, IPV6_HLEN + plen);
    const src = p.subarray(8, 24);
    const dst = p.subarray(24, 40);
    if (isMulticast(src)) return stats.inc("ipv6.badSource");
    if (src[0] === 0 && src[15] === 1 && isLoopbackAddr(src) && !nic.isLoopback) {
      return stats.inc("ipv6.martian");
    }
    let multicast = false;
    if (isMulticast(dst)) {
      if (!nic.inGroup(dst)) return stats.inc("ipv6.notMember");
      multicast = true;
    } else if (!this.stack.isLocalAddress(dst)) {
      return stats.inc("ipv6.notForUs");
    }
    let buf = p;
    let next = p[6];
    let off = IPV6_HLEN;
    let reassembled = false;
    for (let count = 0;; count++) {
      if (count > MAX_EXTENSION_HEADERS) return stats.inc("ipv6.tooManyHeaders");
      if (next === NH_TCP || next === NH_UDP || next === NH_ICMPV6) break;
      if (next === NH_NONE) return;
      if (next === NH_HOP_BY_HOP || next === NH_DEST_OPTS) {
        if (next === NH_HOP_BY_HOP && (off !== IPV6_HLEN || reassembled)) {
          this.stack.icmp6.sendParamProblem(p, 1, prevNextHeaderOffset(off), multicast);
          return stats.inc("ipv6.misplacedHopByHop");
        }
        if (off + 2 > buf.length) return stats.inc("ipv6.short");
        const len = (buf[off + 1] + 1) * 8;
        if (off + len > buf.length) return stats.inc("ipv6.short");
        if (!this.options(buf, off + 2, off + len, p, multicast, reassembled)) return;
        next = buf[off];
        off += len;
        continue;
      }
      if (next === NH_ROUTING) {
        if (off + 8 > buf.length) return stats.inc("ipv6.short");
        const len = (buf[off + 1] + 1) * 8;
        if (off + len > buf.length) return stats.inc("ipv6.short");
        if (buf[off + 3] !== 0) {
          // Segments left: we would have to forward. Point at the routing type (RFC 8200 4.4).
          if (!reassembled) this.stack.icmp6.sendParamProblem(p, 0, off + 2, multicast);
          return stats.inc("ipv6.routingHeader");
        }
        next = buf[off];
        off += len;
        continue;
      }
      if (next === NH_FRAGMENT) {
        if (reassembled) return stats.inc("ipv6.nestedFragment");
        if (off + 8 > buf.length) return stats.inc("ipv6.short");
        const field = (buf[off + 2] << 8) | buf[off + 3];
        const fragOffset = field & 0xfff8;
        const more = (field & 1) !== 0;
        const nh = buf[off];
        if (!more && fragOffset === 0) {
          // An atomic fragment (RFC 6946): process it as if unfragmented.
          next = nh;
          off += 8;
          continue;
        }
        const id =
          ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
        const key = `${ipKey(src)}|${ipKey(dst)}|${id}`;
        const data = buf.subarray(off + 8);
        if (more && (data.length & 7) !== 0) {
          this.stack.icmp6.sendParamProblem(p, 0, 4, multicast);
          return stats.inc("ipv6.badFragmentLength");
        }
        // The unfragmentable part must be in the first fragment only; we carry next-header
        // in the key's payload by prefixing it.
        const whole = this.reassembler.add(key + "|" + nh, fragOffset, data, more, p);
        if (!whole) return;
        buf = whole;
        off = 0;
        next = nh;
        reassembled = true;
        continue;
      }
      stats.inc("ipv6.unknownNextHeader");
      if (!reassembled) {
        this.stack.icmp6.sendParamProblem(
          p,
          1,
          off === IPV6_HLEN ? 6 : prevNextHeaderOffset(off),
          multicast,
        );
      }
      return;
    }
    const info = this.info ??= newPacketInfo(nic);
    info.nic = nic;
    info.version = 6;
    info.src = src;
    info.dst = dst;
    info.ttl = p[7];
    info.tos = ((p[0] & 0x0f) << 4) | (p[1] >> 4);
    info.protocol = next;
    info.payload = buf.subarray(off);
    info.ip = p;
    info.multicast = multicast;
    info.trusted = this.stack.frameTrusted;
    info.reassembled = reassembled;
    if (next === NH_TCP) {
      if (!multicast) this.stack.tcp.receive(info);
    } else if (next === NH_UDP) this.stack.udp.receive(info);
    else this.stack.icmp6.receive(info);
  }

  /** Walks a TLV option area [start, end); false when the packet must be dropped. */
  private options(
    b: Uint8Array,
    start: number,
    end: number,
    packet: Uint8Array,
    multicast: boolean,
    reassembled: boolean,
  ): boolean {
    let i = start;
    while (i < end) {
      const type = b[i];
      if (type === 0) {
        i++;
        continue;
      }
      if (i + 2 > end) return false;
      const len = b[i + 1];
      if (i + 2 + len > end) return false;
      if (type !== 1) {
        // Unknown option (we know only Pad1/PadN): the top two bits say what to do.
        switch (type >> 6) {
          case 0:
            break;
          case 1:
            return false;
          case 2:
            if (!reassembled) this.stack.icmp6.sendParamProblem(packet, 2, i, false);
            return false;
          case 3:
            if (!reassembled) this.stack.icmp6.sendParamProblem(packet, 2, i, multicast);
            return false;
        }
      }
      i += 2 + len;
    }
    return true;
  }

  /** Sends buf[l4off, l4off+l4len) as one IPv6 packet, or as fragments when larger than the
   * path MTU (only the source fragments in IPv6). Precondition: l4off >= 62. */
  output(
    route: Route,
    protocol: number,
    buf: Uint8Array,
    l4off: number,
    l4len: number,
    hopLimit: number,
    tclass: number,
    _dontFragment: boolean,
    gsoMss = 0,
  ): number {
    const big = gsoMss > 0 && IPV6_HLEN + l4len > route.mtu && l4len <= 65535;
    if (IPV6_HLEN + l4len <= route.mtu || big) {
      const h = l4off - IPV6_HLEN;
      writeHeader(buf, h, l4len, protocol, hopLimit, tclass, route.src, route.dst);
      const gso: GsoInfo | null = big
        ? {
          mss: gsoMss,
          l4Offset: ETH_HLEN + IPV6_HLEN,
          headerLength: ETH_HLEN + IPV6_HLEN + (buf[l4off + 12] >> 4) * 4,
          v6: true,
        }
        : null;
      route.nic.sendIP(
        ETH_P_IPV6,
        route.nextHop,
        buf,
        h - ETH_HLEN,
        IPV6_HLEN + l4len + ETH_HLEN,
        gso,
      );
      return 0;
    }
    if (l4len > 65535 - 8) return -E.EMSGSIZE;
    const chunk = (Math.max(route.mtu, 1280) - IPV6_HLEN - 8) & ~7;
    const f = this.fragBuf ??= new Uint8Array(ETH_HLEN + 65536 + 64);
    const id = this.fragId = (this.fragId + 1) >>> 0;
    for (let off = 0; off < l4len; off += chunk) {
      const n = Math.min(chunk, l4len - off);
      const more = off + n < l4len ? 1 : 0;
      const h = ETH_HLEN;
      writeHeader(f, h, 8 + n, NH_FRAGMENT, hopLimit, tclass, route.src, route.dst);
      const fh = h + IPV6_HLEN;
      f[fh] = protocol;
      f[fh + 1] = 0;
      f[fh + 2] = off >> 8;
      f[fh + 3] = (off & 0xf8) | more;
      f[fh + 4] = id >>> 24;
      f[fh + 5] = (id >> 16) & 0xff;
      f[fh + 6] = (id >> 8) & 0xff;
      f[fh + 7] = id & 0xff;
      f.set(buf.subarray(l4off + off, l4off + off + n), fh + 8);
      route.nic.sendIP(ETH_P_IPV6, route.nextHop, f, 0, ETH_HLEN + IPV6_HLEN + 8 + n);
    }
    return 0;
  }

  neighborFailed(p: Uint8Array): void {
    if (p.length < IPV6_HLEN || p[6] === NH_FRAGMENT) return;
    this.stack.transportError(p[6], p.subarray(8, 24), p.subarray(24, 40), p.subarray(IPV6_HLEN), {
      kind: NetErrorKind.Unreachable,
      errno: E.EHOSTUNREACH,
      hard: false,
      mtu: 0,
    });
  }
}

function isLoopbackAddr(a: Uint8Array): boolean {
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}

/** Where the next-header byte that named the header at `off` lives: the first byte of the
 * previous extension header, or byte 6 of the fixed header. An approximation good enough for
 * the ICMP pointer when we do not track the chain. */
function prevNextHeaderOffset(off: number): number {
  return off === IPV6_HLEN ? 6 : off;
}

export function writeHeader(
  b: Uint8Array,
  h: number,
  payloadLen: number,
  next: number,
  hopLimit: number,
  tclass: number,
  src: IPAddress,
  dst: IPAddress,
): void {
  b[h] = 0x60 | (tclass >> 4);
  b[h + 1] = (tclass & 0x0f) << 4;
  b[h + 2] = 0;
  b[h + 3] = 0;
  b[h + 4] = payloadLen >> 8;
  b[h + 5] = payloadLen & 0xff;
  b[h + 6] = next;
  b[h + 7] = hopLimit;
  b.set(src, h + 8);
  b.set(dst, h + 24);
}

export { isUnspecified };
