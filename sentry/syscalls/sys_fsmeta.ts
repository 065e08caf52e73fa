// File metadata and the namespace: mkdir, mknod, unlink, rmdir, rename, link, symlink,
// chmod, chown, utimes, truncate, fallocate, fsync, statfs. The VFS checks (permissions,
// sticky directories, read-only mounts, names) are made here; filesystems carry out.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import { type FileDescription, PathFile } from "../vfs/file.ts";
import {
  anyWatches,
  childEvent,
  fileEvent,
  IN_ATTRIB,
  IN_CREATE,
  IN_DELETE,
  IN_MODIFY,
  IN_MOVE_SELF,
  IN_MOVED_FROM,
  IN_MOVED_TO,
  inodeDeleted,
  inodeEvent,
  moveCookie,
} from "../vfs/fsnotify.ts";
import {
  type Dentry,
  type Inode,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  RENAME_WHITEOUT,
  type SetAttr,
  type StatFs,
  type Timespec,
  tsFromNs,
} from "../vfs/inode.ts";
import { MNT_NODEV, MNT_NOEXEC, MNT_NOSUID, MNT_READONLY, type VfsPath } from "../vfs/mount.ts";
import { permission } from "../vfs/resolve.ts";
import {
  applyUmask,
  CAP_CHOWN,
  CAP_FSETID,
  CAP_MKNOD,
  inGroup,
  isOwner,
  mayCreate,
  mayDelete,
  ownerFor,
  parentAt,
} from "./fsutil.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { readPath, resolveAt } from "./util.ts";

function nowNs(t: Task): number {
  return t.kernel.realtimeNs();
}

function nlinkOf(inode: Inode): number {
  return inode.stat().nlink;
}

// ---- creating names ------------------------------------------------------------------

/** The child `name` of a resolved parent, or -ENOENT etc.; "." and ".." are callers'. */
function child(dir: VfsPath, name: string): Dentry | number {
  return dir.dentry.child(name);
}

function mkdirat(t: Task, dirfd: number, pathAddr: number, mode: number): number {
  const path = readPath(t, pathAddr);
  if (typeof path === "number") return path;
  const pr = parentAt(t, dirfd, path);
  if (typeof pr === "number") return pr;
  if (pr.name === "." || pr.name === "..") return -E.EEXIST;
  const existing = child(pr.dir, pr.name);
  if (typeof existing !== "number") return -E.EEXIST;
  if (existing !== -E.ENOENT) return existing;
  const perm = mayCreate(t, pr.dir);
  if (perm < 0) return perm;
  const dir = pr.dir.dentry.inode;
  let m = applyUmask(t, mode) & 0o1777;
  if (dir.attrs().mode & L.S_ISGID) m |= L.S_ISGID;
  const inode = dir.mkdir(pr.name, m, ownerFor(t, dir));
  if (typeof inode === "number") return inode;
  pr.dir.dentry.added(pr.name, inode);
  if (anyWatches()) childEvent(dir, pr.name, inode, IN_CREATE);
  return 0;
}

/** mknod: also what bind() of a unix socket uses to make its file (S_IFSOCK); returns the
 * new inode (and its path) or -errno. */
export function mknodAt(
  t: Task,
  dirfd: number,
  path: string,
  mode: number,
  rdev: number,
): VfsPath | number {
  let fmt = mode & L.S_IFMT;
  if (fmt === 0) fmt = L.S_IFREG;
  if (fmt === L.S_IFDIR) return -E.EPERM;
  if (
    fmt !== L.S_IFREG && fmt !== L.S_IFIFO && fmt !== L.S_IFSOCK && fmt !== L.S_IFCHR &&
    fmt !== L.S_IFBLK
  ) {
    return -E.EINVAL;
  }
  const pr = parentAt(t, dirfd, path);
  if (typeof pr === "number") return pr;
  if (pr.name === "." || pr.name === "..") return -E.EEXIST;
  const existing = child(pr.dir, pr.name);
  if (typeof existing !== "number") return -E.EEXIST;
  if (existing !== -E.ENOENT) return existing;
  if (pr.trailingSlash) return -E.ENOENT;
  if ((fmt === L.S_IFCHR || fmt === L.S_IFBLK) && !t.creds.hasCap(CAP_MKNOD)) return -E.EPERM;
  const perm = mayCreate(t, pr.dir);
  if (perm < 0) return perm;
  const dir = pr.dir.dentry.inode;
  const m = fmt | applyUmask(t, mode);
  const inode = fmt === L.S_IFREG
    ? dir.create(pr.name, m & 0o7777, ownerFor(t, dir))
    : dir.mknod(pr.name, m, rdev, ownerFor(t, dir));
  if (typeof inode === "number") return inode;
  const d = pr.dir.dentry.added(pr.name, inode);
  if (anyWatches()) childEvent(dir, pr.name, inode, IN_CREATE);
  return { mount: pr.dir.mount, dentry: d };
}

