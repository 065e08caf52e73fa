// Files: open (openat2 and O_TMPFILE included), read/write (plain, vectored, positioned),
// close, seek, stat/statx, getdents, dup, fcntl, ioctl, cwd and chroot, access, readlink,
// sendfile and copy_file_range.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { BLOCK, type Task } from "../kernel/task.ts";
import { host } from "../../ffi/host.ts";
import { HostRegularFile } from "../fs/host/hostfs.ts";
import { type FileDescription, PathFile, releaseHooks } from "../vfs/file.ts";
import {
  anyWatches,
  childEvent,
  fileEvent,
  IN_ACCESS,
  IN_CLOSE_NOWRITE,
  IN_CLOSE_WRITE,
  IN_CREATE,
  IN_MODIFY,
  IN_OPEN,
} from "../vfs/fsnotify.ts";
import {
  Dentry,
  type Inode,
  type Owner,
  type Stat,
  type Timespec,
  tsFromNs,
} from "../vfs/inode.ts";
import { descriptionReleased, hasLocks } from "../vfs/locks.ts";
import { MNT_READONLY, pathString, type VfsPath } from "../vfs/mount.ts";
import { permission, type ResolveOptions, Resolver } from "../vfs/resolve.ts";
import { KernelIO, UserIO } from "../vfs/userio.ts";
import {
  applyUmask,
  CAP_FOWNER,
  CAP_FSETID,
  CAP_SYS_CHROOT,
  createAt,
  isSpecialFile,
  mayCreate,
  nodevDenied,
  ownerFor,
  startAt,
} from "./fsutil.ts";
import { fcntlLock } from "./sys_locks.ts";
import { fcntlSeals } from "./sys_memfd.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { readIovec, readPath, resolveAt } from "./util.ts";

// Close events and the release of OFD/flock locks, when a description's last reference goes.
releaseHooks.push((f) => {
  if (!f.inode) return;
  if (anyWatches() && f.path && !(f instanceof PathFile)) {
    fileEvent(f.path, f.inode, f.writable ? IN_CLOSE_WRITE : IN_CLOSE_NOWRITE);
  }
  if (hasLocks(f.inode)) descriptionReleased(f.inode, f);
});

// ---- read and write ------------------------------------------------------------------

/** Reads or writes io at off (-1: the file offset), blocking while the file would block. */
export function doIo(t: Task, f: FileDescription, io: UserIO, off: number, write: boolean): number {
  if (write ? !f.writable : !f.readable) return -E.EBADF;
  if (io.total === 0 && !write) return 0;
  let n: number;
  if (write) {
    const limit = fsizeLimit(t, f, off, io.total);
    if (limit < 0) return limit;
    n = f.write(limit < io.total ? new UserIO(io.mm, truncIov(io.iov, limit)) : io, off);
  } else {
    n = f.read(io, off);
  }
  // A file that parked the task itself with a deadline (a socket's SO_RCVTIMEO) says -EAGAIN
  // once the time is up; t.timedOut then means "do not wait again".
  if (n === -E.EAGAIN && !f.nonblocking && !t.timedOut) {
    const r = t.block([[
      f.waitQueue,
      write ? L.POLLOUT | L.POLLERR | L.POLLHUP : L.POLLIN | L.POLLERR | L.POLLHUP,
    ]]);
    return r === -E.ERESTARTSYS ? -E.ERESTARTSYS : r;
  }
  if (n === -E.EPIPE && write) {
    t.kernel.signals.sendToTask(t, {
      signo: L.SIGPIPE,
      errno: 0,
      code: L.SI_USER,
      pid: t.tg.tgid,
      uid: t.creds.ruid,
    });
  }
  if (n > 0 && f.inode !== null) {
    if (write) {
      const mode = f.inode.mode;
      if ((mode & (L.S_ISUID | L.S_ISGID)) && (mode & L.S_IFMT) === L.S_IFREG) killPrivs(t, f);
      if (anyWatches()) fileEvent(f.path, f.inode, IN_MODIFY);
    } else if (anyWatches()) {
      fileEvent(f.path, f.inode, IN_ACCESS);
    }
  }
  return n;
}

/** RLIMIT_FSIZE for regular files: the bytes a write may make (SIGXFSZ and EFBIG when
 * none). */
function fsizeLimit(t: Task, f: FileDescription, off: number, n: number): number {
  const lim = t.rlimit(L.RLIMIT_FSIZE).cur;
  if (lim === L.RLIM_INFINITY || lim >= Number.MAX_SAFE_INTEGER || !f.inode?.isRegular()) return n;
  const pos = off >= 0 ? off : f.append ? f.inode.stat().size : f.offset;
  if (pos >= lim) {
    t.kernel.signals.sendToTask(t, {
      signo: L.SIGXFSZ,
      errno: 0,
      code: L.SI_USER,
      pid: t.tg.tgid,
      uid: t.creds.ruid,
    });
    return -E.EFBIG;
  }
  return Math.min(n, lim - pos);
}

function truncIov(iov: number[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < iov.length && n > 0; i += 2) {
    const k = Math.min(iov[i + 1], n);
    out.push(iov[i], k);
    n -= k;
  }
  return out;
}

