// What UDP and ICMP ping sockets share: addresses, the bounded receive queue, options, and
// readiness. Subclasses supply the wire protocol (transmit) and the port namespace.
import {
  AF_INET,
  AF_INET6,
  IPAddress,
  IPV4_ANY,
  IPV6_ANY,
  isMulticast,
  isUnspecified,
  SockAddr,
} from "./addr.ts";
import * as E from "./errno.ts";
import type { NIC } from "./nic.ts";
import { PortOwner, PortTable, toSocketAddress, toWireAddress } from "./ports.ts";
import {
  intValue,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TOS,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_JOIN_GROUP,
  IPV6_LEAVE_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_LOOP,
  IPV6_TCLASS,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  optInt,
  POLLERR,
  POLLIN,
  POLLOUT,
  SO_BROADCAST,
  SO_DOMAIN,
  SO_ERROR,
  SO_PROTOCOL,
  SO_RCVBUF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_TYPE,
  SOCK_DGRAM,
  Socket,
  SOL_SOCKET,
} from "./socket.ts";
import type { Stack } from "./stack.ts";

interface Datagram {
  data: Uint8Array;
  from: IPAddress;
  port: number;
  meta: DatagramMeta | null;
}

/** How a datagram arrived, for the receiver's ancillary data (IP_PKTINFO, IP_TTL, IP_TOS,
 * SO_TIMESTAMP and their IPv6 counterparts). */
export interface DatagramMeta {
  /** Destination address in the IP header. */
  dst: IPAddress;
  ttl: number;
  tos: number;
  /** Interface it came in on (NIC id). */
  ifindex: number;
  /** Stack clock at arrival, ns. */
  arrivedNs: number;
}

export abstract class DatagramSocket implements Socket, PortOwner {
  readonly type = SOCK_DGRAM;
  abstract readonly protocol: number;
  localAddr: IPAddress;
  localPort = 0;
  remoteAddr: IPAddress | null = null;
  remotePort = 0;
  v6only = false;
  reuseAddr = false;
  reusePort = false;
  broadcast = false;
  ttl = -1;
  tos = 0;
  multicastTtl = 1;
  multicastLoop = true;
  multicastNic: NIC | null = null;
  rcvbuf = 212992;
  sndbuf = 212992;
  onReadiness: (() => void) | null = null;
  protected queue: Datagram[] = [];
  protected queueHead = 0;
  protected queuedBytes = 0;
  protected softError = 0;
  protected closed = false;
  protected shutRead = false;
  protected shutWrite = false;
  private memberships: { group: IPAddress; nic: NIC }[] = [];
  drops = 0;

  constructor(
    protected readonly stack: Stack,
    readonly family: number,
    protected readonly ports: PortTable,
  ) {
    this.localAddr = family === AF_INET ? IPV4_ANY.slice() : IPV6_ANY.slice();
  }

  isListening(): boolean {
    return false;
  }

  /** Puts a packet on the wire to `dst`:`port`. */
  protected abstract transmit(
    data: Uint8Array,
    dst: IPAddress,
    port: number,
    flags: number,
  ): number;
  /** Validates/adjusts a datagram before sending (ping sockets check the ICMP header). */
  protected abstract allowUnbound(): boolean;

  protected notify(): void {
    if (this.onReadiness) this.onReadiness();
  }

  bind(addr: SockAddr): number {
    if (this.closed) return -E.EBADF;
    if (this.localPort !== 0) return -E.EINVAL;
    if (addr.family !== this.family) return -E.EAFNOSUPPORT;
    const ip = toWireAddress(this.family, addr.addr, this.v6only);
    if (!ip) return -E.EADDRNOTAVAIL;
    if (
      !isUnspecified(ip) && !isMulticast(ip) && !this.stack.isLocalAddress(ip) &&
      !(ip.length === 4 && this.stack.nics.some((n) => n.isBroadcast4(ip)))
    ) {
      return -E.EADDRNOTAVAIL;
    }
    let port = addr.port;
    if (port === 0) {
      port = this.ports.allocate(this, ip);
      if (port === 0) return -E.EADDRINUSE;
    } else if (!this.ports.canBind(this, ip, port)) {
      return -E.EADDRINUSE;
    }
    this.localAddr = ip.slice();
    this.localPort = port;
    this.ports.add(this);
    return 0;
  }

