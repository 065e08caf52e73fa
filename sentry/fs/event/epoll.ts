// epoll instances. Each registered (file, fd) pair is an entry that waits on the file's
// wait queue; a notification whose bits match the entry's events puts it on the ready list
// and wakes whoever waits on the instance. epoll_wait then asks each ready file for its
// current readiness, so a stale notification never reports an event:
// - level-triggered entries stay on the ready list while they report something;
// - edge-triggered (EPOLLET) entries leave it once reported and come back only with a new
//   notification;
// - EPOLLONESHOT entries are disabled once reported, until EPOLL_CTL_MOD;
// - EPOLLEXCLUSIVE entries of one wait queue form a group that wakes one instance with
//   waiters per notification (those visited before it get the event queued, as on Linux).
//
// An entry does not keep its file open: once the file's last reference is gone the entry
// is dropped (by a release hook; instances also skip released files they come across).
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Waiter, WaitQueue } from "../../util/waitqueue.ts";
import { FileDescription, releaseHooks } from "../../vfs/file.ts";
import type { Stat } from "../../vfs/inode.ts";
import { anonStat } from "./anon.ts";
import { pollFile } from "./readiness.ts";

export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLEXCLUSIVE = 1 << 28;
export const EPOLLWAKEUP = 1 << 29;
export const EPOLLONESHOT = 1 << 30;
export const EPOLLET = 1 << 31 >>> 0;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
const EP_PRIVATE_BITS = (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE) >>> 0;
/** What EPOLLEXCLUSIVE may be combined with. */
const EXCLUSIVE_OK_BITS =
  (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE) >>> 0;
/** Linux's EP_MAX_NESTS: how deep epoll instances may watch each other. */
const MAX_NESTS = 4;

export interface ReadyEvent {
  events: number;
  dataLo: number;
  dataHi: number;
}

class EpollEntry implements Waiter {
  /** In the instance's ready list. */
  ready = false;

  constructor(
    readonly ep: EpollFile,
    readonly file: FileDescription,
    readonly fd: number,
    /** Requested events with EPOLLERR | EPOLLHUP and the flag bits (u32). */
    public events: number,
    public dataLo: number,
    public dataHi: number,
  ) {}

  get enabled(): boolean {
    return (this.events & ~EP_PRIVATE_BITS) !== 0;
  }

  get exclusive(): boolean {
    return (this.events & EPOLLEXCLUSIVE) !== 0;
  }

  /** Whether a notification with these bits concerns this entry. */
  matches(mask: number): boolean {
    return this.enabled && (mask & this.events & 0xffff) !== 0;
  }

  notify(mask: number): void {
    if (this.matches(mask)) this.ep.markReady(this);
  }
}

/** The EPOLLEXCLUSIVE entries waiting on one wait queue. */
class ExclusiveGroup implements Waiter {
  readonly members: EpollEntry[] = [];

  notify(mask: number): void {
    for (const m of this.members.slice()) {
      if (!m.matches(mask)) continue;
      const hadWaiters = m.ep.waitQueue.size > 0;
      m.ep.markReady(m);
      if (hadWaiters) return;
    }
  }
}

const exclusiveGroups = new WeakMap<WaitQueue, ExclusiveGroup>();

/** The entries watching each file, so that a file's release removes them at once. */
const entriesOf = new WeakMap<FileDescription, Set<EpollEntry>>();

releaseHooks.push((f) => {
  const set = entriesOf.get(f);
  if (!set) return;
  entriesOf.delete(f);
  for (const e of [...set]) e.ep.forget(e);
});

export class EpollFile extends FileDescription {
  /** Entries by file, then by fd. */
  private readonly entries = new Map<FileDescription, Map<number, EpollEntry>>();
  /** Entries with a pending notification, oldest first. */
  private readonly ready = new Set<EpollEntry>();
  /** Guards readiness() against deep nests of instances polling one another. */
  private static pollDepth = 0;

  constructor(flags: number) {
    super(flags, null, null);
  }

  // ---- registration (epoll_ctl) ------------------------------------------------------

  find(file: FileDescription, fd: number): EpollEntry | undefined {
    return this.entries.get(file)?.get(fd);
  }

  /** epoll_ctl. `events`/`dataLo`/`dataHi` come from the guest's struct epoll_event. */
  ctl(
    op: number,
    fd: number,
    file: FileDescription,
    events: number,
    dataLo: number,
    dataHi: number,
  ): number {
    if (file === this) return -E.EINVAL;
    if (file.inode && (file.inode.isRegular() || file.inode.isDir())) return -E.EPERM;
    events = events >>> 0;
    if (op !== EPOLL_CTL_DEL && (events & EPOLLEXCLUSIVE)) {
      if (op === EPOLL_CTL_MOD) return -E.EINVAL;
      if (file instanceof EpollFile || (events & ~EXCLUSIVE_OK_BITS)) return -E.EINVAL;
    }
    // EPOLLWAKEUP needs CAP_BLOCK_SUSPEND; without it Linux silently drops the flag.
    events = (events & ~EPOLLWAKEUP) >>> 0;
    const existing = this.find(file, fd);
    switch (op) {
      case EPOLL_CTL_ADD: {
        if (existing) return -E.EEXIST;
        if (file instanceof EpollFile) {
          if (file.reaches(this, 0) || file.depth(0) >= MAX_NESTS) return -E.ELOOP;
        }
        const e = new EpollEntry(
          this,
          file,
          fd,
          (events | EPOLLERR | EPOLLHUP) >>> 0,
          dataLo,
          dataHi,
        );
        let byFd = this.entries.get(file);
        if (!byFd) {
          byFd = new Map();
          this.entries.set(file, byFd);
        }
        byFd.set(fd, e);
        this.attach(e);
        if (pollFile(file, e.events) & e.events) this.markReady(e);
        return 0;
      }
      case EPOLL_CTL_MOD: {
        if (!existing) return -E.ENOENT;
        if (existing.exclusive) return -E.EINVAL;
        existing.events = (events | EPOLLERR | EPOLLHUP) >>> 0;
        existing.dataLo = dataLo;
        existing.dataHi = dataHi;
        if (pollFile(file, existing.events) & existing.events) this.markReady(existing);
        return 0;
      }
      case EPOLL_CTL_DEL:
        if (!existing) return -E.ENOENT;
        this.remove(existing);
        return 0;
      default:
        return -E.EINVAL;
    }
  }

