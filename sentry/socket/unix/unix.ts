// Unix domain sockets: stream, datagram and seqpacket; socketpair; path, abstract and
// autobind names; SCM_RIGHTS and SCM_CREDENTIALS; SO_PEERCRED; shutdown.
//
// A message is copied into a JS buffer when it is sent and sits in the receiver's queue
// with the sender's credentials, address and any passed files. Flow control follows
// Linux's: a sender may have about SO_SNDBUF bytes (counted with a per-message overhead,
// like skb truesize) waiting in receivers' queues; a datagram receiver that is not
// connected back to the sender also refuses more than net.unix.max_dgram_qlen + 1 queued
// messages. A sender refused for want of room in another socket's queue (or backlog) is
// remembered there and notified (POLLOUT on its own wait queue) when room is made.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import type { Task } from "../../kernel/task.ts";
import type { FileDescription, IoctlContext } from "../../vfs/file.ts";
import type { Inode } from "../../vfs/inode.ts";
import type { UserIO } from "../../vfs/userio.ts";
import {
  AF_UNIX,
  credsOf,
  DEFAULT_RCVBUF,
  DEFAULT_SNDBUF,
  encodeUcred,
  int32,
  MAX_RCVBUF,
  MAX_SNDBUF,
  MIN_RCVBUF,
  MIN_SNDBUF,
  MSG_CMSG_CLOEXEC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_OOB,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  POLLRDHUP,
  type RecvResult,
  registerFamily,
  type SendArgs,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_ACCEPTCONN,
  SO_BROADCAST,
  SO_DEBUG,
  SO_DONTROUTE,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_OOBINLINE,
  SO_PASSCRED,
  SO_PASSSEC,
  SO_PEEK_OFF,
  SO_PEERCRED,
  SO_PRIORITY,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVLOWAT,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SO_SNDLOWAT,
  SOCK_DGRAM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SocketFile,
  SOL_SOCKET,
  SOMAXCONN,
  type Ucred,
} from "../socket.ts";
import {
  encodeUnixAddr,
  parseUnixAddr,
  pathOps,
  type UnixName,
  type UnixNamespace,
  unixNamespace,
} from "./names.ts";

/** net.unix.max_dgram_qlen. */
const MAX_DGRAM_QLEN = 10;
const RCV_SHUTDOWN = 1;
const SEND_SHUTDOWN = 2;
const SHUTDOWN_MASK = 3;
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_SETUID = 7;
const CAP_SETGID = 6;

// SOL_SOCKET options that are only remembered here (numbers from asm-generic/socket.h).
const SO_NO_CHECK = 11;
const SO_BSDCOMPAT = 14;
const SO_BINDTODEVICE = 25;
const SO_PEERNAME = 28;
const SO_TIMESTAMP = 29;
const SO_TIMESTAMPNS = 35;
const SO_MARK = 36;
const SO_RXQ_OVFL = 40;
const SO_WIFI_STATUS = 41;
const SO_LOCK_FILTER = 44;
const SO_SELECT_ERR_QUEUE = 45;
const SO_BUSY_POLL = 46;
const SO_INCOMING_CPU = 49;
const SO_COOKIE = 57;

const IN_EVENTS = L.POLLIN | L.POLLRDNORM;
const OUT_EVENTS = L.POLLOUT | L.POLLWRNORM | L.POLLWRBAND;
const ALL_EVENTS = IN_EVENTS | OUT_EVENTS | L.POLLHUP | L.POLLERR | POLLRDHUP;

/** What a queued message costs its sender (payload plus overhead, as skb truesize). */
function truesize(len: number): number {
  let slab = 512;
  while (slab < len + 320 && slab < 8192) slab *= 2;
  return (len + 320 <= slab ? slab : len + 320) + 256;
}

interface Message {
  data: Uint8Array;
  /** Bytes already read (streams). */
  off: number;
  sender: UnixSocket | null;
  cost: number;
  /** The sender's address when it sent (null: unnamed). */
  from: Uint8Array | null;
  rights: FileDescription[] | null;
  creds: Ucred;
}

const enum State {
  Unconnected,
  Listening,
  Connected,
}

let nextUnixId = 1;

