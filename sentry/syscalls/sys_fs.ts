// Files: open, read/write (plain, vectored, positioned), close, seek, stat, getdents, dup,
// fcntl, ioctl, cwd, access, readlink.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { BLOCK, type Task } from "../kernel/task.ts";
import { type FileDescription, PathFile } from "../vfs/file.ts";
import type { Stat } from "../vfs/inode.ts";
import { MNT_READONLY, pathString } from "../vfs/mount.ts";
import { permission } from "../vfs/resolve.ts";
import { UserIO } from "../vfs/userio.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { readIovec, readPath, resolveAt, resolveParentAt } from "./util.ts";
import { pipeFcntl } from "./sys_pipe.ts";

// ---- read and write ------------------------------------------------------------------

/** Reads or writes io at off (-1: the file offset), blocking while the file would block. */
export function doIo(t: Task, f: FileDescription, io: UserIO, off: number, write: boolean): number {
  if (write ? !f.writable : !f.readable) return -E.EBADF;
  if (io.total === 0 && !write) return 0;
  const n = write ? f.write(io, off) : f.read(io, off);
  if (n === -E.EAGAIN && !f.nonblocking) {
    const r = t.block([[f.waitQueue, write ? L.POLLOUT | L.POLLERR | L.POLLHUP : L.POLLIN | L.POLLERR | L.POLLHUP]]);
    return r === -E.ERESTARTSYS ? -E.ERESTARTSYS : r;
  }
  if (n === -E.EPIPE && write) {
    t.kernel.signals.sendToTask(t, { signo: L.SIGPIPE, errno: 0, code: L.SI_USER, pid: t.tg.tgid, uid: t.creds.ruid });
  }
  return n;
}

function getFile(t: Task, i: number): FileDescription | number {
  return t.fdTable.get(t.argInt(i)) ?? -E.EBADF;
}

function sysRead(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  return doIo(t, f, UserIO.single(t.mm, t.arg(1), t.arg(2)), -1, false);
}

function sysWrite(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  return doIo(t, f, UserIO.single(t.mm, t.arg(1), t.arg(2)), -1, true);
}

function positioned(t: Task, write: boolean): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const off = t.argSigned(3);
  if (off < 0) return -E.EINVAL;
  if (f.inode === null || (!f.inode.isRegular() && !f.inode.isDir() && !isBlockOrChar(f))) return -E.ESPIPE;
  return doIo(t, f, UserIO.single(t.mm, t.arg(1), t.arg(2)), off, write);
}

function isBlockOrChar(f: FileDescription): boolean {
  const m = f.inode ? f.inode.mode & L.S_IFMT : 0;
  return m === L.S_IFCHR || m === L.S_IFBLK;
}

function vectored(t: Task, write: boolean, hasOff: boolean, hasFlags: boolean): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const iov = readIovec(t, t.arg(1), t.argInt(2));
  if (typeof iov === "number") return iov;
  let off = -1;
  if (hasOff) {
    off = t.argSigned(3);
    if (off < -1 || (off === -1 && !hasFlags)) return -E.EINVAL;
    if (off >= 0 && f.inode && !f.inode.isRegular() && !isBlockOrChar(f)) return -E.ESPIPE;
  }
  if (hasFlags) {
    const flags = t.argInt(5);
    if (flags & ~0x1f) return -E.EOPNOTSUPP;
  }
  return doIo(t, f, new UserIO(t.mm, iov), off, write);
}

// ---- open and close ------------------------------------------------------------------

const OPEN_FLAGS_OK = L.O_ACCMODE | L.O_CREAT | L.O_EXCL | L.O_NOCTTY | L.O_TRUNC | L.O_APPEND |
  L.O_NONBLOCK | L.O_DSYNC | L.O_ASYNC | L.O_DIRECT | L.O_LARGEFILE | L.O_DIRECTORY |
  L.O_NOFOLLOW | L.O_NOATIME | L.O_CLOEXEC | L.O_SYNC | L.O_PATH | L.O_TMPFILE;

