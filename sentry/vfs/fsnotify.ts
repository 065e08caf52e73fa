// Filesystem events: the VFS reports what happened to files (created, deleted, modified,
// opened, moved...) and inotify watches (syscalls/sys_inotify.ts) receive them. Watches are
// kept by file identity (Inode.identity()), so a file reached through several inode
// objects (host trees) has one set of watches.
//
// Cost when nobody watches: one comparison per event.
import type { Inode } from "./inode.ts";
import type { VfsPath } from "./mount.ts";

export const IN_ACCESS = 0x1;
export const IN_MODIFY = 0x2;
export const IN_ATTRIB = 0x4;
export const IN_CLOSE_WRITE = 0x8;
export const IN_CLOSE_NOWRITE = 0x10;
export const IN_OPEN = 0x20;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_UNMOUNT = 0x2000;
export const IN_Q_OVERFLOW = 0x4000;
export const IN_IGNORED = 0x8000;
export const IN_ISDIR = 0x40000000;

/** A watch on one file (an inotify watch descriptor). */
export interface FsWatch {
  /** Called for each event; name is set for events about a directory's entry. */
  deliver(mask: number, cookie: number, name: string | null): void;
  /** The file the watch is on is gone (deleted and no longer reachable). */
  gone(): void;
}

const watches = new Map<unknown, Set<FsWatch>>();
let watchCount = 0;
let nextCookie = 1;

export function addWatch(inode: Inode, w: FsWatch): void {
  const id = inode.identity();
  let set = watches.get(id);
  if (!set) watches.set(id, set = new Set());
  if (!set.has(w)) {
    set.add(w);
    watchCount++;
  }
}

export function removeWatch(inode: Inode | unknown, w: FsWatch, byIdentity = false): void {
  const id = byIdentity ? inode : (inode as Inode).identity();
  const set = watches.get(id);
  if (set?.delete(w)) {
    watchCount--;
    if (set.size === 0) watches.delete(id);
  }
}

export function anyWatches(): boolean {
  return watchCount > 0;
}

/** A cookie tying IN_MOVED_FROM to its IN_MOVED_TO. */
export function moveCookie(): number {
  return nextCookie++ >>> 0;
}

function isDirBit(inode: Inode): number {
  return inode.isDir() ? IN_ISDIR : 0;
}

/** An event about the file itself (watches on it see no name). */
export function inodeEvent(inode: Inode, mask: number, cookie = 0): void {
  if (watchCount === 0) return;
  const set = watches.get(inode.identity());
  if (!set) return;
  const m = mask | (mask & (IN_DELETE_SELF | IN_MOVE_SELF) ? 0 : isDirBit(inode));
  for (const w of [...set]) w.deliver(m, cookie, null);
}

/** An event about entry `name` of directory `dir` (whose subject is `subject`). */
export function childEvent(
  dir: Inode,
  name: string,
  subject: Inode | null,
  mask: number,
  cookie = 0,
): void {
  if (watchCount === 0) return;
  const set = watches.get(dir.identity());
  if (!set) return;
  const m = mask | (subject && subject.isDir() ? IN_ISDIR : 0);
  for (const w of [...set]) w.deliver(m, cookie, name);
}

/** An event about an open or named file: to its watches and to its directory's (with the
 * name), as Linux's fsnotify_parent does. */
export function fileEvent(path: VfsPath | null, inode: Inode | null, mask: number): void {
  if (watchCount === 0 || !inode) return;
  const d = path?.dentry;
  if (d && d.parent && !d.deleted && path!.mount.root !== d) {
    childEvent(d.parent.inode, d.name, inode, mask);
  }
  inodeEvent(inode, mask);
}

/** The file's last link went away: IN_DELETE_SELF, then its watches end. */
export function inodeDeleted(inode: Inode): void {
  if (watchCount === 0) return;
  const id = inode.identity();
  const set = watches.get(id);
  if (!set) return;
  for (const w of [...set]) w.deliver(IN_DELETE_SELF, 0, null);
  for (const w of [...set]) w.gone();
  watchCount -= set.size;
  watches.delete(id);
}