export class UnixSocket extends SocketFile {
  readonly family = AF_UNIX;
  readonly protocol = 0;
  readonly id = nextUnixId++;
  state = State.Unconnected;
  /** Bound name, and where it is registered. */
  name: UnixName | null = null;
  private boundInode: Inode | null = null;
  /** Connected peer (stream, seqpacket), or default destination (datagram). */
  peer: UnixSocket | null = null;
  private readonly queue: Message[] = [];
  /** Connections waiting for accept (listening sockets). */
  private readonly backlog: UnixSocket[] = [];
  private maxBacklog = 0;
  /** Accepted sockets not accepted yet ("embryos": closing them resets the client). */
  private embryo = false;
  shut = 0;
  /** Pending SO_ERROR. */
  err = 0;
  passCred = false;
  /** SO_PEERCRED: the peer's credentials when the connection was made. */
  peerCred: Ucred | null = null;
  /** Credentials of the listener, handed to connecting clients. */
  private listenCred: Ucred | null = null;
  /** Cost of this socket's messages still queued at receivers. */
  inflight = 0;
  sndbuf = DEFAULT_SNDBUF;
  rcvbuf = DEFAULT_RCVBUF;
  peekOff = -1;
  /** Other options that only need to be remembered. */
  private readonly plainOptions = new Map<number, number>();
  private lingerOnOff = 0;
  private lingerSecs = 0;
  /** Sockets refused for want of room in this socket's receive queue or backlog. */
  private readonly waitingForRoom = new Set<UnixSocket>();
  private closed = false;

  constructor(readonly kernel: Kernel, readonly type: number, flags: number, owner: Ucred) {
    super(L.O_RDWR | (flags & L.O_NONBLOCK), owner, kernel.realtimeNs());
  }

  private get ns() {
    return unixNamespace(this.kernel);
  }

  private currentCreds(t: Task | null): Ucred {
    return t ? credsOf(t) : this.owner;
  }

  // ---- names ----------------------------------------------------------------------------

  override bind(t: Task, addr: Uint8Array): number {
    const name = parseUnixAddr(addr);
    if (typeof name === "number") return name;
    if (this.name) return -E.EINVAL;
    return this.bindName(t, name);
  }

  private bindName(t: Task, name: UnixName): number {
    const ns = this.ns;
    switch (name.kind) {
      case "autobind": {
        const key = ns.autobindKey();
        if (key === null) return -E.ENOSPC;
        ns.abstract.set(key, this);
        this.name = { kind: "abstract", key };
        return 0;
      }
      case "abstract": {
        const holder = ns.abstract.get(name.key) as UnixSocket | undefined;
        if (holder && !holder.closed) return -E.EADDRINUSE;
        ns.abstract.set(name.key, this);
        this.name = name;
        return 0;
      }
      case "path": {
        const ops = pathOps.ops;
        if (!ops) return -E.EOPNOTSUPP;
        const inode = ops.mknodSocket(t, name.path);
        if (typeof inode === "number") return inode === -E.EEXIST ? -E.EADDRINUSE : inode;
        inode.boundSocket = this;
        this.boundInode = inode;
        this.name = name;
        return 0;
      }
    }
  }

  /** SO_PASSCRED sockets get a name before they talk (Linux autobinds them). */
  private autobindForCreds(t: Task | null): number {
    if (!this.passCred || this.name || !t) return 0;
    return this.bindName(t, { kind: "autobind" });
  }

  /** The socket an address names, of this socket's type. */
  private lookup(t: Task, addr: Uint8Array): UnixSocket | number {
    const name = parseUnixAddr(addr);
    if (typeof name === "number") return name;
    let other: UnixSocket | undefined;
    if (name.kind === "autobind") return -E.EINVAL;
    if (name.kind === "abstract") {
      other = this.ns.abstract.get(name.key) as UnixSocket | undefined;
    } else {
      const ops = pathOps.ops;
      if (!ops) return -E.ECONNREFUSED;
      const inode = ops.lookupSocket(t, name.path);
      if (typeof inode === "number") return inode;
      if ((inode.mode & L.S_IFMT) !== L.S_IFSOCK) return -E.ECONNREFUSED;
      other = (inode.boundSocket as UnixSocket | null) ?? undefined;
    }
    if (!other || other.closed) return -E.ECONNREFUSED;
    // An abstract name is looked up among sockets of the caller's type only.
    if (other.type !== this.type) return name.kind === "abstract" ? -E.ECONNREFUSED : -E.EPROTOTYPE;
    return other;
  }

  override getsockname(): Uint8Array {
    return encodeUnixAddr(this.name);
  }

  override getpeername(): Uint8Array | number {
    if (this.type === SOCK_DGRAM) {
      if (!this.peer) return -E.ENOTCONN;
    } else if (this.state !== State.Connected || !this.peer) return -E.ENOTCONN;
    return encodeUnixAddr(this.peer.name);
  }

