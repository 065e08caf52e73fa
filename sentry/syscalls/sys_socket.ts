// Sockets: socket, socketpair, bind, listen, accept, accept4, connect, sendto, sendmsg,
// sendmmsg, recvfrom, recvmsg, recvmmsg, shutdown, getsockopt, setsockopt, getsockname,
// getpeername. The families are in socket/ (unix/ registers AF_UNIX); this file decodes
// the guest's structures (msghdr, cmsghdr, sockaddr lengths), blocks, and restarts.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { BLOCK, type Task } from "../kernel/task.ts";
import {
  familyOf,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_PEEK,
  MSG_TRUNC,
  MSG_WAITALL,
  MSG_WAITFORONE,
  type RecvResult,
  SCM_CREDENTIALS,
  SCM_MAX_FD,
  SCM_RIGHTS,
  type SendArgs,
  SO_DOMAIN,
  SO_PROTOCOL,
  SO_RCVTIMEO,
  SO_SNDTIMEO,
  SO_TYPE,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_TYPE_MASK,
  SocketFile,
  SOL_SOCKET,
  type Ucred,
} from "../socket/socket.ts";
import { checkCreds } from "../socket/unix/unix.ts";
import { pathOps } from "../socket/unix/names.ts";
import type { FileDescription } from "../vfs/file.ts";
import type { Inode } from "../vfs/inode.ts";
import { permission } from "../vfs/resolve.ts";
import { UserIO } from "../vfs/userio.ts";
import { mknodAt } from "./sys_fsmeta.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { readIovec, resolveAt } from "./util.ts";

const SO_RCVTIMEO_NEW = 66;
const SO_SNDTIMEO_NEW = 67;
const SOCKADDR_MAX = 128;
const MSGHDR_SIZE = 56;
const MMSGHDR_SIZE = 64;
const UIO_MAXIOV = 1024;
/** net.core.optmem_max: the most control data one sendmsg may carry. */
const OPTMEM_MAX = 131072;

// Path names of unix sockets go through the VFS like mknod and open do.
pathOps.ops = {
  mknodSocket(t: Task, path: string): Inode | number {
    const p = mknodAt(t, L.AT_FDCWD, path, L.S_IFSOCK | 0o777, 0);
    return typeof p === "number" ? p : p.dentry.inode;
  },
  lookupSocket(t: Task, path: string): Inode | number {
    const p = resolveAt(t, L.AT_FDCWD, path, { follow: true });
    if (typeof p === "number") return p;
    const perm = permission(p.dentry.inode, t.creds, 2);
    return perm < 0 ? perm : p.dentry.inode;
  },
};

function socketArg(t: Task, i: number): SocketFile | number {
  const f = t.fileArg(i);
  if (!f) return -E.EBADF;
  return f instanceof SocketFile ? f : -E.ENOTSOCK;
}

/** Reads a sockaddr of len bytes (len checked: 0..128). */
function readSockaddr(t: Task, addr: number, len: number): Uint8Array | number {
  if (len < 0 || len > SOCKADDR_MAX) return -E.EINVAL;
  if (len === 0) return new Uint8Array(0);
  return t.mm.copyIn(addr, len);
}

/** Writes an address for accept/getsockname/recvfrom: at most *lenAddr bytes, and the
 * full length into *lenAddr. */
function writeSockaddr(t: Task, addr: number, lenAddr: number, value: Uint8Array): number {
  if (!lenAddr) return 0;
  const len = t.mm.readU32(lenAddr);
  if (len < 0) return len;
  if ((len | 0) < 0) return -E.EINVAL;
  const n = Math.min(len, value.length);
  if (n > 0) {
    const rc = t.mm.copyOut(addr, value.subarray(0, n));
    if (rc < 0) return rc;
  }
  return t.mm.writeU32(lenAddr, value.length);
}

