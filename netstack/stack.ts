// The stack: interfaces, routes, protocol layers and the clock. It is a synchronous state
// machine: frames enter through the link endpoints (poll) or receiveFrame, time moves only
// through advance(nowNs), and nextDeadlineNs() tells the caller when to call again. Public
// entry points bracket their work with enter()/leave(); the outermost leave() drains the
// loopback queue and flushes every link, so callers never see half-processed local traffic.
import {
  AF_INET,
  AF_INET6,
  IPAddress,
  ipEqual,
  isLinkLocal6,
  isLoopback,
  isMulticast,
  isUnspecified,
  parseCidr,
  parseIP,
} from "./addr.ts";
import { Arp } from "./arp.ts";
import * as E from "./errno.ts";
import {
  ETH_HLEN,
  ETH_P_ARP,
  ETH_P_IP,
  ETH_P_IPV6,
  isMulticastMac,
  macEquals,
} from "./ethernet.ts";
import { Icmp4 } from "./icmp.ts";
import { Icmp6 } from "./icmpv6.ts";
import { IPv4 } from "./ipv4.ts";
import { IPv6 } from "./ipv6.ts";
import type { LinkEndpoint } from "./link/endpoint.ts";
import { LoopbackEndpoint } from "./link/loopback.ts";
import { NeighborConfig } from "./neighbor.ts";
import { NIC } from "./nic.ts";
import { PingLayer } from "./ping.ts";
import { PathMtuCache, Route, RouteTable } from "./route.ts";
import type { Socket } from "./socket.ts";
import { SOCK_DGRAM, SOCK_STREAM } from "./socket.ts";
import { Stats } from "./stats.ts";
import { TcpConfig } from "./tcp/config.ts";
import { TcpLayer } from "./tcp/layer.ts";
import { TimerQueue } from "./timer.ts";
import { UdpLayer } from "./udp.ts";

/** Where transport headers start in the transmit scratch buffer: room below for the largest
 * IP header (IPv6 + fragment header, or IPv4 with options) and Ethernet. */
export const TX_L4_OFFSET = 128;
export const TX_BUF_SIZE = TX_L4_OFFSET + 65536 + 64;

export interface StackOptions {
  /** Initial clock value, ns. */
  now?: number;
  /** Uniform [0,1) source; tests pass a seeded one. Defaults to crypto randomness. */
  random?: () => number;
  tcp?: Partial<TcpConfig>;
  neighbor?: Partial<NeighborConfig>;
  /** Create the loopback interface "lo" with 127.0.0.1/8 and ::1 (default true). */
  loopback?: boolean;
  loopbackMtu?: number;
}

/** Kinds of errors the network reports about packets we sent (from ICMP or from neighbour
 * resolution failing). */
export const enum NetErrorKind {
  Unreachable,
  PortUnreachable,
  ProtoUnreachable,
  FragNeeded,
  TimeExceeded,
  ParamProblem,
}

export interface NetError {
  kind: NetErrorKind;
  errno: number;
  /** Whether the error is "hard" (aborts a connecting TCP socket). */
  hard: boolean;
  mtu: number;
}

export class Stack {
  now: number;
  readonly timers = new TimerQueue();
  readonly nics: NIC[] = [];
  readonly routes = new RouteTable();
  readonly pmtu = new PathMtuCache();
  readonly stats = new Stats();
  readonly txBuf = new Uint8Array(TX_BUF_SIZE);
  readonly random: () => number;
  readonly neighborConfig: Partial<NeighborConfig>;
  readonly arp: Arp;
  readonly ipv4: IPv4;
  readonly ipv6: IPv6;
  readonly icmp4: Icmp4;
  readonly icmp6: Icmp6;
  readonly udp: UdpLayer;
  readonly tcp: TcpLayer;
  readonly ping: PingLayer;
  loopbackNic: NIC | null = null;
  private depth = 0;
  private settling = false;
  private readonly secret: number;