  override acceptedPeerName(): Uint8Array {
    return encodeUnixAddr(this.peer?.name ?? null);
  }

  // ---- connections ------------------------------------------------------------------------

  override listen(t: Task, backlog: number): number {
    if (this.type === SOCK_DGRAM) return -E.EOPNOTSUPP;
    if (!this.name || this.state === State.Connected) return -E.EINVAL;
    this.maxBacklog = backlog < 0 || backlog > SOMAXCONN ? SOMAXCONN : backlog;
    if (this.state !== State.Listening) this.listenCred = credsOf(t);
    this.state = State.Listening;
    this.roomMade();
    return 0;
  }

  override connect(t: Task, addr: Uint8Array): number {
    if (addr.length >= 2 && (addr[0] | (addr[1] << 8)) === 0 && this.type === SOCK_DGRAM) {
      // AF_UNSPEC dissolves a datagram socket's association.
      this.peer = null;
      return 0;
    }
    if (this.type === SOCK_DGRAM) {
      const other = this.lookup(t, addr);
      if (typeof other === "number") return other;
      const rc = this.autobindForCreds(t);
      if (rc < 0) return rc;
      this.peer = other;
      return 0;
    }
    if (this.state === State.Connected) return -E.EISCONN;
    if (this.state === State.Listening) return -E.EINVAL;
    const parsed = parseUnixAddr(addr);
    if (typeof parsed === "number") return parsed;
    if (parsed.kind === "autobind") return -E.EINVAL;
    const other = this.lookup(t, addr);
    if (typeof other === "number") return other;
    if (other.state !== State.Listening) return -E.ECONNREFUSED;
    if (other.backlog.length > other.maxBacklog) {
      other.waitingForRoom.add(this);
      return -E.EAGAIN;
    }
    const rc = this.autobindForCreds(t);
    if (rc < 0) return rc;
    // The server side of the connection, waiting in the listener's backlog.
    const server = new UnixSocket(this.kernel, this.type, 0, other.owner);
    server.state = State.Connected;
    server.embryo = true;
    server.name = other.name;
    server.passCred = other.passCred;
    server.peer = this;
    server.peerCred = credsOf(t);
    this.peer = server;
    this.peerCred = other.listenCred;
    this.state = State.Connected;
    other.backlog.push(server);
    other.waitQueue.notify(IN_EVENTS);
    this.waitQueue.notify(OUT_EVENTS);
    return 0;
  }

  override accept(_t: Task, flags: number): SocketFile | number {
    if (this.type === SOCK_DGRAM) return -E.EOPNOTSUPP;
    if (this.state !== State.Listening) return -E.EINVAL;
    const s = this.backlog.shift();
    if (!s) return -E.EAGAIN;
    s.embryo = false;
    s.flags = L.O_RDWR | (flags & L.O_NONBLOCK);
    this.roomMade();
    return s;
  }

  /** socketpair: connects two fresh sockets to each other. */
  static pair(t: Task, type: number, flags: number): [UnixSocket, UnixSocket] {
    const c = credsOf(t);
    const a = new UnixSocket(t.kernel, type, flags, c);
    const b = new UnixSocket(t.kernel, type, flags, c);
    a.peer = b;
    b.peer = a;
    a.peerCred = c;
    b.peerCred = c;
    if (type !== SOCK_DGRAM) a.state = b.state = State.Connected;
    return [a, b];
  }

  override shutdown(_t: Task, how: number): number {
    if (how < SHUT_RD || how > SHUT_RDWR) return -E.EINVAL;
    const mode = (how + 1) & SHUTDOWN_MASK;
    this.shut |= mode;
    this.waitQueue.notify(ALL_EVENTS);
    const other = this.peer;
    if (other && this.type !== SOCK_DGRAM && this.state === State.Connected) {
      let peerMode = 0;
      if (mode & RCV_SHUTDOWN) peerMode |= SEND_SHUTDOWN;
      if (mode & SEND_SHUTDOWN) peerMode |= RCV_SHUTDOWN;
      other.shut |= peerMode;
      other.waitQueue.notify(ALL_EVENTS);
    }
    return 0;
  }

  // ---- sending ----------------------------------------------------------------------------

  override sendmsg(t: Task | null, a: SendArgs): number {
    if (a.flags & MSG_OOB) return -E.EOPNOTSUPP;
    t ??= this.currentTask();
    if (this.type === SOCK_STREAM) return this.sendStream(t, a);
    return this.sendDatagram(t, a);
  }

