// VFS checks shared by the file syscall families: who owns a new file, who may create,
// delete or change what, and where a *at() call starts.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import type { Task } from "../kernel/task.ts";
import type { Dentry, Inode, Owner } from "../vfs/inode.ts";
import { MNT_NODEV, MNT_READONLY, type VfsPath } from "../vfs/mount.ts";
import {
  type CreateResult,
  type ParentResult,
  permission,
  type ResolveOptions,
} from "../vfs/resolve.ts";
import { resolver } from "./util.ts";

export const CAP_CHOWN = 0;
export const CAP_DAC_OVERRIDE = 1;
export const CAP_FOWNER = 3;
export const CAP_FSETID = 4;
export const CAP_SYS_CHROOT = 18;
export const CAP_SYS_ADMIN = 21;
export const CAP_MKNOD = 27;

/** The directory a *at() call starts from (relative paths; absolute ones start at the
 * root unless `scoped`, where the caller decides). */
export function startAt(t: Task, dirfd: number, path: string, scoped = false): VfsPath | number {
  if (!scoped && path.length > 0 && path.charCodeAt(0) === 47) return t.fs.root;
  if (dirfd === L.AT_FDCWD) return t.fs.cwd;
  const f = t.fdTable.get(dirfd);
  if (!f) return -E.EBADF;
  if (!f.path) return -E.ENOTDIR;
  if (!f.path.dentry.inode.isDir()) return -E.ENOTDIR;
  return f.path;
}

export function parentAt(
  t: Task,
  dirfd: number,
  path: string,
  opts: Partial<ResolveOptions> = {},
): ParentResult | number {
  const start = startAt(t, dirfd, path);
  if (typeof start === "number") return start;
  return resolver(t).resolveParent(start, path, { follow: true, ...opts });
}

export function createAt(
  t: Task,
  dirfd: number,
  path: string,
  opts: ResolveOptions,
  start?: VfsPath,
): CreateResult | number {
  const s = start ?? startAt(t, dirfd, path, opts.beneath || opts.inRoot);
  if (typeof s === "number") return s;
  return resolver(t).resolveCreate(s, path, opts);
}

/** Owner of a file created in dir: the caller's fsuid, and the directory's group if it is
 * set-group-ID, else the caller's fsgid. */
export function ownerFor(t: Task, dir: Inode): Owner {
  const st = dir.permInfo();
  return { uid: t.creds.fsuid, gid: (st.mode & L.S_ISGID) ? st.gid : t.creds.fsgid };
}

export function isOwner(t: Task, inode: Inode): boolean {
  return t.creds.fsuid === inode.permInfo().uid || t.creds.hasCap(CAP_FOWNER);
}

export function inGroup(t: Task, gid: number): boolean {
  return t.creds.fsgid === gid || t.creds.groups.includes(gid);
}

/** May the caller add a name to dir? */
export function mayCreate(t: Task, dir: VfsPath): number {
  const inode = dir.dentry.inode;
  if (!inode.isDir()) return -E.ENOTDIR;
  if (dir.dentry.deleted) return -E.ENOENT;
  if (dir.mount.flags & MNT_READONLY) return -E.EROFS;
  return permission(inode, t.creds, 3);
}

/** May the caller remove victim (a child of dir)? Sticky directories: only the owner of
 * the file or of the directory (or CAP_FOWNER). */
export function mayDelete(t: Task, dir: VfsPath, victim: Dentry): number {
  const inode = dir.dentry.inode;
  if (dir.mount.flags & MNT_READONLY) return -E.EROFS;
  const perm = permission(inode, t.creds, 3);
  if (perm < 0) return perm;
  const dst = inode.permInfo();
  if (dst.mode & L.S_ISVTX) {
    const fsuid = t.creds.fsuid;
    if (fsuid !== victim.inode.permInfo().uid && fsuid !== dst.uid && !t.creds.hasCap(CAP_FOWNER)) {
      return -E.EPERM;
    }
  }
  if (victim.mountCount > 0) return -E.EBUSY;
  return 0;
}

/** A mode for a new file: umask applied, the type bits left to the caller. */
export function applyUmask(t: Task, mode: number): number {
  return mode & ~t.fs.umask & 0o7777;
}

export function isSpecialFile(mode: number): boolean {
  const m = mode & L.S_IFMT;
  return m === L.S_IFCHR || m === L.S_IFBLK || m === L.S_IFIFO || m === L.S_IFSOCK;
}

/** Device nodes on a nodev mount cannot be opened. */
export function nodevDenied(p: VfsPath): boolean {
  const m = p.dentry.inode.mode & L.S_IFMT;
  return (m === L.S_IFCHR || m === L.S_IFBLK) && (p.mount.flags & MNT_NODEV) !== 0;
}