  constructor(opts: StackOptions = {}) {
    this.now = opts.now ?? 0;
    this.random = opts.random ?? cryptoRandom();
    this.neighborConfig = opts.neighbor ?? {};
    this.secret = Math.floor(this.random() * 0x100000000);
    this.arp = new Arp(this);
    this.ipv4 = new IPv4(this);
    this.ipv6 = new IPv6(this);
    this.icmp4 = new Icmp4(this);
    this.icmp6 = new Icmp6(this);
    this.udp = new UdpLayer(this);
    this.tcp = new TcpLayer(this, opts.tcp ?? {});
    this.ping = new PingLayer(this);
    if (opts.loopback ?? true) {
      const lo = this.addNic(new LoopbackEndpoint(opts.loopbackMtu ?? 65536), "lo");
      this.addAddress(lo, "127.0.0.1/8");
      this.addAddress(lo, "::1/128");
      this.loopbackNic = lo;
    }
  }

  // ---- The caller's loop -------------------------------------------------------------------

  /** Moves the clock to `nowNs`, fires due timers and takes in waiting frames. */
  advance(nowNs: number): void {
    if (nowNs > this.now) this.now = nowNs;
    this.enter();
    try {
      this.timers.runExpired(this.now);
      this.pollLinks(256);
    } finally {
      this.leave();
    }
  }

  /** Takes in up to `budget` frames from each link; returns how many were processed. */
  poll(budget = 256): number {
    this.enter();
    try {
      return this.pollLinks(budget);
    } finally {
      this.leave();
    }
  }

  /** The earliest time advance() has work to do, or Infinity. */
  nextDeadlineNs(): number {
    return this.timers.nextDeadline();
  }

  enter(): void {
    this.depth++;
  }

  leave(): void {
    if (--this.depth > 0 || this.settling) return;
    this.settling = true;
    this.depth++;
    try {
      // Local traffic is processed to completion here; bounded in case two sockets keep
      // answering each other forever.
      for (let round = 0; round < 10000; round++) {
        let moved = 0;
        for (const nic of this.nics) if (nic.isLoopback) moved += nic.link.poll(64);
        if (moved === 0) break;
      }
      for (const nic of this.nics) nic.link.flush();
    } finally {
      this.depth--;
      this.settling = false;
    }
  }

  private pollLinks(budget: number): number {
    let n = 0;
    for (const nic of this.nics) n += nic.link.poll(budget);
    return n;
  }

  // ---- Configuration -----------------------------------------------------------------------

