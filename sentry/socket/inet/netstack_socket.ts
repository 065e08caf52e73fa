// AF_INET / AF_INET6 sockets on netstack (network modes none and sandbox): TCP streams, UDP
// datagrams and ICMP echo ("ping") datagrams. netstack does the protocol work; this file
// gives its sockets Linux's socket-layer behaviour: the connect state machine of
// inet_stream_connect (EINPROGRESS, EALREADY, the one 0 after a completed non-blocking
// connect, SO_ERROR), address checks, privileged ports, MSG_TRUNC and msg_flags, options
// netstack does not keep, FIONREAD/SIOCOUTQ and the interface ioctls.
//
// Bytes move between netstack's buffers and guest memory through views of the memory file
// (one copy each way). Each call into netstack is bracketed by net.begin()/net.end(): the
// stack's clock catches up first, and its timer is re-armed after.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Task } from "../../kernel/task.ts";
import type { IoctlContext } from "../../vfs/file.ts";
import type { UserIO } from "../../vfs/userio.ts";
import type { SockAddr } from "../../../netstack/addr.ts";
import { State as TcpState, TcpSocket } from "../../../netstack/tcp/endpoint.ts";
import type { Socket as NsSocket } from "../../../netstack/socket.ts";
import type { NetstackNetwork } from "../../net/network.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  encodeUcred,
  int32,
  MSG_DONTWAIT,
  MSG_MORE,
  MSG_NOSIGNAL,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  POLLRDHUP,
  type RecvResult,
  type SendArgs,
  SO_PEERCRED,
  SOCK_DGRAM,
  SOCK_STREAM,
  SocketFile,
  SOL_SOCKET,
  SOMAXCONN,
  type Ucred,
} from "../socket.ts";
import { decodeSockaddr, encodeSockaddr } from "./sockaddr.ts";
import type { DatagramMeta } from "../../../netstack/dgram.ts";
import { setSocketOwner } from "../../net/procnet.ts";
import { interfaceIoctl } from "./ifioctl.ts";
import {
  extraOptionGet,
  extraOptionSet,
  getLevelError,
  IPPROTO_IP,
  IPPROTO_IPV6,
  knownLevel,
  precheckSet,
} from "./options.ts";

const SO_TIMESTAMP_OLD = 29;
const SO_TIMESTAMPNS_OLD = 35;
const IP_TOS = 1;
const IP_TTL = 2;
const IP_PKTINFO = 8;
const IP_RECVTTL = 12;
const IP_RECVTOS = 13;
const IPV6_RECVPKTINFO = 49;
const IPV6_PKTINFO = 50;
const IPV6_RECVHOPLIMIT = 51;
const IPV6_HOPLIMIT = 52;
const IPV6_RECVTCLASS = 66;
const IPV6_TCLASS = 67;

const CAP_NET_BIND_SERVICE = 10;
/** net.ipv4.ip_unprivileged_port_start. */
const UNPRIVILEGED_PORT_START = 1024;
const SIOCINQ = L.FIONREAD;
const SIOCOUTQ = L.TIOCOUTQ;
const SIOCOUTQNSD = 0x894b;

/** Flags netstack understands; the others are the socket layer's business. */
const STACK_FLAGS = MSG_PEEK | MSG_MORE | MSG_OOB;

/** Linux's sock->state for stream sockets (distinct from TCP's state). */
const enum Conn {
  Unconnected,
  Connecting,
  Connected,
}

export class NetstackSocket extends SocketFile {
  private conn = Conn.Unconnected;
  /** Options netstack does not keep, remembered for getsockopt (level:name -> bytes). */
  readonly extraOptions = new Map<string, Uint8Array>();

  /** shutdown(2) so far (datagram sockets): RCV_SHUTDOWN 1, SEND_SHUTDOWN 2. */
  private shut = 0;
  /** The address bind() gave (kept across a reconnect, as Linux's SOCK_BINDPORT_LOCK). */
  private userBound: SockAddr | null = null;

