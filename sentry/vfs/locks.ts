// Advisory file locks: POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK, owned by a
// process's fd table and released when it closes any fd of the file), OFD record locks
// (F_OFD_*, owned by an open file description), and flock() locks (owned by an open file
// description, a lock space of their own). Locks are kept by file identity.
//
// Waiters block on the file's wait queue and retry (t.block); every unlock notifies it.
import { E } from "../abi/errno.ts";
import { WaitQueue } from "../util/waitqueue.ts";
import type { Inode } from "./inode.ts";

export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;

/** A byte range lock; end is inclusive (Infinity: to the end of any file). */
export interface RecordLock {
  type: number;
  start: number;
  end: number;
  owner: object;
  /** The locking process (reported by F_GETLK; -1 for OFD locks). */
  pid: number;
  ofd: boolean;
}

class FileLocks {
  records: RecordLock[] = [];
  /** flock: owner (file description) -> LOCK_SH (1) or LOCK_EX (2). */
  flocks = new Map<object, number>();
  readonly waiters = new WaitQueue();

  get empty(): boolean {
    return this.records.length === 0 && this.flocks.size === 0;
  }
}

const files = new Map<unknown, FileLocks>();
/** POSIX owners blocked in F_SETLKW, and on whom (for EDEADLK). */
const blockedOn = new Map<object, object>();

function locksOf(inode: Inode, create: boolean): FileLocks | null {
  const id = inode.identity();
  let l = files.get(id);
  if (!l && create) files.set(id, l = new FileLocks());
  return l ?? null;
}

function tidy(inode: Inode, l: FileLocks): void {
  if (l.empty && l.waiters.size === 0) files.delete(inode.identity());
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

function conflicts(held: RecordLock, want: RecordLock): boolean {
  if (held.owner === want.owner) return false;
  if (!overlaps(held, want)) return false;
  return held.type === F_WRLCK || want.type === F_WRLCK;
}

/** F_GETLK: the first lock that would block `want`, or null. */
export function testLock(inode: Inode, want: RecordLock): RecordLock | null {
  const l = locksOf(inode, false);
  if (!l) return null;
  for (const h of l.records) if (conflicts(h, want)) return h;
  return null;
}

/** The wait queue to block on while `inode` is locked. */
export function lockWaitQueue(inode: Inode): WaitQueue {
  return locksOf(inode, true)!.waiters;
}

/** Would waiting for `holder` deadlock `owner` (a cycle of POSIX owners)? */
function wouldDeadlock(owner: object, holder: object): boolean {
  let cur: object | undefined = holder;
  for (let i = 0; cur && i < 1000; i++) {
    if (cur === owner) return true;
    cur = blockedOn.get(cur);
  }
  return false;
}

/** F_SETLK: takes, changes or releases (F_UNLCK) the owner's lock on [start, end].
 * Returns 0, or the conflicting lock (the caller fails with EAGAIN or waits). */
export function setLock(inode: Inode, want: RecordLock): RecordLock | 0 {
  const l = locksOf(inode, want.type !== F_UNLCK);
  if (!l) return 0;
  if (want.type !== F_UNLCK) {
    for (const h of l.records) if (conflicts(h, want)) return h;
  }
  // Carve the range out of the owner's existing locks, then add the new one and merge
  // adjacent or overlapping locks of the same type.
  const out: RecordLock[] = [];
  let changed = false;
  for (const h of l.records) {
    if (h.owner !== want.owner || !overlaps(h, want)) {
      out.push(h);
      continue;
    }
    changed = true;
    if (h.start < want.start) out.push({ ...h, end: want.start - 1 });
    if (h.end > want.end) out.push({ ...h, start: want.end + 1 });
  }
  if (want.type !== F_UNLCK) {
    let n = { ...want };
    for (let i = out.length - 1; i >= 0; i--) {
      const h = out[i];
      if (h.owner !== n.owner || h.type !== n.type) continue;
      if (h.end + 1 >= n.start && n.end + 1 >= h.start) {
        n = { ...n, start: Math.min(h.start, n.start), end: Math.max(h.end, n.end) };
        out.splice(i, 1);
      }
    }
    out.push(n);
    changed = true;
  }
  l.records = out;
  if (changed) l.waiters.notify(~0);
  tidy(inode, l);
  return 0;
}

/** F_SETLKW's deadlock check and bookkeeping: returns -EDEADLK, or 0 after recording
 * that owner waits for holder (cleared by doneWaiting). */
export function startWaiting(owner: object, holder: RecordLock): number {
  if (!holder.ofd && wouldDeadlock(owner, holder.owner)) return -E.EDEADLK;
  blockedOn.set(owner, holder.owner);
  return 0;
}

export function doneWaiting(owner: object): void {
  blockedOn.delete(owner);
}

/** Releases every record lock of owner on inode (close() by a POSIX owner, the last close
 * of an OFD owner). */
export function releaseRecordLocks(inode: Inode, owner: object): void {
  const l = locksOf(inode, false);
  if (!l) return;
  const before = l.records.length;
  l.records = l.records.filter((h) => h.owner !== owner);
  if (l.records.length !== before) l.waiters.notify(~0);
  tidy(inode, l);
}

/** flock(): LOCK_SH (1), LOCK_EX (2) or LOCK_UN (8) for owner. Returns 0 or -EAGAIN
 * (somebody else holds a conflicting lock). */
export function flock(inode: Inode, owner: object, op: number): number {
  const l = locksOf(inode, op !== 8);
  if (!l) return 0;
  if (op === 8) {
    if (l.flocks.delete(owner)) l.waiters.notify(~0);
    tidy(inode, l);
    return 0;
  }
  for (const [o, type] of l.flocks) {
    if (o === owner) continue;
    if (type === 2 || op === 2) {
      // Converting drops the old lock first, as Linux does.
      if (l.flocks.delete(owner)) l.waiters.notify(~0);
      return -E.EAGAIN;
    }
  }
  const had = l.flocks.get(owner);
  l.flocks.set(owner, op);
  if (had === 2 && op === 1) l.waiters.notify(~0);
  return 0;
}

/** The last reference to a file description went away: its OFD and flock locks go. */
export function descriptionReleased(inode: Inode, owner: object): void {
  const l = locksOf(inode, false);
  if (!l) return;
  let changed = false;
  if (l.flocks.delete(owner)) changed = true;
  const before = l.records.length;
  l.records = l.records.filter((h) => h.owner !== owner);
  if (l.records.length !== before) changed = true;
  if (changed) l.waiters.notify(~0);
  tidy(inode, l);
}

/** Anything locked on this file? (fast check for close()). */
export function hasLocks(inode: Inode): boolean {
  return files.size > 0 && files.has(inode.identity());
}
