// The socket-shaped API the sentry sits on: Linux constants, the Socket interface, and
// helpers for option values, which travel as raw bytes exactly as the guest passed them.
// Every call returns a negative errno on failure and never throws for network conditions.
// Sockets are non-blocking: a call that would block returns -EAGAIN (or -EINPROGRESS for
// connect) and the sentry waits for a readiness change before retrying.
import type { SockAddr } from "./addr.ts";

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;

export const SOL_SOCKET = 1;
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;

export const SO_DEBUG = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_DONTROUTE = 5;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_OOBINLINE = 10;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const SO_RCVLOWAT = 18;
export const SO_SNDLOWAT = 19;
export const SO_ACCEPTCONN = 30;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;

export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_CORK = 3;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_SYNCNT = 7;
export const TCP_LINGER2 = 8;
export const TCP_DEFER_ACCEPT = 9;
export const TCP_WINDOW_CLAMP = 10;
export const TCP_INFO = 11;
export const TCP_QUICKACK = 12;
export const TCP_CONGESTION = 13;
export const TCP_USER_TIMEOUT = 18;

export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;

export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_LEAVE_GROUP = 21;
export const IPV6_V6ONLY = 26;
export const IPV6_TCLASS = 67;

export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;

export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLRDNORM = 0x40;
export const POLLWRNORM = 0x100;
export const POLLRDHUP = 0x2000;

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

export interface Socket {
  readonly family: number;
  readonly type: number;
  readonly protocol: number;
  bind(addr: SockAddr): number;
  /** Non-blocking connect: 0, -EINPROGRESS (TCP, completion shows as POLLOUT), or -errno. */
  connect(addr: SockAddr): number;
  listen(backlog: number): number;
  /** A connected socket, or -EAGAIN / -errno. */
  accept(): Socket | number;
  /** Sends from `data`; returns bytes taken or -errno. `to` only for datagram sockets. */
  sendto(data: Uint8Array, flags: number, to?: SockAddr | null): number;
  /** Receives into `buf`; returns bytes (for datagrams with MSG_TRUNC, the full length) or
   * -errno; 0 is end of stream. When `from` is given, the sender's address is stored in it. */
  recvfrom(buf: Uint8Array, flags: number, from?: SockAddr | null): number;
  shutdown(how: number): number;
  /** Releases the socket. TCP goes on closing in the background as Linux does. */
  close(): void;
  getsockname(): SockAddr;
  getpeername(): SockAddr | number;
  setsockopt(level: number, name: number, value: Uint8Array): number;
  getsockopt(level: number, name: number): Uint8Array | number;
  /** Current poll(2) mask: POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP. */
  readiness(): number;
  /** Set by the sentry; called (without arguments) whenever readiness may have changed. It
   * must only record the wakeup, never call back into the stack. */
  onReadiness: (() => void) | null;
  /** FIONREAD / SIOCINQ: bytes (stream) or next datagram size waiting. */
  pendingInput(): number;
  /** SIOCOUTQ: bytes not yet acknowledged / sent. */
  pendingOutput(): number;
}

// ---- Option value helpers ------------------------------------------------------------------

/** Reads an int option value (Linux accepts 4 bytes; also a single byte for some IP
 * options). Returns null when too short. */
export function optInt(v: Uint8Array): number | null {
  if (v.length >= 4) return new DataView(v.buffer, v.byteOffset, 4).getInt32(0, true);
  if (v.length >= 1) return v[0];
  return null;
}

export function intValue(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return b;
}

export function lingerValue(onoff: boolean, seconds: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setInt32(0, onoff ? 1 : 0, true);
  v.setInt32(4, seconds, true);
  return b;
}

export function copySockAddr(from: SockAddr, to: SockAddr): void {
  to.family = from.family;
  to.addr = from.addr.slice();
  to.port = from.port;
  to.flowinfo = from.flowinfo ?? 0;
  to.scopeId = from.scopeId ?? 0;
}