  private sendStream(t: Task | null, a: SendArgs): number {
    if (a.addr && a.addr.length > 0) {
      return this.state === State.Connected ? -E.EISCONN : -E.EOPNOTSUPP;
    }
    if (this.state !== State.Connected || !this.peer) return -E.ENOTCONN;
    const other = this.peer;
    if ((this.shut & SEND_SHUTDOWN) || other.closed || (other.shut & RCV_SHUTDOWN)) return -E.EPIPE;
    const left = a.io.total - a.at;
    if (left <= 0) return 0;
    if (this.inflight >= this.sndbuf) return -E.EAGAIN;
    const n = Math.min(left, Math.max(this.sndbuf - this.inflight, 1), (this.sndbuf >> 1) - 64);
    const data = copyFromIo(a.io, a.at, n);
    if (typeof data === "number") return data;
    this.deliver(other, data, a, t);
    return data.length;
  }

  private sendDatagram(t: Task | null, a: SendArgs): number {
    const len = a.io.total;
    if (len > this.sndbuf - 32) return -E.EMSGSIZE;
    let other: UnixSocket | null;
    if (this.type === SOCK_SEQPACKET) {
      // A seqpacket socket ignores any address it is given.
      if (this.state !== State.Connected || !this.peer) return -E.ENOTCONN;
      other = this.peer;
      if ((this.shut & SEND_SHUTDOWN) || other.closed || (other.shut & RCV_SHUTDOWN)) {
        return -E.EPIPE;
      }
    } else {
      if (this.shut & SEND_SHUTDOWN) return -E.EPIPE;
      if (a.addr && a.addr.length > 0) {
        if (!t) return -E.EINVAL;
        const found = this.lookup(t, a.addr);
        if (typeof found === "number") return found;
        other = found;
      } else {
        other = this.peer;
        if (!other) return -E.ENOTCONN;
        if (other.closed) return -E.ECONNREFUSED;
      }
      if (other.peer && other.peer !== this && !other.peer.closed) return -E.EPERM;
      if (other.shut & RCV_SHUTDOWN) return -E.EPIPE;
      if (other.peer !== this && other.queue.length > MAX_DGRAM_QLEN) {
        other.waitingForRoom.add(this);
        return -E.EAGAIN;
      }
      const rc = this.autobindForCreds(t);
      if (rc < 0) return rc;
    }
    if (this.inflight >= this.sndbuf) return -E.EAGAIN;
    const data = copyFromIo(a.io, 0, len);
    if (typeof data === "number") return data;
    this.deliver(other, data, a, t);
    return len;
  }

  /** Queues data at other. The message takes a.rights (once). */
  private deliver(other: UnixSocket, data: Uint8Array, a: SendArgs, t: Task | null): void {
    const cost = truesize(data.length);
    const creds = a.creds ??
      {
        pid: t ? t.tg.tgid : this.owner.pid,
        uid: t ? t.creds.ruid : this.owner.uid,
        gid: t ? t.creds.rgid : this.owner.gid,
      };
    other.queue.push({
      data,
      off: 0,
      sender: this,
      cost,
      from: this.name ? encodeUnixAddr(this.name) : null,
      rights: a.rights,
      creds,
    });
    if (a.rights) this.inFlight(a.rights, 1);
    a.rights = null;
    this.inflight += cost;
    other.waitQueue.notify(IN_EVENTS);
  }

  /** A message left the queue: its sender may send again. */
  private consumed(m: Message): void {
    const s = m.sender;
    if (!s) return;
    const wasFull = !s.hasRoomToSend();
    s.inflight -= m.cost;
    if (wasFull || s.inflight * 4 <= s.sndbuf) s.waitQueue.notify(OUT_EVENTS);
    this.roomMade();
  }

  /** Tells senders and connectors that were refused for want of room to try again. */
  private roomMade(): void {
    if (this.waitingForRoom.size === 0) return;
    const who = [...this.waitingForRoom];
    this.waitingForRoom.clear();
    for (const s of who) s.waitQueue.notify(OUT_EVENTS);
  }

  /** The task whose syscall is running (for credentials of read/write). */
  protected override currentTask(): Task | null {
    return (this.kernel as { current?: Task | null }).current ?? null;
  }

  private hasRoomToSend(): boolean {
    return this.state !== State.Listening && this.inflight * 4 <= this.sndbuf;
  }