function mknodat(t: Task, dirfd: number, pathAddr: number, mode: number, dev: number): number {
  const path = readPath(t, pathAddr);
  if (typeof path === "number") return path;
  const r = mknodAt(t, dirfd, path, mode, dev);
  return typeof r === "number" ? r : 0;
}

function symlinkat(t: Task, targetAddr: number, dirfd: number, pathAddr: number): number {
  const target = readPath(t, targetAddr);
  if (typeof target === "number") return target;
  const path = readPath(t, pathAddr);
  if (typeof path === "number") return path;
  const pr = parentAt(t, dirfd, path);
  if (typeof pr === "number") return pr;
  if (pr.name === "." || pr.name === "..") return -E.EEXIST;
  const existing = child(pr.dir, pr.name);
  if (typeof existing !== "number") return -E.EEXIST;
  if (existing !== -E.ENOENT) return existing;
  if (pr.trailingSlash) return -E.ENOENT;
  const perm = mayCreate(t, pr.dir);
  if (perm < 0) return perm;
  const dir = pr.dir.dentry.inode;
  const inode = dir.symlink(pr.name, target, ownerFor(t, dir));
  if (typeof inode === "number") return inode;
  pr.dir.dentry.added(pr.name, inode);
  if (anyWatches()) childEvent(dir, pr.name, inode, IN_CREATE);
  return 0;
}

function linkat(
  t: Task,
  olddirfd: number,
  oldAddr: number,
  newdirfd: number,
  newAddr: number,
  flags: number,
): number {
  if (flags & ~(L.AT_SYMLINK_FOLLOW | L.AT_EMPTY_PATH)) return -E.EINVAL;
  const oldPath = readPath(t, oldAddr, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof oldPath === "number") return oldPath;
  if (oldPath.length === 0 && !t.creds.hasCap(2 /* CAP_DAC_READ_SEARCH */)) return -E.ENOENT;
  const newPath = readPath(t, newAddr);
  if (typeof newPath === "number") return newPath;
  const src = resolveAt(
    t,
    olddirfd,
    oldPath,
    { follow: (flags & L.AT_SYMLINK_FOLLOW) !== 0 },
    true,
  );
  if (typeof src === "number") return src;
  const pr = parentAt(t, newdirfd, newPath);
  if (typeof pr === "number") return pr;
  if (pr.name === "." || pr.name === "..") return -E.EEXIST;
  const existing = child(pr.dir, pr.name);
  if (typeof existing !== "number") return -E.EEXIST;
  if (existing !== -E.ENOENT) return existing;
  if (pr.trailingSlash) return -E.ENOENT;
  if (pr.dir.mount !== src.mount) return -E.EXDEV;
  const target = src.dentry.inode;
  if (target.isDir()) return -E.EPERM;
  const perm = mayCreate(t, pr.dir);
  if (perm < 0) return perm;
  const dir = pr.dir.dentry.inode;
  const rc = dir.link(pr.name, target);
  if (rc < 0) return rc;
  // A host tree gives each name its own inode object; others share the node.
  const again = pr.dir.dentry.child(pr.name);
  if (typeof again === "number") pr.dir.dentry.added(pr.name, target);
  if (anyWatches()) {
    inodeEvent(target, IN_ATTRIB);
    childEvent(dir, pr.name, target, IN_CREATE);
  }
  return 0;
}

// ---- removing names ------------------------------------------------------------------

function unlinkat(t: Task, dirfd: number, pathAddr: number, flags: number): number {
  if (flags & ~L.AT_REMOVEDIR) return -E.EINVAL;
  const path = readPath(t, pathAddr);
  if (typeof path === "number") return path;
  return flags & L.AT_REMOVEDIR ? doRmdir(t, dirfd, path) : doUnlink(t, dirfd, path);
}