  constructor(
    readonly net: NetstackNetwork,
    public sock: NsSocket,
    readonly family: number,
    readonly type: number,
    readonly protocol: number,
    flags: number,
    owner: Ucred,
    nowNs: number,
  ) {
    super(L.O_RDWR | (flags & L.O_NONBLOCK), owner, nowNs);
    this.watch(sock);
  }

  private watch(sock: NsSocket): void {
    setSocketOwner(sock, { ino: this.ino, uid: this.owner.uid });
    sock.onReadiness = () => this.waitQueue.notify(this.poll());
  }

  /** Linux's tcp_disconnect: the socket may connect again. netstack's sockets connect once,
   * so a fresh one with the same options (and the same bound address) takes its place; an
   * established connection is reset. */
  private replaceStream(): number {
    const old = this.tcp!;
    const fresh = old.cloneUnconnected();
    old.onReadiness = null;
    if (old.state !== TcpState.Closed) {
      old.lingerOn = true;
      old.lingerSec = 0;
    }
    old.close();
    this.sock = fresh;
    this.watch(fresh);
    this.conn = Conn.Unconnected;
    if (this.userBound) return fresh.bind(this.userBound);
    return 0;
  }

  /** An accepted connection. */
  static accepted(parent: NetstackSocket, sock: NsSocket, flags: number): NetstackSocket {
    const s = new NetstackSocket(
      parent.net,
      sock,
      parent.family,
      parent.type,
      parent.protocol,
      flags,
      parent.owner,
      parent.createdNs,
    );
    s.conn = Conn.Connected;
    return s;
  }

  private get tcp(): TcpSocket | null {
    return this.sock instanceof TcpSocket ? this.sock : null;
  }

  // ---- names and connections ------------------------------------------------------------

  override bind(t: Task, raw: Uint8Array): number {
    const a = decodeSockaddr(this.family, raw, "bind");
    if (typeof a === "number") return a;
    const addr = a as SockAddr;
    if (
      addr.port !== 0 && addr.port < UNPRIVILEGED_PORT_START &&
      !t.creds.hasCap(CAP_NET_BIND_SERVICE)
    ) {
      return -E.EACCES;
    }
    const fixed = addr.family === AF_UNSPEC ? { ...addr, family: this.family } : addr;
    this.net.begin();
    const r = this.sock.bind(fixed);
    this.net.end();
    if (r === 0) this.userBound = this.sock.getsockname();
    return r;
  }

  override listen(_t: Task, backlog: number): number {
    const tcp = this.tcp;
    if (!tcp) return -E.EOPNOTSUPP;
    if (this.conn !== Conn.Unconnected) return -E.EINVAL;
    // Linux compares as unsigned: a negative backlog means the maximum.
    const n = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
    this.net.begin();
    const r = tcp.listen(n);
    this.net.end();
    if (r === 0) this.waitQueue.notify(L.POLLIN | L.POLLOUT | L.POLLHUP);
    return r;
  }

  override accept(_t: Task, flags: number): SocketFile | number {
    const tcp = this.tcp;
    if (!tcp) return -E.EOPNOTSUPP;
    this.net.begin();
    const r = tcp.accept();
    this.net.end();
    if (typeof r === "number") return r;
    return NetstackSocket.accepted(this, r, flags);
  }

  override connect(_t: Task, raw: Uint8Array): number {
    const a = decodeSockaddr(this.family, raw, "connect");
    if (typeof a === "number") return a;
    if (this.type !== SOCK_STREAM) {
      this.net.begin();
      const r = this.sock.connect(a as SockAddr);
      this.net.end();
      return r;
    }
    return this.connectStream(a as SockAddr);
  }

