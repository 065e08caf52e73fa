// Socket options netstack does not keep itself: the ones Linux accepts on inet sockets and
// programs commonly set (IP_RECVERR from glibc's resolver, IP_MTU_DISCOVER, SO_PRIORITY,
// TCP_DEFER_ACCEPT...). They are validated as Linux does, remembered, and read back;
// they change nothing in how packets travel (said in the syscall table's notes).
import { E } from "../../abi/errno.ts";
import type { Task } from "../../kernel/task.ts";
import { AF_INET6, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET } from "../socket.ts";

export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;
export const TCP_INFO = 11;
export const IP_MTU = 14;
export const IPV6_MTU = 24;

const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;

/** The socket as the option table needs to see it. */
export interface OptionHolder {
  readonly family: number;
  readonly type: number;
  readonly protocol: number;
  readonly extraOptions: Map<string, Uint8Array>;
}

interface Extra {
  /** Value reported before any set (an int, or raw bytes). */
  initial: number | Uint8Array;
  /** Which sockets have it. */
  applies?: (s: OptionHolder) => boolean;
  /** Checks a value; returns 0 or -errno. */
  check?: (v: number, t: Task, raw: Uint8Array) => number;
  /** getsockopt only. */
  readOnly?: boolean;
  /** The value is raw bytes kept as given (SO_BINDTODEVICE). */
  bytes?: boolean;
  /** struct linger. */
  linger?: boolean;
  /** Reads back as 0 or 1. */
  bool?: boolean;
}

const tcpOnly = (s: OptionHolder) => s.type === SOCK_STREAM;
const udpOnly = (s: OptionHolder) =>
  s.type === SOCK_DGRAM && s.protocol !== IPPROTO_ICMP && s.protocol !== IPPROTO_ICMPV6;
const v6Only = (s: OptionHolder) => s.family === AF_INET6;
const range = (lo: number, hi: number) => (v: number) => (v < lo || v > hi ? -E.EINVAL : 0);
const needCap = (cap: number) => (_v: number, t: Task) => (t.creds.hasCap(cap) ? 0 : -E.EPERM);

