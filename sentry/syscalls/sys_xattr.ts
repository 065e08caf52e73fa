// Extended attributes: {,l,f}{get,set,list,remove}xattr. The VFS applies Linux's namespace
// rules (user.* only on regular files and directories, trusted.* for CAP_SYS_ADMIN,
// security.* writes for CAP_SYS_ADMIN, or CAP_SETFCAP for security.capability); the
// filesystem stores.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import { PathFile } from "../vfs/file.ts";
import { anyWatches, fileEvent, IN_ATTRIB } from "../vfs/fsnotify.ts";
import type { Inode } from "../vfs/inode.ts";
import { MNT_READONLY, type VfsPath } from "../vfs/mount.ts";
import { permission } from "../vfs/resolve.ts";
import { CAP_SYS_ADMIN, isOwner } from "./fsutil.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { readPath, resolveAt } from "./util.ts";

const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;
const XATTR_LIST_MAX = 65536;
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const CAP_SETFCAP = 31;

interface XTarget {
  inode: Inode;
  p: VfsPath | null;
}

/** The file: a path (following the last symlink unless `l` variant) or an fd. */
function target(t: Task, kind: "path" | "lpath" | "fd"): XTarget | number {
  if (kind === "fd") {
    const f = t.fdTable.get(t.argInt(0));
    if (!f || f instanceof PathFile || !f.inode) return -E.EBADF;
    return { inode: f.inode, p: f.path };
  }
  const path = readPath(t, t.arg(0));
  if (typeof path === "number") return path;
  const p = resolveAt(t, L.AT_FDCWD, path, { follow: kind === "path" });
  if (typeof p === "number") return p;
  return { inode: p.dentry.inode, p };
}

function readName(t: Task, addr: number): string | number {
  const name = t.mm.readCString(addr, XATTR_NAME_MAX + 1);
  if (typeof name === "number") return name === -E.ENAMETOOLONG ? -E.ERANGE : name;
  if (name.length === 0 || name.length > XATTR_NAME_MAX) return -E.ERANGE;
  return name;
}

function knownNamespace(name: string): boolean {
  return name.startsWith("user.") || name.startsWith("trusted.") || name.startsWith("security.") ||
    name.startsWith("system.");
}

/** Linux's xattr_permission, with commoncap's rule for security.* writes. */
function xattrPermission(t: Task, inode: Inode, name: string, write: boolean): number {
  if (name.startsWith("system.")) return 0;
  if (name.startsWith("security.")) {
    if (!write) return 0;
    const cap = name === "security.capability" ? CAP_SETFCAP : CAP_SYS_ADMIN;
    return t.creds.hasCap(cap) ? 0 : -E.EPERM;
  }
  if (name.startsWith("trusted.")) {
    if (!t.creds.hasCap(CAP_SYS_ADMIN)) return write ? -E.EPERM : -E.ENODATA;
    return 0;
  }
  if (name.startsWith("user.")) {
    const mode = inode.mode;
    const fmt = mode & L.S_IFMT;
    if (fmt !== L.S_IFREG && fmt !== L.S_IFDIR) return write ? -E.EPERM : -E.ENODATA;
    if (fmt === L.S_IFDIR && (mode & L.S_ISVTX) && write && !isOwner(t, inode)) return -E.EPERM;
  }
  return permission(inode, t.creds, write ? 2 : 4);
}

function sysSetxattr(t: Task, kind: "path" | "lpath" | "fd"): number {
  const x = target(t, kind);
  if (typeof x === "number") return x;
  const name = readName(t, t.arg(1));
  if (typeof name === "number") return name;
  const size = t.arg(3), flags = t.argInt(4);
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return -E.EINVAL;
  if (size > XATTR_SIZE_MAX) return -E.E2BIG;
  let value: Uint8Array = new Uint8Array(0);
  if (size > 0) {
    const v = t.mm.copyIn(t.arg(2), size);
    if (typeof v === "number") return v;
    value = v;
  }
  if (!knownNamespace(name)) return -E.EOPNOTSUPP;
  if (x.p && (x.p.mount.flags & MNT_READONLY)) return -E.EROFS;
  const perm = xattrPermission(t, x.inode, name, true);
  if (perm < 0) return perm;
  const rc = x.inode.setxattr(name, value, flags);
  if (rc < 0) return rc;
  if (anyWatches()) fileEvent(x.p, x.inode, IN_ATTRIB);
  return 0;
}