  // ---- receiving --------------------------------------------------------------------------

  override recvmsg(_t: Task | null, io: UserIO, at: number, flags: number): RecvResult | number {
    if (flags & MSG_OOB) return -E.EOPNOTSUPP;
    if (this.type === SOCK_STREAM) return this.recvStream(io, at, flags);
    return this.recvDatagram(io, at, flags);
  }

  private emptyResult(): number {
    if (this.err) {
      const e = this.err;
      this.err = 0;
      return -e;
    }
    if (this.shut & RCV_SHUTDOWN) return 0;
    return -E.EAGAIN;
  }

  private recvStream(io: UserIO, at: number, flags: number): RecvResult | number {
    if (this.state !== State.Connected) return -E.EINVAL;
    if (this.queue.length === 0) {
      const r = this.emptyResult();
      return r === 0 ? emptyRecv() : r;
    }
    const peek = (flags & MSG_PEEK) !== 0;
    const want = io.total - at;
    let copied = 0;
    let skip = peek && this.peekOff >= 0 ? this.peekOff : 0;
    const first = this.queue[0];
    const result: RecvResult = {
      n: 0,
      length: 0,
      addr: first.from,
      rights: null,
      creds: this.passCred ? first.creds : null,
      flags: 0,
    };
    let i = 0;
    while (i < this.queue.length && copied < want) {
      const m = this.queue[i];
      if (this.passCred && !sameCreds(m.creds, first.creds)) break;
      let avail = m.data.length - m.off;
      if (skip >= avail) {
        skip -= avail;
        i++;
        continue;
      }
      const start = m.off + skip;
      avail -= skip;
      skip = 0;
      const n = Math.min(avail, want - copied);
      const rc = io.copyOut(m.data.subarray(start, start + n), at + copied);
      if (rc < 0) {
        if (copied === 0) return rc;
        break;
      }
      copied += rc;
      let tookRights = false;
      if (m.rights) {
        if (peek) result.rights = dupRights(m.rights);
        else {
          result.rights = m.rights;
          this.inFlight(m.rights, -1);
          m.rights = null;
        }
        tookRights = true;
      }
      if (!peek) {
        m.off += rc;
        if (m.off >= m.data.length) {
          this.queue.shift();
          this.consumed(m);
        } else i = this.queue.length; // a partly read message ends the read
      } else {
        i++;
      }
      if (tookRights || rc < n) break;
    }
    if (peek && this.peekOff >= 0) this.peekOff += copied;
    result.n = copied;
    result.length = copied;
    return result;
  }

  private recvDatagram(io: UserIO, at: number, flags: number): RecvResult | number {
    if (this.type === SOCK_SEQPACKET && this.state !== State.Connected) return -E.ENOTCONN;
    const m = this.queue[0];
    if (!m) {
      const r = this.emptyResult();
      return r === 0 ? emptyRecv() : r;
    }
    const peek = (flags & MSG_PEEK) !== 0;
    const n = Math.min(m.data.length, io.total - at);
    const rc = io.copyOut(m.data.subarray(0, n), at);
    if (rc < 0 && n > 0) return rc;
    const result: RecvResult = {
      n,
      length: m.data.length,
      addr: m.from,
      rights: null,
      creds: this.passCred ? m.creds : null,
      flags: n < m.data.length ? MSG_TRUNC : 0,
    };
    if (peek) {
      if (m.rights) result.rights = dupRights(m.rights);
    } else {
      result.rights = m.rights;
      if (m.rights) this.inFlight(m.rights, -1);
      m.rights = null;
      this.queue.shift();
      this.consumed(m);
    }
    return result;
  }

  /** FIONREAD / SIOCINQ: bytes in the next message (datagrams) or all queued (streams). */
  private readableBytes(): number {
    if (this.type !== SOCK_STREAM) return this.queue.length ? this.queue[0].data.length : 0;
    let n = 0;
    for (const m of this.queue) n += m.data.length - m.off;
    return n;
  }

  /** SIOCOUTQ: bytes sent and not read yet. */
  private unreadSent(): number {
    return this.inflight;
  }

  override ioctl(
    ctx: { mm: { writeU32(a: number, v: number): number } },
    cmd: number,
    arg: number,
  ): number {
    switch (cmd) {
      case L.FIONREAD: // SIOCINQ
        if (this.state === State.Listening) return -E.EINVAL;
        return ctx.mm.writeU32(arg, this.readableBytes());
      case L.TIOCOUTQ: // SIOCOUTQ
        if (this.state === State.Listening) return -E.EINVAL;
        return ctx.mm.writeU32(arg, this.unreadSent());
    }
    return super.ioctl(ctx as unknown as IoctlContext, cmd, arg);
  }

