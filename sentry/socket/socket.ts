// The socket layer: what every socket file offers the socket syscalls (sys_socket.ts), and
// the family registry that socket(2) and socketpair(2) consult. A family is a provider
// module that registers itself (unix/ does; netstack's inet sockets will, as a new
// provider file); a family nobody registered gets EAFNOSUPPORT, as from a kernel built
// without it.
//
// Socket operations never block: they return -EAGAIN (or -EINPROGRESS for a connect) and
// the syscall layer parks the task on the socket's wait queue, honouring O_NONBLOCK,
// MSG_DONTWAIT, SO_RCVTIMEO and SO_SNDTIMEO, and retries.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { BLOCK, type Task } from "../kernel/task.ts";
import { FileDescription, type IoctlContext } from "../vfs/file.ts";
import type { Stat } from "../vfs/inode.ts";
import type { UserIO } from "../vfs/userio.ts";

// ---- constants (socket.h, in.h) --------------------------------------------------------

export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
export const SOCK_TYPE_MASK = 0xf;
export const SOCK_NONBLOCK = L.O_NONBLOCK;
export const SOCK_CLOEXEC = L.O_CLOEXEC;

export const SOL_SOCKET = 1;
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
export const SO_NO_CHECK = 11;
export const SO_PRIORITY = 12;
export const SO_LINGER = 13;
export const SO_BSDCOMPAT = 14;
export const SO_REUSEPORT = 15;
export const SO_PASSCRED = 16;
export const SO_PEERCRED = 17;
export const SO_RCVLOWAT = 18;
export const SO_SNDLOWAT = 19;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_ACCEPTCONN = 30;
export const SO_PEERSEC = 31;
export const SO_SNDBUFFORCE = 32;
export const SO_PASSSEC = 34;
export const SO_RCVBUFFORCE = 33;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;
export const SO_PEEK_OFF = 42;
export const SO_BUSY_POLL = 46;
export const SO_INCOMING_CPU = 49;
export const SO_COOKIE = 57;
export const SO_PEERGROUPS = 59;
export const SO_PASSPIDFD = 76;

export const SCM_RIGHTS = 1;
export const SCM_CREDENTIALS = 2;
/** Most descriptors one SCM_RIGHTS message may carry. */
export const SCM_MAX_FD = 253;

export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;
export const MSG_WAITFORONE = 0x10000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** net.core.wmem_default / rmem_default / wmem_max / rmem_max. */
export const DEFAULT_SNDBUF = 212992;
export const DEFAULT_RCVBUF = 212992;
export const MAX_SNDBUF = 212992;
export const MAX_RCVBUF = 212992;
export const MIN_SNDBUF = 4608;
export const MIN_RCVBUF = 2304;
/** net.core.somaxconn. */
export const SOMAXCONN = 4096;

export const POLLRDHUP = 0x2000;

// ---- messages ------------------------------------------------------------------------

/** Who sent a message or holds the other end (SCM_CREDENTIALS, SO_PEERCRED). */
export interface Ucred {
  pid: number;
  uid: number;
  gid: number;
}

/** An outgoing message (sendmsg and friends). */
export interface SendArgs {
  io: UserIO;
  /** Bytes of io already sent by earlier rounds of a blocking send (streams). */
  at: number;
  /** Destination address (sendto), or null. */
  addr: Uint8Array | null;
  /** SCM_RIGHTS: descriptions with a reference taken for the message. */
  rights: FileDescription[] | null;
  /** SCM_CREDENTIALS given by the sender, checked; null: the sender's own. */
  creds: Ucred | null;
  flags: number;
}

/** What recvmsg got. */
export interface RecvResult {
  /** Bytes copied into the buffer. */
  n: number;
  /** Length of the message (for datagrams; MSG_TRUNC asks recvmsg to return it). */
  length: number;
  /** Sender's address (null: none to report). */
  addr: Uint8Array | null;
  /** SCM_RIGHTS received (references owned by the receiver now), or null. */
  rights: FileDescription[] | null;
  /** SCM_CREDENTIALS to report (SO_PASSCRED), or null. */
  creds: Ucred | null;
  /** MSG_TRUNC, MSG_EOR... for msg_flags. */
  flags: number;
  /** Other control messages for recvmsg (IP_PKTINFO, IP_TTL, SO_TIMESTAMP...), in order. */
  control?: Array<{ level: number; type: number; data: Uint8Array }>;
}

let nextSocketIno = 1000;

