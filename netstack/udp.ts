// UDP (RFC 768): checksums (optional over IPv4, mandatory over IPv6), demultiplexing to the
// most specific socket, broadcast and multicast delivery to every matching socket, ICMP port
// unreachable when nobody listens, ICMP errors back to connected sockets.
import { AF_INET, IPAddress, ipEqual, isMulticast, isUnspecified } from "./addr.ts";
import { finishChecksum, pseudoHeaderSum, sumBytes } from "./checksum.ts";
import { DatagramSocket } from "./dgram.ts";
import * as E from "./errno.ts";
import { type PacketInfo, packetMeta } from "./packet.ts";
import { ownerAccepts, PortTable } from "./ports.ts";
import type { NetError, Stack } from "./stack.ts";
import type { Route } from "./route.ts";
import { TX_L4_OFFSET } from "./stack.ts";
import { IPPROTO_UDP } from "./socket.ts";

export const UDP_HLEN = 8;

export class UdpSocket extends DatagramSocket {
  readonly protocol = IPPROTO_UDP;

  constructor(stack: Stack, family: number, private readonly layer: UdpLayer) {
    super(stack, family, layer.ports);
  }

  protected allowUnbound(): boolean {
    return false;
  }

  protected transmit(data: Uint8Array, dst: IPAddress, port: number, _flags: number): number {
    if (port === 0) return -E.EINVAL;
    if (data.length > 65535 - UDP_HLEN - (dst.length === 4 ? 20 : 0)) return -E.EMSGSIZE;
    if (
      dst.length === 4 && !this.broadcast &&
      this.stack.nics.some((n) => !n.isLoopback && n.isBroadcast4(dst))
    ) {
      return -E.EACCES;
    }
    const src = isUnspecified(this.localAddr) || isMulticast(this.localAddr)
      ? null
      : this.localAddr;
    if (src && src.length !== dst.length) return -E.ENETUNREACH;
    const route = this.stack.findRoute(dst, src);
    if (typeof route === "number") return route;
    return this.layer.send(route, this.localPort, port, data, this.hopLimitFor(dst), this.tos);
  }
}

export class UdpLayer {
  readonly ports: PortTable;

  constructor(private readonly stack: Stack) {
    this.ports = new PortTable(stack.random, false);
  }

  createSocket(family: number): UdpSocket {
    return new UdpSocket(this.stack, family, this);
  }

  send(
    route: Route,
    srcPort: number,
    dstPort: number,
    data: Uint8Array,
    ttl: number,
    tos: number,
  ): number {
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    const len = UDP_HLEN + data.length;
    b[o] = srcPort >> 8;
    b[o + 1] = srcPort & 0xff;
    b[o + 2] = dstPort >> 8;
    b[o + 3] = dstPort & 0xff;
    b[o + 4] = len >> 8;
    b[o + 5] = len & 0xff;
    b[o + 6] = 0;
    b[o + 7] = 0;
    b.set(data, o + UDP_HLEN);
    if (!route.nic.link.checksumOffload) {
      let c = finishChecksum(sumBytes(b, o, len, pseudoHeaderSum(route.src, route.dst, 17, len)));
      if (c === 0) c = 0xffff;
      b[o + 6] = c >> 8;
      b[o + 7] = c & 0xff;
    }
    const r = this.stack.ipOutput(route, 17, b, o, len, ttl, tos, false);
    return r < 0 ? r : data.length;
  }

  receive(info: PacketInfo): void {
    const p = info.payload;
    const stats = this.stack.stats;
    if (p.length < UDP_HLEN) return stats.inc("udp.short");
    const len = (p[4] << 8) | p[5];
    if (len < UDP_HLEN || len > p.length) return stats.inc("udp.badLength");
    const c = (p[6] << 8) | p[7];
    // A zero checksum is forbidden over IPv6, except on links that never checksum (loopback).
    if (c === 0 && info.version === 6 && !info.nic.link.checksumOffload) {
      return stats.inc("udp.zeroChecksum6");
    }
    if (
      c !== 0 && !info.trusted &&
      finishChecksum(sumBytes(p, 0, len, pseudoHeaderSum(info.src, info.dst, 17, len))) !== 0
    ) {
      return stats.inc("udp.badChecksum");
    }
    const srcPort = (p[0] << 8) | p[1];
    const dstPort = (p[2] << 8) | p[3];
    const data = p.subarray(UDP_HLEN, len);
    const owners = this.ports.owners(dstPort);
    if (info.multicast) {
      if (!owners) return;
      for (const o of owners) {
        const s = o as UdpSocket;
        if (!this.matches(s, info, srcPort, true)) continue;
        s.deliver(data, info.src, srcPort, packetMeta(info, this.stack.now));
      }
      return;
    }
    let best: UdpSocket | null = null;
    let bestScore = -1;
    if (owners) {
      for (const o of owners) {
        const s = o as UdpSocket;
        if (!this.matches(s, info, srcPort, false)) continue;
        const score = (s.remoteAddr ? 2 : 0) + (isUnspecified(s.localAddr) ? 0 : 1);
        if (score > bestScore) {
          best = s;
          bestScore = score;
        }
      }
    }
    if (!best) {
      stats.inc("udp.noPort");
      if (info.version === 4) this.stack.icmp4.sendError(info, 3, 3, 0);
      else this.stack.icmp6.sendError(info, 1, 4, 0);
      return;
    }
    best.deliver(data, info.src, srcPort, packetMeta(info, this.stack.now));
  }

  private matches(s: UdpSocket, info: PacketInfo, srcPort: number, multicast: boolean): boolean {
    if (multicast) {
      if (isMulticast(info.dst)) {
        if (
          !s.isMember(info.dst) && !(isUnspecified(s.localAddr) || ipEqual(s.localAddr, info.dst))
        ) return false;
        if (!isUnspecified(s.localAddr) && !ipEqual(s.localAddr, info.dst)) return false;
      } else if (!isUnspecified(s.localAddr) && !ipEqual(s.localAddr, info.dst)) {
        return false; // broadcast goes to wildcard-bound or broadcast-bound sockets
      }
      if (
        s.localAddr.length !== info.dst.length &&
        !(s.localAddr.length === 16 && !s.v6only && s.family !== AF_INET)
      ) {
        return false;
      }
    } else if (!ownerAccepts(s, info.dst)) return false;
    if (s.remoteAddr) {
      if (!ipEqual(s.remoteAddr, info.src) || s.remotePort !== srcPort) return false;
    }
    return true;
  }

  handleError(src: IPAddress, dst: IPAddress, quoted: Uint8Array, err: NetError): void {
    if (quoted.length < 8) return;
    const sport = (quoted[0] << 8) | quoted[1];
    const dport = (quoted[2] << 8) | quoted[3];
    const owners = this.ports.owners(sport);
    if (!owners) return;
    for (const o of owners) {
      const s = o as UdpSocket;
      if (!ownerAccepts(s, src)) continue;
      // Linux reports ICMP errors only on connected sockets (without IP_RECVERR).
      if (s.remoteAddr && ipEqual(s.remoteAddr, dst) && s.remotePort === dport) {
        s.setError(err.errno);
      }
    }
  }
}