  // ---- readiness --------------------------------------------------------------------------

  override readiness(mask: number): number {
    let r = 0;
    if (this.err) r |= L.POLLERR;
    if (this.shut === SHUTDOWN_MASK) r |= L.POLLHUP;
    if (this.shut & RCV_SHUTDOWN) r |= POLLRDHUP | IN_EVENTS;
    if (this.state === State.Listening) {
      if (this.backlog.length) r |= IN_EVENTS;
      return r & (mask | L.POLLERR | L.POLLHUP);
    }
    if (this.queue.length) r |= IN_EVENTS;
    if (this.type !== SOCK_DGRAM && this.state !== State.Connected) r |= L.POLLHUP;
    let writable = this.hasRoomToSend();
    if (writable && this.type !== SOCK_STREAM) {
      const other = this.peer;
      if (other && !other.closed && other.peer !== this && other.queue.length > MAX_DGRAM_QLEN) {
        writable = false;
      }
    }
    if (writable) r |= OUT_EVENTS;
    return r & (mask | L.POLLERR | L.POLLHUP);
  }

  override sendWaitMask(): number {
    return OUT_EVENTS | L.POLLERR | L.POLLHUP;
  }

  override get streamLike(): boolean {
    return this.type === SOCK_STREAM;
  }

  // ---- options --------------------------------------------------------------------------

  override getsockopt(_t: Task, level: number, name: number): Uint8Array | number {
    if (level !== SOL_SOCKET) return -E.EOPNOTSUPP;
    switch (name) {
      case SO_ERROR: {
        const e = this.err;
        this.err = 0;
        return int32(e);
      }
      case SO_SNDBUF:
        return int32(this.sndbuf);
      case SO_RCVBUF:
        return int32(this.rcvbuf);
      case SO_PASSCRED:
        return int32(this.passCred ? 1 : 0);
      case SO_PEERCRED: {
        if (!this.peerCred) return encodeUcred({ pid: 0, uid: 0xffffffff, gid: 0xffffffff });
        return encodeUcred(this.peerCred);
      }
      case SO_ACCEPTCONN:
        return int32(this.state === State.Listening ? 1 : 0);
      case SO_PEEK_OFF:
        return int32(this.peekOff);
      case SO_LINGER: {
        const b = new Uint8Array(8);
        const dv = new DataView(b.buffer);
        dv.setInt32(0, this.lingerOnOff, true);
        dv.setInt32(4, this.lingerSecs, true);
        return b;
      }
      case SO_RCVLOWAT:
      case SO_SNDLOWAT:
        return int32(this.plainOptions.get(name) ?? 1);
      case SO_REUSEADDR:
      case SO_REUSEPORT:
      case SO_KEEPALIVE:
      case SO_BROADCAST:
      case SO_DEBUG:
      case SO_DONTROUTE:
      case SO_OOBINLINE:
      case SO_PRIORITY:
      case SO_PASSSEC:
      case SO_BSDCOMPAT:
      case SO_NO_CHECK:
      case SO_TIMESTAMP:
      case SO_TIMESTAMPNS:
      case SO_MARK:
      case SO_BUSY_POLL:
      case SO_RXQ_OVFL:
      case SO_WIFI_STATUS:
      case SO_SELECT_ERR_QUEUE:
      case SO_LOCK_FILTER:
        return int32(this.plainOptions.get(name) ?? 0);
      case SO_INCOMING_CPU:
        return int32(-1);
      case SO_BINDTODEVICE:
        return new Uint8Array(0);
      case SO_COOKIE: {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(0, this.id, true);
        return b;
      }
      case SO_PEERNAME: {
        const p = this.getpeername();
        return typeof p === "number" ? -E.ENOTCONN : p;
      }
    }
    return -E.ENOPROTOOPT;
  }