/** A socket: a file description with the socket operations. Every operation returns a
 * value or -errno; -EAGAIN means "would block" (the syscall layer waits). */
export abstract class SocketFile extends FileDescription {
  abstract readonly family: number;
  abstract readonly type: number;
  abstract readonly protocol: number;
  readonly ino = nextSocketIno++;
  /** SO_RCVTIMEO / SO_SNDTIMEO in ns (0: none). */
  rcvTimeoNs = 0;
  sndTimeoNs = 0;
  readonly owner: Ucred;
  readonly createdNs: number;

  constructor(flags: number, owner: Ucred, nowNs: number) {
    super(flags, null, null);
    this.owner = owner;
    this.createdNs = nowNs;
  }

  bind(_t: Task, _addr: Uint8Array): number {
    return -E.EOPNOTSUPP;
  }
  listen(_t: Task, _backlog: number): number {
    return -E.EOPNOTSUPP;
  }
  /** A connection to accept (the new socket, whose address the caller may want). */
  accept(_t: Task, _flags: number): SocketFile | number {
    return -E.EOPNOTSUPP;
  }
  /** The peer's address of an accepted socket (accept's addr argument). */
  acceptedPeerName(): Uint8Array {
    const r = this.getpeername();
    return typeof r === "number" ? new Uint8Array(0) : r;
  }
  connect(_t: Task, _addr: Uint8Array): number {
    return -E.EOPNOTSUPP;
  }
  /** Bytes sent (from args.at on), or -errno. */
  abstract sendmsg(t: Task | null, args: SendArgs): number;
  /** Receives into io from byte `at` on. t is null for read(2) (the family may find the
   * caller another way). */
  abstract recvmsg(t: Task | null, io: UserIO, at: number, flags: number): RecvResult | number;
  shutdown(_t: Task, _how: number): number {
    return -E.EOPNOTSUPP;
  }
  abstract getsockname(): Uint8Array | number;
  abstract getpeername(): Uint8Array | number;
  /** getsockopt for options of this family and protocol levels (SOL_SOCKET options the
   * layer knows are handled by sockopt.ts first, calling this for the rest). */
  getsockopt(_t: Task, _level: number, _name: number): Uint8Array | number {
    return -E.ENOPROTOOPT;
  }
  setsockopt(_t: Task, _level: number, _name: number, _value: Uint8Array): number {
    return -E.ENOPROTOOPT;
  }
  /** Wait-queue mask for "a send may make progress" / "a receive may". */
  sendWaitMask(): number {
    return L.POLLOUT | L.POLLERR | L.POLLHUP;
  }
  recvWaitMask(): number {
    return L.POLLIN | L.POLLERR | L.POLLHUP | POLLRDHUP;
  }
  /** Whether a blocking send should go on until everything is sent (streams). */
  get streamLike(): boolean {
    return this.type === SOCK_STREAM;
  }

  /** The task whose syscall is running (Linux's current), if the family knows it. */
  protected currentTask(): Task | null {
    return null;
  }

  /** The caller of a read(2)/write(2)-family call on its own memory, when this socket may
   * block for it here: the call then keeps its progress in t.sysState across retries. */
  private blockingCaller(io: UserIO): Task | null {
    if (this.nonblocking) return null;
    const t = this.currentTask();
    if (!t || io.mm !== t.mm) return null;
    if (t.sysState !== undefined && !(t.sysState instanceof SocketIoProgress)) return null;
    return t;
  }

  /** Parks t for the rest of a read or write with a timeout (SO_RCVTIMEO/SO_SNDTIMEO):
   * BLOCK, or -EAGAIN when the time is up, -EINTR on a signal (as Linux's sock_intr_errno
   * with a timeout). */
  private park(t: Task, st: SocketIoProgress, mask: number, timeoutNs: number): number {
    if (Number.isNaN(st.deadline)) {
      st.deadline = timeoutNs > 0 ? t.kernel.nowNs() + timeoutNs : Infinity;
    }
    t.sysState = st;
    const r = t.block([[this.waitQueue, mask]], st.deadline);
    if (r === BLOCK) return BLOCK;
    t.sysState = undefined;
    if (r === -E.ETIMEDOUT) return -E.EAGAIN;
    if (r === -E.ERESTARTSYS) return timeoutNs > 0 ? -E.EINTR : -E.ERESTARTSYS;
    return r;
  }