  protected autobind(): number {
    if (this.localPort !== 0) return 0;
    const port = this.ports.allocate(this, this.localAddr);
    if (port === 0) return -E.EAGAIN;
    this.localPort = port;
    this.ports.add(this);
    return 0;
  }

  connect(addr: SockAddr): number {
    if (this.closed) return -E.EBADF;
    if (addr.family === 0) {
      // AF_UNSPEC dissolves the association.
      this.remoteAddr = null;
      this.remotePort = 0;
      return 0;
    }
    if (addr.family !== this.family) return -E.EAFNOSUPPORT;
    const ip = toWireAddress(this.family, addr.addr, this.v6only);
    if (!ip) return -E.ENETUNREACH;
    const route = this.stack.findRoute(ip, isUnspecified(this.localAddr) ? null : this.localAddr);
    if (typeof route === "number") return route;
    const r = this.autobind();
    if (r < 0) return r;
    if (
      isUnspecified(this.localAddr) &&
      (this.localAddr.length === ip.length || this.family === AF_INET)
    ) {
      // Linux fixes the source address at connect time.
      this.localAddr = route.src.slice();
    } else if (isUnspecified(this.localAddr) && ip.length === 4) {
      this.localAddr = route.src.slice();
    }
    this.remoteAddr = ip.slice();
    this.remotePort = addr.port;
    return 0;
  }

  listen(_backlog: number): number {
    return -E.EOPNOTSUPP;
  }

  accept(): Socket | number {
    return -E.EOPNOTSUPP;
  }

  sendto(data: Uint8Array, flags: number, to?: SockAddr | null): number {
    if (this.closed) return -E.EBADF;
    if (flags & MSG_OOB) return -E.EOPNOTSUPP;
    if (this.shutWrite) return -E.EPIPE;
    let dst: IPAddress, port: number;
    if (to) {
      if (to.family !== this.family) return -E.EAFNOSUPPORT;
      const ip = toWireAddress(this.family, to.addr, this.v6only);
      if (!ip) return -E.ENETUNREACH;
      dst = ip;
      port = to.port;
    } else if (this.remoteAddr) {
      dst = this.remoteAddr;
      port = this.remotePort;
    } else return -E.EDESTADDRREQ;
    if (this.softError) {
      const e = this.softError;
      this.softError = 0;
      return -e;
    }
    if (!this.allowUnbound()) {
      const r = this.autobind();
      if (r < 0) return r;
    }
    this.stack.enter();
    try {
      return this.transmit(data, dst, port, flags);
    } finally {
      this.stack.leave();
    }
  }