  override setsockopt(t: Task, level: number, name: number, value: Uint8Array): number {
    if (level !== SOL_SOCKET) return -E.EOPNOTSUPP;
    if (value.length < 4) return -E.EINVAL;
    const v = new DataView(value.buffer, value.byteOffset).getInt32(0, true);
    switch (name) {
      case SO_SNDBUF:
      case SO_SNDBUFFORCE: {
        if (name === SO_SNDBUFFORCE && !t.creds.hasCap(CAP_NET_ADMIN)) return -E.EPERM;
        const cap = name === SO_SNDBUFFORCE ? 0x7fffffff : MAX_SNDBUF;
        this.sndbuf = Math.max(MIN_SNDBUF, Math.min(Math.max(v, 0), cap) * 2);
        this.waitQueue.notify(OUT_EVENTS);
        return 0;
      }
      case SO_RCVBUF:
      case SO_RCVBUFFORCE: {
        if (name === SO_RCVBUFFORCE && !t.creds.hasCap(CAP_NET_ADMIN)) return -E.EPERM;
        const cap = name === SO_RCVBUFFORCE ? 0x7fffffff : MAX_RCVBUF;
        this.rcvbuf = Math.max(MIN_RCVBUF, Math.min(Math.max(v, 0), cap) * 2);
        return 0;
      }
      case SO_PASSCRED:
        this.passCred = v !== 0;
        return 0;
      case SO_PEEK_OFF:
        this.peekOff = v;
        return 0;
      case SO_LINGER: {
        if (value.length < 8) return -E.EINVAL;
        this.lingerOnOff = v;
        this.lingerSecs = new DataView(value.buffer, value.byteOffset).getInt32(4, true);
        return 0;
      }
      case SO_RCVLOWAT:
        this.plainOptions.set(name, Math.max(v, 1));
        return 0;
      case SO_SNDLOWAT:
        return -E.ENOPROTOOPT;
      case SO_REUSEADDR:
      case SO_REUSEPORT:
      case SO_KEEPALIVE:
      case SO_BROADCAST:
      case SO_DEBUG:
      case SO_DONTROUTE:
      case SO_OOBINLINE:
      case SO_PASSSEC:
      case SO_NO_CHECK:
      case SO_TIMESTAMP:
      case SO_TIMESTAMPNS:
      case SO_RXQ_OVFL:
      case SO_WIFI_STATUS:
      case SO_SELECT_ERR_QUEUE:
        this.plainOptions.set(name, v ? 1 : 0);
        return 0;
      case SO_BSDCOMPAT:
        return 0;
      case SO_BUSY_POLL:
        if (v < 0) return -E.EINVAL;
        this.plainOptions.set(name, v);
        return 0;
      case SO_MARK:
        if (!t.creds.hasCap(CAP_NET_ADMIN)) return -E.EPERM;
        this.plainOptions.set(name, v);
        return 0;
      case SO_PRIORITY:
        if ((v < 0 || v > 6) && !t.creds.hasCap(CAP_NET_ADMIN)) return -E.EPERM;
        this.plainOptions.set(name, v);
        return 0;
    }
    return -E.ENOPROTOOPT;
  }

  // ---- closing ----------------------------------------------------------------------------

  protected override release(): void {
    this.closed = true;
    const ns = this.ns;
    if (this.name?.kind === "abstract" && ns.abstract.get(this.name.key) === this) {
      ns.abstract.delete(this.name.key);
    }
    if (this.boundInode && this.boundInode.boundSocket === this) this.boundInode.boundSocket = null;
    // Connections nobody accepted are reset.
    for (const s of this.backlog.splice(0)) s.decRef();
    const other = this.peer;
    if (other && this.type !== SOCK_DGRAM) {
      other.shut = SHUTDOWN_MASK;
      if (this.queue.length || this.embryo) other.err = E.ECONNRESET;
      other.waitQueue.notify(ALL_EVENTS);
    }
    this.peer = null;
    const dropped: FileDescription[] = [];
    for (const m of this.queue.splice(0)) {
      if (m.rights) {
        this.inFlight(m.rights, -1);
        dropped.push(...m.rights);
      }
      m.rights = null;
      this.consumed(m);
    }
    this.roomMade();
    for (const f of dropped) f.decRef();
    // Closing a socket may leave others reachable only from messages in flight.
    if (ns.inflight.size) UnixSocket.collect(ns);
  }

  // ---- garbage of passed sockets ------------------------------------------------------

  /** Counts sockets of rights entering (+1) or leaving (-1) a receive queue. */
  private inFlight(rights: FileDescription[], delta: number): void {
    const ns = this.ns;
    for (const f of rights) {
      if (!(f instanceof UnixSocket)) continue;
      const n = (ns.inflight.get(f) ?? 0) + delta;
      if (n > 0) ns.inflight.set(f, n);
      else ns.inflight.delete(f);
    }
  }