function doUnlink(t: Task, dirfd: number, path: string): number {
  const pr = parentAt(t, dirfd, path);
  if (typeof pr === "number") return pr;
  if (pr.name === "." || pr.name === "..") return -E.EISDIR;
  if (pr.dir.mount.flags & MNT_READONLY) return -E.EROFS;
  const victim = child(pr.dir, pr.name);
  if (typeof victim === "number") return victim;
  const inode = victim.inode;
  if (inode.isDir()) return -E.EISDIR;
  if (pr.trailingSlash) return -E.ENOTDIR;
  const perm = mayDelete(t, pr.dir, victim);
  if (perm < 0) return perm;
  const dir = pr.dir.dentry.inode;
  const rc = dir.unlink(pr.name);
  if (rc < 0) return rc;
  pr.dir.dentry.drop(pr.name);
  if (anyWatches()) {
    // Linux's order: the link count changed, the file is gone (if that was its last
    // name), then the directory lost an entry.
    inodeEvent(inode, IN_ATTRIB);
    if (nlinkOf(inode) === 0) inodeDeleted(inode);
    childEvent(dir, pr.name, inode, IN_DELETE);
  }
  return 0;
}

function doRmdir(t: Task, dirfd: number, path: string): number {
  const pr = parentAt(t, dirfd, path);
  if (typeof pr === "number") return pr;
  if (pr.name === ".") return -E.EINVAL;
  if (pr.name === "..") return -E.ENOTEMPTY;
  if (pr.dir.mount.flags & MNT_READONLY) return -E.EROFS;
  const victim = child(pr.dir, pr.name);
  if (typeof victim === "number") return victim;
  const inode = victim.inode;
  if (!inode.isDir()) return -E.ENOTDIR;
  if (victim === t.fs.root.dentry) return -E.EBUSY;
  const perm = mayDelete(t, pr.dir, victim);
  if (perm < 0) return perm;
  const dir = pr.dir.dentry.inode;
  const rc = dir.rmdir(pr.name);
  if (rc < 0) return rc;
  pr.dir.dentry.drop(pr.name);
  if (anyWatches()) {
    inodeDeleted(inode);
    childEvent(dir, pr.name, inode, IN_DELETE);
  }
  return 0;
}

function renameat2(
  t: Task,
  olddirfd: number,
  oldAddr: number,
  newdirfd: number,
  newAddr: number,
  flags: number,
): number {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return -E.EINVAL;
  if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return -E.EINVAL;
  if (flags & RENAME_WHITEOUT) return -E.EINVAL;
  const oldPath = readPath(t, oldAddr);
  if (typeof oldPath === "number") return oldPath;
  const newPath = readPath(t, newAddr);
  if (typeof newPath === "number") return newPath;
  const op = parentAt(t, olddirfd, oldPath);
  if (typeof op === "number") return op;
  const np = parentAt(t, newdirfd, newPath);
  if (typeof np === "number") return np;
  if (op.name === "." || op.name === "..") return -E.EBUSY;
  if (np.name === "." || np.name === "..") return flags & RENAME_NOREPLACE ? -E.EEXIST : -E.EBUSY;
  if (op.dir.mount !== np.dir.mount) return -E.EXDEV;
  if (op.dir.mount.flags & MNT_READONLY) return -E.EROFS;
  const src = child(op.dir, op.name);
  if (typeof src === "number") return src;
  const srcIsDir = src.inode.isDir();
  if (!srcIsDir && (op.trailingSlash || np.trailingSlash) && !(flags & RENAME_EXCHANGE)) {
    return -E.ENOTDIR;
  }
  const dstOrErr = child(np.dir, np.name);
  if (typeof dstOrErr === "number" && dstOrErr !== -E.ENOENT) return dstOrErr;
  const dst = typeof dstOrErr === "number" ? null : dstOrErr;
  if ((flags & RENAME_NOREPLACE) && dst) return -E.EEXIST;
  if ((flags & RENAME_EXCHANGE) && !dst) return -E.ENOENT;
  if (
    dst && (flags & RENAME_EXCHANGE) && !dst.inode.isDir() && (op.trailingSlash || np.trailingSlash)
  ) return -E.ENOTDIR;
  // Moving a directory into itself.
  if (srcIsDir && np.dir.dentry.isBelow(src)) return -E.EINVAL;
  if (dst && dst.inode.isDir() && op.dir.dentry.isBelow(dst)) {
    return flags & RENAME_EXCHANGE ? -E.EINVAL : -E.ENOTEMPTY;
  }
  if (dst === src || (dst && dst.inode === src.inode)) return 0;
  if (dst && !(flags & RENAME_EXCHANGE)) {
    if (srcIsDir && !dst.inode.isDir()) return -E.ENOTDIR;
    if (!srcIsDir && dst.inode.isDir()) return -E.EISDIR;
  }
  let perm = mayDelete(t, op.dir, src);
  if (perm < 0) return perm;
  perm = dst ? mayDelete(t, np.dir, dst) : mayCreate(t, np.dir);
  if (perm < 0) return perm;
  if (op.dir.dentry !== np.dir.dentry) {
    // A directory changing parents has its ".." rewritten: it must be writable.
    if (srcIsDir) {
      perm = permission(src.inode, t.creds, 2);
      if (perm < 0) return perm;
    }
    if (dst && (flags & RENAME_EXCHANGE) && dst.inode.isDir()) {
      perm = permission(dst.inode, t.creds, 2);
      if (perm < 0) return perm;
    }
  }
  const dstInode = dst?.inode ?? null;
  const rc = op.dir.dentry.inode.rename(op.name, np.dir.dentry.inode, np.name, flags);
  if (rc < 0) return rc;
  if (flags & RENAME_EXCHANGE) {
    op.dir.dentry.exchanged(op.name, np.dir.dentry, np.name);
    dstInode?.moved(op.dir.dentry.inode, op.name);
  } else {
    op.dir.dentry.moved(op.name, np.dir.dentry, np.name);
  }
  src.inode.moved(np.dir.dentry.inode, np.name);
  if (anyWatches()) {
    const cookie = moveCookie();
    childEvent(op.dir.dentry.inode, op.name, src.inode, IN_MOVED_FROM, cookie);
    childEvent(np.dir.dentry.inode, np.name, src.inode, IN_MOVED_TO, cookie);
    inodeEvent(src.inode, IN_MOVE_SELF);
    if (dstInode && (flags & RENAME_EXCHANGE)) {
      const c2 = moveCookie();
      childEvent(np.dir.dentry.inode, np.name, dstInode, IN_MOVED_FROM, c2);
      childEvent(op.dir.dentry.inode, op.name, dstInode, IN_MOVED_TO, c2);
      inodeEvent(dstInode, IN_MOVE_SELF);
    } else if (dstInode) {
      if (dstInode.isDir() || nlinkOf(dstInode) === 0) inodeDeleted(dstInode);
      else inodeEvent(dstInode, IN_ATTRIB);
    }
  }
  return 0;
}

