// Pipes: a byte ring in the memory file, shared by the read and write ends (pipe(2)) or by
// every open description of a FIFO.
//
// The ring lives in the memory file (not in a JS buffer) so that moving bytes between a
// guest buffer and the pipe is one `copyWithin` on the same mapping, and so that splice can
// hand pipe contents to host files as memory-file ranges. Every description of one pipe
// shares the pipe's wait queue: readers wait for POLLIN, writers for POLLOUT, and closing
// the last writer (reader) announces POLLHUP (POLLERR).
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { CAP_SYS_RESOURCE } from "../../kernel/creds.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import { BLOCK, type Task } from "../../kernel/task.ts";
import { CHUNK, type MemoryFile } from "../../mm/memfile.ts";
import { WaitQueue } from "../../util/waitqueue.ts";
import { FileDescription, type IoctlContext } from "../../vfs/file.ts";
import type { Inode, Stat } from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import { KernelIO, type UserIO } from "../../vfs/userio.ts";
import type { MM } from "../../mm/mm.ts";

/** Writes of at most this many bytes are atomic. */
export const PIPE_BUF = 4096;
export const DEFAULT_PIPE_SIZE = 65536;
/** /proc/sys/fs/pipe-max-size: the most F_SETPIPE_SZ grants without CAP_SYS_RESOURCE. */
export const PIPE_MAX_SIZE = 1048576;
/** st_dev of pipefs (Linux gives an anonymous device number; any fixed one will do). */
export const PIPEFS_DEV = 0xd;

const READ_EVENTS = L.POLLIN | L.POLLRDNORM;
const WRITE_EVENTS = L.POLLOUT | L.POLLWRNORM;

let nextPipeIno = 4026531840 + 0x2000;

/** Who created the pipe (its inode's owner). */
export interface PipeOwner {
  uid: number;
  gid: number;
}

/** Calls fn(memOffset, length) for the buffer ranges of io from byte `at` on, at most n
 * bytes (write: bytes go into the buffer); returns the bytes covered before a fault, or
 * -EFAULT if none. Works for guest buffers and the sentry's own (KernelIO) alike. */
export function forEachIoRange(
  io: UserIO,
  at: number,
  n: number,
  write: boolean,
  fn: (off: number, len: number) => void,
): number {
  const ranges = io.memRanges(write, at, Math.min(n, io.total - at));
  if (typeof ranges === "number") return ranges;
  let done = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    fn(ranges[i], ranges[i + 1]);
    done += ranges[i + 1];
  }
  return done;
}

/** forEachIoRange without allocating for guest buffers (the pipe's hot path): walks the
 * iovec page by page through the address space's translation. */
function walkIo(
  io: UserIO,
  at: number,
  n: number,
  write: boolean,
  fn: (off: number, len: number) => void,
): number {
  const mm = io.mm as MM | null;
  if (!mm || io instanceof KernelIO) return forEachIoRange(io, at, n, write, fn);
  const iov = io.iov;
  let done = 0;
  for (let i = 0; i < iov.length && done < n; i += 2) {
    let addr = iov[i], len = iov[i + 1];
    if (at >= len) {
      at -= len;
      continue;
    }
    addr += at;
    len -= at;
    at = 0;
    while (len > 0 && done < n) {
      const off = mm.translate(addr, write);
      if (off < 0) return done > 0 ? done : off;
      const k = Math.min(len, n - done, L.PAGE_SIZE - (addr % L.PAGE_SIZE));
      fn(off, k);
      done += k;
      addr += k;
      len -= k;
    }
  }
  return done;
}

export class Pipe {
  /** Memory-file offset and size of the ring (a whole number of chunks). */
  private base: number;
  private ringSize: number;
  /** Ring position of the first unread byte, and bytes buffered. */
  private head = 0;
  len = 0;
  /** F_GETPIPE_SZ: how many bytes the pipe holds when full. */
  capacity = DEFAULT_PIPE_SIZE;
  /** Open descriptions that read / write (a FIFO opened O_RDWR counts as both). */
  readers = 0;
  writers = 0;
  /** Opens ever made for reading / writing: a FIFO open waits for these to change. */
  readOpens = 0;
  writeOpens = 0;
  /** O_DIRECT ("packet mode", pipe2): lengths of the buffered packets, oldest first. */
  packets: number[] | null = null;
  readonly waitQueue = new WaitQueue();
  readonly ino = nextPipeIno++;
  readonly createdNs: number;
  private released = false;

  /** Use Pipe.create (the ring allocation can fail). */
  private constructor(
    readonly kernel: Kernel,
    private readonly memfile: MemoryFile,
    base: number,
    readonly owner: PipeOwner,
    nowNs: number,
  ) {
    this.base = base;
    this.ringSize = CHUNK;
    this.createdNs = nowNs;
  }