  /** The queues a socket's references reach: its own and its pending connections'. */
  private *queues(): Generator<Message[]> {
    yield this.queue;
    for (const s of this.backlog) yield s.queue;
  }

  /** Frees sockets that only messages in flight still reference, in cycles nobody can
   * reach any more (a socket sent over itself and closed, two sockets sent to each
   * other...): Linux's unix_gc, run when a unix socket closes. */
  static collect(ns: UnixNamespace): void {
    const candidates: UnixSocket[] = [];
    for (const [s, n] of ns.inflight) {
      if (!s.isReleased && s.refCount === n) candidates.push(s as UnixSocket);
    }
    if (candidates.length === 0) return;
    const set = new Set(candidates);
    // References from outside the candidates' own queues keep a candidate alive.
    const outside = new Map<UnixSocket, number>();
    for (const c of candidates) outside.set(c, c.refCount);
    for (const c of candidates) {
      for (const q of c.queues()) {
        for (const m of q) {
          for (const f of m.rights ?? []) {
            if (set.has(f as UnixSocket)) {
              outside.set(f as UnixSocket, outside.get(f as UnixSocket)! - 1);
            }
          }
        }
      }
    }
    const alive = new Set<UnixSocket>();
    const stack = candidates.filter((c) => outside.get(c)! > 0);
    for (const c of stack) alive.add(c);
    while (stack.length) {
      const c = stack.pop()!;
      for (const q of c.queues()) {
        for (const m of q) {
          for (const f of m.rights ?? []) {
            const u = f as UnixSocket;
            if (set.has(u) && !alive.has(u)) {
              alive.add(u);
              stack.push(u);
            }
          }
        }
      }
    }
    const freed: FileDescription[] = [];
    for (const c of candidates) {
      if (alive.has(c)) continue;
      for (const q of c.queues()) {
        for (const m of q) {
          if (!m.rights) continue;
          c.inFlight(m.rights, -1);
          freed.push(...m.rights);
          m.rights = null;
        }
      }
    }
    for (const f of freed) f.decRef();
  }
}

function emptyRecv(): RecvResult {
  return { n: 0, length: 0, addr: null, rights: null, creds: null, flags: 0 };
}

function sameCreds(a: Ucred, b: Ucred): boolean {
  return a.pid === b.pid && a.uid === b.uid && a.gid === b.gid;
}

function dupRights(rights: FileDescription[]): FileDescription[] {
  for (const f of rights) f.incRef();
  return rights.slice();
}

/** Copies n bytes of io from byte `at` into a new buffer, or -EFAULT. */
function copyFromIo(io: UserIO, at: number, n: number): Uint8Array | number {
  if (n === 0) return new Uint8Array(0);
  const b = io.copyIn(n, at);
  if (typeof b === "number") return b;
  return b;
}

/** Checks SCM_CREDENTIALS a sender supplied (Linux's scm_check_creds). */
export function checkCreds(t: Task, c: Ucred): number {
  const cr = t.creds;
  if (c.pid !== t.tg.tgid) {
    if (!t.creds.hasCap(CAP_SYS_ADMIN)) return -E.EPERM;
    if (!t.kernel.groups.has(c.pid)) return -E.ESRCH;
  }
  if (c.uid !== cr.ruid && c.uid !== cr.euid && c.uid !== cr.suid && !cr.hasCap(CAP_SETUID)) {
    return -E.EPERM;
  }
  if (c.gid !== cr.rgid && c.gid !== cr.egid && c.gid !== cr.sgid && !cr.hasCap(CAP_SETGID)) {
    return -E.EPERM;
  }
  return 0;
}

registerFamily(AF_UNIX, {
  create(t, type, protocol, flags) {
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM && type !== SOCK_SEQPACKET) {
      return -E.ESOCKTNOSUPPORT;
    }
    if (protocol !== 0 && protocol !== AF_UNIX) return -E.EPROTONOSUPPORT;
    return new UnixSocket(t.kernel, type, flags, credsOf(t));
  },
  pair(t, type, protocol, flags) {
    if (type !== SOCK_STREAM && type !== SOCK_DGRAM && type !== SOCK_SEQPACKET) {
      return -E.ESOCKTNOSUPPORT;
    }
    if (protocol !== 0 && protocol !== AF_UNIX) return -E.EPROTONOSUPPORT;
    return UnixSocket.pair(t, type, flags);
  },
});

export { MSG_CMSG_CLOEXEC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_WAITALL, SHUT_WR };
