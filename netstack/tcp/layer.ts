// TCP demultiplexing: established connections by 4-tuple, listeners by port, resets for
// segments nobody owns (RFC 9293 3.10.7.1), the SYN queue limit, TIME_WAIT reuse by a newer
// SYN, the global challenge-ACK rate limit (RFC 5961 7) and ICMP errors.
import { IPAddress, ipEqual, ipKey, isMulticast, isUnspecified } from "../addr.ts";
import { finishChecksum, pseudoHeaderSum, sumBytes } from "../checksum.ts";
import { RateLimiter } from "../icmp.ts";
import type { PacketInfo } from "../packet.ts";
import { ownerAccepts, PortTable } from "../ports.ts";
import type { Route } from "../route.ts";
import type { NetError, Stack } from "../stack.ts";
import { TX_L4_OFFSET } from "../stack.ts";
import { DEFAULT_TCP_CONFIG, TcpConfig } from "./config.ts";
import { State, TcpSocket } from "./endpoint.ts";
import { ACK, parseSegment, RST, Segment, SYN, TCP_HLEN, writeHeader } from "./segment.ts";
import { seqAdd, seqGT } from "./seq.ts";

function connKey(local: IPAddress, lport: number, remote: IPAddress, rport: number): string {
  return `${lport}|${rport}|${ipKey(remote)}|${ipKey(local)}`;
}

export class TcpLayer {
  readonly config: TcpConfig;
  readonly ports: PortTable;
  private conns = new Map<string, TcpSocket>();
  /** Connections now in TIME_WAIT (bounded by config.maxTimeWait). */
  timeWaitCount = 0;
  private seg = new Segment();
  private challengeLimiter: RateLimiter;
  private rstLimiter = new RateLimiter(1000, 200);

  constructor(readonly stack: Stack, config: Partial<TcpConfig>) {
    this.config = { ...DEFAULT_TCP_CONFIG, ...config };
    this.ports = new PortTable(stack.random, true);
    this.challengeLimiter = new RateLimiter(
      this.config.challengeAckLimit,
      this.config.challengeAckLimit,
    );
  }

