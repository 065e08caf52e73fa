// inotify: watches on files and directories, fed by the VFS's events (vfs/fsnotify.ts).
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import { FileDescription, type IoctlContext } from "../vfs/file.ts";
import {
  addWatch,
  type FsWatch,
  IN_IGNORED,
  IN_ISDIR,
  IN_Q_OVERFLOW,
  IN_UNMOUNT,
  removeWatch,
} from "../vfs/fsnotify.ts";
import type { Inode, Stat } from "../vfs/inode.ts";
import { permission } from "../vfs/resolve.ts";
import type { UserIO } from "../vfs/userio.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { readPath, resolveAt } from "./util.ts";

const IN_ALL_EVENTS = 0xfff;
const IN_ONLYDIR = 0x01000000;
const IN_DONT_FOLLOW = 0x02000000;
const IN_EXCL_UNLINK = 0x04000000;
const IN_MASK_CREATE = 0x10000000;
const IN_MASK_ADD = 0x20000000;
const IN_ONESHOT = 0x80000000;
const MAX_QUEUED = 16384;
const MAX_WATCHES = 65536;

interface QueuedEvent {
  wd: number;
  mask: number;
  cookie: number;
  name: string | null;
}

function eventSize(e: QueuedEvent): number {
  return 16 + (e.name === null ? 0 : Math.ceil((e.name.length + 1) / 16) * 16);
}

class Watch implements FsWatch {
  constructor(
    readonly owner: InotifyFile,
    readonly wd: number,
    public mask: number,
    readonly inode: Inode,
  ) {}

  deliver(mask: number, cookie: number, name: string | null): void {
    const wanted = mask & this.mask & IN_ALL_EVENTS;
    if (!wanted) return;
    this.owner.queue({ wd: this.wd, mask: wanted | (mask & IN_ISDIR), cookie, name });
    if (this.mask & IN_ONESHOT) this.owner.dropWatch(this);
  }

  gone(): void {
    this.owner.forget(this);
  }
}

export class InotifyFile extends FileDescription {
  private readonly events: QueuedEvent[] = [];
  private readonly watches = new Map<number, Watch>();
  private readonly byIdentity = new Map<unknown, Watch>();
  private nextWd = 1;
  private overflowed = false;

  constructor(flags: number) {
    super(flags | L.O_RDONLY, null, null);
  }

  queue(e: QueuedEvent): void {
    const last = this.events[this.events.length - 1];
    if (
      last && last.wd === e.wd && last.mask === e.mask && last.cookie === e.cookie &&
      last.name === e.name
    ) return;
    if (this.events.length >= MAX_QUEUED) {
      if (!this.overflowed) {
        this.overflowed = true;
        this.events.push({ wd: -1, mask: IN_Q_OVERFLOW, cookie: 0, name: null });
      }
      return;
    }
    this.events.push(e);
    this.waitQueue.notify(L.POLLIN);
  }

  /** mask: events and IN_ONESHOT/IN_EXCL_UNLINK; flags: IN_MASK_ADD / IN_MASK_CREATE. */
  addWatch(inode: Inode, mask: number, flags: number): number {
    const id = inode.identity();
    const old = this.byIdentity.get(id);
    if (old) {
      if (flags & IN_MASK_CREATE) return -E.EEXIST;
      old.mask = (flags & IN_MASK_ADD) ? old.mask | mask : mask;
      return old.wd;
    }
    if (this.watches.size >= MAX_WATCHES) return -E.ENOSPC;
    const w = new Watch(this, this.nextWd++, mask, inode);
    this.watches.set(w.wd, w);
    this.byIdentity.set(id, w);
    addWatch(inode, w);
    return w.wd;
  }

  /** inotify_rm_watch and IN_ONESHOT: the watch ends with IN_IGNORED. */
  dropWatch(w: Watch): void {
    if (!this.watches.delete(w.wd)) return;
    this.byIdentity.delete(w.inode.identity());
    removeWatch(w.inode, w);
    this.queue({ wd: w.wd, mask: IN_IGNORED, cookie: 0, name: null });
  }

  /** The watched file is gone (fsnotify already dropped the watch). */
  forget(w: Watch): void {
    if (!this.watches.delete(w.wd)) return;
    this.byIdentity.delete(w.inode.identity());
    this.queue({ wd: w.wd, mask: IN_IGNORED, cookie: 0, name: null });
  }