// ---- attributes ------------------------------------------------------------------------

/** The file an attribute call names: a path (follow or not, AT_EMPTY_PATH) or an fd. */
interface Target {
  p: VfsPath | null;
  inode: Inode;
  file: FileDescription | null;
}

/** The flags an *at attribute call takes to name its target. */
const AT_TARGET_FLAGS = L.AT_SYMLINK_NOFOLLOW | L.AT_EMPTY_PATH;

/** pathTarget with follow and AT_EMPTY_PATH taken from an *at call's flags.
 * Precondition: the caller has refused flags outside AT_TARGET_FLAGS. */
function pathTargetAt(t: Task, dirfd: number, pathAddr: number, flags: number): Target | number {
  return pathTarget(
    t,
    dirfd,
    pathAddr,
    !(flags & L.AT_SYMLINK_NOFOLLOW),
    (flags & L.AT_EMPTY_PATH) !== 0,
  );
}

function pathTarget(
  t: Task,
  dirfd: number,
  pathAddr: number,
  follow: boolean,
  emptyOk: boolean,
): Target | number {
  const path = readPath(t, pathAddr, emptyOk);
  if (typeof path === "number") return path;
  if (path.length === 0 && dirfd !== L.AT_FDCWD) return fdTarget(t, dirfd, true);
  const p = resolveAt(t, dirfd, path, { follow }, emptyOk);
  if (typeof p === "number") return p;
  return { p, inode: p.dentry.inode, file: null };
}

function fdTarget(t: Task, fd: number, pathOk: boolean): Target | number {
  const f = t.fdTable.get(fd);
  if (!f) return -E.EBADF;
  if (f instanceof PathFile && !pathOk) return -E.EBADF;
  if (!f.inode) return -E.EBADF;
  return { p: f.path, inode: f.inode, file: f };
}

function readonlyTarget(x: Target): boolean {
  return x.p !== null && (x.p.mount.flags & MNT_READONLY) !== 0;
}

function changed(x: Target, mask: number): void {
  if (anyWatches()) fileEvent(x.p, x.inode, mask);
}

function setMode(t: Task, x: Target, mode: number): number {
  if (!isOwner(t, x.inode)) return -E.EPERM;
  if (readonlyTarget(x)) return -E.EROFS;
  if (x.inode.isSymlink()) return -E.EOPNOTSUPP;
  let m = mode & 0o7777;
  if ((m & L.S_ISGID) && !inGroup(t, x.inode.attrs().gid) && !t.creds.hasCap(CAP_FSETID)) {
    m &= ~L.S_ISGID;
  }
  const rc = x.inode.setattr({ mode: m });
  if (rc < 0) return rc;
  changed(x, IN_ATTRIB);
  return 0;
}