  createSocket(family: number): TcpSocket {
    return new TcpSocket(this, family);
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  register(s: TcpSocket): void {
    s.key = connKey(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
    this.conns.set(s.key, s);
  }

  unregister(s: TcpSocket): void {
    if (s.key && this.conns.get(s.key) === s) this.conns.delete(s.key);
    s.key = null;
  }

  lookupConnection(
    local: IPAddress,
    lport: number,
    remote: IPAddress,
    rport: number,
  ): TcpSocket | undefined {
    return this.conns.get(connKey(local, lport, remote, rport));
  }

  /** Every socket that is bound or has a connection, once each (for listings). */
  *sockets(): Iterable<TcpSocket> {
    const seen = new Set<TcpSocket>();
    for (const o of this.ports.all()) {
      const s = o as TcpSocket;
      if (!seen.has(s)) {
        seen.add(s);
        yield s;
      }
    }
    for (const c of this.conns.values()) if (!seen.has(c)) yield c;
  }

  *childrenOf(listener: TcpSocket): Iterable<TcpSocket> {
    const out: TcpSocket[] = [];
    for (const c of this.conns.values()) if (c.parent === listener) out.push(c);
    yield* out;
  }

  challengeAckAllowed(): boolean {
    return this.challengeLimiter.allow(this.stack.now);
  }

  /** An ephemeral port whose 4-tuple toward remote:rport is free. */
  allocateConnectPort(s: TcpSocket, local: IPAddress, remote: IPAddress, rport: number): number {
    return this.ports.allocate(
      s,
      local,
      (port) => !this.conns.has(connKey(local, port, remote, rport)),
    );
  }

  receive(info: PacketInfo): void {
    const p = info.payload;
    const stats = this.stack.stats;
    const seg = this.seg;
    if (!parseSegment(p, seg)) return stats.inc("tcp.malformed");
    if (
      !info.trusted &&
      finishChecksum(sumBytes(p, 0, p.length, pseudoHeaderSum(info.src, info.dst, 6, p.length))) !==
        0
    ) {
      return stats.inc("tcp.badChecksum");
    }
    if (seg.dstPort === 0 || seg.srcPort === 0) return stats.inc("tcp.zeroPort");
    if (isMulticast(info.src) || isUnspecified(info.src)) return stats.inc("tcp.badSource");
    const key = connKey(info.dst, seg.dstPort, info.src, seg.srcPort);
    const conn = this.conns.get(key);
    if (conn) {
      if (conn.state === State.TimeWait && (seg.flags & SYN) && !(seg.flags & (ACK | RST))) {
        // RFC 9293 3.10.7.4 / Linux: a SYN above the old connection's sequence space may
        // start a new incarnation; the old one goes.
        if (seqGT(seg.seq, conn.rcvNxt)) {
          conn.destroy(0, false);
        } else {
          conn.sendAck();
          return;
        }
      } else {
        conn.receive(seg);
        return;
      }
    }
    // No connection: a listener?
    const listener = this.findListener(info.dst, seg.dstPort);
    if (!listener || (seg.flags & (RST | ACK)) || !(seg.flags & SYN)) {
      if (!(seg.flags & RST)) this.resetFor(info, seg);
      else stats.inc("tcp.rstNoConnection");
      return;
    }
    // A SYN for a listener.
    if (
      listener.synQueue >= Math.min(this.config.maxSynBacklog, Math.max(listener.backlog, 8) * 2)
    ) {
      return stats.inc("tcp.synQueueFull");
    }
    if (listener.acceptQueue.length > listener.backlog) return stats.inc("tcp.acceptQueueFull");
    const route = this.stack.findRoute(info.src.slice(), info.dst.slice());
    if (typeof route === "number") return stats.inc("tcp.noRoute");
    const child = new TcpSocket(this, listener.family);
    listener.synQueue++;
    child.acceptSyn(listener, seg, info.dst, info.src, route);
    this.register(child);
  }

  private findListener(dst: IPAddress, port: number): TcpSocket | null {
    const owners = this.ports.owners(port);
    if (!owners) return null;
    let best: TcpSocket | null = null;
    for (const o of owners) {
      const s = o as TcpSocket;
      if (s.state !== State.Listen || !ownerAccepts(s, dst)) continue;
      if (
        !best || (isUnspecified(best.localAddr) && !isUnspecified(s.localAddr)) ||
        (best.localAddr.length === 16 && s.localAddr.length === 4 && dst.length === 4)
      ) best = s;
    }
    return best;
  }

  /** RFC 9293 3.10.7.1: a segment to no connection gets a reset (never in reply to one). */
  private resetFor(info: PacketInfo, seg: Segment): void {
    this.stack.stats.inc("tcp.rstSent");
    if (!this.rstLimiter.allow(this.stack.now)) return;
    const route = this.stack.findRoute(info.src.slice(), info.dst.slice());
    if (typeof route === "number") return;
    if (seg.flags & ACK) {
      this.sendRstFor(route, info.dst, seg.dstPort, info.src, seg.srcPort, seg.ack, 0, false);
    } else {
      this.sendRstFor(
        route,
        info.dst,
        seg.dstPort,
        info.src,
        seg.srcPort,
        0,
        seqAdd(seg.seq, seg.seqLength),
        true,
      );
    }
  }

  sendRstFor(
    route: Route,
    _local: IPAddress,
    lport: number,
    _remote: IPAddress,
    rport: number,
    seq: number,
    ack: number,
    withAck: boolean,
  ): void {
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    writeHeader(b, o, lport, rport, seq, ack, TCP_HLEN, withAck ? RST | ACK : RST, 0);
    if (!route.nic.link.checksumOffload) {
      const c = finishChecksum(
        sumBytes(b, o, TCP_HLEN, pseudoHeaderSum(route.src, route.dst, 6, TCP_HLEN)),
      );
      b[o + 16] = c >> 8;
      b[o + 17] = c & 0xff;
    }
    this.stack.ipOutput(route, 6, b, o, TCP_HLEN, 64, 0, true);
  }

  handleError(src: IPAddress, dst: IPAddress, quoted: Uint8Array, err: NetError): void {
    if (quoted.length < 8) return;
    const sport = (quoted[0] << 8) | quoted[1];
    const dport = (quoted[2] << 8) | quoted[3];
    const conn = this.conns.get(connKey(src, sport, dst, dport));
    if (!conn) return;
    conn.handleError(quoted, err);
  }

  /** Every connection (tests and diagnostics). */
  connections(): TcpSocket[] {
    return [...this.conns.values()];
  }
}

export { ipEqual };