  recvfrom(buf: Uint8Array, flags: number, from?: SockAddr | null): number {
    if (this.closed) return -E.EBADF;
    if (flags & MSG_OOB) return -E.EOPNOTSUPP;
    if (this.queueHead >= this.queue.length) {
      if (this.softError) {
        const e = this.softError;
        this.softError = 0;
        return -e;
      }
      if (this.shutRead) return 0;
      return -E.EAGAIN;
    }
    const d = this.queue[this.queueHead];
    const n = Math.min(buf.length, d.data.length);
    buf.set(d.data.subarray(0, n));
    if (from) {
      from.family = this.family;
      from.addr = toSocketAddress(this.family, d.from);
      from.port = d.port;
      from.flowinfo = 0;
      from.scopeId = 0;
    }
    if (!(flags & MSG_PEEK)) {
      this.queueHead++;
      this.queuedBytes -= d.data.length;
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      } else if (this.queueHead > 64) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
    }
    return flags & MSG_TRUNC ? d.data.length : n;
  }

  /** Queues a received datagram (copied). Drops it when the receive buffer is full. */
  deliver(data: Uint8Array, from: IPAddress, port: number, meta: DatagramMeta | null = null): void {
    if (this.shutRead || this.closed) return;
    // Linux charges the buffer with per-datagram overhead; keep a similar bound.
    if (this.queuedBytes + data.length > this.rcvbuf) {
      this.drops++;
      this.stack.stats.inc("dgram.rcvbufFull");
      return;
    }
    this.queue.push({ data: data.slice(), from: from.slice(), port, meta });
    this.queuedBytes += data.length;
    this.notify();
  }

  setError(errno: number): void {
    this.softError = errno;
    this.notify();
  }

  shutdown(how: number): number {
    if (how < 0 || how > 2) return -E.EINVAL;
    if (!this.remoteAddr) return -E.ENOTCONN;
    if (how !== 1) this.shutRead = true;
    if (how !== 0) this.shutWrite = true;
    this.notify();
    return 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.memberships) m.nic.leaveGroup(m.group);
    this.memberships = [];
    if (this.localPort) this.ports.remove(this);
    this.queue = [];
  }

  getsockname(): SockAddr {
    return {
      family: this.family,
      addr: toSocketAddress(this.family, this.localAddr),
      port: this.localPort,
    };
  }

  getpeername(): SockAddr | number {
    if (!this.remoteAddr) return -E.ENOTCONN;
    return {
      family: this.family,
      addr: toSocketAddress(this.family, this.remoteAddr),
      port: this.remotePort,
    };
  }

  readiness(): number {
    let m = POLLOUT;
    if (this.queueHead < this.queue.length || this.shutRead) m |= POLLIN;
    if (this.softError) m |= POLLERR;
    return m;
  }

  pendingInput(): number {
    return this.queueHead < this.queue.length ? this.queue[this.queueHead].data.length : 0;
  }

  /** How the next datagram arrived (null when none waits or it was not recorded). */
  nextMeta(): DatagramMeta | null {
    return this.queueHead < this.queue.length ? this.queue[this.queueHead].meta : null;
  }

  pendingOutput(): number {
    return 0;
  }

  /** The TTL/hop limit for a destination. */
  protected hopLimitFor(dst: IPAddress): number {
    if (isMulticast(dst)) return this.multicastTtl;
    if (this.ttl >= 0) return this.ttl;
    return 64;
  }

  setsockopt(level: number, name: number, value: Uint8Array): number {
    const v = optInt(value);
    if (level === SOL_SOCKET) {
      if (v === null) return -E.EINVAL;
      switch (name) {
        case SO_REUSEADDR:
          this.reuseAddr = v !== 0;
          return 0;
        case SO_REUSEPORT:
          this.reusePort = v !== 0;
          return 0;
        case SO_BROADCAST:
          this.broadcast = v !== 0;
          return 0;
        case SO_RCVBUF:
          this.rcvbuf = Math.max(2304, Math.min(v, 4 << 20) * 2);
          return 0;
        case SO_SNDBUF:
          this.sndbuf = Math.max(4608, Math.min(v, 4 << 20) * 2);
          return 0;
        default:
          return 0; // accepted and ignored, as harmless
      }
    }
    if (level === IPPROTO_IP) {
      switch (name) {
        case IP_TTL:
          if (v === null || v < -1 || v > 255 || v === 0) return -E.EINVAL;
          this.ttl = v;
          return 0;
        case IP_TOS:
          this.tos = (v ?? 0) & 0xfc;
          return 0;
        case IP_MULTICAST_TTL:
          if (v === null || v < -1 || v > 255) return -E.EINVAL;
          this.multicastTtl = v === -1 ? 1 : v;
          return 0;
        case IP_MULTICAST_LOOP:
          this.multicastLoop = (v ?? 1) !== 0;
          return 0;
        case IP_MULTICAST_IF:
          return 0;
        case IP_ADD_MEMBERSHIP:
        case IP_DROP_MEMBERSHIP: {
          if (value.length < 8) return -E.EINVAL;
          const group = value.slice(0, 4);
          if (!isMulticast(group)) return -E.EINVAL;
          return this.membership(group, name === IP_ADD_MEMBERSHIP);
        }
      }
      return -E.ENOPROTOOPT;
    }
    if (level === IPPROTO_IPV6 && this.family === AF_INET6) {
      switch (name) {
        case IPV6_V6ONLY:
          if (this.localPort) return -E.EINVAL;
          this.v6only = (v ?? 0) !== 0;
          return 0;
        case IPV6_UNICAST_HOPS:
          if (v === null || v < -1 || v > 255) return -E.EINVAL;
          this.ttl = v;
          return 0;
        case IPV6_MULTICAST_HOPS:
          if (v === null || v < -1 || v > 255) return -E.EINVAL;
          this.multicastTtl = v === -1 ? 1 : v;
          return 0;
        case IPV6_MULTICAST_LOOP:
          this.multicastLoop = (v ?? 1) !== 0;
          return 0;
        case IPV6_TCLASS:
          this.tos = (v ?? 0) & 0xff;
          return 0;
        case IPV6_JOIN_GROUP:
        case IPV6_LEAVE_GROUP: {
          if (value.length < 20) return -E.EINVAL;
          const group = value.slice(0, 16);
          if (!isMulticast(group)) return -E.EINVAL;
          return this.membership(group, name === IPV6_JOIN_GROUP);
        }
      }
      return -E.ENOPROTOOPT;
    }
    return -E.ENOPROTOOPT;
  }

  private membership(group: IPAddress, join: boolean): number {
    const nic = this.stack.nics.find((n) => !n.isLoopback && n.up) ?? this.stack.loopbackNic;
    if (!nic) return -E.ENODEV;
    if (join) {
      nic.joinGroup(group);
      this.memberships.push({ group, nic });
      return 0;
    }
    const i = this.memberships.findIndex((m) => m.group.every((b, k) => b === group[k]));
    if (i < 0) return -E.EADDRNOTAVAIL;
    this.memberships[i].nic.leaveGroup(group);
    this.memberships.splice(i, 1);
    return 0;
  }

  /** Whether this socket joined `group` (multicast delivery filter). */
  isMember(group: IPAddress): boolean {
    return this.memberships.some((m) => m.group.every((b, k) => b === group[k]));
  }

  getsockopt(level: number, name: number): Uint8Array | number {
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_TYPE:
          return intValue(SOCK_DGRAM);
        case SO_PROTOCOL:
          return intValue(this.protocol);
        case SO_DOMAIN:
          return intValue(this.family);
        case SO_ERROR: {
          const e = this.softError;
          this.softError = 0;
          return intValue(e);
        }
        case SO_REUSEADDR:
          return intValue(this.reuseAddr ? 1 : 0);
        case SO_REUSEPORT:
          return intValue(this.reusePort ? 1 : 0);
        case SO_BROADCAST:
          return intValue(this.broadcast ? 1 : 0);
        case SO_RCVBUF:
          return intValue(this.rcvbuf);
        case SO_SNDBUF:
          return intValue(this.sndbuf);
      }
      return -E.ENOPROTOOPT;
    }
    if (level === IPPROTO_IP) {
      switch (name) {
        case IP_TTL:
          return intValue(this.ttl < 0 ? 64 : this.ttl);
        case IP_TOS:
          return intValue(this.tos);
        case IP_MULTICAST_TTL:
          return intValue(this.multicastTtl);
        case IP_MULTICAST_LOOP:
          return intValue(this.multicastLoop ? 1 : 0);
      }
      return -E.ENOPROTOOPT;
    }
    if (level === IPPROTO_IPV6 && this.family === AF_INET6) {
      switch (name) {
        case IPV6_V6ONLY:
          return intValue(this.v6only ? 1 : 0);
        case IPV6_UNICAST_HOPS:
          return intValue(this.ttl < 0 ? 64 : this.ttl);
        case IPV6_MULTICAST_HOPS:
          return intValue(this.multicastTtl);
        case IPV6_TCLASS:
          return intValue(this.tos);
      }
    }
    return -E.ENOPROTOOPT;
  }
}

export { AF_INET6, POLLERR };