/** A write by someone without CAP_FSETID drops set-user-ID (and set-group-ID with group
 * execute), as Linux's file_remove_privs does. */
function killPrivs(t: Task, f: FileDescription): void {
  if (t.creds.hasCap(CAP_FSETID)) return;
  const mode = f.inode!.mode;
  let m = mode & ~L.S_ISUID;
  if ((mode & (L.S_ISGID | 0o010)) === (L.S_ISGID | 0o010)) m &= ~L.S_ISGID;
  if (m !== mode) f.inode!.setattr({ mode: m & 0o7777 });
}

/** The file of fd argument i, held for the whole call (see Task.fileArg). */
function getFile(t: Task, i: number): FileDescription | number {
  return t.fileArg(i) ?? -E.EBADF;
}

function sysRead(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  return doIo(t, f, UserIO.single(t.mm, t.arg(1), Math.min(t.arg(2), 0x7ffff000)), -1, false);
}

function sysWrite(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  return doIo(t, f, UserIO.single(t.mm, t.arg(1), Math.min(t.arg(2), 0x7ffff000)), -1, true);
}

function seekable(f: FileDescription): boolean {
  const m = f.inode ? f.inode.mode & L.S_IFMT : 0;
  return m === L.S_IFREG || m === L.S_IFDIR || m === L.S_IFCHR || m === L.S_IFBLK ||
    m === L.S_IFLNK;
}

function positioned(t: Task, write: boolean): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const off = t.argSigned(3);
  if (off < 0) return -E.EINVAL;
  if (!seekable(f)) return -E.ESPIPE;
  return doIo(t, f, UserIO.single(t.mm, t.arg(1), Math.min(t.arg(2), 0x7ffff000)), off, write);
}