const EXTRAS = new Map<string, Extra>([
  // SOL_SOCKET
  [`${SOL_SOCKET}:1`, { bool: true, initial: 0 }], // SO_DEBUG
  [`${SOL_SOCKET}:5`, { bool: true, initial: 0 }], // SO_DONTROUTE
  [`${SOL_SOCKET}:6`, { bool: true, initial: 0 }], // SO_BROADCAST
  [`${SOL_SOCKET}:9`, { bool: true, initial: 0 }], // SO_KEEPALIVE
  [`${SOL_SOCKET}:10`, { bool: true, initial: 0 }], // SO_OOBINLINE
  [`${SOL_SOCKET}:11`, { bool: true, initial: 0 }], // SO_NO_CHECK
  [`${SOL_SOCKET}:12`, {
    initial: 0,
    check: (v, t) => ((v < 0 || v > 6) && !t.creds.hasCap(CAP_NET_ADMIN) ? -E.EPERM : 0),
  }], // SO_PRIORITY
  [`${SOL_SOCKET}:13`, { initial: new Uint8Array(8), linger: true }], // SO_LINGER
  [`${SOL_SOCKET}:14`, { bool: true, initial: 0 }], // SO_BSDCOMPAT
  [`${SOL_SOCKET}:16`, { bool: true, initial: 0 }], // SO_PASSCRED
  [`${SOL_SOCKET}:18`, { initial: 1 }], // SO_RCVLOWAT
  [`${SOL_SOCKET}:19`, { initial: 1, readOnly: true }], // SO_SNDLOWAT
  [`${SOL_SOCKET}:25`, {
    initial: new Uint8Array(0),
    bytes: true,
    check: (_v, t) => (t.creds.hasCap(CAP_NET_RAW) ? 0 : -E.EPERM),
  }], // SO_BINDTODEVICE
  [`${SOL_SOCKET}:29`, { bool: true, initial: 0 }], // SO_TIMESTAMP_OLD
  [`${SOL_SOCKET}:30`, { initial: 0, readOnly: true }], // SO_ACCEPTCONN (datagram sockets)
  [`${SOL_SOCKET}:35`, { bool: true, initial: 0 }], // SO_TIMESTAMPNS_OLD
  [`${SOL_SOCKET}:36`, { initial: 0, check: needCap(CAP_NET_ADMIN) }], // SO_MARK
  [`${SOL_SOCKET}:40`, { bool: true, initial: 0 }], // SO_RXQ_OVFL
  [`${SOL_SOCKET}:41`, { bool: true, initial: 0 }], // SO_WIFI_STATUS
  [`${SOL_SOCKET}:42`, { initial: -1, applies: (s) => s.type === SOCK_DGRAM }], // SO_PEEK_OFF
  [`${SOL_SOCKET}:43`, { bool: true, initial: 0 }], // SO_NOFCS
  [`${SOL_SOCKET}:46`, { initial: 0 }], // SO_BUSY_POLL
  [`${SOL_SOCKET}:49`, { initial: -1 }], // SO_INCOMING_CPU
  [`${SOL_SOCKET}:60`, { bool: true, initial: 0 }], // SO_ZEROCOPY
  // IPPROTO_IP
  [`${IPPROTO_IP}:4`, { initial: new Uint8Array(0), bytes: true }], // IP_OPTIONS
  [`${IPPROTO_IP}:6`, { bool: true, initial: 0 }], // IP_RECVOPTS
  [`${IPPROTO_IP}:7`, { bool: true, initial: 0 }], // IP_RETOPTS
  [`${IPPROTO_IP}:8`, { bool: true, initial: 0 }], // IP_PKTINFO
  [`${IPPROTO_IP}:10`, { initial: 1, check: range(0, 5) }], // IP_MTU_DISCOVER
  [`${IPPROTO_IP}:11`, { bool: true, initial: 0 }], // IP_RECVERR
  [`${IPPROTO_IP}:12`, { bool: true, initial: 0 }], // IP_RECVTTL
  [`${IPPROTO_IP}:13`, { bool: true, initial: 0 }], // IP_RECVTOS
  [`${IPPROTO_IP}:15`, { bool: true, initial: 0 }], // IP_FREEBIND
  [`${IPPROTO_IP}:18`, { bool: true, initial: 0 }], // IP_PASSSEC
  [`${IPPROTO_IP}:19`, { bool: true, initial: 0, check: needCap(CAP_NET_ADMIN) }], // IP_TRANSPARENT
  [`${IPPROTO_IP}:20`, { bool: true, initial: 0 }], // IP_RECVORIGDSTADDR
  [`${IPPROTO_IP}:24`, { bool: true, initial: 0 }], // IP_BIND_ADDRESS_NO_PORT
  [`${IPPROTO_IP}:33`, { initial: 1 }], // IP_MULTICAST_TTL (TCP keeps it too)
  [`${IPPROTO_IP}:34`, { bool: true, initial: 1 }], // IP_MULTICAST_LOOP
  [`${IPPROTO_IP}:49`, { bool: true, initial: 1 }], // IP_MULTICAST_ALL
  // IPPROTO_IPV6
  [`${IPPROTO_IPV6}:23`, { initial: 0, applies: v6Only, check: range(0, 5) }], // IPV6_MTU_DISCOVER
  [`${IPPROTO_IPV6}:25`, { bool: true, initial: 0, applies: v6Only }], // IPV6_RECVERR
  [`${IPPROTO_IPV6}:29`, { bool: true, initial: 1, applies: v6Only }], // IPV6_MULTICAST_ALL
  [`${IPPROTO_IPV6}:49`, { bool: true, initial: 0, applies: v6Only }], // IPV6_RECVPKTINFO
  [`${IPPROTO_IPV6}:51`, { bool: true, initial: 0, applies: v6Only }], // IPV6_RECVHOPLIMIT
  [`${IPPROTO_IPV6}:66`, { bool: true, initial: 0, applies: v6Only }], // IPV6_RECVTCLASS
  [`${IPPROTO_IPV6}:70`, { bool: true, initial: 1, applies: v6Only }], // IPV6_AUTOFLOWLABEL
  [`${IPPROTO_IPV6}:72`, { initial: 0, applies: v6Only }], // IPV6_ADDR_PREFERENCES
  [`${IPPROTO_IPV6}:74`, { bool: true, initial: 0, applies: v6Only }], // IPV6_RECVORIGDSTADDR
  [`${IPPROTO_IPV6}:78`, { bool: true, initial: 0, applies: v6Only }], // IPV6_FREEBIND
  // IPPROTO_TCP
  [`${IPPROTO_TCP}:8`, { initial: 60, applies: tcpOnly }], // TCP_LINGER2
  [`${IPPROTO_TCP}:9`, { initial: 0, applies: tcpOnly }], // TCP_DEFER_ACCEPT
  [`${IPPROTO_TCP}:16`, { initial: 0, applies: tcpOnly }], // TCP_THIN_LINEAR_TIMEOUTS
  [`${IPPROTO_TCP}:17`, { initial: 0, applies: tcpOnly }], // TCP_THIN_DUPACK
  [`${IPPROTO_TCP}:23`, { initial: 0, applies: tcpOnly }], // TCP_FASTOPEN
  [`${IPPROTO_TCP}:25`, { initial: -1, applies: tcpOnly }], // TCP_NOTSENT_LOWAT
  [`${IPPROTO_TCP}:30`, { initial: 0, applies: tcpOnly }], // TCP_FASTOPEN_CONNECT
  [`${IPPROTO_TCP}:36`, { initial: 0, applies: tcpOnly }], // TCP_INQ
  // IPPROTO_UDP
  [`${IPPROTO_UDP}:1`, { initial: 0, applies: udpOnly }], // UDP_CORK
  [`${IPPROTO_UDP}:103`, { initial: 0, applies: udpOnly }], // UDP_SEGMENT
  [`${IPPROTO_UDP}:104`, { initial: 0, applies: udpOnly }], // UDP_GRO
]);