  static create(kernel: Kernel, owner: PipeOwner): Pipe | number {
    const base = kernel.memfile.allocChunk();
    if (base < 0) return -E.ENFILE;
    return new Pipe(kernel, kernel.memfile, base, owner, kernel.realtimeNs());
  }

  get free(): number {
    return this.capacity - this.len;
  }

  // ---- moving bytes ----------------------------------------------------------------

  /** Copies up to n buffered bytes, starting `skip` bytes past the head, to memory-file
   * offset dst. */
  private copyOutRing(skip: number, dst: number, n: number): void {
    const mem = this.memfile.mem;
    let pos = (this.head + skip) % this.ringSize;
    const first = Math.min(n, this.ringSize - pos);
    mem.copyWithin(dst, this.base + pos, this.base + pos + first);
    if (first < n) {
      pos = 0;
      mem.copyWithin(dst + first, this.base, this.base + n - first);
    }
  }

  /** Appends n bytes from memory-file offset src. Precondition: n <= free. */
  private copyInRing(src: number, n: number): void {
    const mem = this.memfile.mem;
    const pos = (this.head + this.len) % this.ringSize;
    const first = Math.min(n, this.ringSize - pos);
    mem.copyWithin(this.base + pos, src, src + first);
    if (first < n) mem.copyWithin(this.base, src + first, src + n);
    this.len += n;
  }

  /** Moves up to `max` buffered bytes into io (from byte `at` of it) and consumes them
   * unless peek. Returns the bytes moved or -EFAULT. Packet mode: at most one packet (the
   * rest of a longer packet is discarded, as Linux does). */
  readTo(io: UserIO, at: number, max: number, peek = false): number {
    let n = Math.min(this.len, max);
    let packet = -1;
    if (this.packets && this.packets.length) {
      packet = this.packets[0];
      n = Math.min(n, packet);
    }
    if (n === 0) return 0;
    this.moved = 0;
    const rc = walkIo(io, at, n, true, this.readStep);
    if (rc < 0) return rc;
    const copied = this.moved;
    if (!peek) {
      if (packet >= 0) {
        this.packets!.shift();
        this.consume(packet);
      } else {
        this.consume(copied);
      }
    }
    return copied;
  }

  /** Bytes moved so far by the current readTo (its step function counts them). */
  private moved = 0;
  private readonly readStep = (off: number, m: number): void => {
    this.copyOutRing(this.moved, off, m);
    this.moved += m;
  };
  private readonly writeStep = (off: number, m: number): void => this.copyInRing(off, m);

  /** Drops n bytes from the head. */
  consume(n: number): void {
    this.head = (this.head + n) % this.ringSize;
    this.len -= n;
    if (this.len === 0) this.head = 0;
  }

  /** Appends up to n bytes of io (from byte `at`); returns bytes taken or -EFAULT.
   * Precondition: n <= free. */
  writeFrom(io: UserIO, at: number, n: number): number {
    if (n === 0) return 0;
    const rc = walkIo(io, at, n, false, this.writeStep);
    if (rc > 0 && this.packets) this.pushPackets(rc);
    return rc;
  }

  private pushPackets(n: number): void {
    for (; n > 0; n -= PIPE_BUF) this.packets!.push(Math.min(n, PIPE_BUF));
  }

  /** The buffered bytes [skip, skip+n) as memory-file (offset, length) pieces. */
  ranges(skip: number, n: number): number[] {
    const out: number[] = [];
    const pos = (this.head + skip) % this.ringSize;
    const first = Math.min(n, this.ringSize - pos);
    if (first > 0) out.push(this.base + pos, first);
    if (first < n) out.push(this.base, n - first);
    return out;
  }

  /** The free space after the buffered bytes, up to n bytes, as memory-file (offset,
   * length) pieces: splice reads a file straight into them, then commits. */
  tailRanges(n: number): number[] {
    n = Math.min(n, this.free);
    const out: number[] = [];
    const pos = (this.head + this.len) % this.ringSize;
    const first = Math.min(n, this.ringSize - pos);
    if (first > 0) out.push(this.base + pos, first);
    if (first < n) out.push(this.base, n - first);
    return out;
  }

  /** Makes n bytes written into tailRanges() part of the buffer. */
  commit(n: number): void {
    this.len += n;
    if (this.packets) this.pushPackets(n);
  }

  get memory(): Uint8Array {
    return this.memfile.mem;
  }

  /** Appends n bytes that already sit at memory-file offset src (splice, tee). */
  appendMem(src: number, n: number): void {
    this.copyInRing(src, n);
    if (this.packets) this.pushPackets(n);
  }