function vectored(t: Task, write: boolean, hasOff: boolean, hasFlags: boolean): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const iov = readIovec(t, t.arg(1), t.argInt(2));
  if (typeof iov === "number") return iov;
  let off = -1;
  if (hasOff) {
    // preadv/pwritev pass the offset split in two registers (low, high).
    off = t.argSigned(3);
    if (off < -1 || (off === -1 && !hasFlags)) return -E.EINVAL;
    if (off >= 0 && !seekable(f)) return -E.ESPIPE;
  }
  if (hasFlags) {
    const flags = t.argInt(5);
    // HIPRI, DSYNC, SYNC, NOWAIT, APPEND, NOAPPEND, ATOMIC, DONTCACHE, NOSIGNAL.
    if (flags & ~0x1ff) return -E.EOPNOTSUPP;
    // RWF_NOWAIT on a file that would block: EAGAIN rather than waiting.
    if ((flags & 0x8) && !write) {
      const n = f.read(new UserIO(t.mm, iov), off);
      return n;
    }
    // RWF_APPEND
    if ((flags & 0x10) && write) off = -1;
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

/** Opens (dirfd, path) as open(2) does; resolve adds openat2's RESOLVE_* options. */
export function openFile(
  t: Task,
  dirfd: number,
  path: string,
  flags: number,
  mode: number,
  resolve: Partial<ResolveOptions> = {},
): FileDescription | number {
  if (flags & L.O_PATH) flags &= L.O_PATH | L.O_DIRECTORY | L.O_NOFOLLOW | L.O_CLOEXEC;
  flags |= L.O_LARGEFILE;
  if ((flags & L.O_TMPFILE) === L.O_TMPFILE) {
    return openTmpfile(t, dirfd, path, flags, mode, resolve);
  }
  if ((flags & (L.O_CREAT | L.O_DIRECTORY)) === (L.O_CREAT | L.O_DIRECTORY)) return -E.EINVAL;
  const scoped = resolve.beneath || resolve.inRoot;
  if (!(flags & L.O_CREAT)) {
    const start = startAt(t, dirfd, path, scoped);
    if (typeof start === "number") return start;
    if (path.length === 0) return -E.ENOENT;
    const p = resolverFor(t).resolve(start, path, { ...resolve, follow: !(flags & L.O_NOFOLLOW) });
    if (typeof p === "number") return p;
    return openResolved(t, p, flags, false);
  }
  if (path.length === 0) return -E.ENOENT;
  const follow = !(flags & (L.O_EXCL | L.O_NOFOLLOW));
  const r = createAt(t, dirfd, path, { ...resolve, follow });
  if (typeof r === "number") return r;
  if (r.found) {
    if (flags & L.O_EXCL) return -E.EEXIST;
    if (r.found.dentry.inode.isDir()) return -E.EISDIR;
    if (r.trailingSlash) return -E.EISDIR;
    return openResolved(t, r.found, flags, false);
  }
  if (r.trailingSlash) return -E.EISDIR;
  const dir = r.dir;
  const perm = mayCreate(t, dir);
  if (perm < 0) return perm;
  const dirInode = dir.dentry.inode;
  let m = applyUmask(t, mode);
  if ((m & L.S_ISGID) && !inGroupOf(t, dirInode) && !t.creds.hasCap(CAP_FSETID)) m &= ~L.S_ISGID;
  const inode = dirInode.create(r.name, m, ownerFor(t, dirInode));
  if (typeof inode === "number") {
    if (inode !== -E.EEXIST || (flags & L.O_EXCL)) return inode;
    // Created meanwhile (host trees): open what is there.
    return openFile(t, dirfd, path, flags & ~L.O_CREAT, mode, resolve);
  }
  const d = dir.dentry.added(r.name, inode);
  if (anyWatches()) childEvent(dirInode, r.name, inode, IN_CREATE);
  return openResolved(t, { mount: dir.mount, dentry: d }, flags & ~L.O_TRUNC, true);
}

function inGroupOf(t: Task, dir: import("../vfs/inode.ts").Inode): boolean {
  const st = dir.permInfo();
  const gid = (st.mode & L.S_ISGID) ? st.gid : t.creds.fsgid;
  return t.creds.fsgid === gid || t.creds.groups.includes(gid);
}

function resolverFor(t: Task): Resolver {
  return new Resolver(t.fs, t.creds);
}

/** O_TMPFILE: an unnamed file in a directory of a filesystem that supports it. */
function openTmpfile(
  t: Task,
  dirfd: number,
  path: string,
  flags: number,
  mode: number,
  resolve: Partial<ResolveOptions>,
): FileDescription | number {
  const acc = flags & L.O_ACCMODE;
  if (acc !== L.O_WRONLY && acc !== L.O_RDWR) return -E.EINVAL;
  const start = startAt(t, dirfd, path, resolve.beneath || resolve.inRoot);
  if (typeof start === "number") return start;
  const p = resolverFor(t).resolve(start, path, { ...resolve, follow: true });
  if (typeof p === "number") return p;
  if (!p.dentry.inode.isDir()) return -E.ENOTDIR;
  const perm = mayCreate(t, p);
  if (perm < 0) return perm;
  const fs = p.dentry.inode.fs as {
    newUnnamedFile?: (mode: number, owner: Owner) => Inode | number;
  };
  if (typeof fs.newUnnamedFile !== "function") return -E.EOPNOTSUPP;
  const inode = fs.newUnnamedFile(applyUmask(t, mode), ownerFor(t, p.dentry.inode));
  if (typeof inode === "number") return inode;
  // Without O_EXCL, linkat() may give it a name later.
  (inode as { linkable?: boolean }).linkable = (flags & L.O_EXCL) === 0;
  const d = new Dentry("#" + inode.stat().ino, p.dentry, inode);
  d.deleted = true;
  const f = inode.open(
    flags & ~(L.O_TMPFILE | L.O_EXCL | L.O_CREAT),
    { mount: p.mount, dentry: d },
    t,
  );
  // The description now keeps the unnamed file alive; drop the creation's hold.
  (inode as { maybeFree?: () => void }).maybeFree?.();
  return f;
}

export function openResolved(
  t: Task,
  p: VfsPath,
  flags: number,
  created: boolean,
): FileDescription | number {
  const inode = p.dentry.inode;
  if (inode.isSymlink()) {
    if (flags & L.O_PATH) return new PathFile(flags, p);
    return -E.ELOOP;
  }
  if ((flags & L.O_DIRECTORY) && !inode.isDir()) return -E.ENOTDIR;
  if (flags & L.O_PATH) return new PathFile(flags, p);
  const acc = flags & L.O_ACCMODE;
  const wantsWrite = acc !== L.O_RDONLY || (flags & L.O_TRUNC) !== 0;
  if (inode.isDir() && wantsWrite) return -E.EISDIR;
  if (!created) {
    // Access mode 3 needs both permissions, like O_RDWR.
    const want = (acc === L.O_RDONLY ? 4 : acc === L.O_WRONLY ? 2 : 6) |
      (flags & L.O_TRUNC ? 2 : 0);
    const perm = permission(inode, t.creds, want);
    if (perm < 0) return perm;
  }
  const special = isSpecialFile(inode.mode);
  if (wantsWrite && (p.mount.flags & MNT_READONLY) && !special) return -E.EROFS;
  if (nodevDenied(p)) return -E.EACCES;
  if (
    (flags & L.O_NOATIME) && t.creds.fsuid !== inode.permInfo().uid && !t.creds.hasCap(CAP_FOWNER)
  ) {
    return -E.EPERM;
  }
  const f = inode.open(flags & ~(L.O_CREAT | L.O_EXCL | L.O_NOCTTY | L.O_TRUNC), p, t);
  if (typeof f === "number") return f;
  let truncated = false;
  if ((flags & L.O_TRUNC) && inode.isRegular() && acc !== L.O_RDONLY) {
    if (inode.stat().size !== 0) {
      const rc = inode.setattr({ size: 0 });
      if (rc < 0) {
        f.decRef();
        return rc;
      }
      truncated = true;
    }
  }
  if (anyWatches()) {
    if (truncated) fileEvent(p, inode, IN_MODIFY);
    fileEvent(p, inode, IN_OPEN);
  }
  return f;
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

const RESOLVE_NO_XDEV = 0x01;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_NO_SYMLINKS = 0x04;
const RESOLVE_BENEATH = 0x08;
const RESOLVE_IN_ROOT = 0x10;
const RESOLVE_CACHED = 0x20;

/** openat2(dirfd, path, struct open_how *, size). */
function sysOpenat2(t: Task): number {
  const dirfd = t.argInt(0), howAddr = t.arg(2), size = t.arg(3);
  if (size < 24) return -E.EINVAL;
  if (size > 4096) return -E.E2BIG;
  const how = t.mm.copyIn(howAddr, size);
  if (typeof how === "number") return how;
  for (let i = 24; i < size; i++) if (how[i] !== 0) return -E.E2BIG;
  const dv = new DataView(how.buffer, how.byteOffset, how.byteLength);
  const flagsHi = dv.getUint32(4, true), flags = dv.getUint32(0, true);
  const modeHi = dv.getUint32(12, true), mode = dv.getUint32(8, true);
  const resHi = dv.getUint32(20, true), res = dv.getUint32(16, true);
  if (flagsHi !== 0 || (flags & ~(OPEN_FLAGS_OK | 0o20000000))) return -E.EINVAL;
  if (modeHi !== 0 || (mode & ~0o7777)) return -E.EINVAL;
  if (mode !== 0 && !(flags & L.O_CREAT) && (flags & L.O_TMPFILE) !== L.O_TMPFILE) return -E.EINVAL;
  if (resHi !== 0 || (res & ~0x3f)) return -E.EINVAL;
  if ((res & RESOLVE_BENEATH) && (res & RESOLVE_IN_ROOT)) return -E.EINVAL;
  if (
    (flags & L.O_PATH) &&
    (flags & ~(L.O_PATH | L.O_DIRECTORY | L.O_NOFOLLOW | L.O_CLOEXEC | L.O_LARGEFILE))
  ) return -E.EINVAL;
  if ((res & RESOLVE_CACHED) && (flags & (L.O_CREAT | L.O_TRUNC | L.O_TMPFILE))) return -E.EAGAIN;
  const path = readPath(t, t.arg(1));
  if (typeof path === "number") return path;
  const f = openFile(t, dirfd, path, flags, mode, {
    noXdev: (res & RESOLVE_NO_XDEV) !== 0,
    noMagicLinks: (res & RESOLVE_NO_MAGICLINKS) !== 0,
    noSymlinks: (res & RESOLVE_NO_SYMLINKS) !== 0,
    beneath: (res & RESOLVE_BENEATH) !== 0,
    inRoot: (res & RESOLVE_IN_ROOT) !== 0,
  });
  if (typeof f === "number") return f;
  const fd = t.fdTable.install(f, (flags & L.O_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

function sysClose(t: Task): number {
  const fd = t.argInt(0);
  const f = t.fdTable.get(fd);
  if (!f) return -E.EBADF;
  t.kernel.fileClosed?.(t, f);
  return t.fdTable.close(fd);
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
    else t.fdTable.close(fd);
  }
  return 0;
}

function sysLseek(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const whence = t.argInt(2);
  if (whence < 0 || whence > 4) return -E.EINVAL;
  if (f instanceof PathFile) return -E.EBADF;
  const r = f.seek(t.argSigned(1), whence);
  if (r >= 0 && f.inode?.isDir() && t.argSigned(1) === 0 && whence === 0) f.dirSnapshot = null;
  return r;
}

// ---- stat ----------------------------------------------------------------------------

function setS64(dv: DataView, o: number, v: number): void {
  dv.setUint32(o, v >>> 0, true);
  dv.setInt32(o + 4, Math.floor(v / 4294967296), true);
}

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
  const time = (o: number, ts: Timespec) => {
    setS64(dv, o, ts.sec);
    set64(o + 8, ts.nsec);
  };
  time(72, st.atime ?? tsFromNs(st.atimeNs));
  time(88, st.mtime ?? tsFromNs(st.mtimeNs));
  time(104, st.ctime ?? tsFromNs(st.ctimeNs));
  return b;
}

/** The file a stat-family call names: (dirfd, path) with AT_* flags. */
function statTarget(
  t: Task,
  dirfd: number,
  pathAddr: number,
  flags: number,
): { st: Stat; p: VfsPath | null } | number {
  if (
    flags & ~(L.AT_SYMLINK_NOFOLLOW | L.AT_EMPTY_PATH | L.AT_NO_AUTOMOUNT | L.AT_STATX_SYNC_TYPE)
  ) return -E.EINVAL;
  const path = readPath(t, pathAddr, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof path === "number") return path;
  if (path.length === 0 && dirfd !== L.AT_FDCWD) {
    const f = t.fdTable.get(dirfd);
    if (!f) return -E.EBADF;
    const st = f.stat();
    return typeof st === "number" ? st : { st, p: f.path };
  }
  const p = resolveAt(
    t,
    dirfd,
    path,
    { follow: !(flags & L.AT_SYMLINK_NOFOLLOW) },
    (flags & L.AT_EMPTY_PATH) !== 0,
  );
  if (typeof p === "number") return p;
  return { st: p.dentry.inode.stat(), p };
}

function sysFstat(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const st = f.stat();
  if (typeof st === "number") return st;
  return t.mm.copyOut(t.arg(1), encodeStat(st));
}

function sysStatCommon(
  t: Task,
  dirfd: number,
  pathAddr: number,
  buf: number,
  flags: number,
): number {
  const r = statTarget(t, dirfd, pathAddr, flags);
  if (typeof r === "number") return r;
  return t.mm.copyOut(buf, encodeStat(r.st));
}

const STATX_BASIC_STATS = 0x7ff;
const STATX_BTIME = 0x800;
const STATX_MNT_ID = 0x1000;

function sysStatx(t: Task): number {
  const dirfd = t.argInt(0),
    pathAddr = t.arg(1),
    flags = t.argInt(2),
    mask = t.argU32(3),
    buf = t.arg(4);
  if (mask & 0x80000000) return -E.EINVAL;
  if ((flags & L.AT_STATX_SYNC_TYPE) === L.AT_STATX_SYNC_TYPE) return -E.EINVAL;
  const r = statTarget(t, dirfd, pathAddr, flags);
  if (typeof r === "number") return r;
  const st = r.st;
  const b = new Uint8Array(256);
  const dv = new DataView(b.buffer);
  const set64 = (o: number, v: number) => {
    dv.setUint32(o, v >>> 0, true);
    dv.setUint32(o + 4, Math.floor(v / 4294967296) >>> 0, true);
  };
  let got = STATX_BASIC_STATS | (r.p ? STATX_MNT_ID : 0);
  const btime = st.btime ?? (st.btimeNs !== undefined ? tsFromNs(st.btimeNs) : undefined);
  if (btime) got |= STATX_BTIME;
  dv.setUint32(0, got, true);
  dv.setUint32(4, st.blksize, true);
  dv.setUint32(16, st.nlink, true);
  dv.setUint32(20, st.uid, true);
  dv.setUint32(24, st.gid, true);
  dv.setUint16(28, st.mode, true);
  set64(32, st.ino);
  set64(40, st.size);
  set64(48, st.blocks);
  // stx_attributes_mask (offset 56) stays 0: no STATX_ATTR_* is reported.
  const ts = (o: number, t: Timespec) => {
    setS64(dv, o, t.sec);
    dv.setUint32(o + 8, t.nsec, true);
  };
  ts(64, st.atime ?? tsFromNs(st.atimeNs));
  if (btime) ts(80, btime);
  ts(96, st.ctime ?? tsFromNs(st.ctimeNs));
  ts(112, st.mtime ?? tsFromNs(st.mtimeNs));
  dv.setUint32(128, Math.floor(st.rdev / 256) & 0xfff, true);
  dv.setUint32(132, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00), true);
  dv.setUint32(136, Math.floor(st.dev / 256) & 0xfff, true);
  dv.setUint32(140, (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00), true);
  if (r.p) set64(144, r.p.mount.id);
  return t.mm.copyOut(buf, b);
}

// ---- directories -----------------------------------------------------------------------

let direntOut = new Uint8Array(65536);
let direntDv = new DataView(direntOut.buffer);

/** getdents64 (wide = true) and the old getdents. The listing is taken when the offset
 * is 0; the offset is an index into it. */
function getdents(t: Task, wide: boolean): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  if (f instanceof PathFile) return -E.EBADF;
  if (!f.inode || !f.inode.isDir()) return -E.ENOTDIR;
  const addr = t.arg(1), size = t.argU32(2);
  if (f.offset === 0 || !f.dirSnapshot) {
    const list = f.readdir();
    if (typeof list === "number") return list;
    f.dirSnapshot = list;
  }
  const entries = f.dirSnapshot;
  const want = Math.min(size, 1 << 20);
  if (direntOut.length < want) {
    direntOut = new Uint8Array(want);
    direntDv = new DataView(direntOut.buffer);
  }
  const out = direntOut.subarray(0, want), dv = direntDv;
  let pos = 0;
  let i = f.offset;
  for (; i < entries.length; i++) {
    const e = entries[i];
    const reclen = wide
      ? Math.ceil((19 + e.name.length + 1) / 8) * 8
      : Math.ceil((18 + e.name.length + 2) / 8) * 8;
    if (pos + reclen > out.length) break;
    // The buffer is reused: padding must not show an earlier listing.
    out.fill(0, pos, pos + reclen);
    dv.setUint32(pos, e.ino >>> 0, true);
    dv.setUint32(pos + 4, Math.floor(e.ino / 4294967296) >>> 0, true);
    dv.setUint32(pos + 8, i + 1, true);
    dv.setUint32(pos + 12, 0, true);
    dv.setUint16(pos + 16, reclen, true);
    const nameAt = wide ? 19 : 18;
    if (wide) out[pos + 18] = e.type;
    for (let j = 0; j < e.name.length; j++) out[pos + nameAt + j] = e.name.charCodeAt(j);
    out[pos + nameAt + e.name.length] = 0;
    if (!wide) out[pos + reclen - 1] = e.type;
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
  if (t.fs.cwd.dentry.deleted) return -E.ENOENT;
  let p = pathString(t.fs.cwd, t.fs.root);
  if (p === null) p = "(unreachable)" + (t.fs.cwd.dentry.name ? "/" + t.fs.cwd.dentry.name : "");
  if (p.length + 1 > size) return -E.ERANGE;
  const b = new Uint8Array(p.length + 1);
  for (let i = 0; i < p.length; i++) b[i] = p.charCodeAt(i);
  const rc = t.mm.copyOut(addr, b);
  return rc < 0 ? rc : b.length;
}

function chdirTo(t: Task, p: VfsPath): number {
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
  const path = readPath(t, t.arg(0));
  if (typeof path === "number") return path;
  const p = resolveAt(t, L.AT_FDCWD, path, { follow: true });
  if (typeof p === "number") return p;
  if (!p.dentry.inode.isDir()) return -E.ENOTDIR;
  const perm = permission(p.dentry.inode, t.creds, 1);
  if (perm < 0) return perm;
  if (!t.creds.hasCap(CAP_SYS_CHROOT)) return -E.EPERM;
  t.fs.root = p;
  return 0;
}

// ---- access, readlink ------------------------------------------------------------------

function faccessat(t: Task, dirfd: number, pathAddr: number, mode: number, flags: number): number {
  if (mode & ~7) return -E.EINVAL;
  if (flags & ~(L.AT_EACCESS | L.AT_SYMLINK_NOFOLLOW | L.AT_EMPTY_PATH)) return -E.EINVAL;
  const path = readPath(t, pathAddr, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof path === "number") return path;
  const p = resolveAt(
    t,
    dirfd,
    path,
    { follow: !(flags & L.AT_SYMLINK_NOFOLLOW) },
    (flags & L.AT_EMPTY_PATH) !== 0,
  );
  if (typeof p === "number") return p;
  if (mode === 0) return 0;
  // access(2) checks with the real ids unless AT_EACCESS.
  let creds = t.creds;
  if (!(flags & L.AT_EACCESS) && (creds.ruid !== creds.fsuid || creds.rgid !== creds.fsgid)) {
    creds = creds.clone();
    creds.fsuid = creds.ruid;
    creds.fsgid = creds.rgid;
    if (creds.ruid !== 0) creds.effective = 0n;
    else creds.effective = creds.permitted;
  }
  // A read-only mount refuses W_OK before any permission check, as Linux does.
  if ((mode & 2) && (p.mount.flags & MNT_READONLY) && !isSpecialFile(p.dentry.inode.mode)) {
    return -E.EROFS;
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
  if (f instanceof PathFile) {
    // An O_PATH descriptor allows only the descriptor-level commands.
    if (
      cmd !== L.F_DUPFD && cmd !== L.F_DUPFD_CLOEXEC && cmd !== L.F_GETFD && cmd !== L.F_SETFD &&
      cmd !== L.F_GETFL
    ) {
      return -E.EBADF;
    }
  }
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
    case L.F_SETFL: {
      if (
        (arg & L.O_NOATIME) && !(f.flags & L.O_NOATIME) && f.inode &&
        t.creds.fsuid !== f.inode.permInfo().uid && !t.creds.hasCap(CAP_FOWNER)
      ) return -E.EPERM;
      f.flags = (f.flags & ~SETFL_MASK) | (arg & SETFL_MASK);
      return 0;
    }
    case L.F_GETOWN:
      return f.asyncOwner;
    case L.F_SETOWN:
      f.asyncOwner = t.argInt(2);
      return 0;
    case L.F_GETSIG:
      return f.asyncSignal;
    case L.F_SETSIG:
      if (arg > L.NSIG) return -E.EINVAL;
      f.asyncSignal = arg;
      return 0;
    case L.F_GETLK:
    case L.F_SETLK:
    case L.F_SETLKW:
    case L.F_OFD_GETLK:
    case L.F_OFD_SETLK:
    case L.F_OFD_SETLKW:
      return fcntlLock(t, f, cmd, arg);
    case L.F_ADD_SEALS:
    case L.F_GET_SEALS:
      return fcntlSeals(f, cmd, arg);
    case L.F_GETLEASE:
      return 2; // F_UNLCK: no lease
    default: {
      const r = f.fcntl({ mm: t.mm, task: t }, cmd, arg);
      if (r !== -E.EINVAL || !t.kernel.fcntlExtra) return r;
      return t.kernel.fcntlExtra(t, f, cmd, arg);
    }
  }
}

function sysIoctl(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const fd = t.argInt(0), cmd = t.argU32(1), arg = t.arg(2);
  if (f instanceof PathFile) return -E.EBADF;
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
    case L.FIOASYNC: {
      const v = t.mm.readU32(arg);
      if (v < 0) return v;
      f.flags = v ? f.flags | L.O_ASYNC : f.flags & ~L.O_ASYNC;
      return 0;
    }
    case L.FIONREAD:
      if (f.inode?.isRegular()) {
        const st = f.stat();
        if (typeof st === "number") return st;
        return t.mm.writeU32(arg, Math.max(0, Math.min(0x7fffffff, st.size - f.offset)));
      }
      break;
  }
  const r = f.ioctl({ mm: t.mm, task: t }, cmd, arg);
  // Regular files and directories have no ioctls of their own here (FS_IOC_*, FICLONE).
  return r;
}

// ---- sendfile, copy_file_range -------------------------------------------------------------

const SCRATCH = 64 * 1024;
let scratchOff = -1;

function scratch(t: Task): number {
  if (scratchOff < 0) scratchOff = t.kernel.memfile.allocChunk();
  return scratchOff;
}

/** Moves up to count bytes from `src` (read at srcPos, or its offset when srcPos < 0) to
 * `dst` (at dstPos, or its offset). Returns bytes moved, or -errno / BLOCK when nothing
 * was. Bytes are only taken from the source once the destination accepted them. */
function transfer(
  t: Task,
  src: FileDescription,
  srcPos: number,
  dst: FileDescription,
  dstPos: number,
  count: number,
  onDone: (srcAdvance: number) => void,
): number {
  const buf = scratch(t);
  if (buf < 0) return buf;
  const mem = t.kernel.memfile.mem;
  let done = 0;
  while (done < count) {
    const want = Math.min(SCRATCH, count - done);
    const from = srcPos >= 0 ? srcPos + done : src.offset;
    const n = src.read(new KernelIO(mem, buf, want), from);
    if (n < 0) {
      if (done > 0) break;
      if (n === -E.EAGAIN && !src.nonblocking) {
        return t.block([[src.waitQueue, L.POLLIN | L.POLLHUP | L.POLLERR]]);
      }
      return n;
    }
    if (n === 0) break;
    const w = dst.write(new KernelIO(mem, buf, n), dstPos >= 0 ? dstPos + done : -1);
    if (w < 0) {
      if (done > 0) break;
      if (w === -E.EAGAIN && !dst.nonblocking) {
        return t.block([[dst.waitQueue, L.POLLOUT | L.POLLHUP | L.POLLERR]]);
      }
      if (w === -E.EPIPE) {
        t.kernel.signals.sendToTask(t, {
          signo: L.SIGPIPE,
          errno: 0,
          code: L.SI_USER,
          pid: t.tg.tgid,
          uid: t.creds.ruid,
        });
      }
      return w;
    }
    done += w;
    if (srcPos < 0) src.offset += w;
    if (w < n) break;
  }
  onDone(done);
  if (done > 0 && anyWatches()) {
    fileEvent(src.path, src.inode, IN_ACCESS);
    fileEvent(dst.path, dst.inode, IN_MODIFY);
  }
  return done;
}

function sysSendfile(t: Task): number {
  const out = getFile(t, 0), inp = getFile(t, 1);
  if (typeof out === "number" || typeof inp === "number") return -E.EBADF;
  const offAddr = t.arg(2);
  const count = Math.min(t.arg(3), 0x7ffff000);
  if (!inp.readable || !out.writable) return -E.EBADF;
  if (!inp.inode || !seekable(inp) || inp.inode.isDir()) return -E.EINVAL;
  if (out.append) return -E.EINVAL;
  let pos = -1;
  if (offAddr !== 0) {
    const b = t.mm.copyIn(offAddr, 8);
    if (typeof b === "number") return b;
    const dv = new DataView(b.buffer);
    pos = dv.getUint32(0, true) + dv.getInt32(4, true) * 4294967296;
    if (pos < 0) return -E.EINVAL;
  }
  if (count === 0) return 0;
  return transfer(t, inp, pos, out, -1, count, (n) => {
    if (offAddr !== 0) {
      const b = new Uint8Array(8);
      const v = pos + n;
      new DataView(b.buffer).setUint32(0, v >>> 0, true);
      new DataView(b.buffer).setUint32(4, Math.floor(v / 4294967296), true);
      t.mm.copyOut(offAddr, b);
    }
  });
}

function readOff(t: Task, addr: number): number {
  const b = t.mm.copyIn(addr, 8);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const v = dv.getUint32(0, true) + dv.getInt32(4, true) * 4294967296;
  return v < 0 ? -E.EINVAL : v;
}

function writeOff(t: Task, addr: number, v: number): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  new DataView(b.buffer).setUint32(4, Math.floor(v / 4294967296), true);
  t.mm.copyOut(addr, b);
}

