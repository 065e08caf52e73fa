// Open file descriptions: what a file descriptor refers to. Shared by dup() and fork(), so
// the offset and status flags live here.
import { E } from "../abi/errno.ts";
import {
  O_ACCMODE,
  O_APPEND,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  POLLIN,
  POLLOUT,
} from "../abi/linux.ts";
import type { Mappable } from "../mm/objects.ts";
import { WaitQueue } from "../util/waitqueue.ts";
import type { DirEntry, Inode, Stat } from "./inode.ts";
import type { VfsPath } from "./mount.ts";
import type { UserIO } from "./userio.ts";

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

/** What ioctl and friends may need from the calling task, without depending on it. */
export interface IoctlContext {
  readonly mm: import("../mm/mm.ts").MM;
  /** The calling task (kernel Task), for tty job control; opaque to the VFS. */
  readonly task: unknown;
}

/** Called when a file description's last reference goes (locks, inotify close events);
 * set by the modules that need it. */
export const releaseHooks: Array<(f: FileDescription) => void> = [];

export abstract class FileDescription {
  /** Status flags (O_APPEND, O_NONBLOCK, ...) and the access mode. */
  flags: number;
  offset = 0;
  private refs = 1;
  /** Readiness changes are announced here (poll, epoll, blocked readers and writers). */
  readonly waitQueue = new WaitQueue();
  /** For directory reads: the listing being returned, and how far getdents got. */
  dirSnapshot: DirEntry[] | null = null;
  /** F_SETOWN / F_SETSIG (SIGIO delivery is the file type's business). */
  asyncOwner = 0;
  asyncSignal = 0;

  /** The inode the guest sees (the overlay sets its own on files it opens from the lower
   * layer). */
  inode: Inode | null;

  constructor(flags: number, readonly path: VfsPath | null, inode: Inode | null) {
    this.flags = flags;
    this.inode = inode;
  }

  // Access mode 3 (O_RDWR|O_WRONLY) opens a file for ioctls only: neither readable nor
  // writable.
  get readable(): boolean {
    const acc = this.flags & O_ACCMODE;
    return acc === O_RDONLY || acc === O_RDWR;
  }
  get writable(): boolean {
    const acc = this.flags & O_ACCMODE;
    return acc === O_WRONLY || acc === O_RDWR;
  }
  get nonblocking(): boolean {
    return (this.flags & O_NONBLOCK) !== 0;
  }
  get append(): boolean {
    return (this.flags & O_APPEND) !== 0;
  }

  incRef(): void {
    this.refs++;
  }

  /** Whether the last reference is gone (epoll forgets such files lazily). */
  get isReleased(): boolean {
    return this.refs === 0;
  }

  /** Drops a reference; the last one releases the file. */
  decRef(): void {
    if (--this.refs === 0) {
      for (const h of releaseHooks) h(this);
      this.release();
    }
  }

  /** References (for tests and /proc). */
  get refCount(): number {
    return this.refs;
  }

  /** Reads into io. off >= 0: at that offset (pread); off < 0: at and advancing the file
   * offset. Returns bytes read, 0 at end of file, -EAGAIN when it would block. */
  read(_io: UserIO, _off: number): number {
    return -E.EINVAL;
  }

  /** Writes from io; same conventions as read. */
  write(_io: UserIO, _off: number): number {
    return -E.EINVAL;
  }

  seek(off: number, whence: number): number {
    let base: number;
    switch (whence) {
      case SEEK_SET:
        base = 0;
        break;
      case SEEK_CUR:
        base = this.offset;
        break;
      case SEEK_END: {
        const st = this.stat();
        if (typeof st === "number") return st;
        base = st.size;
        break;
      }
      default:
        return -E.EINVAL;
    }
    const n = base + off;
    if (n < 0) return -E.EINVAL;
    this.offset = n;
    return n;
  }

  stat(): Stat | number {
    return this.inode ? this.inode.stat() : -E.EBADF;
  }

  /** Directory listing for getdents (a fresh snapshot when the offset is 0). */
  readdir(): DirEntry[] | number {
    return this.inode ? this.inode.readdir() : -E.ENOTDIR;
  }

  /** Kernel-internal read (execve, the ELF loader): bytes at off into buf; returns the
   * count or -errno. Guest I/O goes through read(). */
  readAt(_buf: Uint8Array, _off: number): number {
    return -E.EINVAL;
  }

  ioctl(_ctx: IoctlContext, _cmd: number, _arg: number): number {
    return -E.ENOTTY;
  }

  /** fcntl commands specific to the file type (F_SETPIPE_SZ, ...); the generic ones and
   * locks are handled by the VFS. -EINVAL for an unknown command. */
  fcntl(_ctx: IoctlContext, cmd: number, _arg: number): number {
    // Pipe sizes of something that is not a pipe: Linux says EBADF.
    if (cmd === 1031 /* F_SETPIPE_SZ */ || cmd === 1032 /* F_GETPIPE_SZ */) return -E.EBADF;
    return -E.EINVAL;
  }

  /** Current readiness (POLLIN, POLLOUT, ...) among `mask`. */
  readiness(mask: number): number {
    return mask & (POLLIN | POLLOUT);
  }

  truncate(_len: number): number {
    return -E.EINVAL;
  }

  fsync(): number {
    return 0;
  }

  fallocate(_mode: number, _off: number, _len: number): number {
    return -E.EOPNOTSUPP;
  }

  /** The pages to map for mmap of this file, or an error. */
  mappable(): Mappable | number {
    return -E.ENODEV;
  }

  /** Called when the last reference goes away. */
  protected release(): void {}
}

/** An O_PATH descriptor: names a file (for *at() calls, fstat, fchdir) without opening it. */
export class PathFile extends FileDescription {
  constructor(flags: number, path: VfsPath) {
    super(flags, path, path.dentry.inode);
  }
  override read(): number {
    return -E.EBADF;
  }
  override write(): number {
    return -E.EBADF;
  }
  override ioctl(): number {
    return -E.EBADF;
  }
  override get readable(): boolean {
    return false;
  }
  override get writable(): boolean {
    return false;
  }
}