function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function lookup(s: OptionHolder, level: number, name: number): Extra | null {
  const e = EXTRAS.get(`${level}:${name}`);
  if (!e) return null;
  if (e.applies && !e.applies(s)) return null;
  return e;
}

/** Levels a socket answers to (others: getsockopt's error, see optionLevelError). */
export function knownLevel(s: OptionHolder, level: number): boolean {
  if (level === SOL_SOCKET || level === IPPROTO_IP) return true;
  if (level === IPPROTO_IPV6) return s.family === AF_INET6;
  if (level === IPPROTO_TCP) return s.type === SOCK_STREAM;
  if (level === IPPROTO_UDP) return udpOnly(s);
  return false;
}

/** What getsockopt at a level the socket does not have returns: IPv4's ip_getsockopt says
 * EOPNOTSUPP, IPv6's ENOPROTOOPT. setsockopt says ENOPROTOOPT for both. */
export function getLevelError(s: OptionHolder): number {
  return s.family === AF_INET6 ? -E.ENOPROTOOPT : -E.EOPNOTSUPP;
}

/** Linux's length and writability checks before an option reaches the protocol. */
export function precheckSet(
  s: OptionHolder,
  level: number,
  name: number,
  value: Uint8Array,
): number {
  if (!knownLevel(s, level)) return -E.ENOPROTOOPT;
  if (level === SOL_SOCKET) {
    if (name === 25) return 0; // SO_BINDTODEVICE: a string
    if (value.length < 4) return -E.EINVAL;
    switch (name) {
      case 13: // SO_LINGER
        return value.length < 8 ? -E.EINVAL : 0;
      case 19: // SO_SNDLOWAT
      case 3: // SO_TYPE
      case 4: // SO_ERROR
      case 17: // SO_PEERCRED
      case 30: // SO_ACCEPTCONN
      case 31: // SO_PEERSEC
      case 38: // SO_PROTOCOL
      case 39: // SO_DOMAIN
      case 57: // SO_COOKIE
        return -E.ENOPROTOOPT;
    }
    return 0;
  }
  if (level === IPPROTO_TCP) {
    // String-valued TCP options; the rest take an int.
    if (name === 13 || name === 14 || name === 31 || name === 32) return 0;
    if (name === TCP_INFO) return -E.ENOPROTOOPT;
    return value.length < 4 ? -E.EINVAL : 0;
  }
  return 0;
}