function sysCopyFileRange(t: Task): number {
  const inp = getFile(t, 0), out = getFile(t, 2);
  if (typeof inp === "number" || typeof out === "number") return -E.EBADF;
  const inAddr = t.arg(1),
    outAddr = t.arg(3),
    count = Math.min(t.arg(4), 0x7ffff000),
    flags = t.argU32(5);
  if (flags !== 0) return -E.EINVAL;
  if (!inp.readable || !out.writable || out.append) return -E.EBADF;
  if (!inp.inode || !out.inode) return -E.EINVAL;
  if (inp.inode.isDir() || out.inode.isDir()) return -E.EISDIR;
  if (!inp.inode.isRegular() || !out.inode.isRegular()) return -E.EINVAL;
  const inPos = inAddr ? readOff(t, inAddr) : inp.offset;
  if (inPos < 0) return inPos;
  const outPos = outAddr ? readOff(t, outAddr) : out.offset;
  if (outPos < 0) return outPos;
  if (
    inp.inode.identity() === out.inode.identity() && inPos < outPos + count &&
    outPos < inPos + count
  ) return -E.EINVAL;
  if (count === 0) return 0;
  const done = (n: number) => {
    if (inAddr) writeOff(t, inAddr, inPos + n);
    else inp.offset = inPos + n;
    if (outAddr) writeOff(t, outAddr, outPos + n);
    else out.offset = outPos + n;
  };
  if (inp instanceof HostRegularFile && out instanceof HostRegularFile) {
    // Both in host trees: the host copies (and may share extents) without the bytes
    // passing through the sandbox's memory.
    const n = host().sb_h_copy_file_range(inp.fd, inPos, out.fd, outPos, count);
    if (n >= 0) {
      done(n);
      if (n > 0 && anyWatches()) {
        fileEvent(inp.path, inp.inode, IN_ACCESS);
        fileEvent(out.path, out.inode, IN_MODIFY);
      }
      return n;
    }
    if (n !== -E.EXDEV && n !== -E.EINVAL && n !== -E.EOPNOTSUPP) return n;
  }
  return transfer(t, inp, inPos, out, outPos, count, done);
}

