// ICMP echo ("ping") datagram sockets, as Linux's SOCK_DGRAM/IPPROTO_ICMP(V6): the caller
// writes an echo request (type, code, checksum, id, seq, data); the stack sets the
// identifier to the socket's "port" and the checksum, and hands back matching echo replies.
import { IPAddress, ipEqual, isUnspecified } from "./addr.ts";
import { checksum } from "./checksum.ts";
import { DatagramSocket } from "./dgram.ts";
import * as E from "./errno.ts";
import { icmp6Checksum } from "./icmpv6.ts";
import { type PacketInfo, packetMeta } from "./packet.ts";
import { ownerAccepts, PortTable } from "./ports.ts";
import { IPPROTO_ICMP, IPPROTO_ICMPV6 } from "./socket.ts";
import type { NetError, Stack } from "./stack.ts";
import { AF_INET, TX_L4_OFFSET } from "./stack.ts";

export class PingSocket extends DatagramSocket {
  get protocol(): number {
    return this.family === AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  }

  protected allowUnbound(): boolean {
    return false;
  }

  protected transmit(data: Uint8Array, dst: IPAddress, _port: number, _flags: number): number {
    const v4 = dst.length === 4;
    if (data.length < 8) return -E.EINVAL;
    if (data[0] !== (v4 ? 8 : 128) || data[1] !== 0) return -E.EINVAL;
    if (data.length > 65535 - 48) return -E.EMSGSIZE;
    const src = isUnspecified(this.localAddr) ? null : this.localAddr;
    const route = this.stack.findRoute(dst, src);
    if (typeof route === "number") return route;
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    b.set(data, o);
    b[o + 2] = 0;
    b[o + 3] = 0;
    b[o + 4] = this.localPort >> 8;
    b[o + 5] = this.localPort & 0xff;
    const c = v4
      ? checksum(b, o, data.length)
      : icmp6Checksum(route.src, route.dst, b, o, data.length);
    b[o + 2] = c >> 8;
    b[o + 3] = c & 0xff;
    const r = this.stack.ipOutput(
      route,
      v4 ? 1 : 58,
      b,
      o,
      data.length,
      this.hopLimitFor(dst),
      this.tos,
      false,
    );
    return r < 0 ? r : data.length;
  }
}

export class PingLayer {
  readonly ports: PortTable;
  constructor(private readonly stack: Stack) {
    this.ports = new PortTable(stack.random, false);
  }

  createSocket(family: number): PingSocket {
    return new PingSocket(this.stack, family, this.ports);
  }

  /** An echo reply arrived: deliver it to the socket whose identifier it carries. */
  receive(info: PacketInfo): void {
    const p = info.payload;
    const id = (p[4] << 8) | p[5];
    const owners = this.ports.owners(id);
    if (!owners) return;
    for (const o of owners) {
      const s = o as PingSocket;
      if ((s.family === AF_INET) !== (info.version === 4)) continue;
      if (!ownerAccepts(s, info.dst)) continue;
      if (s.remoteAddr && !ipEqual(s.remoteAddr, info.src)) continue;
      s.deliver(p, info.src, 0, packetMeta(info, this.stack.now));
      return;
    }
  }

  handleError(src: IPAddress, dst: IPAddress, quoted: Uint8Array, err: NetError): void {
    const id = (quoted[4] << 8) | quoted[5];
    const owners = this.ports.owners(id);
    if (!owners) return;
    for (const o of owners) {
      const s = o as PingSocket;
      if (ownerAccepts(s, src) && s.remoteAddr && ipEqual(s.remoteAddr, dst)) s.setError(err.errno);
    }
  }
}