/** openat(2): resolves, creates if asked, opens and installs an fd. */
export function openAt(t: Task, dirfd: number, path: string, flags: number, mode: number): number {
  if (flags & ~OPEN_FLAGS_OK) flags &= OPEN_FLAGS_OK;
  const f = openFile(t, dirfd, path, flags, mode);
  if (typeof f === "number") return f;
  const fd = t.fdTable.install(f, (flags & L.O_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

export function openFile(t: Task, dirfd: number, path: string, flags: number, mode: number): FileDescription | number {
  const acc = flags & L.O_ACCMODE;
  if (acc === 3 && !(flags & L.O_PATH)) return -E.EINVAL;
  if ((flags & L.O_TMPFILE) === L.O_TMPFILE) return -E.EOPNOTSUPP;
  const follow = !(flags & L.O_NOFOLLOW);
  let p = resolveAt(t, dirfd, path, { follow });
  if (typeof p === "number") {
    if (p !== -E.ENOENT || !(flags & L.O_CREAT)) return p;
    // Create it.
    const pr = resolveParentAt(t, dirfd, path);
    if (typeof pr === "number") return pr;
    if (pr.trailingSlash) return -E.EISDIR;
    if (pr.name === "." || pr.name === "..") return -E.EISDIR;
    if (pr.dir.mount.readonly) return -E.EROFS;
    const perm = permission(pr.dir.dentry.inode, t.creds, 3);
    if (perm < 0) return perm;
    const inode = pr.dir.dentry.inode.create(pr.name, mode & ~t.fs.umask & 0o7777, { uid: t.creds.fsuid, gid: t.creds.fsgid });
    if (typeof inode === "number") {
      if (inode !== -E.EEXIST || (flags & L.O_EXCL)) return inode;
      p = resolveAt(t, dirfd, path, { follow });
      if (typeof p === "number") return p;
    } else {
      pr.dir.dentry.drop(pr.name);
      const d = pr.dir.dentry.child(pr.name);
      if (typeof d === "number") return d;
      return openResolved(t, { mount: pr.dir.mount, dentry: d }, flags & ~L.O_TRUNC, true);
    }
  } else if ((flags & L.O_CREAT) && (flags & L.O_EXCL)) {
    return -E.EEXIST;
  }
  return openResolved(t, p, flags, false);
}

function openResolved(t: Task, p: import("../vfs/mount.ts").VfsPath, flags: number, created: boolean): FileDescription | number {
  const inode = p.dentry.inode;
  if (inode.isSymlink()) {
    if (flags & L.O_PATH) return new PathFile(flags, p);
    return -E.ELOOP;
  }
  if ((flags & L.O_DIRECTORY) && !inode.isDir()) return -E.ENOTDIR;
  if (flags & L.O_PATH) return new PathFile(flags, p);
  const acc = flags & L.O_ACCMODE;
  if (inode.isDir() && (acc !== L.O_RDONLY || (flags & L.O_CREAT))) return -E.EISDIR;
  if (!created) {
    const want = (acc === L.O_RDONLY ? 4 : acc === L.O_WRONLY ? 2 : 6) | (flags & L.O_TRUNC ? 2 : 0);
    const perm = permission(inode, t.creds, want);
    if (perm < 0) return perm;
  }
  if ((acc !== L.O_RDONLY || (flags & L.O_TRUNC)) && p.mount.readonly && !isDevice(inode.mode)) return -E.EROFS;
  const f = inode.open(flags, p);
  if (typeof f === "number") return f;
  if ((flags & L.O_TRUNC) && inode.isRegular() && acc !== L.O_RDONLY) {
    const rc = inode.setattr({ size: 0 });
    if (rc < 0 && rc !== -E.EPERM) {
      f.decRef();
      return rc;
    }
  }
  return f;
}

function isDevice(mode: number): boolean {
  const m = mode & L.S_IFMT;
  return m === L.S_IFCHR || m === L.S_IFBLK || m === L.S_IFIFO || m === L.S_IFSOCK;
}


function sysOpenat(t: Task): number {
  const path = readPath(t, t.arg(1));
  if (typeof path === "number") return path;
  return openAt(t, t.argInt(0), path, t.argInt(2), t.argU32(3));
}

function sysOpen(t: Task): number {
  const path = readPath(t, t.arg(0));
  if (typeof path === "number") return path;
  return openAt(t, L.AT_FDCWD, path, t.argInt(1), t.argU32(2));
}

function sysCreat(t: Task): number {
  const path = readPath(t, t.arg(0));
  if (typeof path === "number") return path;
  return openAt(t, L.AT_FDCWD, path, L.O_CREAT | L.O_WRONLY | L.O_TRUNC, t.argU32(1));
}

function sysClose(t: Task): number {
  const f = t.fdTable.remove(t.argInt(0));
  if (!f) return -E.EBADF;
  t.kernel.fileClosed?.(t, f);
  f.decRef();
  return 0;
}

function sysCloseRange(t: Task): number {
  const first = t.argU32(0), last = t.argU32(1), flags = t.argU32(2);
  if (first > last || (flags & ~6)) return -E.EINVAL;
  const cloexec = (flags & 4) !== 0;
  if (flags & 2) {
    // CLOSE_RANGE_UNSHARE
    if (t.fdTable.users > 1) {
      const own = t.fdTable.fork();
      t.fdTable.users--;
      t.fdTable = own;
    }
  }
  for (const fd of t.fdTable.fds()) {
    if (fd < first || fd > last) continue;
    if (cloexec) t.fdTable.setCloexec(fd, true);
    else t.fdTable.remove(fd)?.decRef();
  }
  return 0;
}

function sysLseek(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const whence = t.argInt(2);
  if (whence < 0 || whence > 4) return -E.EINVAL;
  return f.seek(t.argSigned(1), whence);
}

// ---- stat ----------------------------------------------------------------------------

export function encodeStat(st: Stat): Uint8Array {
  const b = new Uint8Array(144);
  const dv = new DataView(b.buffer);
  const set64 = (o: number, v: number) => {
    dv.setUint32(o, v >>> 0, true);
    dv.setUint32(o + 4, Math.floor(v / 4294967296) >>> 0, true);
  };
  set64(0, st.dev);
  set64(8, st.ino);
  set64(16, st.nlink);
  dv.setUint32(24, st.mode, true);
  dv.setUint32(28, st.uid, true);
  dv.setUint32(32, st.gid, true);
  set64(40, st.rdev);
  set64(48, st.size);
  set64(56, st.blksize);
  set64(64, st.blocks);
  const time = (o: number, ns: number) => {
    const s = Math.floor(ns / 1e9);
    set64(o, s);
    set64(o + 8, ns - s * 1e9);
  };
  time(72, st.atimeNs);
  time(88, st.mtimeNs);
  time(104, st.ctimeNs);
  return b;
}

function statPath(t: Task, dirfd: number, pathAddr: number, flags: number): Stat | number {
  if (flags & ~(L.AT_SYMLINK_NOFOLLOW | L.AT_EMPTY_PATH | L.AT_NO_AUTOMOUNT | L.AT_STATX_SYNC_TYPE)) return -E.EINVAL;
  const path = readPath(t, pathAddr, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof path === "number") return path;
  if (path.length === 0 && dirfd !== L.AT_FDCWD) {
    const f = t.fdTable.get(dirfd);
    if (!f) return -E.EBADF;
    return f.stat();
  }
  const p = resolveAt(t, dirfd, path, { follow: !(flags & L.AT_SYMLINK_NOFOLLOW) }, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof p === "number") return p;
  return p.dentry.inode.stat();
}

function sysFstat(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const st = f.stat();
  if (typeof st === "number") return st;
  return t.mm.copyOut(t.arg(1), encodeStat(st));
}

function sysStatCommon(t: Task, dirfd: number, pathAddr: number, buf: number, flags: number): number {
  const st = statPath(t, dirfd, pathAddr, flags);
  if (typeof st === "number") return st;
  return t.mm.copyOut(buf, encodeStat(st));
}

function sysStatx(t: Task): number {
  const dirfd = t.argInt(0), pathAddr = t.arg(1), flags = t.argInt(2), mask = t.argU32(3), buf = t.arg(4);
  if (mask & 0x80000000) return -E.EINVAL;
  const st = statPath(t, dirfd, pathAddr, flags);
  if (typeof st === "number") return st;
  const b = new Uint8Array(256);
  const dv = new DataView(b.buffer);
  const set64 = (o: number, v: number) => {
    dv.setUint32(o, v >>> 0, true);
    dv.setUint32(o + 4, Math.floor(v / 4294967296) >>> 0, true);
  };
  dv.setUint32(0, 0x7ff, true); // STATX_BASIC_STATS
  dv.setUint32(4, st.blksize, true);
  dv.setUint32(16, st.nlink, true);
  dv.setUint32(20, st.uid, true);
  dv.setUint32(24, st.gid, true);
  dv.setUint16(28, st.mode, true);
  set64(32, st.ino);
  set64(40, st.size);
  set64(48, st.blocks);
  const ts = (o: number, ns: number) => {
    const s = Math.floor(ns / 1e9);
    set64(o, s);
    dv.setUint32(o + 8, ns - s * 1e9, true);
  };
  ts(64, st.atimeNs);
  ts(96, st.ctimeNs);
  ts(112, st.mtimeNs);
  dv.setUint32(128, Math.floor(st.rdev / 256) & 0xfff, true);
  dv.setUint32(132, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00), true);
  dv.setUint32(136, Math.floor(st.dev / 256) & 0xfff, true);
  dv.setUint32(140, (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00), true);
  return t.mm.copyOut(buf, b);
}

// ---- directories -----------------------------------------------------------------------

function sysGetdents64(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  if (!f.inode || !f.inode.isDir()) return -E.ENOTDIR;
  const addr = t.arg(1), size = t.argU32(2);
  if (f.offset === 0 || !f.dirSnapshot) {
    const list = f.readdir();
    if (typeof list === "number") return list;
    f.dirSnapshot = list;
  }
  const entries = f.dirSnapshot;
  const out = new Uint8Array(Math.min(size, 1 << 20));
  const dv = new DataView(out.buffer);
  let pos = 0;
  let i = f.offset;
  for (; i < entries.length; i++) {
    const e = entries[i];
    const reclen = Math.ceil((19 + e.name.length + 1) / 8) * 8;
    if (pos + reclen > out.length) break;
    dv.setUint32(pos, e.ino >>> 0, true);
    dv.setUint32(pos + 4, Math.floor(e.ino / 4294967296) >>> 0, true);
    dv.setUint32(pos + 8, i + 1, true);
    dv.setUint32(pos + 12, 0, true);
    dv.setUint16(pos + 16, reclen, true);
    out[pos + 18] = e.type;
    for (let j = 0; j < e.name.length; j++) out[pos + 19 + j] = e.name.charCodeAt(j);
    out[pos + 19 + e.name.length] = 0;
    pos += reclen;
  }
  if (pos === 0 && i < entries.length) return -E.EINVAL;
  const rc = t.mm.copyOut(addr, out.subarray(0, pos));
  if (rc < 0) return rc;
  f.offset = i;
  return pos;
}

function sysGetcwd(t: Task): number {
  const addr = t.arg(0), size = t.arg(1);
  let p = pathString(t.fs.cwd, t.fs.root);
  if (p === null) p = "(unreachable)" + (t.fs.cwd.dentry.name ? "/" + t.fs.cwd.dentry.name : "");
  if (t.fs.cwd.dentry.deleted) p += " (deleted)";
  if (p.length + 1 > size) return -E.ERANGE;
  const b = new Uint8Array(p.length + 1);
  for (let i = 0; i < p.length; i++) b[i] = p.charCodeAt(i);
  const rc = t.mm.copyOut(addr, b);
  return rc < 0 ? rc : b.length;
}

function chdirTo(t: Task, p: import("../vfs/mount.ts").VfsPath): number {
  if (!p.dentry.inode.isDir()) return -E.ENOTDIR;
  const perm = permission(p.dentry.inode, t.creds, 1);
  if (perm < 0) return perm;
  t.fs.cwd = p;
  return 0;
}

function sysChdir(t: Task): number {
  const path = readPath(t, t.arg(0));
  if (typeof path === "number") return path;
  const p = resolveAt(t, L.AT_FDCWD, path, { follow: true });
  if (typeof p === "number") return p;
  return chdirTo(t, p);
}

function sysFchdir(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  if (!f.path) return -E.ENOTDIR;
  return chdirTo(t, f.path);
}

function sysChroot(t: Task): number {
  if (!t.creds.hasCap(18)) return -E.EPERM;
  const path = readPath(t, t.arg(0));
  if (typeof path === "number") return path;
  const p = resolveAt(t, L.AT_FDCWD, path, { follow: true });
  if (typeof p === "number") return p;
  if (!p.dentry.inode.isDir()) return -E.ENOTDIR;
  t.fs.root = p;
  return 0;
}

// ---- access, readlink ------------------------------------------------------------------

function faccessat(t: Task, dirfd: number, pathAddr: number, mode: number, flags: number): number {
  if (mode & ~7) return -E.EINVAL;
  if (flags & ~(L.AT_EACCESS | L.AT_SYMLINK_NOFOLLOW | L.AT_EMPTY_PATH)) return -E.EINVAL;
  const path = readPath(t, pathAddr, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof path === "number") return path;
  const p = resolveAt(t, dirfd, path, { follow: !(flags & L.AT_SYMLINK_NOFOLLOW) }, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof p === "number") return p;
  if (mode === 0) return 0;
  if ((mode & 2) && p.mount.readonly && !isDevice(p.dentry.inode.mode)) return -E.EROFS;
  // access(2) checks with the real ids unless AT_EACCESS.
  let creds = t.creds;
  if (!(flags & L.AT_EACCESS) && (creds.ruid !== creds.euid || creds.rgid !== creds.egid)) {
    creds = creds.clone();
    creds.fsuid = creds.ruid;
    creds.fsgid = creds.rgid;
    if (creds.ruid !== 0) creds.effective = 0n;
  }
  return permission(p.dentry.inode, creds, mode);
}

function readlinkat(t: Task, dirfd: number, pathAddr: number, buf: number, size: number): number {
  if (size <= 0) return -E.EINVAL;
  const path = readPath(t, pathAddr, true);
  if (typeof path === "number") return path;
  const p = resolveAt(t, dirfd, path, { follow: false }, true);
  if (typeof p === "number") return p;
  const target = p.dentry.inode.readlink();
  if (typeof target === "number") return target;
  const n = Math.min(target.length, size);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = target.charCodeAt(i);
  const rc = t.mm.copyOut(buf, b);
  return rc < 0 ? rc : n;
}

// ---- dup, fcntl, ioctl -----------------------------------------------------------------

function sysDup(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  f.incRef();
  const fd = t.fdTable.install(f, false);
  if (fd < 0) f.decRef();
  return fd;
}

function dup3(t: Task, oldfd: number, newfd: number, flags: number): number {
  if (flags & ~L.O_CLOEXEC) return -E.EINVAL;
  const f = t.fdTable.get(oldfd);
  if (!f) return -E.EBADF;
  if (newfd < 0 || newfd >= t.rlimit(L.RLIMIT_NOFILE).cur) return -E.EBADF;
  f.incRef();
  return t.fdTable.set(newfd, f, (flags & L.O_CLOEXEC) !== 0);
}

function sysDup2(t: Task): number {
  const oldfd = t.argInt(0), newfd = t.argInt(1);
  if (oldfd === newfd) return t.fdTable.get(oldfd) ? newfd : -E.EBADF;
  return dup3(t, oldfd, newfd, 0);
}

function sysDup3(t: Task): number {
  if (t.argInt(0) === t.argInt(1)) return -E.EINVAL;
  return dup3(t, t.argInt(0), t.argInt(1), t.argInt(2));
}

const SETFL_MASK = L.O_APPEND | L.O_NONBLOCK | L.O_ASYNC | L.O_DIRECT | L.O_NOATIME;

function sysFcntl(t: Task): number {
  const fd = t.argInt(0), cmd = t.argInt(1), arg = t.arg(2);
  const f = t.fdTable.get(fd);
  if (!f) return -E.EBADF;
  switch (cmd) {
    case L.F_DUPFD:
    case L.F_DUPFD_CLOEXEC: {
      if (arg >= t.rlimit(L.RLIMIT_NOFILE).cur) return -E.EINVAL;
      f.incRef();
      const nfd = t.fdTable.install(f, cmd === L.F_DUPFD_CLOEXEC, arg);
      if (nfd < 0) f.decRef();
      return nfd;
    }
    case L.F_GETFD:
      return t.fdTable.isCloexec(fd) ? L.FD_CLOEXEC : 0;
    case L.F_SETFD:
      t.fdTable.setCloexec(fd, (arg & L.FD_CLOEXEC) !== 0);
      return 0;
    case L.F_GETFL:
      return f.flags & ~(L.O_CLOEXEC | L.O_CREAT | L.O_EXCL | L.O_NOCTTY | L.O_TRUNC);
    case L.F_SETFL:
      f.flags = (f.flags & ~SETFL_MASK) | (arg & SETFL_MASK);
      return 0;
    case L.F_GETOWN:
    case L.F_SETOWN:
    case L.F_GETSIG:
    case L.F_SETSIG:
      return 0;
    case L.F_GETPIPE_SZ:
    case L.F_SETPIPE_SZ:
      return pipeFcntl(t, f, cmd, arg);
    default:
      return t.kernel.fcntlExtra ? t.kernel.fcntlExtra(t, f, cmd, arg) : -E.EINVAL;
  }
}

function sysIoctl(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const fd = t.argInt(0), cmd = t.argU32(1), arg = t.arg(2);
  switch (cmd) {
    case L.FIOCLEX:
      t.fdTable.setCloexec(fd, true);
      return 0;
    case L.FIONCLEX:
      t.fdTable.setCloexec(fd, false);
      return 0;
    case L.FIONBIO: {
      const v = t.mm.readU32(arg);
      if (v < 0) return v;
      f.flags = v ? f.flags | L.O_NONBLOCK : f.flags & ~L.O_NONBLOCK;
      return 0;
    }
    case L.FIOASYNC:
      return 0;
  }
  return f.ioctl({ mm: t.mm, task: t }, cmd, arg);
}

export const fsSyscalls: SyscallDef[] = [
  { nr: Sys.read, fn: sysRead, args: "fpu" },
  { nr: Sys.write, fn: sysWrite, args: "fpu" },
  { nr: Sys.pread64, fn: (t) => positioned(t, false), args: "fpud" },
  { nr: Sys.pwrite64, fn: (t) => positioned(t, true), args: "fpud" },
  { nr: Sys.readv, fn: (t) => vectored(t, false, false, false), args: "fpd" },
  { nr: Sys.writev, fn: (t) => vectored(t, true, false, false), args: "fpd" },
  { nr: Sys.preadv, fn: (t) => vectored(t, false, true, false), args: "fpdd" },
  { nr: Sys.pwritev, fn: (t) => vectored(t, true, true, false), args: "fpdd" },
  { nr: Sys.preadv2, fn: (t) => vectored(t, false, true, true), args: "fpddx" },
  { nr: Sys.pwritev2, fn: (t) => vectored(t, true, true, true), args: "fpddx" },
  { nr: Sys.open, fn: sysOpen, args: "sxo" },
  { nr: Sys.openat, fn: sysOpenat, args: "fsxo" },
  { nr: Sys.creat, fn: sysCreat, args: "so" },
  { nr: Sys.close, fn: sysClose, args: "f" },
  { nr: Sys.close_range, fn: sysCloseRange, args: "uux" },
  { nr: Sys.lseek, fn: sysLseek, args: "fdd" },
  { nr: Sys.fstat, fn: sysFstat, args: "fp" },
  { nr: Sys.stat, fn: (t) => sysStatCommon(t, L.AT_FDCWD, t.arg(0), t.arg(1), 0), args: "sp" },
  { nr: Sys.lstat, fn: (t) => sysStatCommon(t, L.AT_FDCWD, t.arg(0), t.arg(1), L.AT_SYMLINK_NOFOLLOW), args: "sp" },
  { nr: Sys.newfstatat, fn: (t) => sysStatCommon(t, t.argInt(0), t.arg(1), t.arg(2), t.argInt(3)), args: "fspx" },
  { nr: Sys.statx, fn: sysStatx, status: Support.Partial, note: "basic fields; no btime", args: "fsxxp" },
  { nr: Sys.getdents64, fn: sysGetdents64, args: "fpu" },
  { nr: Sys.getcwd, fn: sysGetcwd, args: "pu" },
  { nr: Sys.chdir, fn: sysChdir, args: "s" },
  { nr: Sys.fchdir, fn: sysFchdir, args: "f" },
  { nr: Sys.chroot, fn: sysChroot, args: "s" },
  { nr: Sys.access, fn: (t) => faccessat(t, L.AT_FDCWD, t.arg(0), t.argInt(1), 0), args: "so" },
  { nr: Sys.faccessat, fn: (t) => faccessat(t, t.argInt(0), t.arg(1), t.argInt(2), 0), args: "fso" },
  { nr: Sys.faccessat2, fn: (t) => faccessat(t, t.argInt(0), t.arg(1), t.argInt(2), t.argInt(3)), args: "fsox" },
  { nr: Sys.readlink, fn: (t) => readlinkat(t, L.AT_FDCWD, t.arg(0), t.arg(1), t.argInt(2)), args: "spd" },
  { nr: Sys.readlinkat, fn: (t) => readlinkat(t, t.argInt(0), t.arg(1), t.arg(2), t.argInt(3)), args: "fspd" },
  { nr: Sys.dup, fn: sysDup, args: "f" },
  { nr: Sys.dup2, fn: sysDup2, args: "ff" },
  { nr: Sys.dup3, fn: sysDup3, args: "ffx" },
  { nr: Sys.fcntl, fn: sysFcntl, args: "fdx" },
  { nr: Sys.ioctl, fn: sysIoctl, args: "fxx" },
];

export { BLOCK, MNT_READONLY };