function sysGetxattr(t: Task, kind: "path" | "lpath" | "fd"): number {
  const x = target(t, kind);
  if (typeof x === "number") return x;
  const name = readName(t, t.arg(1));
  if (typeof name === "number") return name;
  if (!knownNamespace(name)) return -E.EOPNOTSUPP;
  const perm = xattrPermission(t, x.inode, name, false);
  if (perm < 0) return perm;
  const v = x.inode.getxattr(name);
  if (typeof v === "number") return v;
  const size = t.arg(3);
  if (size === 0) return v.length;
  if (size < v.length) return -E.ERANGE;
  const rc = t.mm.copyOut(t.arg(2), v);
  return rc < 0 ? rc : v.length;
}

function sysListxattr(t: Task, kind: "path" | "lpath" | "fd"): number {
  const x = target(t, kind);
  if (typeof x === "number") return x;
  const names = x.inode.listxattr();
  if (typeof names === "number") return names;
  const privileged = t.creds.hasCap(CAP_SYS_ADMIN);
  let text = "";
  for (const n of names) {
    if (n.startsWith("trusted.") && !privileged) continue;
    text += n + "\0";
  }
  if (text.length > XATTR_LIST_MAX) return -E.E2BIG;
  const size = t.arg(2);
  if (size === 0) return text.length;
  if (size < text.length) return -E.ERANGE;
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i);
  const rc = t.mm.copyOut(t.arg(1), b);
  return rc < 0 ? rc : b.length;
}

function sysRemovexattr(t: Task, kind: "path" | "lpath" | "fd"): number {
  const x = target(t, kind);
  if (typeof x === "number") return x;
  const name = readName(t, t.arg(1));
  if (typeof name === "number") return name;
  if (!knownNamespace(name)) return -E.EOPNOTSUPP;
  if (x.p && (x.p.mount.flags & MNT_READONLY)) return -E.EROFS;
  const perm = xattrPermission(t, x.inode, name, true);
  if (perm < 0) return perm;
  const rc = x.inode.removexattr(name);
  if (rc < 0) return rc;
  if (anyWatches()) fileEvent(x.p, x.inode, IN_ATTRIB);
  return 0;
}

const NOTE = "user, trusted and security namespaces; no POSIX ACLs (system.*: EOPNOTSUPP)";

export const xattrSyscalls: SyscallDef[] = [
  {
    nr: Sys.setxattr,
    fn: (t) => sysSetxattr(t, "path"),
    status: Support.Partial,
    note: NOTE,
    args: "sspux",
  },
  {
    nr: Sys.lsetxattr,
    fn: (t) => sysSetxattr(t, "lpath"),
    status: Support.Partial,
    note: NOTE,
    args: "sspux",
  },
  {
    nr: Sys.fsetxattr,
    fn: (t) => sysSetxattr(t, "fd"),
    status: Support.Partial,
    note: NOTE,
    args: "fspux",
  },
  { nr: Sys.getxattr, fn: (t) => sysGetxattr(t, "path"), args: "sspu" },
  { nr: Sys.lgetxattr, fn: (t) => sysGetxattr(t, "lpath"), args: "sspu" },
  { nr: Sys.fgetxattr, fn: (t) => sysGetxattr(t, "fd"), args: "fspu" },
  { nr: Sys.listxattr, fn: (t) => sysListxattr(t, "path"), args: "spu" },
  { nr: Sys.llistxattr, fn: (t) => sysListxattr(t, "lpath"), args: "spu" },
  { nr: Sys.flistxattr, fn: (t) => sysListxattr(t, "fd"), args: "fpu" },
  { nr: Sys.removexattr, fn: (t) => sysRemovexattr(t, "path"), args: "ss" },
  { nr: Sys.lremovexattr, fn: (t) => sysRemovexattr(t, "lpath"), args: "ss" },
  { nr: Sys.fremovexattr, fn: (t) => sysRemovexattr(t, "fd"), args: "fs" },
];