  private attach(e: EpollEntry): void {
    let set = entriesOf.get(e.file);
    if (!set) {
      set = new Set();
      entriesOf.set(e.file, set);
    }
    set.add(e);
    const q = e.file.waitQueue;
    if (!e.exclusive) {
      q.add(e, ~0);
      return;
    }
    let g = exclusiveGroups.get(q);
    if (!g) {
      g = new ExclusiveGroup();
      exclusiveGroups.set(q, g);
      q.add(g, ~0);
    }
    g.members.push(e);
  }

  private detach(e: EpollEntry): void {
    entriesOf.get(e.file)?.delete(e);
    const q = e.file.waitQueue;
    if (!e.exclusive) {
      q.remove(e);
      return;
    }
    const g = exclusiveGroups.get(q);
    if (!g) return;
    const i = g.members.indexOf(e);
    if (i >= 0) g.members.splice(i, 1);
    if (g.members.length === 0) {
      q.remove(g);
      exclusiveGroups.delete(q);
    }
  }

  /** Drops an entry whose file is gone (the release hook below). */
  forget(e: EpollEntry): void {
    this.remove(e);
  }

  private remove(e: EpollEntry): void {
    this.detach(e);
    if (e.ready) {
      e.ready = false;
      this.ready.delete(e);
    }
    const byFd = this.entries.get(e.file);
    if (byFd) {
      byFd.delete(e.fd);
      if (byFd.size === 0) this.entries.delete(e.file);
    }
  }

  /** Forgets entries whose files have been closed everywhere. */
  private prune(): void {
    for (const [file, byFd] of this.entries) {
      if (!file.isReleased) continue;
      for (const e of [...byFd.values()]) this.remove(e);
    }
  }

  /** Whether this instance watches `target`, directly or through nested instances. */
  private reaches(target: EpollFile, depth: number): boolean {
    if (this === target) return true;
    if (depth > MAX_NESTS) return true;
    for (const file of this.entries.keys()) {
      if (file instanceof EpollFile && !file.isReleased && file.reaches(target, depth + 1)) {
        return true;
      }
    }
    return false;
  }

  /** How many levels of instances this one watches below it. */
  private depth(level: number): number {
    let d = 0;
    if (level > MAX_NESTS) return level;
    for (const file of this.entries.keys()) {
      if (file instanceof EpollFile && !file.isReleased) d = Math.max(d, 1 + file.depth(level + 1));
    }
    return d;
  }

  // ---- events ----------------------------------------------------------------------

  markReady(e: EpollEntry): void {
    if (!e.ready) {
      e.ready = true;
      this.ready.add(e);
    }
    this.waitQueue.notify(EPOLLIN | L.POLLRDNORM);
  }

  /** Takes up to max events (epoll_wait). */
  collect(max: number, out: ReadyEvent[]): void {
    if (this.ready.size === 0) return;
    for (const e of [...this.ready]) {
      if (out.length >= max) break;
      this.ready.delete(e);
      e.ready = false;
      if (e.file.isReleased) {
        this.remove(e);
        continue;
      }
      if (!e.enabled) continue;
      const revents = pollFile(e.file, e.events) & e.events;
      if (revents === 0) continue;
      out.push({ events: revents, dataLo: e.dataLo, dataHi: e.dataHi });
      if (e.events & EPOLLONESHOT) {
        e.events = (e.events & EP_PRIVATE_BITS) >>> 0;
      } else if (!(e.events & EPOLLET)) {
        // Level-triggered: stays ready (at the back) while the file says so.
        e.ready = true;
        this.ready.add(e);
      }
    }
    if (this.entries.size > 64 && out.length === 0) this.prune();
  }

  override readiness(mask: number): number {
    if (!(mask & (EPOLLIN | L.POLLRDNORM)) || this.ready.size === 0) return 0;
    if (EpollFile.pollDepth > MAX_NESTS) return 0;
    EpollFile.pollDepth++;
    try {
      for (const e of this.ready) {
        if (e.file.isReleased || !e.enabled) continue;
        if (pollFile(e.file, e.events) & e.events) return mask & (EPOLLIN | L.POLLRDNORM);
      }
      return 0;
    } finally {
      EpollFile.pollDepth--;
    }
  }

  override read(): number {
    return -E.EINVAL;
  }

  override write(): number {
    return -E.EINVAL;
  }

  /** Linux's noop_llseek: the offset stays 0. */
  override seek(): number {
    return 0;
  }

  override stat(): Stat | number {
    return anonStat();
  }

  get procName(): string {
    return "anon_inode:[eventpoll]";
  }

  protected override release(): void {
    for (const byFd of this.entries.values()) for (const e of byFd.values()) this.detach(e);
    this.entries.clear();
    this.ready.clear();
  }
}
