// Memory: mmap, munmap, mprotect, mremap, brk, madvise, mincore, msync, mlock.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { GUEST_ADDR_LIMIT, Op } from "../../ffi/platform.ts";
import type { Task } from "../kernel/task.ts";
import { newVma, pageDown, pageUp, STACK_ANON_BASE, type Vma } from "../mm/mm.ts";
import { AnonMemory } from "../mm/objects.ts";
import { pathString } from "../vfs/mount.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";

const PAGE = 4096;
const MIN_ADDR = 0x10000;

function validRange(addr: number, len: number): boolean {
  return addr % PAGE === 0 && len > 0 && addr + len <= GUEST_ADDR_LIMIT && addr + len > addr;
}

function asLimit(t: Task, extra: number): boolean {
  const lim = t.rlimit(L.RLIMIT_AS).cur;
  return lim >= L.RLIM_INFINITY || t.mm.totalBytes() + extra <= lim;
}

function sysMmap(t: Task): number {
  const addr = t.arg(0), lenArg = t.arg(1), prot = t.argInt(2), flags = t.argInt(3);
  const fd = t.argInt(4), off = t.arg(5);
  const mm = t.mm;
  if (lenArg === 0) return -E.EINVAL;
  const len = pageUp(lenArg);
  if (len > GUEST_ADDR_LIMIT || len < lenArg) return -E.ENOMEM;
  if (off % PAGE !== 0) return -E.EINVAL;
  const type = flags & L.MAP_TYPE;
  if (type !== L.MAP_SHARED && type !== L.MAP_PRIVATE && type !== L.MAP_SHARED_VALIDATE) return -E.EINVAL;
  if (prot & ~(L.PROT_READ | L.PROT_WRITE | L.PROT_EXEC | L.PROT_GROWSDOWN | L.PROT_GROWSUP)) return -E.EINVAL;
  const shared = type !== L.MAP_PRIVATE;
  const fixed = (flags & (L.MAP_FIXED | L.MAP_FIXED_NOREPLACE)) !== 0;
  if (fixed && (addr % PAGE !== 0 || addr + len > GUEST_ADDR_LIMIT)) return fixed && addr % PAGE ? -E.EINVAL : -E.ENOMEM;
  if (fixed && addr < MIN_ADDR) return -E.EPERM;
  if (!asLimit(t, len)) return -E.ENOMEM;

  // What to map.
  let obj = null;
  let maxProt = L.PROT_READ | L.PROT_WRITE | L.PROT_EXEC;
  let name = "";
  if (!(flags & L.MAP_ANONYMOUS)) {
    const f = t.fdTable.get(fd);
    if (!f) return -E.EBADF;
    if (!f.readable) return -E.EACCES;
    if (shared && (prot & L.PROT_WRITE) && !f.writable) return -E.EACCES;
    if (shared && !f.writable) maxProt &= ~L.PROT_WRITE;
    const m = f.mappable();
    if (typeof m === "number") return m;
    obj = m;
    if (f.path) name = pathString(f.path, t.fs.root) ?? "";
  } else if (shared) {
    obj = new AnonMemory(t.kernel.memfile);
    obj.identity = { path: "/dev/zero (deleted)", dev: 0, ino: 0 };
    name = "/dev/zero (deleted)";
  }

  let start: number;
  if (fixed) {
    start = addr;
    if ((flags & L.MAP_FIXED_NOREPLACE) && !mm.isFree(start, start + len)) {
      if (obj && !(flags & L.MAP_ANONYMOUS)) {/* nothing taken yet */}
      return -E.EEXIST;
    }
  } else {
    start = mm.findFree(len, addr);
    if (start < 0) return start;
  }
  mm.unmap(start, start + len);
  if (obj && !(flags & L.MAP_ANONYMOUS)) obj.incRef();
  const growsDown = (flags & L.MAP_GROWSDOWN) !== 0;
  const v = newVma(start, start + len, prot & 7, {
    shared,
    obj,
    objPg: obj ? off / PAGE : 0,
    maxProt,
    name,
    growsDown,
    anonPg: growsDown ? STACK_ANON_BASE : 0,
    locked: (flags & L.MAP_LOCKED) !== 0,
  });
  mm.insert(v);
  if (flags & L.MAP_POPULATE) populate(t, start, start + len);
  return start;
}

