// splice, tee, vmsplice: moving bytes into, out of and between pipes without a user
// buffer. The pipe's ring sits in the memory file, so the other file reads into or writes
// from it directly (a KernelIO over the ring), host files included.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { BLOCK, type Task } from "../kernel/task.ts";
import { type Pipe, PIPE_BUF, PipeFile } from "../fs/pipe/pipe.ts";
import type { FileDescription } from "../vfs/file.ts";
import { KernelIO, UserIO } from "../vfs/userio.ts";
import type { SyscallDef } from "./table.ts";
import { readIovec } from "./util.ts";

const SPLICE_F_MOVE = 1;
const SPLICE_F_NONBLOCK = 2;
const SPLICE_F_MORE = 4;
const SPLICE_F_GIFT = 8;
const SPLICE_FLAGS = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;
const MAX_RW = 0x7ffff000;

const IN = L.POLLIN | L.POLLERR | L.POLLHUP;
const OUT = L.POLLOUT | L.POLLERR | L.POLLHUP;

function sigpipe(t: Task): void {
  t.kernel.signals.sendToTask(t, {
    signo: L.SIGPIPE,
    errno: 0,
    code: L.SI_USER,
    pid: t.tg.tgid,
    uid: t.creds.ruid,
  });
}

/** Parks t until f's queue reports `mask` (or a signal: -ERESTARTSYS). */
function waitFor(t: Task, f: FileDescription, mask: number): number {
  const r = t.block([[f.waitQueue, mask]]);
  return r === BLOCK ? BLOCK : r;
}

/** Reads an loff_t argument (null pointer: none). */
function readOffset(t: Task, addr: number): number {
  if (!addr) return -1;
  const lo = t.mm.readU32(addr);
  if (lo < 0) return lo;
  const hi = t.mm.readU32(addr + 4);
  if (hi < 0) return hi;
  if (hi & 0x80000000) return -E.EINVAL;
  return lo + hi * 4294967296;
}

function isPipe(f: FileDescription): f is PipeFile {
  return f instanceof PipeFile;
}

/** Moves up to len bytes from pipe p to file out (at off, or its offset when off < 0).
 * Returns bytes moved, or -errno (-EAGAIN: the file would block). */
function pipeToFile(p: Pipe, out: FileDescription, off: number, len: number): number {
  const n = Math.min(len, p.len);
  let done = 0;
  const pieces = p.ranges(0, n);
  for (let i = 0; i < pieces.length; i += 2) {
    const w = out.write(
      new KernelIO(p.memory, pieces[i], pieces[i + 1]),
      off >= 0 ? off + done : -1,
    );
    if (w < 0) {
      if (done > 0) break;
      return w;
    }
    done += w;
    if (w < pieces[i + 1]) break;
  }
  if (done > 0) {
    p.consume(done);
    if (p.packets) p.packets.length = 0;
    p.waitQueue.notify(L.POLLOUT | L.POLLWRNORM);
  }
  return done;
}

/** Reads up to len bytes from file inp (at off, or its offset) into pipe p. */
function fileToPipe(inp: FileDescription, off: number, p: Pipe, len: number): number {
  const pieces = p.tailRanges(len);
  let done = 0;
  for (let i = 0; i < pieces.length; i += 2) {
    const r = inp.read(
      new KernelIO(p.memory, pieces[i], pieces[i + 1]),
      off >= 0 ? off + done : -1,
    );
    if (r < 0) {
      if (done > 0) break;
      return r;
    }
    done += r;
    if (r < pieces[i + 1]) break;
  }
  if (done > 0) {
    p.commit(done);
    p.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
  }
  return done;
}