  /** inet_stream_connect's states. A blocking caller is told -EINPROGRESS while the
   * handshake runs (the syscall layer waits and calls again). */
  private connectStream(a: SockAddr): number {
    let tcp = this.tcp!;
    if (a.family === AF_UNSPEC) {
      // Disconnect: whatever the state, the socket starts afresh.
      if (tcp.state === TcpState.Closed && !tcp.everConnected) return 0;
      this.net.begin();
      const r = this.replaceStream();
      this.net.end();
      return r;
    }
    let err: number;
    switch (this.conn) {
      case Conn.Connected:
        return -E.EISCONN;
      case Conn.Connecting:
        err = -E.EALREADY;
        break;
      case Conn.Unconnected: {
        if (tcp.state === TcpState.Closed && tcp.everConnected) {
          // After a failed attempt: try again from scratch.
          this.net.begin();
          const r = this.replaceStream();
          this.net.end();
          if (r < 0) return r;
          tcp = this.tcp!;
        }
        if (tcp.state !== TcpState.Closed) return -E.EISCONN;
        this.net.begin();
        const r = tcp.connect(a);
        this.net.end();
        if (r === -E.EALREADY || r === -E.EISCONN) return -E.EISCONN;
        if (r !== -E.EINPROGRESS && r !== 0) return r;
        this.conn = Conn.Connecting;
        // Linux's connect holds the socket while the handshake's first packets are
        // processed: even on loopback a non-blocking caller hears EINPROGRESS first.
        if (this.nonblocking) return -E.EINPROGRESS;
        err = -E.EINPROGRESS;
        break;
      }
    }
    if (tcp.state === TcpState.SynSent || tcp.state === TcpState.SynRcvd) {
      return this.nonblocking ? err : -E.EINPROGRESS;
    }
    if (tcp.state === TcpState.Closed) {
      // The handshake failed: the error (once), else ECONNABORTED.
      this.conn = Conn.Unconnected;
      const e = tcp.error;
      tcp.error = 0;
      return e ? -e : -E.ECONNABORTED;
    }
    this.conn = Conn.Connected;
    return 0;
  }

  override shutdown(_t: Task, how: number): number {
    if (how < 0 || how > 2) return -E.EINVAL;
    this.net.begin();
    const r = this.sock.shutdown(how);
    this.net.end();
    if (r === 0) this.shut |= how + 1;
    this.waitQueue.notify(this.poll() | L.POLLHUP | POLLRDHUP);
    return r;
  }

  override getsockname(): Uint8Array {
    return encodeSockaddr(this.family, this.sock.getsockname());
  }

  override getpeername(): Uint8Array | number {
    const p = this.sock.getpeername();
    if (typeof p === "number") return p;
    if (this.tcp && this.conn !== Conn.Connected && this.tcp.state !== TcpState.Established) {
      // A connection that did not complete has no peer yet.
      if (this.conn === Conn.Connecting) return -E.ENOTCONN;
    }
    return encodeSockaddr(this.family, p);
  }

  // ---- data -----------------------------------------------------------------------------

  override sendmsg(_t: Task | null, a: SendArgs): number {
    const flags = a.flags;
    let to: SockAddr | null = null;
    if (a.addr && a.addr.length > 0 && this.type !== SOCK_STREAM) {
      const d = decodeSockaddr(this.family, a.addr, "sendto");
      if (typeof d === "number") return d;
      to = { ...(d as SockAddr), family: this.family };
    }
    if (a.rights) return -E.EOPNOTSUPP;
    if (this.type === SOCK_STREAM) return this.sendStream(a, flags);
    return this.sendDatagram(a, flags, to);
  }

  private sendStream(a: SendArgs, flags: number): number {
    const tcp = this.tcp!;
    const left = a.io.total - a.at;
    // Linux reports a failed or missing connection as EPIPE (with SIGPIPE) on send.
    if (tcp.state === TcpState.Closed || tcp.state === TcpState.Listen) {
      if (tcp.error) {
        const e = tcp.error;
        tcp.error = 0;
        return -e;
      }
      return -E.EPIPE;
    }
    if (left <= 0) {
      if (tcp.state === TcpState.SynSent || tcp.state === TcpState.SynRcvd) return -E.EAGAIN;
      return 0;
    }
    const ranges = a.io.memRanges(false, a.at, left);
    if (typeof ranges === "number") return ranges;
    const mem = this.net.memory();
    const f = flags & STACK_FLAGS;
    let sent = 0;
    this.net.begin();
    try {
      for (let i = 0; i < ranges.length; i += 2) {
        const off = ranges[i], len = ranges[i + 1];
        const n = this.sock.sendto(mem.subarray(off, off + len), f, null);
        if (n < 0) {
          if (sent > 0) break;
          return n === -E.ENOTCONN ? -E.EPIPE : n;
        }
        sent += n;
        if (n < len) break;
      }
    } finally {
      this.net.end();
    }
    if (sent === 0 && left > 0 && ranges.length === 0) return -E.EFAULT;
    return sent;
  }