/** MAP_POPULATE / MADV_WILLNEED: fault the range in now. */
function populate(t: Task, start: number, end: number): void {
  for (let a = start; a < end; a += 16 * PAGE) {
    const v = t.mm.find(a);
    if (!v || !(v.prot & (L.PROT_READ | L.PROT_WRITE | L.PROT_EXEC))) continue;
    t.mm.fault(a, v.prot & L.PROT_WRITE ? 2 : 0);
  }
}

function sysMunmap(t: Task): number {
  const addr = t.arg(0), len = t.arg(1);
  if (addr % PAGE !== 0 || len === 0 || addr + len > GUEST_ADDR_LIMIT + PAGE * 0) {
    if (addr % PAGE !== 0 || len === 0) return -E.EINVAL;
  }
  if (addr + len > GUEST_ADDR_LIMIT) return -E.EINVAL;
  t.mm.unmap(addr, addr + pageUp(len));
  return 0;
}

function sysMprotect(t: Task): number {
  const addr = t.arg(0), len = t.arg(1);
  let prot = t.argInt(2);
  if (addr % PAGE !== 0) return -E.EINVAL;
  if (prot & ~(L.PROT_READ | L.PROT_WRITE | L.PROT_EXEC | L.PROT_GROWSDOWN | L.PROT_GROWSUP)) return -E.EINVAL;
  if (len === 0) return 0;
  const end = addr + pageUp(len);
  if (end > GUEST_ADDR_LIMIT || end < addr) return -E.ENOMEM;
  let start = addr;
  if (prot & L.PROT_GROWSDOWN) {
    const v = t.mm.find(addr);
    if (!v || !v.growsDown) return -E.EINVAL;
    start = v.start;
  }
  prot &= 7;
  return t.mm.protect(start, end, prot);
}

function sysBrk(t: Task): number {
  const mm = t.mm;
  const want = t.arg(0);
  if (want < mm.brkStart) return mm.brk;
  const newEnd = pageUp(want), oldEnd = pageUp(mm.brk);
  const dataLimit = t.rlimit(L.RLIMIT_DATA).cur;
  if (dataLimit < L.RLIM_INFINITY && want - mm.brkStart > dataLimit) return mm.brk;
  if (newEnd > oldEnd) {
    if (!mm.isFree(oldEnd, newEnd) || !asLimit(t, newEnd - oldEnd)) return mm.brk;
    // One [heap] VMA, as Linux shows it: grow the existing one when it ends at the break.
    const heap = oldEnd > mm.brkStart ? mm.find(oldEnd - 1) : null;
    if (heap && heap.name === "[heap]" && heap.end === oldEnd && !heap.shared && heap.obj === null) {
      mm.extendVma(heap, newEnd);
    } else {
      mm.insert(newVma(oldEnd, newEnd, L.PROT_READ | L.PROT_WRITE, { name: "[heap]" }));
    }
  } else if (newEnd < oldEnd) {
    mm.unmap(newEnd, oldEnd);
  }
  mm.brk = want;
  return want;
}