  /** Copies the first n buffered bytes of this pipe into another pipe (tee). */
  copyTo(dst: Pipe, n: number): void {
    for (const [off, len] of pairs(this.ranges(0, n))) dst.appendMem(off, len);
  }

  /** F_SETPIPE_SZ. Returns the new capacity or -errno. */
  resize(want: number, privileged: boolean): number {
    if (want < 0 || want > 0x80000000) return -E.EINVAL;
    let size = PIPE_BUF;
    while (size < want) size *= 2;
    if (size > PIPE_MAX_SIZE && !privileged) return -E.EPERM;
    if (size < this.len) return -E.EBUSY;
    if (size > this.ringSize) {
      const alloc = Math.ceil(size / CHUNK) * CHUNK;
      const base = this.memfile.allocRange(alloc);
      if (base < 0) return -E.ENOMEM;
      // Linearise what is buffered at the start of the new ring.
      const mem = this.memfile.mem;
      let at = base;
      for (const [off, len] of pairs(this.ranges(0, this.len))) {
        mem.copyWithin(at, off, off + len);
        at += len;
      }
      this.memfile.free(this.base, this.ringSize);
      this.base = base;
      this.ringSize = alloc;
      this.head = 0;
    }
    this.capacity = size;
    this.waitQueue.notify(WRITE_EVENTS);
    return size;
  }

  // ---- opening and closing ends ----------------------------------------------------

  addEnd(read: boolean, write: boolean): void {
    if (read) {
      this.readers++;
      this.readOpens++;
    }
    if (write) {
      this.writers++;
      this.writeOpens++;
    }
  }

  dropEnd(read: boolean, write: boolean): void {
    if (read && --this.readers === 0) this.waitQueue.notify(L.POLLERR | WRITE_EVENTS);
    if (write && --this.writers === 0) this.waitQueue.notify(L.POLLHUP | READ_EVENTS);
    if (this.readers === 0 && this.writers === 0 && !this.released) {
      // The buffer goes with the last end (a FIFO's data too, as on Linux).
      this.released = true;
      this.len = 0;
      this.memfile.free(this.base, this.ringSize);
      this.onRelease?.();
    }
  }

  /** Set by the FIFO registry: called when the last end closed (the pipe is then dead). */
  onRelease: (() => void) | null = null;

  /** Whether the last end has closed (a FIFO then needs a new pipe). */
  get dead(): boolean {
    return this.released;
  }

  // ---- readiness ----------------------------------------------------------------------

  /** poll bits for a description reading and/or writing this pipe; writeOpensSeen: the
   * writeOpens count when the description was opened. */
  readiness(read: boolean, write: boolean, mask: number, writeOpensSeen: number): number {
    let r = 0;
    if (read) {
      if (this.len > 0) r |= READ_EVENTS;
      // A FIFO reader hangs up only once a writer has come (and gone) since it opened.
      if (this.writers === 0 && this.writeOpens !== writeOpensSeen) r |= L.POLLHUP;
    }
    if (write) {
      if (this.free >= Math.min(PIPE_BUF, this.capacity) || this.len === 0) r |= WRITE_EVENTS;
      if (this.readers === 0) r |= L.POLLERR;
    }
    return r & (mask | L.POLLERR | L.POLLHUP);
  }

  stat(): Stat {
    return {
      dev: PIPEFS_DEV,
      ino: this.ino,
      mode: L.S_IFIFO | 0o600,
      nlink: 1,
      uid: this.owner.uid,
      gid: this.owner.gid,
      rdev: 0,
      size: 0,
      blksize: 4096,
      blocks: 0,
      atimeNs: this.createdNs,
      mtimeNs: this.createdNs,
      ctimeNs: this.createdNs,
    };
  }
}

/** How much of a blocking write is done (task.sysState across its retries). */
class PipeWriteProgress {
  done = 0;
}

function* pairs(flat: number[]): Generator<[number, number]> {
  for (let i = 0; i < flat.length; i += 2) yield [flat[i], flat[i + 1]];
}

/** An open end of a pipe: the read or write end of pipe(2), or an open FIFO. */
export class PipeFile extends FileDescription {
  readonly pipe: Pipe;
  private readonly reads: boolean;
  private readonly writes: boolean;
  /** A FIFO opened O_NONBLOCK for reading without a writer does not report POLLHUP until
   * a writer comes: the writeOpens count it must differ from (-1: none). */
  writeOpensSeen = -1;
  /** For FIFOs: the inode and path it was opened by (fstat shows the FIFO's inode). */
  constructor(pipe: Pipe, flags: number, path: VfsPath | null = null, inode: Inode | null = null) {
    super(flags, path, inode);
    this.pipe = pipe;
    this.reads = this.readable;
    this.writes = this.writable;
    // Every end of one pipe shares the pipe's queue (see the file comment).
    (this as unknown as { waitQueue: WaitQueue }).waitQueue = pipe.waitQueue;
    pipe.addEnd(this.reads, this.writes);
  }