  private sendDatagram(a: SendArgs, flags: number, to: SockAddr | null): number {
    const len = a.io.total;
    let data: Uint8Array;
    const ranges = a.io.memRanges(false, 0, len);
    if (typeof ranges === "number") return ranges;
    if (ranges.length === 2 && ranges[1] === len) {
      data = this.net.memory().subarray(ranges[0], ranges[0] + len);
    } else if (len === 0) {
      data = new Uint8Array(0);
    } else {
      const c = a.io.copyIn(len, 0);
      if (typeof c === "number") return c;
      if (c.length < len) return -E.EFAULT;
      data = c;
    }
    this.net.begin();
    const r = this.sock.sendto(data, flags & STACK_FLAGS, to);
    this.net.end();
    return r;
  }

  override recvmsg(_t: Task | null, io: UserIO, at: number, flags: number): RecvResult | number {
    if (this.type === SOCK_STREAM) return this.recvStream(io, at, flags);
    return this.recvDatagram(io, at, flags);
  }

  private recvStream(io: UserIO, at: number, flags: number): RecvResult | number {
    const tcp = this.tcp!;
    if (flags & MSG_OOB) return -E.EINVAL;
    if (tcp.state === TcpState.Listen) return -E.ENOTCONN;
    const want = io.total - at;
    const f = flags & MSG_PEEK;
    this.net.begin();
    try {
      if (flags & MSG_TRUNC) {
        // TCP's MSG_TRUNC: the bytes are consumed, not copied.
        const scratch = new Uint8Array(Math.min(want, 1 << 20));
        const n = this.sock.recvfrom(scratch, f, null);
        return n < 0 ? n : result(n, n, null, 0);
      }
      const ranges = io.memRanges(true, at, want);
      if (typeof ranges === "number") return ranges;
      if (want > 0 && ranges.length === 0) return -E.EFAULT;
      const mem = this.net.memory();
      if (ranges.length > 2 && (flags & MSG_PEEK)) {
        // A peek always starts at the first unread byte: read it all at once.
        const tmp = new Uint8Array(want);
        const n = this.sock.recvfrom(tmp, f, null);
        if (n < 0) return n;
        const rc = io.copyOut(tmp.subarray(0, n), at);
        return rc < 0 ? rc : result(rc, rc, null, 0);
      }
      if (want === 0) {
        const n = this.sock.recvfrom(new Uint8Array(0), f, null);
        return n < 0 ? n : result(0, 0, null, 0);
      }
      let got = 0;
      for (let i = 0; i < ranges.length; i += 2) {
        const view = mem.subarray(ranges[i], ranges[i] + ranges[i + 1]);
        const n = this.sock.recvfrom(view, f, null);
        if (n < 0) {
          if (got > 0) break;
          return n;
        }
        got += n;
        if (n < view.length || n === 0) break;
      }
      return result(got, got, null, 0);
    } finally {
      this.net.end();
    }
  }

  private recvDatagram(io: UserIO, at: number, flags: number): RecvResult | number {
    if (flags & MSG_OOB) return -E.EOPNOTSUPP;
    const want = io.total - at;
    this.net.begin();
    try {
      const length = this.sock.pendingInput();
      const meta = (this.sock as { nextMeta?: () => DatagramMeta | null }).nextMeta?.() ?? null;
      const from: SockAddr = { family: this.family, addr: new Uint8Array(0), port: 0 };
      const ranges = io.memRanges(true, at, want);
      if (typeof ranges === "number") return ranges;
      let n: number;
      if (ranges.length === 2 && ranges[1] === want) {
        n = this.sock.recvfrom(
          this.net.memory().subarray(ranges[0], ranges[0] + want),
          flags & MSG_PEEK,
          from,
        );
      } else {
        const tmp = new Uint8Array(Math.min(want, 65536));
        n = this.sock.recvfrom(tmp, flags & MSG_PEEK, from);
        if (n > 0) {
          const rc = io.copyOut(tmp.subarray(0, n), at);
          if (rc < 0) return rc;
        }
      }
      if (n < 0) return n;
      const full = Math.max(length, n);
      const r = result(n, full, encodeSockaddr(this.family, from), n < full ? MSG_TRUNC : 0);
      if (meta && this.extraOptions.size) r.control = this.ancillary(meta);
      return r;
    } finally {
      this.net.end();
    }
  }