function sysMremap(t: Task): number {
  const oldAddr = t.arg(0), oldLenArg = t.arg(1), newLenArg = t.arg(2), flags = t.argInt(3);
  const newAddrArg = t.arg(4);
  const mm = t.mm;
  if (oldAddr % PAGE) return -E.EINVAL;
  if (flags & ~(L.MREMAP_MAYMOVE | L.MREMAP_FIXED | L.MREMAP_DONTUNMAP)) return -E.EINVAL;
  if ((flags & L.MREMAP_FIXED) && !(flags & L.MREMAP_MAYMOVE)) return -E.EINVAL;
  if (newLenArg === 0) return -E.EINVAL;
  const oldLen = pageUp(oldLenArg), newLen = pageUp(newLenArg);
  const v = mm.find(oldAddr);
  if (!v) return -E.EFAULT;
  if (oldLen === 0) {
    // Duplicating a shared mapping.
    if (!v.shared || !(flags & L.MREMAP_MAYMOVE)) return -E.EINVAL;
  } else if (oldAddr + oldLen > v.end) {
    return -E.EFAULT;
  }
  if (flags & L.MREMAP_DONTUNMAP) return -E.EINVAL;
  if (!(flags & L.MREMAP_FIXED)) {
    if (newLen <= oldLen && oldLen > 0) {
      if (newLen < oldLen) mm.unmap(oldAddr + newLen, oldAddr + oldLen);
      return oldAddr;
    }
    // Grow in place when the room is there.
    if (oldLen > 0 && oldAddr + oldLen === v.end && mm.isFree(v.end, oldAddr + newLen) &&
      oldAddr + newLen <= GUEST_ADDR_LIMIT) {
      if (!asLimit(t, newLen - oldLen)) return -E.ENOMEM;
      extend(mm, v, oldAddr + newLen);
      return oldAddr;
    }
    if (!(flags & L.MREMAP_MAYMOVE)) return -E.ENOMEM;
  }
  // Move: a new VMA over the same pages.
  let dst: number;
  if (flags & L.MREMAP_FIXED) {
    dst = newAddrArg;
    if (dst % PAGE || dst + newLen > GUEST_ADDR_LIMIT) return -E.EINVAL;
    if (dst < oldAddr + Math.max(oldLen, 1) && oldAddr < dst + newLen) return -E.EINVAL;
    mm.unmap(dst, dst + newLen);
  } else {
    dst = mm.findFree(newLen);
    if (dst < 0) return dst;
  }
  return moveRange(t, v, oldAddr, oldLen, dst, newLen);
}

function extend(mm: import("../mm/mm.ts").MM, v: Vma, newEnd: number): void {
  const ext = newVma(v.end, newEnd, v.prot, { ...v, start: v.end, end: newEnd });
  ext.objPg = v.objPg + (v.end - v.start) / PAGE;
  ext.anonPg = v.anonPg + (v.end - v.start) / PAGE;
  ext.obj?.incRef();
  ext.anon?.incRef();
  mm.insert(ext);
}

/** Moves [oldAddr, oldAddr+oldLen) of v to dst, growing it to newLen. The pages move with
 * it; growth gets fresh pages (or the file's next pages). */
function moveRange(t: Task, v: Vma, oldAddr: number, oldLen: number, dst: number, newLen: number): number {
  const mm = t.mm;
  const pg = (oldAddr - v.start) / PAGE;
  const keep = Math.min(oldLen || newLen, newLen);
  const moved: Vma = { ...v, start: dst, end: dst + keep, objPg: v.objPg + pg, anonPg: v.anonPg + pg };
  moved.obj?.incRef();
  moved.anon?.incRef();
  if (oldLen > 0) mm.unmap(oldAddr, oldAddr + oldLen, true);
  // Growing: the same objects continue past the old end when nothing else uses those pages
  // (one VMA, as Linux has); otherwise the growth gets fresh private pages.
  if (newLen > keep && !v.shared &&
    (!moved.anon || mm.anonRangeFree(moved.anon, moved.anonPg + keep / PAGE, moved.anonPg + newLen / PAGE))) {
    moved.end = dst + newLen;
    mm.insert(moved);
    return dst;
  }
  if (newLen > keep && v.shared) {
    moved.end = dst + newLen;
    mm.insert(moved);
    return dst;
  }
  mm.insert(moved);
  if (newLen > keep) {
    const extPg = pg + keep / PAGE;
    const ext = newVma(dst + keep, dst + newLen, v.prot, {
      shared: v.shared, obj: v.obj, objPg: v.objPg + extPg, maxProt: v.maxProt, name: v.name,
    });
    ext.obj?.incRef();
    mm.insert(ext);
  }
  return dst;
}