function install(t: Task, f: FileDescription, flags: number): number {
  const fd = t.fdTable.install(f, (flags & SOCK_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

// ---- blocking ---------------------------------------------------------------------------

/** State of a socket call across retries. */
interface SockCall {
  deadline: number;
  /** Bytes moved by earlier rounds (stream sends, MSG_WAITALL), or messages (mmsg). */
  done: number;
  /** sendmsg: the decoded message (rights keep their references until sent). */
  send?: SendArgs;
  /** recvmmsg: deadline of its timeout argument. */
  mmsgDeadline?: number;
}

function call(t: Task): SockCall {
  let st = t.sysState as SockCall | undefined;
  if (!st) {
    st = { deadline: NaN, done: 0 };
    t.sysState = st;
  }
  return st;
}

/** Parks t until f may make progress. Returns BLOCK, -EAGAIN once SO_*TIMEO expired, or
 * the signal result: -ERESTARTSYS (no timeout set) or -EINTR (Linux's sock_intr_errno). */
function wait(t: Task, f: SocketFile, mask: number, timeoutNs: number): number {
  const st = call(t);
  if (Number.isNaN(st.deadline)) {
    st.deadline = timeoutNs > 0 ? t.kernel.nowNs() + timeoutNs : Infinity;
  }
  const r = t.block([[f.waitQueue, mask]], st.deadline);
  if (r === BLOCK) return BLOCK;
  if (r === -E.ETIMEDOUT) return -E.EAGAIN;
  if (r === -E.ERESTARTSYS) return timeoutNs > 0 ? -E.EINTR : -E.ERESTARTSYS;
  return r;
}

function nonblocking(f: SocketFile, flags: number): boolean {
  return f.nonblocking || (flags & MSG_DONTWAIT) !== 0;
}

// ---- socket, socketpair, bind, listen, accept, connect --------------------------------

function sysSocket(t: Task): number {
  const family = t.argInt(0), typeArg = t.argInt(1), protocol = t.argInt(2);
  if (typeArg & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) return -E.EINVAL;
  if (family < 0 || family >= 46) return -E.EAFNOSUPPORT;
  const fam = familyOf(family);
  if (!fam) return -E.EAFNOSUPPORT;
  const s = fam.create(t, typeArg & SOCK_TYPE_MASK, protocol, typeArg & SOCK_NONBLOCK);
  if (typeof s === "number") return s;
  return install(t, s, typeArg);
}

function sysSocketpair(t: Task): number {
  const family = t.argInt(0), typeArg = t.argInt(1), protocol = t.argInt(2), sv = t.arg(3);
  if (typeArg & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) return -E.EINVAL;
  const fam = familyOf(family);
  if (!fam) return -E.EAFNOSUPPORT;
  if (!fam.pair) return -E.EOPNOTSUPP;
  const pair = fam.pair(t, typeArg & SOCK_TYPE_MASK, protocol, typeArg & SOCK_NONBLOCK);
  if (typeof pair === "number") return pair;
  const a = install(t, pair[0], typeArg);
  if (a < 0) {
    pair[1].decRef();
    return a;
  }
  const b = install(t, pair[1], typeArg);
  if (b < 0) {
    t.fdTable.remove(a)?.decRef();
    return b;
  }
  const buf = new Uint8Array(8);
  const dv = new DataView(buf.buffer);
  dv.setInt32(0, a, true);
  dv.setInt32(4, b, true);
  const rc = t.mm.copyOut(sv, buf);
  if (rc < 0) {
    t.fdTable.remove(a)?.decRef();
    t.fdTable.remove(b)?.decRef();
    return rc;
  }
  return 0;
}

function sysBind(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const addr = readSockaddr(t, t.arg(1), t.argInt(2));
  if (typeof addr === "number") return addr;
  return s.bind(t, addr);
}

function sysListen(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  return s.listen(t, t.argInt(1));
}

function accept4(t: Task, flags: number): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -E.EINVAL;
  const addr = t.arg(1), lenAddr = t.arg(2);
  if (addr && lenAddr) {
    const len = t.mm.readU32(lenAddr);
    if (len < 0) return len;
    if ((len | 0) < 0) return -E.EINVAL;
  }
  const r = s.accept(t, flags & SOCK_NONBLOCK);
  if (r === -E.EAGAIN && !s.nonblocking) {
    return wait(t, s, L.POLLIN | L.POLLERR | L.POLLHUP, s.rcvTimeoNs);
  }
  if (typeof r === "number") return r;
  if (addr) {
    const rc = writeSockaddr(t, addr, lenAddr, r.acceptedPeerName());
    if (rc < 0) {
      r.decRef();
      return rc;
    }
  }
  return install(t, r, flags);
}

function sysConnect(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const addr = readSockaddr(t, t.arg(1), t.argInt(2));
  if (typeof addr === "number") return addr;
  const r = s.connect(t, addr);
  if ((r === -E.EAGAIN || r === -E.EINPROGRESS) && !s.nonblocking) {
    return wait(t, s, L.POLLOUT | L.POLLERR | L.POLLHUP, s.sndTimeoNs);
  }
  return r;
}

function sysShutdown(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  return s.shutdown(t, t.argInt(1));
}

function sysGetname(t: Task, peer: boolean): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const len = t.mm.readU32(t.arg(2));
  if (len < 0) return len;
  if ((len | 0) < 0) return -E.EINVAL;
  const name = peer ? s.getpeername() : s.getsockname();
  if (typeof name === "number") return name;
  return writeSockaddr(t, t.arg(1), t.arg(2), name);
}

// ---- options ----------------------------------------------------------------------------

function encodeTimeout(ns: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  const sec = Math.floor(ns / 1e9);
  dv.setUint32(0, sec >>> 0, true);
  dv.setUint32(4, Math.floor(sec / 4294967296), true);
  dv.setUint32(8, Math.floor((ns - sec * 1e9) / 1000), true);
  return b;
}

function decodeTimeout(v: Uint8Array): number {
  if (v.length < 16) return -E.EINVAL;
  const dv = new DataView(v.buffer, v.byteOffset);
  const sec = dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
  const usec = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
  if (usec < 0 || usec >= 1000000) return -E.EDOM;
  // A negative time means "do not wait at all" (Linux stores a zero timeout).
  if (sec < 0) return 1;
  // Linux keeps socket timeouts in jiffies (HZ 250 here), rounded up.
  const jiffies = Math.min(
    sec * HZ + Math.ceil(usec / (1000000 / HZ)),
    Number.MAX_SAFE_INTEGER / 1e9,
  );
  return jiffies * (1e9 / HZ);
}

const HZ = 250;

function int32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

function sysGetsockopt(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const level = t.argInt(1), name = t.argInt(2), valAddr = t.arg(3), lenAddr = t.arg(4);
  const len = t.mm.readU32(lenAddr);
  if (len < 0) return len;
  if ((len | 0) < 0) return -E.EINVAL;
  let v: Uint8Array | number;
  if (level === SOL_SOCKET && name === SO_TYPE) v = int32(s.type);
  else if (level === SOL_SOCKET && name === SO_DOMAIN) v = int32(s.family);
  else if (level === SOL_SOCKET && name === SO_PROTOCOL) v = int32(s.protocol);
  else if (level === SOL_SOCKET && (name === SO_RCVTIMEO || name === SO_RCVTIMEO_NEW)) {
    v = encodeTimeout(s.rcvTimeoNs);
  } else if (level === SOL_SOCKET && (name === SO_SNDTIMEO || name === SO_SNDTIMEO_NEW)) {
    v = encodeTimeout(s.sndTimeoNs);
  } else v = s.getsockopt(t, level, name);
  if (typeof v === "number") return v;
  const n = Math.min(len, v.length);
  if (n > 0) {
    const rc = t.mm.copyOut(valAddr, v.subarray(0, n));
    if (rc < 0) return rc;
  }
  return t.mm.writeU32(lenAddr, n);
}

function sysSetsockopt(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const level = t.argInt(1), name = t.argInt(2), valAddr = t.arg(3), len = t.argInt(4);
  if (len < 0) return -E.EINVAL;
  const v = len === 0 ? new Uint8Array(0) : t.mm.copyIn(valAddr, Math.min(len, 4096));
  if (typeof v === "number") return v;
  if (level === SOL_SOCKET) {
    switch (name) {
      case SO_RCVTIMEO:
      case SO_RCVTIMEO_NEW:
      case SO_SNDTIMEO:
      case SO_SNDTIMEO_NEW: {
        const ns = decodeTimeout(v);
        if (ns < 0) return ns;
        if (name === SO_RCVTIMEO || name === SO_RCVTIMEO_NEW) s.rcvTimeoNs = ns;
        else s.sndTimeoNs = ns;
        return 0;
      }
      case SO_TYPE:
      case SO_DOMAIN:
      case SO_PROTOCOL:
        return -E.ENOPROTOOPT;
    }
  }
  return s.setsockopt(t, level, name, v);
}

// ---- messages ---------------------------------------------------------------------------

interface Msghdr {
  name: number;
  namelen: number;
  iov: number[];
  control: number;
  controllen: number;
}

function readMsghdr(t: Task, addr: number): Msghdr | number {
  const b = t.mm.copyIn(addr, MSGHDR_SIZE);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const u64 = (o: number) => dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 4294967296;
  const iovlen = u64(24);
  if (iovlen > UIO_MAXIOV) return -E.EMSGSIZE;
  const iov = readIovec(t, u64(16), iovlen);
  if (typeof iov === "number") return iov;
  return {
    name: u64(0),
    namelen: dv.getInt32(8, true),
    iov,
    control: u64(32),
    controllen: u64(40),
  };
}

/** Decodes sendmsg's control messages: SCM_RIGHTS (files referenced for the message) and
 * SCM_CREDENTIALS (checked). */
function readControl(
  t: Task,
  addr: number,
  len: number,
): { rights: FileDescription[] | null; creds: Ucred | null } | number {
  const out: { rights: FileDescription[] | null; creds: Ucred | null } = {
    rights: null,
    creds: null,
  };
  if (len === 0) return out;
  if (len > OPTMEM_MAX) return -E.ENOBUFS;
  const b = t.mm.copyIn(addr, len);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const drop = () => {
    if (out.rights) { for (const f of out.rights) f.decRef(); }
  };
  for (let off = 0; off + 16 <= len;) {
    const clen = dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 4294967296;
    if (clen < 16 || clen > len - off) {
      drop();
      return -E.EINVAL;
    }
    const level = dv.getInt32(off + 8, true), type = dv.getInt32(off + 12, true);
    if (level === SOL_SOCKET) {
      if (type === SCM_RIGHTS) {
        const n = Math.floor((clen - 16) / 4);
        const have = out.rights?.length ?? 0;
        if (have + n > SCM_MAX_FD) {
          drop();
          return -E.EINVAL;
        }
        for (let i = 0; i < n; i++) {
          const f = t.fdTable.get(dv.getInt32(off + 16 + 4 * i, true));
          if (!f) {
            drop();
            return -E.EBADF;
          }
          f.incRef();
          (out.rights ??= []).push(f);
        }
      } else if (type === SCM_CREDENTIALS) {
        if (clen !== 28) {
          drop();
          return -E.EINVAL;
        }
        const c = {
          pid: dv.getInt32(off + 16, true),
          uid: dv.getUint32(off + 20, true),
          gid: dv.getUint32(off + 24, true),
        };
        const rc = checkCreds(t, c);
        if (rc < 0) {
          drop();
          return rc;
        }
        out.creds = c;
      } else {
        drop();
        return -E.EINVAL;
      }
    }
    off += Math.ceil(clen / 8) * 8;
  }
  return out;
}

/** Sends one message, blocking as the socket and flags say. For stream sockets a blocking
 * send goes on until everything is sent (or a signal or timeout comes after some bytes). */
function sendOne(t: Task, s: SocketFile, st: SockCall, flags: number): number {
  const a = st.send!;
  for (;;) {
    const r = s.sendmsg(t, a);
    if (r > 0 || (r === 0 && a.io.total === 0)) {
      a.at += r;
      st.done += r;
      if (!s.streamLike || a.at >= a.io.total || nonblocking(s, flags)) return finishSend(st);
      continue;
    }
    if (r === -E.EAGAIN && !nonblocking(s, flags)) {
      const w = wait(t, s, s.sendWaitMask(), s.sndTimeoNs);
      if (w === BLOCK) return BLOCK;
      if (st.done > 0) return finishSend(st);
      releaseSend(a);
      return w;
    }
    if (st.done > 0) return finishSend(st);
    releaseSend(a);
    if (r === -E.EPIPE && !(flags & MSG_NOSIGNAL)) {
      t.kernel.signals.sendToTask(t, {
        signo: L.SIGPIPE,
        errno: 0,
        code: L.SI_USER,
        pid: t.tg.tgid,
        uid: t.creds.ruid,
      });
    }
    return r;
  }
}

function finishSend(st: SockCall): number {
  releaseSend(st.send!);
  return st.done;
}

/** Drops the references of files a message did not carry away. */
function releaseSend(a: SendArgs): void {
  if (a.rights) { for (const f of a.rights) f.decRef(); }
  a.rights = null;
}

function prepareSend(t: Task, m: Msghdr, flags: number): SendArgs | number {
  let addr: Uint8Array | null = null;
  if (m.name && m.namelen) {
    const a = readSockaddr(t, m.name, m.namelen);
    if (typeof a === "number") return a;
    addr = a;
  } else if (m.namelen < 0 || m.namelen > SOCKADDR_MAX) return -E.EINVAL;
  const ctl = readControl(t, m.control, m.control ? m.controllen : 0);
  if (typeof ctl === "number") return ctl;
  return { io: new UserIO(t.mm, m.iov), at: 0, addr, rights: ctl.rights, creds: ctl.creds, flags };
}

function sysSendto(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const flags = t.argInt(3);
  const st = call(t);
  if (!st.send) {
    let addr: Uint8Array | null = null;
    if (t.arg(4)) {
      const a = readSockaddr(t, t.arg(4), t.argInt(5));
      if (typeof a === "number") return a;
      addr = a;
    }
    const len = Math.min(t.arg(2), 0x7ffff000);
    st.send = {
      io: UserIO.single(t.mm, t.arg(1), len),
      at: 0,
      addr,
      rights: null,
      creds: null,
      flags,
    };
  }
  return sendOne(t, s, st, flags);
}

function sysSendmsg(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const flags = t.argInt(2);
  const st = call(t);
  if (!st.send) {
    const m = readMsghdr(t, t.arg(1));
    if (typeof m === "number") return m;
    const a = prepareSend(t, m, flags);
    if (typeof a === "number") return a;
    st.send = a;
  }
  return sendOne(t, s, st, flags);
}

interface MmsgCall extends SockCall {
  index: number;
}

function sysSendmmsg(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const vec = t.arg(1), vlen = Math.min(t.argU32(2), UIO_MAXIOV), flags = t.argInt(3);
  const st = call(t) as MmsgCall;
  st.index ??= 0;
  while (st.index < vlen) {
    const base = vec + st.index * MMSGHDR_SIZE;
    if (!st.send) {
      const m = readMsghdr(t, base);
      const a = typeof m === "number" ? m : prepareSend(t, m, flags);
      if (typeof a === "number") return st.index > 0 ? st.index : a;
      st.send = a;
      st.done = 0;
    }
    const r = sendOne(t, s, st, flags);
    if (r === BLOCK) return BLOCK;
    st.send = undefined;
    st.deadline = NaN;
    if (r < 0) return st.index > 0 ? st.index : r;
    const rc = t.mm.writeU32(base + MSGHDR_SIZE, r);
    if (rc < 0) return st.index > 0 ? st.index : rc;
    st.index++;
  }
  return st.index;
}

/** Receives one message into io, honouring MSG_WAITALL for streams. */
function recvOne(
  t: Task,
  s: SocketFile,
  io: UserIO,
  flags: number,
  st: SockCall,
): RecvResult | number {
  for (;;) {
    const r = s.recvmsg(t, io, st.done, flags);
    if (typeof r !== "number") {
      const waitAll = (flags & MSG_WAITALL) && s.streamLike && !(flags & MSG_PEEK) &&
        !nonblocking(s, flags);
      st.done += r.n;
      if (waitAll && r.n > 0 && st.done < io.total && !r.rights) {
        // More to come: keep what came (the stream has no boundaries to lose).
        continue;
      }
      r.n = st.done;
      if (r.length < r.n) r.length = r.n;
      return r;
    }
    if (r === -E.EAGAIN && !nonblocking(s, flags)) {
      const w = wait(t, s, s.recvWaitMask(), s.rcvTimeoNs);
      if (w === BLOCK) return BLOCK;
      if (st.done > 0) {
        return { n: st.done, length: st.done, addr: null, rights: null, creds: null, flags: 0 };
      }
      return w;
    }
    if (st.done > 0) {
      return { n: st.done, length: st.done, addr: null, rights: null, creds: null, flags: 0 };
    }
    return r;
  }
}

/** Writes recvmsg's results back: name, control messages, flags. Returns the count or
 * -errno. */
function finishRecvmsg(t: Task, hdr: number, m: Msghdr, r: RecvResult, flags: number): number {
  // Linux echoes MSG_CMSG_CLOEXEC in msg_flags.
  let outFlags = r.flags | (flags & MSG_CMSG_CLOEXEC);
  // Name.
  let namelen = 0;
  if (m.name && r.addr) {
    const n = Math.min(Math.max(m.namelen, 0), r.addr.length);
    if (n > 0) {
      const rc = t.mm.copyOut(m.name, r.addr.subarray(0, n));
      if (rc < 0) return dropRights(r, rc);
    }
    namelen = r.addr.length;
  }
  // Control messages: credentials first, then descriptors, as Linux orders them.
  let room = m.control ? m.controllen : 0;
  let used = 0;
  const parts: Uint8Array[] = [];
  const cmsg = (type: number, data: Uint8Array) => {
    const b = new Uint8Array(Math.ceil((16 + data.length) / 8) * 8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, 16 + data.length, true);
    dv.setInt32(8, SOL_SOCKET, true);
    dv.setInt32(12, type, true);
    b.set(data, 16);
    return b;
  };
  if (r.creds) {
    const c = new Uint8Array(12);
    const dv = new DataView(c.buffer);
    dv.setInt32(0, r.creds.pid, true);
    dv.setUint32(4, r.creds.uid >>> 0, true);
    dv.setUint32(8, r.creds.gid >>> 0, true);
    const b = cmsg(SCM_CREDENTIALS, c);
    // Linux's put_cmsg: a cmsg that does not fit is cut to the room left (its cmsg_len
    // says so) and flagged; below a bare header nothing is written.
    if (room >= 16) {
      if (room < 28) {
        outFlags |= MSG_CTRUNC;
        new DataView(b.buffer).setUint32(0, room, true);
      }
      const n = Math.min(b.length, room);
      parts.push(b.subarray(0, n));
      used += n;
      room -= n;
    } else outFlags |= MSG_CTRUNC;
  }
  if (r.rights) {
    const fits = room >= 20 ? Math.floor((room - 16) / 4) : 0;
    const fds: number[] = [];
    for (let i = 0; i < r.rights.length; i++) {
      const f = r.rights[i];
      if (i < fits) {
        const fd = t.fdTable.install(f, (flags & MSG_CMSG_CLOEXEC) !== 0);
        if (fd >= 0) {
          fds.push(fd);
          continue;
        }
      }
      outFlags |= MSG_CTRUNC;
      f.decRef();
    }
    if (fds.length) {
      const d = new Uint8Array(fds.length * 4);
      const dv = new DataView(d.buffer);
      fds.forEach((fd, i) => dv.setInt32(i * 4, fd, true));
      const b = cmsg(SCM_RIGHTS, d);
      const n = Math.min(b.length, room);
      parts.push(b.subarray(0, n));
      used += n;
      room -= n;
    }
    r.rights = null;
  }
  // Protocol ancillary data (SO_TIMESTAMP, IP_PKTINFO, IP_TTL...), cut and flagged like the
  // others when the room runs out.
  for (const c of r.control ?? []) {
    if (room < 16) {
      outFlags |= MSG_CTRUNC;
      break;
    }
    const b = cmsg(c.type, c.data);
    const dv = new DataView(b.buffer);
    dv.setInt32(8, c.level, true);
    if (room < 16 + c.data.length) {
      outFlags |= MSG_CTRUNC;
      dv.setUint32(0, room, true);
    }
    const n = Math.min(b.length, room);
    parts.push(b.subarray(0, n));
    used += n;
    room -= n;
  }
  let at = 0;
  for (const p of parts) {
    const rc = t.mm.copyOut(m.control + at, p);
    if (rc < 0) return rc;
    at += p.length;
  }
  // msg_namelen, msg_controllen, msg_flags.
  let rc = t.mm.writeU32(hdr + 8, namelen);
  if (rc < 0) return rc;
  rc = t.mm.writeU64(hdr + 40, used);
  if (rc < 0) return rc;
  rc = t.mm.writeU32(hdr + 48, outFlags);
  if (rc < 0) return rc;
  return recvReturn(r, flags);
}

function recvReturn(r: RecvResult, flags: number): number {
  return (flags & MSG_TRUNC) ? r.length : r.n;
}

function dropRights(r: RecvResult, rc: number): number {
  if (r.rights) { for (const f of r.rights) f.decRef(); }
  r.rights = null;
  return rc;
}

function sysRecvfrom(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const flags = t.argInt(3), addr = t.arg(4), lenAddr = t.arg(5);
  const io = UserIO.single(t.mm, t.arg(1), Math.min(t.arg(2), 0x7ffff000));
  if (addr && lenAddr) {
    const len = t.mm.readU32(lenAddr);
    if (len < 0) return len;
    if ((len | 0) < 0) return -E.EINVAL;
  }
  const r = recvOne(t, s, io, flags, call(t));
  if (typeof r === "number") return r;
  dropRights(r, 0);
  if (addr && lenAddr) {
    const rc = r.addr ? writeSockaddr(t, addr, lenAddr, r.addr) : t.mm.writeU32(lenAddr, 0);
    if (rc < 0) return rc;
  }
  return recvReturn(r, flags);
}

function sysRecvmsg(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const flags = t.argInt(2), hdr = t.arg(1);
  const m = readMsghdr(t, hdr);
  if (typeof m === "number") return m;
  const r = recvOne(t, s, new UserIO(t.mm, m.iov), flags, call(t));
  if (typeof r === "number") return r;
  return finishRecvmsg(t, hdr, m, r, flags);
}

function sysRecvmmsg(t: Task): number {
  const s = socketArg(t, 0);
  if (typeof s === "number") return s;
  const vec = t.arg(1), vlen = Math.min(t.argU32(2), UIO_MAXIOV), flags0 = t.argInt(3);
  const st = call(t) as MmsgCall;
  if (st.index === undefined) {
    st.index = 0;
    st.mmsgDeadline = Infinity;
    if (t.arg(4)) {
      const b = t.mm.copyIn(t.arg(4), 16);
      if (typeof b === "number") return b;
      const dv = new DataView(b.buffer);
      const sec = dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
      const nsec = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
      if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
      st.mmsgDeadline = t.kernel.nowNs() + sec * 1e9 + nsec;
    }
  }
  while (st.index < vlen) {
    let flags = flags0 & ~MSG_WAITFORONE;
    if (st.index > 0 && (flags0 & MSG_WAITFORONE)) flags |= MSG_DONTWAIT;
    const base = vec + st.index * MMSGHDR_SIZE;
    const m = readMsghdr(t, base);
    if (typeof m === "number") return st.index > 0 ? st.index : m;
    const r = recvOne(t, s, new UserIO(t.mm, m.iov), flags, st);
    if (r === BLOCK) return BLOCK;
    st.done = 0;
    st.deadline = NaN;
    if (typeof r === "number") return st.index > 0 ? st.index : r;
    const n = finishRecvmsg(t, base, m, r, flags);
    if (n < 0) return st.index > 0 ? st.index : n;
    const rc = t.mm.writeU32(base + MSGHDR_SIZE, n);
    if (rc < 0) return st.index > 0 ? st.index : rc;
    st.index++;
    // The timeout is looked at after each message, as Linux does.
    if (t.kernel.nowNs() >= st.mmsgDeadline!) break;
  }
  return st.index;
}

export const socketSyscalls: SyscallDef[] = [
  { nr: Sys.socket, fn: sysSocket, args: "dxd" },
  { nr: Sys.socketpair, fn: sysSocketpair, args: "dxdp" },
  { nr: Sys.bind, fn: sysBind, args: "fpd" },
  { nr: Sys.listen, fn: sysListen, args: "fd" },
  { nr: Sys.accept, fn: (t) => accept4(t, 0), args: "fpp" },
  { nr: Sys.accept4, fn: (t) => accept4(t, t.argInt(3)), args: "fppx" },
  { nr: Sys.connect, fn: sysConnect, args: "fpd" },
  { nr: Sys.shutdown, fn: sysShutdown, args: "fd" },
  { nr: Sys.getsockname, fn: (t) => sysGetname(t, false), args: "fpp" },
  { nr: Sys.getpeername, fn: (t) => sysGetname(t, true), args: "fpp" },
  { nr: Sys.getsockopt, fn: sysGetsockopt, args: "fddpp" },
  { nr: Sys.setsockopt, fn: sysSetsockopt, args: "fddpd" },
  { nr: Sys.sendto, fn: sysSendto, args: "fpuxpd" },
  { nr: Sys.sendmsg, fn: sysSendmsg, args: "fpx" },
  { nr: Sys.sendmmsg, fn: sysSendmmsg, args: "fpux" },
  { nr: Sys.recvfrom, fn: sysRecvfrom, args: "fpuxpp" },
  { nr: Sys.recvmsg, fn: sysRecvmsg, args: "fpx" },
  {
    nr: Sys.recvmmsg,
    fn: sysRecvmmsg,
    status: Support.Partial,
    note: "the timeout is checked after each message (as Linux does)",
    args: "fpuxp",
  },
];