  removeByWd(wd: number): number {
    const w = this.watches.get(wd);
    if (!w) return -E.EINVAL;
    this.dropWatch(w);
    return 0;
  }

  override read(io: UserIO): number {
    if (this.events.length === 0) return -E.EAGAIN;
    if (io.total < eventSize(this.events[0])) return -E.EINVAL;
    const parts: Uint8Array[] = [];
    let total = 0;
    while (this.events.length > 0) {
      const e = this.events[0];
      const size = eventSize(e);
      if (total + size > io.total) break;
      const b = new Uint8Array(size);
      const dv = new DataView(b.buffer);
      dv.setInt32(0, e.wd, true);
      dv.setUint32(4, e.mask >>> 0, true);
      dv.setUint32(8, e.cookie >>> 0, true);
      dv.setUint32(12, size - 16, true);
      if (e.name !== null) {
        for (let i = 0; i < e.name.length; i++) b[16 + i] = e.name.charCodeAt(i);
      }
      parts.push(b);
      total += size;
      this.events.shift();
      if (e.mask === IN_Q_OVERFLOW) this.overflowed = false;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    const n = io.copyOut(out);
    return n;
  }

  override write(): number {
    return -E.EINVAL;
  }

  override readiness(mask: number): number {
    return this.events.length > 0 ? mask & L.POLLIN : 0;
  }

  override stat(): Stat | number {
    return {
      dev: 0,
      ino: 0,
      mode: 0o600,
      nlink: 1,
      uid: 0,
      gid: 0,
      rdev: 0,
      size: 0,
      blksize: 4096,
      blocks: 0,
      atimeNs: 0,
      mtimeNs: 0,
      ctimeNs: 0,
    };
  }

  override seek(): number {
    return -E.ESPIPE;
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    if (cmd === L.FIONREAD) {
      let n = 0;
      for (const e of this.events) n += eventSize(e);
      return ctx.mm.writeU32(arg, n);
    }
    return -E.ENOTTY;
  }

  protected override release(): void {
    for (const w of this.watches.values()) removeWatch(w.inode, w);
    this.watches.clear();
    this.byIdentity.clear();
    this.events.length = 0;
  }
}

function inotifyInit(t: Task, flags: number): number {
  if (flags & ~(L.O_NONBLOCK | L.O_CLOEXEC)) return -E.EINVAL;
  const f = new InotifyFile(flags & L.O_NONBLOCK);
  const fd = t.fdTable.install(f, (flags & L.O_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

function sysAddWatch(t: Task): number {
  const f = t.fdTable.get(t.argInt(0));
  if (!f) return -E.EBADF;
  if (!(f instanceof InotifyFile)) return -E.EINVAL;
  const mask = t.argU32(2);
  if (!(mask & IN_ALL_EVENTS)) return -E.EINVAL;
  if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE)) return -E.EINVAL;
  const path = readPath(t, t.arg(1));
  if (typeof path === "number") return path;
  const p = resolveAt(t, L.AT_FDCWD, path, { follow: !(mask & IN_DONT_FOLLOW) });
  if (typeof p === "number") return p;
  const inode = p.dentry.inode;
  if ((mask & IN_ONLYDIR) && !inode.isDir()) return -E.ENOTDIR;
  const perm = permission(inode, t.creds, 4);
  if (perm < 0) return perm;
  return f.addWatch(inode, mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK | IN_UNMOUNT), mask);
}

function sysRmWatch(t: Task): number {
  const f = t.fdTable.get(t.argInt(0));
  if (!f) return -E.EBADF;
  if (!(f instanceof InotifyFile)) return -E.EINVAL;
  return f.removeByWd(t.argInt(1));
}

export const inotifySyscalls: SyscallDef[] = [
  { nr: Sys.inotify_init, fn: (t) => inotifyInit(t, 0) },
  { nr: Sys.inotify_init1, fn: (t) => inotifyInit(t, t.argInt(0)), args: "x" },
  {
    nr: Sys.inotify_add_watch,
    fn: sysAddWatch,
    status: Support.Partial,
    note: "no IN_EXCL_UNLINK filtering; no IN_UNMOUNT",
    args: "fsx",
  },
  { nr: Sys.inotify_rm_watch, fn: sysRmWatch, args: "fd" },
];