function sysMadvise(t: Task): number {
  const addr = t.arg(0), len = t.arg(1), advice = t.argInt(2);
  if (addr % PAGE) return -E.EINVAL;
  if (len === 0) return 0;
  const end = addr + pageUp(len);
  switch (advice) {
    case L.MADV_DONTNEED:
    case L.MADV_FREE:
    case L.MADV_REMOVE: {
      for (let a = addr; a < end;) {
        const v = t.mm.find(a);
        if (!v) {
          const next = t.mm.findAtOrAfter(a);
          if (!next || next.start >= end) return -E.ENOMEM;
          a = next.start;
          continue;
        }
        if (v.locked) return -E.EINVAL;
        const s = Math.max(a, v.start), e = Math.min(end, v.end);
        if (!v.shared && v.anon) {
          // Private pages are dropped: the range reads as zeros (anon) or the file again.
          t.mm.dropPrivatePages(v, s, e);
        }
        t.mm.queueOp(Op.Munmap, s, e - s, 0, 0);
        a = e;
      }
      return 0;
    }
    case L.MADV_NORMAL:
    case L.MADV_RANDOM:
    case L.MADV_SEQUENTIAL:
    case L.MADV_HUGEPAGE:
    case L.MADV_NOHUGEPAGE:
    case 12: // MADV_MERGEABLE
    case 13: // MADV_UNMERGEABLE
    case 16: // MADV_DONTDUMP
    case 17: // MADV_DODUMP
    case 18: // MADV_WIPEONFORK
    case 19: // MADV_KEEPONFORK
    case 20: // MADV_COLD
    case 21: // MADV_PAGEOUT
    case 25: // MADV_COLLAPSE
      return 0;
    case L.MADV_WILLNEED:
      populate(t, addr, end);
      return 0;
    case L.MADV_DONTFORK:
    case L.MADV_DOFORK:
      for (let a = addr; a < end;) {
        const v = t.mm.find(a);
        if (!v) return -E.ENOMEM;
        v.dontFork = advice === L.MADV_DONTFORK;
        a = v.end;
      }
      return 0;
    default:
      return -E.EINVAL;
  }
}

function sysMincore(t: Task): number {
  const addr = t.arg(0), len = t.arg(1), vec = t.arg(2);
  if (addr % PAGE) return -E.EINVAL;
  if (addr + len > GUEST_ADDR_LIMIT) return -E.ENOMEM;
  const end = addr + pageUp(len);
  for (let a = addr; a < end;) {
    const v = t.mm.find(a);
    if (!v) return -E.ENOMEM;
    a = v.end;
  }
  // Every mapped page counts as resident; written out in bounded pieces.
  const piece = new Uint8Array(65536).fill(1);
  for (let done = 0, pages = (end - addr) / PAGE; done < pages; done += piece.length) {
    const n = Math.min(piece.length, pages - done);
    const rc = t.mm.copyOut(vec + done, piece.subarray(0, n));
    if (rc < 0) return rc;
  }
  return 0;
}

function sysMsync(t: Task): number {
  const addr = t.arg(0), len = t.arg(1), flags = t.argInt(2);
  if (addr % PAGE || (flags & ~(L.MS_ASYNC | L.MS_INVALIDATE | L.MS_SYNC))) return -E.EINVAL;
  if ((flags & L.MS_ASYNC) && (flags & L.MS_SYNC)) return -E.EINVAL;
  const end = addr + pageUp(len);
  for (let a = addr; a < end;) {
    const v = t.mm.find(a);
    if (!v) return -E.ENOMEM;
    a = v.end;
  }
  return 0;
}

function sysMlock(t: Task): number {
  const addr = pageDown(t.arg(0)), end = pageUp(t.arg(0) + t.arg(1));
  for (let a = addr; a < end;) {
    const v = t.mm.find(a);
    if (!v) return -E.ENOMEM;
    a = v.end;
  }
  return 0;
}

export const mmSyscalls: SyscallDef[] = [
  { nr: Sys.mmap, fn: sysMmap, args: "pxxxdx" },
  { nr: Sys.munmap, fn: sysMunmap, args: "px" },
  { nr: Sys.mprotect, fn: sysMprotect, args: "pxx" },
  { nr: Sys.brk, fn: sysBrk, args: "p" },
  { nr: Sys.mremap, fn: sysMremap, status: Support.Partial, note: "no MREMAP_DONTUNMAP", args: "pxxxp" },
  { nr: Sys.madvise, fn: sysMadvise, args: "pxd" },
  { nr: Sys.mincore, fn: sysMincore, status: Support.Partial, note: "reports every mapped page resident", args: "pxp" },
  { nr: Sys.msync, fn: sysMsync, args: "pxx" },
  { nr: Sys.mlock, fn: sysMlock, status: Support.Stub, note: "memory is never swapped" },
  { nr: Sys.munlock, fn: sysMlock, status: Support.Stub },
  { nr: Sys.mlock2, fn: sysMlock, status: Support.Stub },
  { nr: Sys.mlockall, fn: () => 0, status: Support.Stub },
  { nr: Sys.munlockall, fn: () => 0, status: Support.Stub },
];