function sysSplice(t: Task): number {
  const inp = t.fdTable.get(t.argInt(0)), out = t.fdTable.get(t.argInt(2));
  const offInAddr = t.arg(1), offOutAddr = t.arg(3);
  const len = Math.min(t.arg(4), MAX_RW), flags = t.argU32(5);
  if (!inp || !out) return -E.EBADF;
  if (flags & ~SPLICE_FLAGS) return -E.EINVAL;
  if (!inp.readable || !out.writable) return -E.EBADF;
  if (out.append && !isPipe(out)) return -E.EINVAL;
  // As Linux: an O_NONBLOCK file on the non-pipe side (either side between two pipes)
  // makes the whole call non-blocking.
  const flagNonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  if (len === 0) return 0;

  if (isPipe(inp) && isPipe(out)) {
    const nonblock = flagNonblock || inp.nonblocking || out.nonblocking;
    if (offInAddr || offOutAddr) return -E.ESPIPE;
    const a = inp.pipe, b = out.pipe;
    if (a === b) return -E.EINVAL;
    if (b.readers === 0) {
      sigpipe(t);
      return -E.EPIPE;
    }
    if (a.len === 0) {
      if (a.writers === 0) return 0;
      return nonblock ? -E.EAGAIN : waitFor(t, inp, IN);
    }
    if (b.free === 0) return nonblock ? -E.EAGAIN : waitFor(t, out, OUT);
    const n = Math.min(len, a.len, b.free);
    a.copyTo(b, n);
    a.consume(n);
    if (a.packets) a.packets.length = 0;
    b.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
    a.waitQueue.notify(L.POLLOUT | L.POLLWRNORM);
    return n;
  }

  if (isPipe(inp)) {
    if (offInAddr) return -E.ESPIPE;
    const nonblock = flagNonblock || out.nonblocking;
    let off = readOffset(t, offOutAddr);
    if (offOutAddr && off < 0) return off;
    if (offOutAddr && out.inode && !out.inode.isRegular()) return -E.ESPIPE;
    const p = inp.pipe;
    if (p.len === 0) {
      if (p.writers === 0) return 0;
      return nonblock ? -E.EAGAIN : waitFor(t, inp, IN);
    }
    const r = pipeToFile(p, out, off, len);
    if (r === -E.EAGAIN && !nonblock) return waitFor(t, out, OUT);
    if (r === -E.EPIPE) sigpipe(t);
    if (r > 0 && offOutAddr) {
      off += r;
      const rc = t.mm.writeU64(offOutAddr, off);
      if (rc < 0) return rc;
    }
    return r;
  }

  if (isPipe(out)) {
    if (offOutAddr) return -E.ESPIPE;
    const nonblock = flagNonblock || inp.nonblocking;
    let off = readOffset(t, offInAddr);
    if (offInAddr && off < 0) return off;
    if (offInAddr && inp.inode && !inp.inode.isRegular()) return -E.ESPIPE;
    const p = out.pipe;
    if (p.readers === 0) {
      sigpipe(t);
      return -E.EPIPE;
    }
    if (p.free === 0) return nonblock ? -E.EAGAIN : waitFor(t, out, OUT);
    const r = fileToPipe(inp, off, p, len);
    if (r === -E.EAGAIN && !nonblock) return waitFor(t, inp, IN);
    if (r > 0 && offInAddr) {
      off += r;
      const rc = t.mm.writeU64(offInAddr, off);
      if (rc < 0) return rc;
    }
    return r;
  }
  return -E.EINVAL;
}

function sysTee(t: Task): number {
  const inp = t.fdTable.get(t.argInt(0)), out = t.fdTable.get(t.argInt(1));
  const len = Math.min(t.arg(2), MAX_RW), flags = t.argU32(3);
  if (!inp || !out) return -E.EBADF;
  if (flags & ~SPLICE_FLAGS) return -E.EINVAL;
  if (!isPipe(inp) || !isPipe(out) || !inp.readable || !out.writable) return -E.EINVAL;
  const a = inp.pipe, b = out.pipe;
  if (a === b) return -E.EINVAL;
  if (len === 0) return 0;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0;
  if (b.readers === 0) {
    sigpipe(t);
    return -E.EPIPE;
  }
  if (a.len === 0) {
    if (a.writers === 0) return 0;
    return nonblock ? -E.EAGAIN : waitFor(t, inp, IN);
  }
  if (b.free === 0) return nonblock ? -E.EAGAIN : waitFor(t, out, OUT);
  const n = Math.min(len, a.len, b.free);
  a.copyTo(b, n);
  b.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
  return n;
}

function sysVmsplice(t: Task): number {
  const f = t.fdTable.get(t.argInt(0));
  const flags = t.argU32(3);
  if (!f) return -E.EBADF;
  if (flags & ~SPLICE_FLAGS) return -E.EINVAL;
  if (!isPipe(f)) return -E.EBADF;
  const iov = readIovec(t, t.arg(1), t.argInt(2));
  if (typeof iov === "number") return iov;
  const io = new UserIO(t.mm, iov);
  if (io.total === 0) return 0;
  const p = f.pipe;
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0 || f.nonblocking;
  if (f.writable) {
    if (p.readers === 0) {
      sigpipe(t);
      return -E.EPIPE;
    }
    const free = p.free;
    if (free === 0 || (io.total <= PIPE_BUF && free < io.total)) {
      return nonblock ? -E.EAGAIN : waitFor(t, f, OUT);
    }
    const n = p.writeFrom(io, 0, Math.min(free, io.total));
    if (n > 0) p.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
    return n;
  }
  if (!f.readable) return -E.EBADF;
  if (p.len === 0) {
    if (p.writers === 0) return 0;
    return nonblock ? -E.EAGAIN : waitFor(t, f, IN);
  }
  const n = p.readTo(io, 0, io.total);
  if (n > 0) p.waitQueue.notify(L.POLLOUT | L.POLLWRNORM);
  return n;
}

export const spliceSyscalls: SyscallDef[] = [
  { nr: Sys.splice, fn: sysSplice, args: "fpfpux" },
  { nr: Sys.tee, fn: sysTee, args: "ffux" },
  { nr: Sys.vmsplice, fn: sysVmsplice, args: "fpux" },
];
