// Helpers shared by syscall families: paths relative to dirfds, reading guest arrays,
// timespecs, and the common argument checks.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import type { Task } from "../kernel/task.ts";
import type { FileDescription } from "../vfs/file.ts";
import type { VfsPath } from "../vfs/mount.ts";
import { type ParentResult, PATH_MAX, Resolver, type ResolveOptions } from "../vfs/resolve.ts";

export function resolver(t: Task): Resolver {
  return new Resolver(t.fs, t.creds);
}

/** Reads a path argument: -EFAULT, -ENAMETOOLONG, or -ENOENT for an empty one (unless
 * allowEmpty). */
export function readPath(t: Task, addr: number, allowEmpty = false): string | number {
  const s = t.mm.readCString(addr, PATH_MAX);
  if (typeof s === "number") return s;
  if (s.length === 0 && !allowEmpty) return -E.ENOENT;
  return s;
}

/** The directory a *at() call starts from: the cwd for AT_FDCWD, else the directory fd. */
export function startDir(t: Task, dirfd: number, path: string): VfsPath | number {
  if (path.length > 0 && path.charCodeAt(0) === 47) return t.fs.root;
  if (dirfd === L.AT_FDCWD) return t.fs.cwd;
  const f = t.fdTable.get(dirfd);
  if (!f) return -E.EBADF;
  if (!f.path) return -E.ENOTDIR;
  if (path.length > 0 && !f.path.dentry.inode.isDir()) return -E.ENOTDIR;
  return f.path;
}

/** Resolves (dirfd, path) with AT_EMPTY_PATH meaning "the file dirfd refers to". */
export function resolveAt(
  t: Task,
  dirfd: number,
  path: string,
  opts: ResolveOptions,
  emptyPath = false,
): VfsPath | number {
  if (path.length === 0) {
    if (!emptyPath) return -E.ENOENT;
    if (dirfd === L.AT_FDCWD) return t.fs.cwd;
    const f = t.fdTable.get(dirfd);
    if (!f) return -E.EBADF;
    return f.path ?? -E.EBADF;
  }
  const start = startDir(t, dirfd, path);
  if (typeof start === "number") return start;
  return resolver(t).resolve(start, path, opts);
}

export function resolveParentAt(t: Task, dirfd: number, path: string): ParentResult | number {
  const start = startDir(t, dirfd, path);
  if (typeof start === "number") return start;
  return resolver(t).resolveParent(start, path, { follow: true });
}

export function fileArg(t: Task, i: number): FileDescription | number {
  const f = t.fdTable.get(t.argInt(i));
  return f ?? -E.EBADF;
}

/** Reads a NULL-terminated array of string pointers (argv, envp). */
export function readStringArray(t: Task, addr: number, maxTotal = 2 * 1024 * 1024): string[] | number {
  const out: string[] = [];
  if (addr === 0) return out;
  let total = 0;
  for (let i = 0; ; i++) {
    if (i > 0x7fffffff / 8) return -E.E2BIG;
    const p = t.mm.readU64(addr + i * 8);
    if (p < 0) return p;
    if (p === 0) break;
    const s = t.mm.readCString(p, 128 * 1024);
    if (typeof s === "number") return s === -E.ENAMETOOLONG ? -E.E2BIG : s;
    total += s.length + 1 + 8;
    if (total > maxTotal) return -E.E2BIG;
    out.push(s);
  }
  return out;
}

/** struct timespec -> nanoseconds; -EFAULT, or -EINVAL for a bad tv_nsec or negative. */
export function readTimespec(t: Task, addr: number): number {
  const b = t.mm.copyIn(addr, 16);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const sec = dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
  const nsec = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  return Math.min(sec * 1e9 + nsec, Number.MAX_SAFE_INTEGER);
}

export function encodeTimespec(ns: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  const sec = Math.floor(ns / 1e9);
  dv.setUint32(0, sec >>> 0, true);
  dv.setUint32(4, Math.floor(sec / 4294967296) >>> 0, true);
  dv.setUint32(8, ns - sec * 1e9, true);
  return b;
}

export function encodeTimeval(ns: number): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  const sec = Math.floor(ns / 1e9);
  dv.setUint32(0, sec >>> 0, true);
  dv.setUint32(4, Math.floor(sec / 4294967296) >>> 0, true);
  dv.setUint32(8, Math.floor((ns - sec * 1e9) / 1000), true);
  return b;
}

export function writeTimespec(t: Task, addr: number, ns: number): number {
  return t.mm.copyOut(addr, encodeTimespec(ns));
}

/** Reads an iovec array into a flat [addr, len, ...] list; -EINVAL for too many or a
 * negative total, -EFAULT. */
export function readIovec(t: Task, addr: number, count: number): number[] | number {
  if (count < 0 || count > 1024) return -E.EINVAL;
  if (count === 0) return [];
  const b = t.mm.copyIn(addr, count * 16);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const out: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const base = dv.getUint32(i * 16, true) + dv.getUint32(i * 16 + 4, true) * 4294967296;
    const hi = dv.getUint32(i * 16 + 12, true);
    if (hi & 0x80000000) return -E.EINVAL;
    const len = dv.getUint32(i * 16 + 8, true) + hi * 4294967296;
    total += len;
    if (total > 0x7ffff000) return -E.EINVAL;
    out.push(base, len);
  }
  return out;
}