function setOwner(t: Task, x: Target, uid: number, gid: number): number {
  const st = x.inode.attrs();
  const NONE = 0xffffffff;
  const a: SetAttr = {};
  if (uid !== NONE && uid !== st.uid) {
    if (!t.creds.hasCap(CAP_CHOWN)) return -E.EPERM;
    a.uid = uid;
  } else if (uid !== NONE && t.creds.fsuid !== st.uid && !t.creds.hasCap(CAP_CHOWN)) {
    return -E.EPERM;
  }
  if (gid !== NONE && gid !== st.gid) {
    if (!t.creds.hasCap(CAP_CHOWN) && !(t.creds.fsuid === st.uid && inGroup(t, gid))) {
      return -E.EPERM;
    }
    a.gid = gid;
  } else if (gid !== NONE && t.creds.fsuid !== st.uid && !t.creds.hasCap(CAP_CHOWN)) {
    return -E.EPERM;
  }
  if (readonlyTarget(x)) return -E.EROFS;
  // A change of owner or group drops set-user-ID (and set-group-ID with group execute)
  // from anything but a directory.
  if (!x.inode.isDir() && !x.inode.isSymlink() && (uid !== NONE || gid !== NONE)) {
    let m = st.mode & 0o7777;
    if (m & L.S_ISUID) m &= ~L.S_ISUID;
    if ((m & (L.S_ISGID | 0o010)) === (L.S_ISGID | 0o010)) m &= ~L.S_ISGID;
    if (m !== (st.mode & 0o7777)) a.mode = m;
  }
  const rc = x.inode.setattr(a);
  if (rc < 0) return rc;
  changed(x, IN_ATTRIB);
  return 0;
}

const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;

/** A time to set: exact, now, or left alone. */
type TimeArg = Timespec | "now" | "omit";

/** times: [atime, mtime], or null: both now. */
function setTimes(t: Task, x: Target, times: [TimeArg, TimeArg] | null): number {
  const explicit = times !== null && (typeof times[0] === "object" || typeof times[1] === "object");
  if (explicit) {
    if (!isOwner(t, x.inode)) return -E.EPERM;
  } else if (!isOwner(t, x.inode)) {
    const perm = permission(x.inode, t.creds, 2);
    if (perm < 0) return -E.EACCES;
  }
  if (readonlyTarget(x)) return -E.EROFS;
  const now = tsFromNs(nowNs(t));
  const a: SetAttr = {};
  const pick = (v: TimeArg) => (v === "now" ? now : v as Timespec);
  if (times === null) {
    a.atime = now;
    a.mtime = now;
  } else {
    if (times[0] !== "omit") a.atime = pick(times[0]);
    if (times[1] !== "omit") a.mtime = pick(times[1]);
  }
  const rc = x.inode.setattr(a);
  if (rc < 0) return rc;
  changed(x, IN_ATTRIB);
  return 0;
}

/** Two {seconds, fraction} pairs of signed 64-bit words at addr: struct timespec[2] and
 * struct timeval[2] have the same layout on x86-64. */
function readTimePairs(t: Task, addr: number): Array<[number, number]> | number {
  const b = t.mm.copyIn(addr, 32);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const word = (at: number) => dv.getInt32(at + 4, true) * 4294967296 + dv.getUint32(at, true);
  return [[word(0), word(8)], [word(16), word(24)]];
}

function readUtimens(t: Task, addr: number): [TimeArg, TimeArg] | null | number {
  if (addr === 0) return null;
  const pairs = readTimePairs(t, addr);
  if (typeof pairs === "number") return pairs;
  const out: [TimeArg, TimeArg] = ["omit", "omit"];
  for (let i = 0; i < 2; i++) {
    const [sec, nsec] = pairs[i];
    if (nsec === UTIME_NOW) out[i] = "now";
    else if (nsec === UTIME_OMIT) out[i] = "omit";
    else if (nsec < 0 || nsec >= 1e9) return -E.EINVAL;
    else out[i] = { sec, nsec };
  }
  return out;
}

function sysUtimensat(t: Task): number {
  const dirfd = t.argInt(0), pathAddr = t.arg(1), flags = t.argInt(3);
  if (flags & ~AT_TARGET_FLAGS) return -E.EINVAL;
  const times = readUtimens(t, t.arg(2));
  if (typeof times === "number") return times;
  if (times && times[0] === "omit" && times[1] === "omit") return 0;
  let x: Target | number;
  if (pathAddr === 0) {
    if (flags & L.AT_SYMLINK_NOFOLLOW) return -E.EINVAL;
    x = dirfd === L.AT_FDCWD ? -E.EFAULT : fdTarget(t, dirfd, false);
  } else {
    x = pathTargetAt(t, dirfd, pathAddr, flags);
  }
  if (typeof x === "number") return x;
  return setTimes(t, x, times);
}