  addNic(link: LinkEndpoint, name: string): NIC {
    if (this.nics.some((n) => n.name === name)) throw new Error(`interface ${name} exists`);
    const nic = new NIC(this.nics.length + 1, name, link);
    this.nics.push(nic);
    if (!link.isLoopback) {
      nic.arp = this.arp.createCache(nic);
      nic.ndp = this.icmp6.createCache(nic);
      // Every IPv6 interface joins all-nodes; a link-local address from the MAC (EUI-64).
      nic.joinGroup(parseIP("ff02::1")!);
      const ll = new Uint8Array(16);
      ll[0] = 0xfe;
      ll[1] = 0x80;
      const m = link.mac;
      ll.set([m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]], 8);
      this.addAddressRaw(nic, ll, 64, false);
    }
    link.setReceiver((frame, trusted) => this.receiveFrame(nic, frame, trusted === true));
    return nic;
  }

  nic(name: string): NIC | undefined {
    return this.nics.find((n) => n.name === name);
  }

  /** Adds "addr/prefix" to an interface and the on-link route for its subnet. */
  addAddress(nic: NIC | string, cidr: string): void {
    const n = typeof nic === "string" ? this.nic(nic) : nic;
    const c = parseCidr(cidr);
    if (!n || !c) throw new Error(`bad interface or address: ${cidr}`);
    this.addAddressRaw(n, c.addr, c.prefix, true);
  }

  private addAddressRaw(nic: NIC, addr: IPAddress, prefix: number, announce: boolean): void {
    const list = addr.length === 4 ? nic.v4 : nic.v6;
    if (list.some((e) => ipEqual(e.addr, addr))) return;
    list.push({ addr, prefix });
    const net = addr.slice();
    for (let bit = prefix; bit < addr.length * 8; bit++) net[bit >> 3] &= ~(0x80 >> (bit & 7));
    if (!(addr.length === 16 && isLinkLocal6(addr) && nic.isLoopback)) {
      this.routes.add({
        dest: net,
        prefix,
        gateway: null,
        nic,
        metric: isLinkLocal6(addr) ? 256 : 0,
      });
    }
    if (addr.length === 16 && !nic.isLoopback) {
      nic.joinGroup(solicitedNode(addr));
    }
    if (announce && !nic.isLoopback && addr.length === 4) {
      this.enter();
      try {
        this.arp.announce(nic, addr);
      } finally {
        this.leave();
      }
    }
  }

  /** Adds a route; `via` null means on-link. */
  addRoute(cidr: string, via: string | null, nic: NIC | string, metric = 0): void {
    const n = typeof nic === "string" ? this.nic(nic) : nic;
    const c = parseCidr(cidr);
    if (!n || !c) throw new Error(`bad route ${cidr}`);
    this.routes.add({
      dest: c.addr,
      prefix: c.prefix,
      gateway: via ? parseIP(via) : null,
      nic: n,
      metric,
    });
  }

  isLocalAddress(a: IPAddress): boolean {
    for (const nic of this.nics) if (nic.hasAddress(a)) return true;
    return false;
  }

  /** Finds the path to `dst`. `src`, when given and specified, must be one of ours and is
   * kept. Traffic to our own addresses goes through loopback, as in Linux. */
  findRoute(dst: IPAddress, src?: IPAddress | null, bindNic?: NIC | null): Route | number {
    const haveSrc = src && !isUnspecified(src);
    if (haveSrc && !this.isLocalAddress(src!)) return -E.EADDRNOTAVAIL;
    if ((this.isLocalAddress(dst) || isLoopback(dst)) && this.loopbackNic) {
      const lo = this.loopbackNic;
      const s = haveSrc ? src! : (isLoopback(dst) ? dst.slice() : dst.slice());
      return { nic: lo, src: s, dst, nextHop: dst, mtu: lo.mtu };
    }
    let nic: NIC | undefined;
    let nextHop = dst;
    if (
      isMulticast(dst) ||
      (dst.length === 4 && dst[0] === 255 && dst[1] === 255 && dst[2] === 255 && dst[3] === 255)
    ) {
      nic = bindNic ?? this.nics.find((n) => !n.isLoopback && n.up) ?? undefined;
      if (dst.length === 16 && isMulticast(dst) && (dst[1] & 0x0f) <= 2 && !nic) {
        return -E.ENETUNREACH;
      }
    } else {
      const e = this.routes.lookup(dst, bindNic ?? undefined);
      if (!e) return dst.length === 4 ? -E.ENETUNREACH : -E.ENETUNREACH;
      nic = e.nic;
      if (e.gateway) nextHop = e.gateway;
    }
    if (!nic || !nic.up) return -E.ENETUNREACH;
    const s = haveSrc ? src! : nic.sourceFor(nextHop === dst ? dst : nextHop);
    if (!s) return -E.EADDRNOTAVAIL;
    let mtu = nic.mtu;
    const p = this.pmtu.get(dst, this.now);
    if (p !== undefined && p < mtu) mtu = p;
    return { nic, src: s, dst, nextHop, mtu };
  }

  /** Sends a transport packet built at buf[l4off, l4off+l4len) (normally txBuf at
   * TX_L4_OFFSET). Returns 0 or a negative errno. */
  ipOutput(
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
    if (route.dst.length === 4) {
      return this.ipv4.output(route, protocol, buf, l4off, l4len, ttl, tos, dontFragment, gsoMss);
    }
    return this.ipv6.output(route, protocol, buf, l4off, l4len, ttl, tos, dontFragment, gsoMss);
  }

  // ---- Input -------------------------------------------------------------------------------

  /** Takes one Ethernet frame from `nic`; also callable directly by tests. */
  receiveFrame(nic: NIC, frame: Uint8Array, trusted = false): void {
    this.enter();
    this.frameTrusted = trusted || nic.link.checksumOffload;
    try {
      nic.framesIn++;
      if (frame.length < ETH_HLEN) {
        this.stats.inc("eth.short");
        return;
      }
      if (!nic.isLoopback && !isMulticastMac(frame, 0) && !macEquals(frame, 0, nic.mac)) {
        this.stats.inc("eth.otherHost");
        return;
      }
      const type = (frame[12] << 8) | frame[13];
      const payload = frame.subarray(ETH_HLEN);
      switch (type) {
        case ETH_P_IP:
          this.ipv4.receive(nic, payload);
          break;
        case ETH_P_IPV6:
          this.ipv6.receive(nic, payload);
          break;
        case ETH_P_ARP:
          if (!nic.isLoopback) this.arp.receive(nic, payload);
          break;
        default:
          this.stats.inc("eth.unknownType");
      }
    } catch (e) {
      // A parser bug must not take the sandbox down with it: count it and drop the frame.
      this.stats.inc("stack.exception");
      if (this.onInternalError) this.onInternalError(e);
    } finally {
      this.leave();
    }
  }

  /** Whether the frame being processed needs no transport checksum check. */
  frameTrusted = false;

  /** Called with exceptions caught while processing a frame (a bug, never a packet's fault). */
  onInternalError: ((e: unknown) => void) | null = null;

  /** Routes an error about a packet we sent (quoted by ICMP) to its transport. `quoted` starts
   * at the transport header of the offending packet. */
  transportError(
    protocol: number,
    src: IPAddress,
    dst: IPAddress,
    quoted: Uint8Array,
    err: NetError,
  ): void {
    if (err.kind === NetErrorKind.FragNeeded) {
      const minMtu = dst.length === 4 ? 552 : 1280;
      const mtu = Math.max(err.mtu, minMtu);
      const cur = this.pmtu.get(dst, this.now);
      if (cur === undefined || mtu < cur) this.pmtu.set(dst, mtu, this.now);
      err.mtu = mtu;
    }
    if (protocol === 6) this.tcp.handleError(src, dst, quoted, err);
    else if (protocol === 17) this.udp.handleError(src, dst, quoted, err);
    else if (protocol === 1 || protocol === 58) this.ping.handleError(src, dst, quoted, err);
  }

  // ---- Sockets -----------------------------------------------------------------------------

  /** socket(2): family AF_INET/AF_INET6, type SOCK_STREAM/SOCK_DGRAM (flags masked off by the
   * caller), protocol 0 or the matching IPPROTO. Returns a Socket or a negative errno. */
  socket(family: number, type: number, protocol = 0): Socket | number {
    if (family !== AF_INET && family !== AF_INET6) return -E.EAFNOSUPPORT;
    if (type === SOCK_STREAM) {
      if (protocol !== 0 && protocol !== 6) return -E.EPROTONOSUPPORT;
      return this.tcp.createSocket(family);
    }
    if (type === SOCK_DGRAM) {
      if (protocol === 0 || protocol === 17) return this.udp.createSocket(family);
      if ((family === AF_INET && protocol === 1) || (family === AF_INET6 && protocol === 58)) {
        return this.ping.createSocket(family);
      }
      return -E.EPROTONOSUPPORT;
    }
    return -E.ESOCKTNOSUPPORT;
  }

  // ---- Helpers for the layers ---------------------------------------------------------------

  randomU32(): number {
    return Math.floor(this.random() * 0x100000000) >>> 0;
  }

  /** An initial sequence number per RFC 6528: a 4-microsecond clock plus a keyed hash of the
   * connection's addresses, so a reused 4-tuple starts ahead of its old incarnation. */
  isn(local: IPAddress, lport: number, remote: IPAddress, rport: number): number {
    let h = this.secret ^ 0x811c9dc5;
    const mix = (b: number) => {
      h ^= b;
      h = Math.imul(h, 0x01000193);
    };
    for (const b of local) mix(b);
    for (const b of remote) mix(b);
    mix(lport >> 8);
    mix(lport & 0xff);
    mix(rport >> 8);
    mix(rport & 0xff);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return (Math.floor(this.now / 4000) + (h >>> 0)) >>> 0;
  }
}

export function solicitedNode(addr: IPAddress): IPAddress {
  const g = parseIP("ff02::1:ff00:0")!;
  g[13] = addr[13];
  g[14] = addr[14];
  g[15] = addr[15];
  return g;
}

function cryptoRandom(): () => number {
  const pool = new Uint32Array(256);
  let i = pool.length;
  return () => {
    if (i >= pool.length) {
      crypto.getRandomValues(pool);
      i = 0;
    }
    return pool[i++] / 4294967296;
  };
}

export { AF_INET, AF_INET6 };