/** getsockopt of an option netstack does not know: its remembered or initial value. */
export function extraOptionGet(
  s: OptionHolder,
  _t: Task,
  level: number,
  name: number,
): Uint8Array | number {
  const e = lookup(s, level, name);
  if (!e) return -E.ENOPROTOOPT;
  const kept = s.extraOptions.get(`${level}:${name}`);
  if (kept) return kept;
  return typeof e.initial === "number" ? int32(e.initial) : e.initial;
}

/** setsockopt of such an option (or, with recordOnly, remembering a value netstack took). */
export function extraOptionSet(
  s: OptionHolder,
  t: Task,
  level: number,
  name: number,
  value: Uint8Array,
  recordOnly = false,
): number {
  const e = lookup(s, level, name);
  if (!e) return recordOnly ? 0 : -E.ENOPROTOOPT;
  if (e.readOnly) return recordOnly ? 0 : -E.ENOPROTOOPT;
  const key = `${level}:${name}`;
  if (e.linger) {
    if (value.length < 8) return -E.EINVAL;
    const dv = new DataView(value.buffer, value.byteOffset, 8);
    const kept = new Uint8Array(8);
    const out = new DataView(kept.buffer);
    out.setInt32(0, dv.getInt32(0, true) ? 1 : 0, true);
    out.setInt32(4, Math.max(0, dv.getInt32(4, true)), true);
    s.extraOptions.set(key, kept);
    return 0;
  }
  if (e.bytes) {
    const rc = e.check ? e.check(0, t, value) : 0;
    if (rc < 0) return rc;
    // SO_BINDTODEVICE reports the name with its NUL.
    let n = value.indexOf(0);
    if (n < 0) n = value.length;
    const kept = new Uint8Array(n === 0 ? 0 : n + 1);
    kept.set(value.subarray(0, n));
    s.extraOptions.set(key, kept);
    return 0;
  }
  // Integer options: four bytes at SOL_SOCKET and TCP, a byte may do at the IP levels.
  const minLen = level === IPPROTO_IP || level === IPPROTO_IPV6 ? 1 : 4;
  if (value.length < minLen) return -E.EINVAL;
  let v = value.length >= 4
    ? new DataView(value.buffer, value.byteOffset, 4).getInt32(0, true)
    : value[0];
  if (e.check) {
    const rc = e.check(v, t, value);
    if (rc < 0) return rc;
  }
  if (e.bool) v = v ? 1 : 0;
  if (level === SOL_SOCKET && name === 18) v = Math.max(1, v);
  if (level === SOL_SOCKET && (name === 29 || name === 35)) {
    // SO_TIMESTAMP and SO_TIMESTAMPNS are one setting in two precisions: turning either on
    // picks its precision, turning either off turns timestamps off.
    s.extraOptions.delete(`${SOL_SOCKET}:29`);
    s.extraOptions.delete(`${SOL_SOCKET}:35`);
    if (!v) return 0;
  }
  s.extraOptions.set(key, int32(v));
  return 0;
}