/** utimes/futimesat: struct timeval[2], or NULL. */
function timevals(t: Task, addr: number): [TimeArg, TimeArg] | null | number {
  if (addr === 0) return null;
  const pairs = readTimePairs(t, addr);
  if (typeof pairs === "number") return pairs;
  const out: [TimeArg, TimeArg] = ["omit", "omit"];
  for (let i = 0; i < 2; i++) {
    const [sec, usec] = pairs[i];
    if (usec < 0 || usec >= 1e6) return -E.EINVAL;
    out[i] = { sec, nsec: usec * 1000 };
  }
  return out;
}

function sysFutimesat(t: Task, dirfd: number, pathAddr: number, tvAddr: number): number {
  const times = timevals(t, tvAddr);
  if (typeof times === "number") return times;
  const x = pathTarget(t, dirfd, pathAddr, true, false);
  if (typeof x === "number") return x;
  return setTimes(t, x, times);
}

function sysUtime(t: Task): number {
  const bufAddr = t.arg(1);
  let times: [TimeArg, TimeArg] | null = null;
  if (bufAddr !== 0) {
    const b = t.mm.copyIn(bufAddr, 16);
    if (typeof b === "number") return b;
    const dv = new DataView(b.buffer);
    const a = dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
    const m = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
    times = [{ sec: a, nsec: 0 }, { sec: m, nsec: 0 }];
  }
  const x = pathTarget(t, L.AT_FDCWD, t.arg(0), true, false);
  if (typeof x === "number") return x;
  return setTimes(t, x, times);
}

function truncatePath(t: Task): number {
  const len = t.argSigned(1);
  if (len < 0) return -E.EINVAL;
  const x = pathTarget(t, L.AT_FDCWD, t.arg(0), true, false);
  if (typeof x === "number") return x;
  if (x.inode.isDir()) return -E.EISDIR;
  if (!x.inode.isRegular()) return -E.EINVAL;
  const perm = permission(x.inode, t.creds, 2);
  if (perm < 0) return perm;
  if (readonlyTarget(x)) return -E.EROFS;
  if (len > t.rlimit(L.RLIMIT_FSIZE).cur) return -E.EFBIG;
  const rc = x.inode.setattr({ size: len });
  if (rc < 0) return rc;
  changed(x, IN_MODIFY);
  return 0;
}

function sysFtruncate(t: Task): number {
  const len = t.argSigned(1);
  if (len < 0) return -E.EINVAL;
  const f = t.fdTable.get(t.argInt(0));
  if (!f) return -E.EBADF;
  if (f instanceof PathFile) return -E.EBADF;
  if (!f.writable) return -E.EINVAL;
  if (!f.inode?.isRegular()) return -E.EINVAL;
  if (len > t.rlimit(L.RLIMIT_FSIZE).cur) return -E.EFBIG;
  const rc = f.truncate(len);
  if (rc < 0) return rc;
  if (anyWatches()) fileEvent(f.path, f.inode, IN_MODIFY);
  return 0;
}

function sysFallocate(t: Task): number {
  const f = t.fdTable.get(t.argInt(0));
  if (!f || f instanceof PathFile) return -E.EBADF;
  const mode = t.argInt(1), off = t.argSigned(2), len = t.argSigned(3);
  if (off < 0 || len <= 0) return -E.EINVAL;
  if (!f.writable) return -E.EBADF;
  if (f.inode?.isDir()) return -E.EISDIR;
  if (!f.inode?.isRegular()) return (f.inode?.mode ?? 0) & L.S_IFIFO ? -E.ESPIPE : -E.ENODEV;
  if (off + len > 2 ** 53) return -E.EFBIG;
  const rc = f.fallocate(mode, off, len);
  if (rc < 0) return rc;
  if (anyWatches()) fileEvent(f.path, f.inode, IN_MODIFY);
  return 0;
}

function sysFsync(t: Task): number {
  const f = t.fdTable.get(t.argInt(0));
  if (!f || f instanceof PathFile) return -E.EBADF;
  return f.fsync();
}

function sysSyncFileRange(t: Task): number {
  const f = t.fdTable.get(t.argInt(0));
  if (!f || f instanceof PathFile) return -E.EBADF;
  const off = t.argSigned(1), n = t.argSigned(2), flags = t.argU32(3);
  if (flags & ~7 || off < 0 || n < 0) return -E.EINVAL;
  if (f.inode && !f.inode.isRegular() && !f.inode.isDir()) return -E.ESPIPE;
  return 0;
}