  private optionOn(level: number, name: number): boolean {
    const v = this.extraOptions.get(`${level}:${name}`);
    return !!v && (v[0] | v[1] | v[2] | v[3]) !== 0;
  }

  /** The control messages the options ask for, in Linux's order: timestamps, then the
   * IP level's (PKTINFO, TTL, TOS) or IPv6's (PKTINFO, HOPLIMIT, TCLASS). */
  private ancillary(m: DatagramMeta): Array<{ level: number; type: number; data: Uint8Array }> {
    const out: Array<{ level: number; type: number; data: Uint8Array }> = [];
    const int = (v: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v, true);
      return b;
    };
    if (
      this.optionOn(SOL_SOCKET, SO_TIMESTAMP_OLD) || this.optionOn(SOL_SOCKET, SO_TIMESTAMPNS_OLD)
    ) {
      const ns = this.net.realtimeOf(m.arrivedNs);
      const b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      const sec = Math.floor(ns / 1e9);
      dv.setBigInt64(0, BigInt(sec), true);
      const ts = this.optionOn(SOL_SOCKET, SO_TIMESTAMPNS_OLD);
      dv.setBigInt64(
        8,
        BigInt(ts ? Math.floor(ns - sec * 1e9) : Math.floor((ns - sec * 1e9) / 1000)),
        true,
      );
      out.push({ level: SOL_SOCKET, type: ts ? SO_TIMESTAMPNS_OLD : SO_TIMESTAMP_OLD, data: b });
    }
    if (this.family === AF_INET) {
      if (this.optionOn(IPPROTO_IP, IP_PKTINFO)) {
        const b = new Uint8Array(12);
        new DataView(b.buffer).setInt32(0, m.ifindex, true);
        b.set(m.dst.length === 4 ? m.dst : m.dst.subarray(12, 16), 4);
        b.set(m.dst.length === 4 ? m.dst : m.dst.subarray(12, 16), 8);
        out.push({ level: IPPROTO_IP, type: IP_PKTINFO, data: b });
      }
      if (this.optionOn(IPPROTO_IP, IP_RECVTTL)) {
        out.push({ level: IPPROTO_IP, type: IP_TTL, data: int(m.ttl) });
      }
      if (this.optionOn(IPPROTO_IP, IP_RECVTOS)) {
        out.push({ level: IPPROTO_IP, type: IP_TOS, data: new Uint8Array([m.tos]) });
      }
    } else {
      if (this.optionOn(IPPROTO_IPV6, IPV6_RECVPKTINFO)) {
        const b = new Uint8Array(20);
        if (m.dst.length === 16) b.set(m.dst);
        else {
          b[10] = 0xff;
          b[11] = 0xff;
          b.set(m.dst, 12);
        }
        new DataView(b.buffer).setInt32(16, m.ifindex, true);
        out.push({ level: IPPROTO_IPV6, type: IPV6_PKTINFO, data: b });
      }
      if (this.optionOn(IPPROTO_IPV6, IPV6_RECVHOPLIMIT)) {
        out.push({ level: IPPROTO_IPV6, type: IPV6_HOPLIMIT, data: int(m.ttl) });
      }
      if (this.optionOn(IPPROTO_IPV6, IPV6_RECVTCLASS)) {
        out.push({ level: IPPROTO_IPV6, type: IPV6_TCLASS, data: int(m.tos) });
      }
    }
    return out;
  }

  override get streamLike(): boolean {
    return this.type === SOCK_STREAM;
  }

  override sendWaitMask(): number {
    return L.POLLOUT | L.POLLERR | L.POLLHUP;
  }

  override readiness(mask: number): number {
    return this.poll() & (mask | L.POLLERR | L.POLLHUP);
  }

  /** The poll mask as Linux computes it (tcp_poll, datagram_poll). */
  private poll(): number {
    const tcp = this.tcp;
    if (!tcp) {
      let m = this.sock.readiness() | L.POLLWRNORM | L.POLLWRBAND;
      if (m & L.POLLIN) m |= L.POLLRDNORM;
      if (this.shut & 1) m |= POLLRDHUP | L.POLLIN | L.POLLRDNORM;
      if (this.shut === 3) m |= L.POLLHUP;
      return m;
    }
    const st = tcp.state;
    if (st === TcpState.Listen) return tcp.acceptQueue.length ? L.POLLIN | L.POLLRDNORM : 0;
    const closed = st === TcpState.Closed || st === TcpState.TimeWait;
    let shutdown = (tcp.shutRead || tcp.finReceived ? 1 : 0) | (tcp.shutWrite ? 2 : 0);
    if (closed && tcp.everConnected) shutdown = 3;
    let m = 0;
    if (shutdown === 3 || closed) m |= L.POLLHUP;
    if (shutdown & 1) m |= L.POLLIN | L.POLLRDNORM | POLLRDHUP;
    if (st !== TcpState.SynSent && st !== TcpState.SynRcvd) {
      const readable = tcp.recvBuf.readable;
      if (readable > 0 && readable >= tcp.rcvLowat) m |= L.POLLIN | L.POLLRDNORM;
      if (shutdown & 2) m |= L.POLLOUT | L.POLLWRNORM;
      else {
        const free = tcp.sendBuf.free;
        if (closed || (free > 0 && free >= (tcp.sendBuf.length >> 1))) {
          m |= L.POLLOUT | L.POLLWRNORM;
        }
      }
    }
    if (tcp.error) m |= L.POLLERR;
    return m;
  }

  // ---- options and ioctls ---------------------------------------------------------------

  override getsockopt(t: Task, level: number, name: number): Uint8Array | number {
    if (!knownLevel(this, level)) return getLevelError(this);
    if (level === SOL_SOCKET && name === SO_PEERCRED) {
      return encodeUcred({ pid: 0, uid: 0xffffffff, gid: 0xffffffff });
    }
    let r = this.sock.getsockopt(level, name);
    if (r === -E.ENOPROTOOPT || (r === -E.EOPNOTSUPP && level !== SOL_SOCKET)) {
      r = extraOptionGet(this, t, level, name);
    }
    return r;
  }

  override setsockopt(t: Task, level: number, name: number, value: Uint8Array): number {
    const pre = precheckSet(this, level, name, value);
    if (pre < 0) return pre;
    this.net.begin();
    let r = this.sock.setsockopt(level, name, value);
    this.net.end();
    if (r === -E.ENOPROTOOPT) r = extraOptionSet(this, t, level, name, value);
    else if (r === 0 && level === SOL_SOCKET) extraOptionSet(this, t, level, name, value, true);
    if (r === 0) this.waitQueue.notify(this.poll());
    return r;
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    switch (cmd) {
      case SIOCINQ:
        if (this.tcp?.state === TcpState.Listen) return -E.EINVAL;
        return ctx.mm.writeU32(arg, this.sock.pendingInput());
      case SIOCOUTQ:
        if (this.tcp?.state === TcpState.Listen) return -E.EINVAL;
        return ctx.mm.writeU32(arg, this.sock.pendingOutput());
      case SIOCOUTQNSD:
        if (this.tcp?.state === TcpState.Listen) return -E.EINVAL;
        return ctx.mm.writeU32(
          arg,
          this.tcp ? Math.max(0, this.tcp.sendBuf.length - this.tcp.inFlight()) : 0,
        );
    }
    return interfaceIoctl(this.net, ctx, cmd, arg);
  }

  protected override release(): void {
    this.sock.onReadiness = null;
    this.net.begin();
    this.sock.close();
    this.net.end();
  }
}

function result(n: number, length: number, addr: Uint8Array | null, flags: number): RecvResult {
  return { n, length, addr, rights: null, creds: null, flags };
}

export { AF_INET, AF_INET6, int32, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_WAITALL, SOCK_DGRAM };