  /** Ioctls no family handles: the interface ioctls (SIOCGIFINDEX...), which Linux answers
   * on any socket (dev_ioctl). */
  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    return deviceIoctl.fn ? deviceIoctl.fn(ctx, cmd, arg) : -E.ENOTTY;
  }

  // read/write/readv/writev behave as recvmsg/sendmsg without flags: with SO_RCVTIMEO a
  // blocking read times out, and a blocking write on a stream goes on until everything
  // is sent, as on Linux.
  override read(io: UserIO, _off: number): number {
    const t = this.blockingCaller(io);
    const r = this.recvmsg(t, io, 0, 0);
    if (typeof r !== "number") {
      if (t) t.sysState = undefined;
      if (r.rights) { for (const f of r.rights) f.decRef(); }
      return r.n;
    }
    if (r === -E.EAGAIN && t && this.rcvTimeoNs > 0) {
      const st = t.sysState instanceof SocketIoProgress ? t.sysState : new SocketIoProgress();
      return this.park(t, st, this.recvWaitMask(), this.rcvTimeoNs);
    }
    if (t) t.sysState = undefined;
    return r;
  }

  override write(io: UserIO, _off: number): number {
    const t = this.blockingCaller(io);
    const st = t && t.sysState instanceof SocketIoProgress ? t.sysState : new SocketIoProgress();
    const at = st.done;
    const r = this.sendmsg(t, { io, at, addr: null, rights: null, creds: null, flags: 0 });
    if (!t) return r;
    if (r < 0) {
      if (r === -E.EAGAIN && (at > 0 || this.sndTimeoNs > 0)) {
        const w = this.park(t, st, this.sendWaitMask(), this.sndTimeoNs);
        return w === BLOCK || at === 0 ? w : at;
      }
      t.sysState = undefined;
      if (at === 0) return r;
      if (r === -E.EPIPE) {
        t.kernel.signals.sendToTask(t, {
          signo: L.SIGPIPE,
          errno: 0,
          code: L.SI_USER,
          pid: t.tg.tgid,
          uid: t.creds.ruid,
        });
      }
      return at;
    }
    st.done = at + r;
    if (!this.streamLike || st.done >= io.total) {
      t.sysState = undefined;
      return st.done;
    }
    const w = this.park(t, st, this.sendWaitMask(), this.sndTimeoNs);
    return w === BLOCK ? w : st.done;
  }

  override seek(): number {
    return -E.ESPIPE;
  }

  override stat(): Stat | number {
    return {
      dev: SOCKFS_DEV,
      ino: this.ino,
      mode: L.S_IFSOCK | 0o777,
      nlink: 1,
      uid: this.owner.uid,
      gid: this.owner.gid,
      rdev: 0,
      size: 0,
      blksize: 4096,
      blocks: 0,
      atimeNs: this.createdNs,
      mtimeNs: this.createdNs,
      ctimeNs: this.createdNs,
    };
  }

  get procName(): string {
    return `socket:[${this.ino}]`;
  }
}

/** Progress of a blocking read or write on a socket (task.sysState across retries). */
class SocketIoProgress {
  done = 0;
  deadline = NaN;
}

/** Set by the network code (socket/inet/ifioctl.ts): the interface ioctls. */
export const deviceIoctl: { fn: ((ctx: IoctlContext, cmd: number, arg: number) => number) | null } =
  { fn: null };

/** st_dev of sockfs (an anonymous device number). */
export const SOCKFS_DEV = 0x8;

// ---- the family registry ---------------------------------------------------------------

export interface SocketFamily {
  /** socket(2): type without SOCK_NONBLOCK/SOCK_CLOEXEC; flags: O_NONBLOCK or 0. */
  create(t: Task, type: number, protocol: number, flags: number): SocketFile | number;
  /** socketpair(2), if the family has it (else EOPNOTSUPP). */
  pair?(t: Task, type: number, protocol: number, flags: number): [SocketFile, SocketFile] | number;
}

const families = new Map<number, SocketFamily>();

/** Called by a family's module when it loads. */
export function registerFamily(family: number, impl: SocketFamily): void {
  families.set(family, impl);
}

export function familyOf(family: number): SocketFamily | undefined {
  return families.get(family);
}

/** The caller's credentials as a socket records them (effective ids, as SO_PEERCRED). */
export function credsOf(t: Task): Ucred {
  return { pid: t.tg.tgid, uid: t.creds.euid, gid: t.creds.egid };
}

/** Encodes a struct ucred. */
export function encodeUcred(c: Ucred): Uint8Array {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, c.pid, true);
  dv.setUint32(4, c.uid >>> 0, true);
  dv.setUint32(8, c.gid >>> 0, true);
  return b;
}

export function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}