  override read(io: UserIO, _off: number): number {
    const p = this.pipe;
    if (p.len === 0) return p.writers === 0 ? 0 : -E.EAGAIN;
    const n = p.readTo(io, 0, io.total);
    if (n > 0) p.waitQueue.notify(WRITE_EVENTS);
    return n;
  }

  override write(io: UserIO, _off: number): number {
    const p = this.pipe;
    const t = this.blockingWriter(io);
    const progress = t ? (t.sysState as PipeWriteProgress | undefined) : undefined;
    const at = progress?.done ?? 0;
    const total = io.total;
    if (p.readers === 0) {
      if (at === 0) return -E.EPIPE;
      // Part was written before the last reader left: Linux returns that, with SIGPIPE.
      t!.sysState = undefined;
      t!.kernel.signals.sendToTask(t!, {
        signo: L.SIGPIPE,
        errno: 0,
        code: L.SI_USER,
        pid: t!.tg.tgid,
        uid: t!.creds.ruid,
      });
      return at;
    }
    if (total === 0) return 0;
    const left = total - at;
    const free = p.free;
    // Writes of at most PIPE_BUF bytes go in whole or not at all.
    if (at === 0 && (free === 0 || (total <= PIPE_BUF && free < total))) return -E.EAGAIN;
    let n = 0;
    if (free > 0) {
      n = p.writeFrom(io, at, Math.min(free, left));
      if (n < 0) {
        if (t) t.sysState = undefined;
        return at > 0 ? at : n;
      }
      if (n > 0) p.waitQueue.notify(READ_EVENTS);
    }
    if (!t || at + n >= total) {
      if (t) t.sysState = undefined;
      return at + n;
    }
    // A blocking write goes on until everything is written (or a signal comes).
    const st = progress ?? new PipeWriteProgress();
    st.done = at + n;
    t.sysState = st;
    const r = t.block([[p.waitQueue, WRITE_EVENTS | L.POLLERR]]);
    if (r === BLOCK) return BLOCK;
    t.sysState = undefined;
    return st.done;
  }

  /** The task of a write(2)-family call that may block until everything is written: the
   * current task writing its own memory to a blocking pipe (not the sentry's KernelIO
   * buffers of splice or sendfile, and not a call that keeps other state across retries). */
  private blockingWriter(io: UserIO): Task | null {
    if (this.nonblocking) return null;
    const t = this.pipe.kernel.current;
    if (!t || io.mm !== t.mm) return null;
    if (t.sysState !== undefined && !(t.sysState instanceof PipeWriteProgress)) return null;
    return t;
  }

  override readiness(mask: number): number {
    return this.pipe.readiness(this.reads, this.writes, mask, this.writeOpensSeen);
  }

  override seek(): number {
    return -E.ESPIPE;
  }

  override stat(): Stat | number {
    return this.inode ? this.inode.stat() : this.pipe.stat();
  }

  override fcntl(ctx: IoctlContext, cmd: number, arg: number): number {
    if (cmd !== L.F_GETPIPE_SZ && cmd !== L.F_SETPIPE_SZ) return -E.EINVAL;
    const creds = (ctx.task as { creds?: { hasCap(c: number): boolean } }).creds;
    return pipeSizeFcntl(this, cmd, arg, creds?.hasCap(CAP_SYS_RESOURCE) ?? false);
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    if (cmd === L.FIONREAD) return ctx.mm.writeU32(arg, this.reads ? this.pipe.len : 0);
    return -E.ENOTTY;
  }

  /** "pipe:[ino]", as /proc/pid/fd shows an anonymous pipe. */
  get procName(): string {
    return `pipe:[${this.pipe.ino}]`;
  }

  protected override release(): void {
    this.pipe.dropEnd(this.reads, this.writes);
  }
}

/** fcntl F_GETPIPE_SZ / F_SETPIPE_SZ; -EBADF for a file that is not a pipe. */
export function pipeSizeFcntl(
  f: FileDescription,
  cmd: number,
  arg: number,
  privileged: boolean,
): number {
  if (!(f instanceof PipeFile)) return -E.EBADF;
  if (cmd === L.F_GETPIPE_SZ) return f.pipe.capacity;
  return f.pipe.resize(arg, privileged);
}
