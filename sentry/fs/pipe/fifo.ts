// FIFOs (named pipes): every open of one S_IFIFO inode shares a pipe, kept in a per-kernel
// registry keyed by the inode's identity until its last end closes. Opening follows Linux's
// fifo_open: a reader waits for a writer (unless O_NONBLOCK), a writer waits for a reader
// (O_NONBLOCK without a reader: ENXIO), O_RDWR never waits.
//
// This module sets the VFS's openFifo hook (vfs/special.ts) when it loads.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import { BLOCK, type Task } from "../../kernel/task.ts";
import type { FileDescription } from "../../vfs/file.ts";
import type { Inode } from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import { special } from "../../vfs/special.ts";
import { Pipe, PipeFile } from "./pipe.ts";

/** Wait-queue bit (outside every poll and epoll bit) announcing that an end was opened. */
const FIFO_OPENED = 0x08000000;

const registries = new WeakMap<Kernel, Map<unknown, Pipe>>();

function registry(k: Kernel): Map<unknown, Pipe> {
  let m = registries.get(k);
  if (!m) {
    m = new Map();
    registries.set(k, m);
  }
  return m;
}

/** An open waiting for its partner (kept in task.sysState across retries). */
class FifoWait {
  constructor(readonly file: PipeFile, readonly forReader: boolean, readonly counter: number) {}
}

function partnerCount(w: FifoWait): number {
  return w.forReader ? w.file.pipe.writeOpens : w.file.pipe.readOpens;
}

export function openFifo(
  inode: Inode,
  flags: number,
  path: VfsPath,
  task: unknown,
): FileDescription | number {
  const t = task as Task;
  let wait = t.sysState instanceof FifoWait ? t.sysState : null;
  if (!wait) {
    const acc = flags & L.O_ACCMODE;
    const nonblock = (flags & L.O_NONBLOCK) !== 0;
    const map = registry(t.kernel);
    const key = inode.identity();
    let p = map.get(key);
    if (p && p.dead) p = undefined;
    if (acc === L.O_WRONLY && nonblock && (!p || p.readers === 0)) return -E.ENXIO;
    if (!p) {
      const made = Pipe.create(t.kernel, { uid: t.creds.fsuid, gid: t.creds.fsgid });
      if (typeof made === "number") return made;
      const pipe = made;
      pipe.onRelease = () => {
        if (map.get(key) === pipe) map.delete(key);
      };
      map.set(key, pipe);
      p = pipe;
    }
    const file = new PipeFile(
      p,
      flags & ~(L.O_CREAT | L.O_EXCL | L.O_TRUNC | L.O_NOCTTY),
      path,
      inode,
    );
    p.waitQueue.notify(FIFO_OPENED);
    if (acc === L.O_RDONLY && p.writers === 0) {
      if (nonblock) {
        file.writeOpensSeen = p.writeOpens;
        return file;
      }
      wait = new FifoWait(file, true, p.writeOpens);
    } else if (acc === L.O_WRONLY && p.readers === 0) {
      wait = new FifoWait(file, false, p.readOpens);
    } else {
      return file;
    }
  }
  if (partnerCount(wait) !== wait.counter) {
    t.sysState = undefined;
    return wait.file;
  }
  t.sysState = wait;
  const r = t.block([[wait.file.pipe.waitQueue, FIFO_OPENED]]);
  if (r === BLOCK) return BLOCK;
  t.sysState = undefined;
  wait.file.decRef();
  return r;
}

special.openFifo = openFifo;