function sysReadahead(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  if (!f.readable) return -E.EBADF;
  if (!f.inode?.isRegular()) return -E.EINVAL;
  return 0;
}

function sysFadvise(t: Task): number {
  const f = getFile(t, 0);
  if (typeof f === "number") return f;
  const advice = t.argInt(3);
  if (advice < 0 || advice > 5) return -E.EINVAL;
  if (
    f.inode && !f.inode.isRegular() && !f.inode.isDir() && (f.inode.mode & L.S_IFMT) === L.S_IFIFO
  ) return -E.ESPIPE;
  return 0;
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
  { nr: Sys.openat2, fn: sysOpenat2, args: "fspu" },
  { nr: Sys.creat, fn: sysCreat, args: "so" },
  { nr: Sys.close, fn: sysClose, args: "f" },
  { nr: Sys.close_range, fn: sysCloseRange, args: "uux" },
  { nr: Sys.lseek, fn: sysLseek, args: "fdd" },
  { nr: Sys.fstat, fn: sysFstat, args: "fp" },
  { nr: Sys.stat, fn: (t) => sysStatCommon(t, L.AT_FDCWD, t.arg(0), t.arg(1), 0), args: "sp" },
  {
    nr: Sys.lstat,
    fn: (t) => sysStatCommon(t, L.AT_FDCWD, t.arg(0), t.arg(1), L.AT_SYMLINK_NOFOLLOW),
    args: "sp",
  },
  {
    nr: Sys.newfstatat,
    fn: (t) => sysStatCommon(t, t.argInt(0), t.arg(1), t.arg(2), t.argInt(3)),
    args: "fspx",
  },
  {
    nr: Sys.statx,
    fn: sysStatx,
    status: Support.Partial,
    note: "no stx_attributes, no DIO alignment fields",
    args: "fsxxp",
  },
  { nr: Sys.getdents64, fn: (t) => getdents(t, true), args: "fpu" },
  { nr: Sys.getdents, fn: (t) => getdents(t, false), args: "fpu" },
  { nr: Sys.getcwd, fn: sysGetcwd, args: "pu" },
  { nr: Sys.chdir, fn: sysChdir, args: "s" },
  { nr: Sys.fchdir, fn: sysFchdir, args: "f" },
  { nr: Sys.chroot, fn: sysChroot, args: "s" },
  { nr: Sys.access, fn: (t) => faccessat(t, L.AT_FDCWD, t.arg(0), t.argInt(1), 0), args: "so" },
  {
    nr: Sys.faccessat,
    fn: (t) => faccessat(t, t.argInt(0), t.arg(1), t.argInt(2), 0),
    args: "fso",
  },
  {
    nr: Sys.faccessat2,
    fn: (t) => faccessat(t, t.argInt(0), t.arg(1), t.argInt(2), t.argInt(3)),
    args: "fsox",
  },
  {
    nr: Sys.readlink,
    fn: (t) => readlinkat(t, L.AT_FDCWD, t.arg(0), t.arg(1), t.argInt(2)),
    args: "spd",
  },
  {
    nr: Sys.readlinkat,
    fn: (t) => readlinkat(t, t.argInt(0), t.arg(1), t.arg(2), t.argInt(3)),
    args: "fspd",
  },
  { nr: Sys.dup, fn: sysDup, args: "f" },
  { nr: Sys.dup2, fn: sysDup2, args: "ff" },
  { nr: Sys.dup3, fn: sysDup3, args: "ffx" },
  {
    nr: Sys.fcntl,
    fn: sysFcntl,
    status: Support.Partial,
    note: "no leases (F_SETLEASE), no F_NOTIFY; F_SETOWN/F_SETSIG are recorded only",
    args: "fdx",
  },
  { nr: Sys.ioctl, fn: sysIoctl, args: "fxx" },
  { nr: Sys.sendfile, fn: sysSendfile, args: "ffpu" },
  { nr: Sys.copy_file_range, fn: sysCopyFileRange, args: "fpfpux" },
  { nr: Sys.readahead, fn: sysReadahead, args: "fdu" },
  {
    nr: Sys.fadvise64,
    fn: sysFadvise,
    status: Support.Stub,
    note: "advice accepted and ignored",
    args: "fddd",
  },
];

export { BLOCK, MNT_READONLY };