// ---- statfs ---------------------------------------------------------------------------

const ST_RDONLY = 1,
  ST_NOSUID = 2,
  ST_NODEV = 4,
  ST_NOEXEC = 8,
  ST_VALID = 0x20,
  ST_RELATIME = 0x1000;

function encodeStatfs(s: StatFs, p: VfsPath): Uint8Array {
  const b = new Uint8Array(120);
  const dv = new DataView(b.buffer);
  const set64 = (o: number, v: number) => {
    dv.setUint32(o, v >>> 0, true);
    dv.setUint32(o + 4, Math.floor(v / 4294967296) >>> 0, true);
  };
  set64(0, s.type);
  set64(8, s.bsize);
  set64(16, s.blocks);
  set64(24, s.bfree);
  set64(32, s.bavail);
  set64(40, s.files);
  set64(48, s.ffree);
  const dev = p.mount.fs.dev;
  dv.setUint32(56, dev & 0xffffffff, true);
  dv.setUint32(60, 0, true);
  set64(64, s.namelen);
  set64(72, s.frsize);
  const mf = p.mount.flags;
  let flags = ST_VALID | ST_RELATIME;
  if (mf & MNT_READONLY) flags |= ST_RDONLY;
  if (mf & MNT_NOSUID) flags |= ST_NOSUID;
  if (mf & MNT_NODEV) flags |= ST_NODEV;
  if (mf & MNT_NOEXEC) flags |= ST_NOEXEC;
  set64(80, flags);
  return b;
}

function sysStatfs(t: Task): number {
  const path = readPath(t, t.arg(0));
  if (typeof path === "number") return path;
  const p = resolveAt(t, L.AT_FDCWD, path, { follow: true });
  if (typeof p === "number") return p;
  return t.mm.copyOut(t.arg(1), encodeStatfs(p.mount.fs.statfs(), p));
}

function sysFstatfs(t: Task): number {
  const f = t.fdTable.get(t.argInt(0));
  if (!f) return -E.EBADF;
  if (!f.path) {
    // Pipes, sockets and other anonymous files.
    const s: StatFs = {
      type: 0x50495045,
      bsize: 4096,
      blocks: 0,
      bfree: 0,
      bavail: 0,
      files: 0,
      ffree: 0,
      namelen: 255,
      frsize: 4096,
      flags: 0,
    };
    const b = new Uint8Array(120);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, s.type, true);
    dv.setUint32(8, s.bsize, true);
    dv.setUint32(64, s.namelen, true);
    dv.setUint32(72, s.frsize, true);
    dv.setUint32(80, ST_VALID, true);
    return t.mm.copyOut(t.arg(1), b);
  }
  return t.mm.copyOut(t.arg(1), encodeStatfs(f.path.mount.fs.statfs(), f.path));
}

