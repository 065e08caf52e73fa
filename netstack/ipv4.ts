// IPv4 (RFC 791): validation, local delivery, options skipped, fragmentation on output and
// reassembly with limits on input. A host, not a router: packets for other hosts are dropped.
import { IPAddress, ipKey, isMulticast } from "./addr.ts";
import { checksum } from "./checksum.ts";
import * as E from "./errno.ts";
import { ETH_HLEN, ETH_P_IP } from "./ethernet.ts";
import type { GsoInfo } from "./link/endpoint.ts";
import type { NIC } from "./nic.ts";
import { newPacketInfo, PacketInfo } from "./packet.ts";
import { Reassembler } from "./reassembly.ts";
import type { Route } from "./route.ts";
import { NetErrorKind, Stack } from "./stack.ts";

export const IPV4_HLEN = 20;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export class IPv4 {
  readonly reassembler: Reassembler;
  private id: number;
  private info: PacketInfo | null = null;
  private fragBuf: Uint8Array | null = null;
  defaultTtl = 64;

  constructor(private readonly stack: Stack) {
    this.id = stack.randomU32() & 0xffff;
    this.reassembler = new Reassembler(stack.timers, () => stack.now, {}, (first) => {
      // RFC 792: time exceeded, "fragment reassembly time exceeded" (code 1).
      stack.icmp4.sendErrorAbout(first, 11, 1, 0);
    });
  }

  receive(nic: NIC, p: Uint8Array): void {
    const stats = this.stack.stats;
    if (p.length < IPV4_HLEN) return stats.inc("ipv4.short");
    if (p[0] >> 4 !== 4) return stats.inc("ipv4.badVersion");
    const ihl = (p[0] & 0x0f) * 4;
    if (ihl < IPV4_HLEN || ihl > p.length) return stats.inc("ipv4.badHeaderLength");
    const total = (p[2] << 8) | p[3];
    if (total < ihl || total > p.length) return stats.inc("ipv4.badLength");
    if (!nic.isLoopback && checksum(p, 0, ihl) !== 0) return stats.inc("ipv4.badChecksum");
    p = p.subarray(0, total);
    const src = p.subarray(12, 16);
    const dst = p.subarray(16, 20);
    if (
      isMulticast(src) || (src[0] === 255 && src[1] === 255 && src[2] === 255 && src[3] === 255)
    ) {
      return stats.inc("ipv4.badSource");
    }
    if (src[0] === 127 && !nic.isLoopback) return stats.inc("ipv4.martian");
    let multicast = false;
    if (isMulticast(dst)) {
      if (!nic.inGroup(dst) && !(dst[0] === 224 && dst[1] === 0 && dst[2] === 0 && dst[3] === 1)) {
        return stats.inc("ipv4.notMember");
      }
      multicast = true;
    } else if (nic.isBroadcast4(dst)) {
      multicast = true;
    } else if (!this.stack.isLocalAddress(dst)) {
      return stats.inc("ipv4.notForUs");
    }
    const protocol = p[9];
    const fragField = (p[6] << 8) | p[7];
    const more = (fragField & 0x2000) !== 0;
    const offset = (fragField & 0x1fff) * 8;
    let payload = p.subarray(ihl);
    let reassembled = false;
    if (more || offset !== 0) {
      const key = `${ipKey(src)}|${ipKey(dst)}|${(p[4] << 8) | p[5]}|${protocol}`;
      const whole = this.reassembler.add(key, offset, payload, more, p);
      if (!whole) return;
      payload = whole;
      reassembled = true;
    }
    const info = this.info ??= newPacketInfo(nic);
    info.nic = nic;
    info.version = 4;
    info.src = src;
    info.dst = dst;
    info.ttl = p[8];
    info.tos = p[1];
    info.protocol = protocol;
    info.payload = payload;
    info.ip = p;
    info.multicast = multicast;
    info.trusted = this.stack.frameTrusted;
    info.reassembled = reassembled;
    switch (protocol) {
      case PROTO_TCP:
        if (!multicast) this.stack.tcp.receive(info);
        break;
      case PROTO_UDP:
        this.stack.udp.receive(info);
        break;
      case PROTO_ICMP:
        this.stack.icmp4.receive(info);
        break;
      default:
        stats.inc("ipv4.unknownProtocol");
        if (!multicast) this.stack.icmp4.sendError(info, 3, 2, 0);
    }
  }

  /** Sends buf[l4off, l4off+l4len) as the payload of one IPv4 packet, fragmenting when it
   * exceeds the route's MTU and `dontFragment` is false. Precondition: l4off >= 34. */
  output(
    route: Route,
    protocol: number,
    buf: Uint8Array,
    l4off: number,
    l4len: number,
    ttl: number,
    tos: number,
    dontFragment: boolean,
    gsoMss = 0,
  ): number {
    const total = IPV4_HLEN + l4len;
    const id = this.id = (this.id + 1) & 0xffff;
    const big = gsoMss > 0 && total > route.mtu && total <= 65535;
    if (total <= route.mtu || big) {
      const h = l4off - IPV4_HLEN;
      writeHeader(
        buf,
        h,
        total,
        id,
        dontFragment ? 0x4000 : 0,
        ttl,
        tos,
        protocol,
        route.src,
        route.dst,
      );
      let gso: GsoInfo | null = null;
      if (big) {
        const hdr = ETH_HLEN + IPV4_HLEN + (buf[l4off + 12] >> 4) * 4;
        gso = { mss: gsoMss, l4Offset: ETH_HLEN + IPV4_HLEN, headerLength: hdr, v6: false };
        // The host numbers the segments' IP IDs upward from ours.
        this.id = (this.id + Math.ceil(l4len / gsoMss)) & 0xffff;
      }
      route.nic.sendIP(ETH_P_IP, route.nextHop, buf, h - ETH_HLEN, total + ETH_HLEN, gso);
      return 0;
    }
    if (dontFragment) return -E.EMSGSIZE;
    if (l4len > 65535 - IPV4_HLEN) return -E.EMSGSIZE;
    const chunk = (route.mtu - IPV4_HLEN) & ~7;
    if (chunk <= 0) return -E.EMSGSIZE;
    const f = this.fragBuf ??= new Uint8Array(ETH_HLEN + 65536);
    for (let off = 0; off < l4len; off += chunk) {
      const n = Math.min(chunk, l4len - off);
      const more = off + n < l4len ? 0x2000 : 0;
      f.set(buf.subarray(l4off + off, l4off + off + n), ETH_HLEN + IPV4_HLEN);
      writeHeader(
        f,
        ETH_HLEN,
        IPV4_HLEN + n,
        id,
        more | (off >> 3),
        ttl,
        tos,
        protocol,
        route.src,
        route.dst,
      );
      route.nic.sendIP(ETH_P_IP, route.nextHop, f, 0, ETH_HLEN + IPV4_HLEN + n);
    }
    return 0;
  }

  /** A packet we sent could not be delivered to its next hop (neighbour resolution failed):
   * tell its transport as if a router had said "host unreachable". */
  neighborFailed(p: Uint8Array): void {
    if (p.length < IPV4_HLEN) return;
    const ihl = (p[0] & 0x0f) * 4;
    if ((((p[6] << 8) | p[7]) & 0x1fff) !== 0) return;
    this.stack.transportError(p[9], p.subarray(12, 16), p.subarray(16, 20), p.subarray(ihl), {
      kind: NetErrorKind.Unreachable,
      errno: E.EHOSTUNREACH,
      hard: false,
      mtu: 0,
    });
  }
}

export function writeHeader(
  b: Uint8Array,
  h: number,
  total: number,
  id: number,
  fragField: number,
  ttl: number,
  tos: number,
  protocol: number,
  src: IPAddress,
  dst: IPAddress,
): void {
  b[h] = 0x45;
  b[h + 1] = tos;
  b[h + 2] = total >> 8;
  b[h + 3] = total & 0xff;
  b[h + 4] = id >> 8;
  b[h + 5] = id & 0xff;
  b[h + 6] = fragField >> 8;
  b[h + 7] = fragField & 0xff;
  b[h + 8] = ttl;
  b[h + 9] = protocol;
  b[h + 10] = 0;
  b[h + 11] = 0;
  b[h + 12] = src[0];
  b[h + 13] = src[1];
  b[h + 14] = src[2];
  b[h + 15] = src[3];
  b[h + 16] = dst[0];
  b[h + 17] = dst[1];
  b[h + 18] = dst[2];
  b[h + 19] = dst[3];
  const c = checksum(b, h, IPV4_HLEN);
  b[h + 10] = c >> 8;
  b[h + 11] = c & 0xff;
}