export const fsmetaSyscalls: SyscallDef[] = [
  { nr: Sys.mkdir, fn: (t) => mkdirat(t, L.AT_FDCWD, t.arg(0), t.argU32(1)), args: "so" },
  { nr: Sys.mkdirat, fn: (t) => mkdirat(t, t.argInt(0), t.arg(1), t.argU32(2)), args: "fso" },
  {
    nr: Sys.mknod,
    fn: (t) => mknodat(t, L.AT_FDCWD, t.arg(0), t.argU32(1), t.argU32(2)),
    args: "sox",
  },
  {
    nr: Sys.mknodat,
    fn: (t) => mknodat(t, t.argInt(0), t.arg(1), t.argU32(2), t.argU32(3)),
    args: "fsox",
  },
  { nr: Sys.unlink, fn: (t) => unlinkat(t, L.AT_FDCWD, t.arg(0), 0), args: "s" },
  { nr: Sys.rmdir, fn: (t) => unlinkat(t, L.AT_FDCWD, t.arg(0), L.AT_REMOVEDIR), args: "s" },
  { nr: Sys.unlinkat, fn: (t) => unlinkat(t, t.argInt(0), t.arg(1), t.argInt(2)), args: "fsx" },
  {
    nr: Sys.rename,
    fn: (t) => renameat2(t, L.AT_FDCWD, t.arg(0), L.AT_FDCWD, t.arg(1), 0),
    args: "ss",
  },
  {
    nr: Sys.renameat,
    fn: (t) => renameat2(t, t.argInt(0), t.arg(1), t.argInt(2), t.arg(3), 0),
    args: "fsfs",
  },
  {
    nr: Sys.renameat2,
    fn: (t) => renameat2(t, t.argInt(0), t.arg(1), t.argInt(2), t.arg(3), t.argU32(4)),
    status: Support.Partial,
    note: "no RENAME_WHITEOUT",
    args: "fsfsx",
  },
  { nr: Sys.link, fn: (t) => linkat(t, L.AT_FDCWD, t.arg(0), L.AT_FDCWD, t.arg(1), 0), args: "ss" },
  {
    nr: Sys.linkat,
    fn: (t) => linkat(t, t.argInt(0), t.arg(1), t.argInt(2), t.arg(3), t.argInt(4)),
    args: "fsfsx",
  },
  { nr: Sys.symlink, fn: (t) => symlinkat(t, t.arg(0), L.AT_FDCWD, t.arg(1)), args: "ss" },
  { nr: Sys.symlinkat, fn: (t) => symlinkat(t, t.arg(0), t.argInt(1), t.arg(2)), args: "sfs" },
  {
    nr: Sys.chmod,
    fn: (t) => {
      const x = pathTarget(t, L.AT_FDCWD, t.arg(0), true, false);
      return typeof x === "number" ? x : setMode(t, x, t.argU32(1));
    },
    args: "so",
  },
  {
    nr: Sys.fchmod,
    fn: (t) => {
      const x = fdTarget(t, t.argInt(0), false);
      return typeof x === "number" ? x : setMode(t, x, t.argU32(1));
    },
    args: "fo",
  },
  {
    nr: Sys.fchmodat,
    fn: (t) => {
      const x = pathTarget(t, t.argInt(0), t.arg(1), true, false);
      return typeof x === "number" ? x : setMode(t, x, t.argU32(2));
    },
    args: "fso",
  },
  {
    nr: 452, /* fchmodat2 */
    fn: (t) => {
      const flags = t.argInt(3);
      if (flags & ~AT_TARGET_FLAGS) return -E.EINVAL;
      const x = pathTargetAt(t, t.argInt(0), t.arg(1), flags);
      return typeof x === "number" ? x : setMode(t, x, t.argU32(2));
    },
    args: "fsox",
  },
  {
    nr: Sys.chown,
    fn: (t) => {
      const x = pathTarget(t, L.AT_FDCWD, t.arg(0), true, false);
      return typeof x === "number" ? x : setOwner(t, x, t.argU32(1), t.argU32(2));
    },
    args: "sdd",
  },
  {
    nr: Sys.lchown,
    fn: (t) => {
      const x = pathTarget(t, L.AT_FDCWD, t.arg(0), false, false);
      return typeof x === "number" ? x : setOwner(t, x, t.argU32(1), t.argU32(2));
    },
    args: "sdd",
  },
  {
    nr: Sys.fchown,
    fn: (t) => {
      const x = fdTarget(t, t.argInt(0), false);
      return typeof x === "number" ? x : setOwner(t, x, t.argU32(1), t.argU32(2));
    },
    args: "fdd",
  },
  {
    nr: Sys.fchownat,
    fn: (t) => {
      const flags = t.argInt(4);
      if (flags & ~AT_TARGET_FLAGS) return -E.EINVAL;
      const x = pathTargetAt(t, t.argInt(0), t.arg(1), flags);
      return typeof x === "number" ? x : setOwner(t, x, t.argU32(2), t.argU32(3));
    },
    args: "fsddx",
  },
  { nr: Sys.utimensat, fn: sysUtimensat, args: "fspx" },
  { nr: Sys.utimes, fn: (t) => sysFutimesat(t, L.AT_FDCWD, t.arg(0), t.arg(1)), args: "sp" },
  { nr: Sys.futimesat, fn: (t) => sysFutimesat(t, t.argInt(0), t.arg(1), t.arg(2)), args: "fsp" },
  { nr: Sys.utime, fn: sysUtime, args: "sp" },
  { nr: Sys.truncate, fn: truncatePath, args: "sd" },
  { nr: Sys.ftruncate, fn: sysFtruncate, args: "fd" },
  { nr: Sys.fallocate, fn: sysFallocate, args: "fxdd" },
  { nr: Sys.fsync, fn: sysFsync, args: "f" },
  { nr: Sys.fdatasync, fn: sysFsync, args: "f" },
  { nr: Sys.sync, fn: () => 0 },
  {
    nr: Sys.syncfs,
    fn: (t) => (t.fdTable.get(t.argInt(0)) ? 0 : -E.EBADF),
    args: "f",
  },
  {
    nr: Sys.sync_file_range,
    fn: sysSyncFileRange,
    status: Support.Stub,
    note: "nothing to write back",
    args: "fddx",
  },
  { nr: Sys.statfs, fn: sysStatfs, args: "sp" },
  { nr: Sys.fstatfs, fn: sysFstatfs, args: "fp" },
];
