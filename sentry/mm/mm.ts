// A guest address space: Linux's view of it (VMAs with protections, objects and names), the
// stub process that hosts it, and the host mappings that mirror it lazily.
//
// Invariants:
// - vmas is sorted by start, non-overlapping, every bound page-aligned and below
//   GUEST_ADDR_LIMIT.
// - The host mappings in the stub are a cache of the VMAs: a page is mapped only with the
//   VMA's protections or fewer (copy-on-write pages read-only), so every access the guest
//   must not make faults into the sentry. Any change to the VMAs first queues the host ops
//   that drop now-stale host mappings; a thread of this address space performs them before
//   it (or any thread that could notice) runs guest code again.
import { E } from "../abi/errno.ts";
import {
  MAP_GROWSDOWN,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SEGV_ACCERR,
  SEGV_MAPERR,
} from "../abi/linux.ts";
import { GUEST_ADDR_LIMIT, Op } from "../../ffi/platform.ts";
import { CHUNK_PAGES, type MemoryFile } from "./memfile.ts";
import { AnonMemory, type Mappable } from "./objects.ts";
import { bytesToBinary } from "../util/bytes.ts";

export interface Vma {
  start: number;
  end: number;
  prot: number;
  maxProt: number;
  shared: boolean;
  growsDown: boolean;
  /** What the VMA maps (a file's pages, shared anonymous memory), or null for private
   * anonymous memory. objPg is the object page at `start`. */
  obj: Mappable | null;
  objPg: number;
  /** Private pages of a private mapping (written or anonymous); anonPg is its page at
   * `start`. Created on first need. */
  anon: AnonMemory | null;
  anonPg: number;
  /** Name for /proc/pid/maps: "[heap]", "[stack]", "[vdso]", a path, or "". */
  name: string;
  dontFork: boolean;
  locked: boolean;
}

export const enum Access {
  Read = 1,
  Write = 2,
  Exec = 4,
}

export interface FaultResult {
  /** 0: resolved (host mapping queued); else the signal to deliver. */
  signal: number;
  code: number;
}

const PAGE = PAGE_SIZE;
export const pageDown = (a: number) => a - (a % PAGE);
export const pageUp = (a: number) => Math.ceil(a / PAGE) * PAGE;

export class MM {
  vmas: Vma[] = [];
  /** Host ops to perform in the stub before guest code runs again (flat quintuples). */
  pendingOps: number[] = [];
  /** Number of tasks using this address space (CLONE_VM shares it). */
  users = 1;
  /** Thread slot indices of the stub: free ones below `nextSlot`, and ones whose host thread
   * is exiting (reusable once the stub marks them dead). */
  private freeSlots: number[] = [];
  private dyingSlots: number[] = [];
  private nextSlot = 0;
  /** The stub was killed (or died): no more host ops, no more resumes. */
  stubKilled = false;

  brkStart = 0;
  brk = 0;
  mmapBase = 0;
  stackTop = 0;
  stackLimit = 8 * 1024 * 1024;
  argStart = 0;
  argEnd = 0;
  envStart = 0;
  envEnd = 0;
  auxv: Uint8Array = new Uint8Array(0);
  /** The executable, for /proc/pid/exe (set by the loader). */
  exePath = "";
  exe: unknown = null;
  /** Consecutive faults at one address: a fault that keeps coming back is not resolvable. */
  private lastFault = -1;
  private faultRepeats = 0;
  private vmaCache: Vma | null = null;

  constructor(readonly memfile: MemoryFile, readonly stub: number) {}

  get mem(): Uint8Array {
    return this.memfile.mem;
  }

  allocSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    const platform = this.memfile.platform;
    for (let i = 0; i < this.dyingSlots.length; i++) {
      const idx = this.dyingSlots[i];
      if (platform.slot(this.stub * 1024 + idx).state === 3 /* SB_DEAD */) {
        this.dyingSlots.splice(i, 1);
        return idx;
      }
    }
    if (this.nextSlot >= 1024) return -E.EAGAIN;
    return this.nextSlot++;
  }

  /** The host thread of slot id has been told to exit. */
  releaseSlot(slotId: number): void {
    this.dyingSlots.push(slotId % 1024);
  }

  /** Reserves slot 0 (the stub's first thread). */
  takeFirstSlot(): void {
    if (this.nextSlot === 0) this.nextSlot = 1;
  }

  // ---- VMA lookup -------------------------------------------------------------------

  /** Index of the first VMA with end > addr (may not contain addr). */
  private lowerBound(addr: number): number {
    let lo = 0, hi = this.vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.vmas[mid].end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  find(addr: number): Vma | null {
    const c = this.vmaCache;
    if (c && addr >= c.start && addr < c.end) return c;
    const i = this.lowerBound(addr);
    const v = this.vmas[i];
    if (v && v.start <= addr) {
      this.vmaCache = v;
      return v;
    }
    return null;
  }

  /** The VMA at or after addr (null if none). */
  findAtOrAfter(addr: number): Vma | null {
    return this.vmas[this.lowerBound(addr)] ?? null;
  }

  // ---- host ops ---------------------------------------------------------------------

  queueOp(kind: Op, addr: number, len: number, prot: number, off: number): void {
    this.pendingOps.push(kind, addr, len, prot, off);
    // Host mappings dropped: a fault at the last fault's page is a new one.
    if (kind !== Op.Mmap) this.lastFault = -1;
  }

  // ---- changing the map -------------------------------------------------------------

  /** Removes [start, end) from the map (splitting VMAs at the edges) and drops the host
   * mappings. Private pages of removed ranges are freed, unless keepPages (mremap moved
   * them to another VMA). */
  unmap(start: number, end: number, keepPages = false): void {
    if (start >= end) return;
    this.splitAt(start);
    this.splitAt(end);
    const i = this.lowerBound(start);
    let j = i;
    while (j < this.vmas.length && this.vmas[j].start < end) {
      this.releaseVma(this.vmas[j], keepPages);
      j++;
    }
    if (j > i) {
      this.vmas.splice(i, j - i);
      this.vmaCache = null;
    }
    this.queueOp(Op.Munmap, start, end - start, 0, 0);
  }

  private releaseVma(v: Vma, keepPages = false): void {
    if (v.anon) {
      if (!keepPages) this.dropPrivatePages(v, v.start, v.end);
      v.anon.decRef();
    }
    v.obj?.decRef();
  }

  /** Frees the private pages of v in [start, end): anonymous memory reads as zeros again,
   * a private file mapping shows the file again (madvise MADV_DONTNEED). */
  dropPrivatePages(v: Vma, start: number, end: number): void {
    if (!v.anon) return;
    const a = v.anonPg + (start - v.start) / PAGE, b = v.anonPg + (end - v.start) / PAGE;
    v.anon.discard(a, b);
    const priv = this.privatePages.get(v.anon);
    if (priv) for (let p = a; p < b; p++) priv.delete(p);
  }

  /** Splits the VMA containing addr so that a VMA boundary falls on addr. */
  private splitAt(addr: number): void {
    const v = this.find(addr);
    if (!v || v.start === addr) return;
    const pages = (addr - v.start) / PAGE;
    const right: Vma = { ...v, start: addr, objPg: v.objPg + pages, anonPg: v.anonPg + pages };
    v.end = addr;
    v.obj?.incRef();
    v.anon?.incRef();
    this.vmas.splice(this.vmas.indexOf(v) + 1, 0, right);
    this.vmaCache = null;
  }

  /** Inserts a VMA over [v.start, v.end) (the range must be free). */
  insert(v: Vma): void {
    const i = this.lowerBound(v.start);
    this.vmas.splice(i, 0, v);
    this.tryMerge(i);
  }

  /** Merges what can be merged from VMA index `from - 1` up to the VMA ending at `end`. */
  private mergeAround(from: number, end: number): void {
    let i = Math.max(0, from - 1);
    while (i < this.vmas.length - 1 && this.vmas[i].start <= end) {
      const before = this.vmas.length;
      this.tryMerge(i);
      if (this.vmas.length === before) i++;
    }
  }

  /** Merges VMA i with its neighbours when they are indistinguishable continuations. */
  private tryMerge(i: number): void {
    const canMerge = (a: Vma, b: Vma) =>
      a.end === b.start && a.prot === b.prot && a.maxProt === b.maxProt &&
      a.shared === b.shared && a.growsDown === b.growsDown && a.name === b.name &&
      a.dontFork === b.dontFork && a.locked === b.locked &&
      a.obj === b.obj && (a.obj === null || a.objPg + (a.end - a.start) / PAGE === b.objPg) &&
      ((a.anon === null && b.anon === null) ||
        (a.anon !== null && a.anon === b.anon && a.anonPg + (a.end - a.start) / PAGE === b.anonPg));
    const v = this.vmas[i];
    const next = this.vmas[i + 1];
    if (next && canMerge(v, next)) {
      v.end = next.end;
      next.obj?.decRef();
      next.anon?.decRef();
      this.vmas.splice(i + 1, 1);
    }
    const prev = this.vmas[i - 1];
    if (prev && canMerge(prev, v)) {
      prev.end = v.end;
      v.obj?.decRef();
      v.anon?.decRef();
      this.vmas.splice(i, 1);
    }
    this.vmaCache = null;
  }

  /** Grows v up to newEnd (the range above it must be free). Its private pages continue
   * its numbering; pages there belong to no other VMA (see anonRangeFree). */
  extendVma(v: Vma, newEnd: number): void {
    if (v.anon && !this.anonRangeFree(v.anon, v.anonPg + (v.end - v.start) / PAGE, v.anonPg + (newEnd - v.start) / PAGE)) {
      this.insert(newVma(v.end, newEnd, v.prot, { name: v.name }));
      return;
    }
    v.end = newEnd;
    this.vmaCache = null;
  }

  /** Whether [start, end) overlaps no VMA. */
  isFree(start: number, end: number): boolean {
    const v = this.findAtOrAfter(start);
    return !v || v.start >= end;
  }

  /** Finds room for `len` bytes below the mmap base, top-down like Linux (then above it).
   * A VMA may straddle the base (mremap grows mappings in place): gaps are measured from
   * the VMAs themselves, never from the base alone. */
  findFree(len: number, hint = 0): number {
    if (hint) {
      const h = pageDown(hint);
      if (h >= 0x10000 && h + len <= GUEST_ADDR_LIMIT && this.isFree(h, h + len)) return h;
    }
    const n = this.vmas.length;
    let top = this.mmapBase;
    const i = this.lowerBound(top); // the first VMA ending above the base
    if (i < n && this.vmas[i].start < top) top = this.vmas[i].start;
    for (let j = i - 1;; j--) {
      const floor = j >= 0 ? this.vmas[j].end : 0x10000;
      if (top - len >= floor) return top - len;
      if (j < 0) break;
      top = this.vmas[j].start;
    }
    // Nothing below the base: look above it, below the stack's reach.
    let bottom = this.mmapBase;
    const ceiling = this.stackTop - this.stackLimit;
    for (let j = this.lowerBound(bottom); j <= n; j++) {
      const v = j < n ? this.vmas[j] : null;
      const ceil = v ? Math.min(v.start, ceiling) : ceiling;
      if (ceil - bottom >= len) return bottom;
      if (!v) break;
      bottom = Math.max(bottom, v.end);
    }
    return -E.ENOMEM;
  }

  /** mprotect: changes protections of [start, end), which must be fully mapped. */
  protect(start: number, end: number, prot: number): number {
    for (let a = start; a < end;) {
      const v = this.find(a);
      if (!v) return -E.ENOMEM;
      if ((prot & ~v.maxProt & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) return -E.EACCES;
      a = v.end;
    }
    this.splitAt(start);
    this.splitAt(end);
    const first = this.lowerBound(start);
    for (let i = first; i < this.vmas.length && this.vmas[i].start < end; i++) {
      this.vmas[i].prot = prot;
    }
    this.mergeAround(first, end);
    // Drop host mappings; faults map the pages again with the new protections.
    this.queueOp(Op.Munmap, start, end - start, 0, 0);
    return 0;
  }

  // ---- faults -----------------------------------------------------------------------

  /** Resolves a guest fault at addr. err is the page-fault error code (bit 1 write, bit 4
   * fetch), or -1 when unknown (ptrace): then a writable VMA is taken as written. */
  fault(addr: number, err: number): FaultResult {
    let v = this.find(addr);
    if (!v) {
      v = this.growStack(addr);
      if (!v) return { signal: 11, code: SEGV_MAPERR };
    }
    let access: Access;
    if (err < 0) access = v.prot & PROT_WRITE ? Access.Write : Access.Read;
    else access = err & 2 ? Access.Write : err & 16 ? Access.Exec : Access.Read;
    if (!this.allowed(v, access)) return { signal: 11, code: SEGV_ACCERR };

    // A fault that comes back at the same place after we mapped it cannot be resolved.
    // When the access type is unknown (ptrace), the page was mapped with everything the
    // VMA allows, so the access itself is not allowed.
    const page = pageDown(addr);
    if (page === this.lastFault) {
      if (err < 0) {
        this.lastFault = -1;
        return { signal: 11, code: SEGV_ACCERR };
      }
      if (++this.faultRepeats > 8) {
        this.faultRepeats = 0;
        return { signal: 7, code: 2 /* BUS_ADRERR */ };
      }
    } else {
      this.lastFault = page;
      this.faultRepeats = 0;
    }

    // Map the faulting page's chunk-aligned neighbourhood within the VMA.
    const chunkBytes = CHUNK_PAGES * PAGE;
    const w0 = Math.max(v.start, page - (page % chunkBytes));
    const w1 = Math.min(v.end, w0 - (w0 % chunkBytes) + chunkBytes);
    let runAddr = -1, runOff = -1, runLen = 0, runProt = 0;
    for (let a = w0; a < w1; a += PAGE) {
      const want = a === page ? access : Access.Read;
      const r = this.resolvePage(v, a, want === Access.Write);
      if (r.off < 0) {
        if (a === page) {
          this.flushRun(runAddr, runLen, runProt, runOff);
          return r.off === -E.ENOMEM ? { signal: 7, code: 2 } : { signal: 7, code: 2 };
        }
        this.flushRun(runAddr, runLen, runProt, runOff);
        runLen = 0;
        continue;
      }
      if (runLen && r.prot === runProt && r.off === runOff + runLen && a === runAddr + runLen) {
        runLen += PAGE;
      } else {
        this.flushRun(runAddr, runLen, runProt, runOff);
        runAddr = a, runOff = r.off, runLen = PAGE, runProt = r.prot;
      }
    }
    this.flushRun(runAddr, runLen, runProt, runOff);
    return { signal: 0, code: 0 };
  }

  private flushRun(addr: number, len: number, prot: number, off: number): void {
    if (len > 0) this.queueOp(Op.Mmap, addr, len, prot, off);
  }

  private allowed(v: Vma, access: Access): boolean {
    if (access === Access.Write) return (v.prot & PROT_WRITE) !== 0;
    if (access === Access.Exec) return (v.prot & PROT_EXEC) !== 0;
    return (v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0;
  }

  private resolved = { off: 0, prot: 0 };

  /** The memory-file page backing guest page `a` of `v`, and the host protection it may be
   * mapped with. forWrite breaks copy-on-write. Returns a shared scratch object. */
  resolvePage(v: Vma, a: number, forWrite: boolean): { off: number; prot: number } {
    const r = this.resolved;
    const pg = (a - v.start) / PAGE;
    r.prot = v.prot;
    if (v.shared) {
      r.off = v.obj!.pageOffset(v.objPg + pg);
      return r;
    }
    if (v.anon) {
      const o = v.anon.peekPage(v.anonPg + pg);
      if (o >= 0 && (v.obj === null || this.anonHasPage(v, pg))) {
        r.off = o;
        return r;
      }
    }
    if (v.obj === null) {
      r.off = this.ensureAnon(v).pageOffset(v.anonPg + pg);
      if (r.off >= 0) this.markAnonPage(v, pg);
      return r;
    }
    const src = v.obj.pageOffset(v.objPg + pg);
    if (src < 0 || !forWrite) {
      r.off = src;
      r.prot = v.prot & ~PROT_WRITE;
      return r;
    }
    // Copy-on-write: the page becomes private.
    const dst = this.ensureAnon(v).pageOffset(v.anonPg + pg);
    if (dst < 0) {
      r.off = dst;
      return r;
    }
    this.mem.copyWithin(dst, src, src + PAGE);
    this.markAnonPage(v, pg);
    r.off = dst;
    return r;
  }

  /** Private file mappings: which pages of the anon layer hold private copies. An anon
   * chunk may exist for a page that was never copied, so this is tracked per page. */
  private privatePages = new WeakMap<AnonMemory, Set<number>>();

  private anonHasPage(v: Vma, pg: number): boolean {
    return this.privatePages.get(v.anon!)?.has(v.anonPg + pg) ?? false;
  }

  private markAnonPage(v: Vma, pg: number): void {
    if (v.obj === null) return;
    let set = this.privatePages.get(v.anon!);
    if (!set) this.privatePages.set(v.anon!, set = new Set());
    set.add(v.anonPg + pg);
  }

  private ensureAnon(v: Vma): AnonMemory {
    // anonPg keeps the numbering the VMA was created with (grows-down VMAs start high).
    if (!v.anon) v.anon = new AnonMemory(this.memfile);
    return v.anon;
  }

  /** Whether no VMA uses private pages [a, b) of anon (so a VMA may take them over: pages
   * outside every VMA are always absent or zero). */
  anonRangeFree(anon: AnonMemory, a: number, b: number): boolean {
    for (const v of this.vmas) {
      if (v.anon !== anon) continue;
      const va = v.anonPg, vb = v.anonPg + (v.end - v.start) / PAGE;
      if (va < b && a < vb) return false;
    }
    return true;
  }

  /** Extends a grows-down VMA (the stack) down to addr, as Linux does on a fault just
   * below it, within RLIMIT_STACK. */
  private growStack(addr: number): Vma | null {
    const v = this.findAtOrAfter(addr);
    if (!v || !v.growsDown) return null;
    const newStart = pageDown(addr);
    if (v.end - newStart > this.stackLimit) return null;
    const i = this.vmas.indexOf(v);
    const prev = this.vmas[i - 1];
    if (prev && prev.end > newStart - PAGE) return null; // keep a guard page
    const pages = (v.start - newStart) / PAGE;
    // Grows-down VMAs number their private pages from STACK_ANON_BASE downwards.
    if (v.anonPg - pages < 0) return null;
    v.start = newStart;
    v.anonPg -= pages;
    this.vmaCache = null;
    return v;
  }

  // ---- access from the sentry -------------------------------------------------------

  /** Memory-file offset of guest byte addr for an access by the sentry (copy-in: read;
   * copy-out: write), or -EFAULT. For writes to copy-on-write pages, the host mapping is
   * replaced. */
  translate(addr: number, write: boolean): number {
    const v = this.find(addr);
    if (!v) {
      const g = this.growStack(addr);
      if (!g) return -E.EFAULT;
      return this.translate(addr, write);
    }
    if (write ? !(v.prot & PROT_WRITE) : !(v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC))) {
      return -E.EFAULT;
    }
    const page = pageDown(addr);
    const wasPrivate = write && !v.shared && v.obj !== null && !(v.anon && this.anonHasPage(v, (page - v.start) / PAGE));
    const r = this.resolvePage(v, page, write);
    if (r.off < 0) return -E.EFAULT;
    if (wasPrivate) {
      // The host may map the file page read-only here: map the private copy instead.
      this.queueOp(Op.Mmap, page, PAGE, v.prot, r.off);
    }
    return r.off + (addr - page);
  }

  /** Calls fn(memOffset, length) for each piece of [addr, addr+len) as it sits in the
   * memory file. Returns 0 or -EFAULT (fn may have run for a prefix). */
  forEachRange(addr: number, len: number, write: boolean, fn: (off: number, n: number) => void): number {
    if (addr < 0 || len < 0 || addr + len > GUEST_ADDR_LIMIT) return -E.EFAULT;
    while (len > 0) {
      const off = this.translate(addr, write);
      if (off < 0) return off;
      const n = Math.min(len, PAGE - (addr % PAGE));
      fn(off, n);
      addr += n;
      len -= n;
    }
    return 0;
  }

  /** Copies guest memory into a new buffer, or returns -EFAULT. */
  copyIn(addr: number, len: number): Uint8Array | number {
    const out = new Uint8Array(len);
    let pos = 0;
    const mem = this.mem;
    const rc = this.forEachRange(addr, len, false, (off, n) => {
      out.set(mem.subarray(off, off + n), pos);
      pos += n;
    });
    return rc < 0 ? rc : out;
  }

  /** Copies data into guest memory; returns 0 or -EFAULT. */
  copyOut(addr: number, data: Uint8Array): number {
    let pos = 0;
    const mem = this.mem;
    return this.forEachRange(addr, data.length, true, (off, n) => {
      mem.set(data.subarray(pos, pos + n), off);
      pos += n;
    });
  }

  /** Zeroes guest memory; returns 0 or -EFAULT. */
  zero(addr: number, len: number): number {
    const mem = this.mem;
    return this.forEachRange(addr, len, true, (off, n) => mem.fill(0, off, off + n));
  }

  /** Reads a NUL-terminated string of at most max bytes (without the NUL) as a binary
   * string (util/bytes.ts); -EFAULT, or -ENAMETOOLONG when no NUL is found within max. */
  readCString(addr: number, max: number): string | number {
    const mem = this.mem;
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < max) {
      const off = this.translate(addr, false);
      if (off < 0) return off;
      const n = Math.min(max - total, PAGE - (addr % PAGE));
      const chunk = mem.subarray(off, off + n);
      const nul = chunk.indexOf(0);
      if (nul >= 0) {
        parts.push(chunk.subarray(0, nul));
        total += nul;
        return decodeParts(parts, total);
      }
      parts.push(chunk);
      total += n;
      addr += n;
    }
    return -E.ENAMETOOLONG;
  }

  readU32(addr: number): number {
    if (addr % 4 === 0) {
      const off = this.translate(addr, false);
      if (off < 0) return off;
      return (this.mem[off] | (this.mem[off + 1] << 8) | (this.mem[off + 2] << 16)) +
        this.mem[off + 3] * 0x1000000;
    }
    const b = this.copyIn(addr, 4);
    if (typeof b === "number") return b;
    return new DataView(b.buffer).getUint32(0, true);
  }

  /** Reads a u64 as a number (exact below 2^53); negative on fault. */
  readU64(addr: number): number {
    const lo = this.readU32(addr);
    if (lo < 0) return lo;
    const hi = this.readU32(addr + 4);
    if (hi < 0) return hi;
    return lo + hi * 4294967296;
  }

  writeU32(addr: number, v: number): number {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.copyOut(addr, b);
  }

  writeU64(addr: number, v: number): number {
    const b = new Uint8Array(8);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, v >>> 0, true);
    dv.setUint32(4, Math.floor(v / 4294967296) >>> 0, true);
    return this.copyOut(addr, b);
  }

  // ---- fork, teardown ---------------------------------------------------------------

  /** A copy of this address space for a forked child, hosted by stub `stub`. Private
   * memory is copied now (only committed pages); shared memory stays shared. */
  fork(stub: number): MM | number {
    const child = new MM(this.memfile, stub);
    for (const v of this.vmas) {
      if (v.dontFork) continue;
      const c: Vma = { ...v };
      c.obj?.incRef();
      if (v.anon) {
        const pages = (v.end - v.start) / PAGE;
        const copy = v.anon.copyRange(v.anonPg, v.anonPg + pages);
        if (typeof copy === "number") {
          child.destroy();
          return copy;
        }
        c.anon = copy;
        const priv = this.privatePages.get(v.anon);
        if (priv) child.privatePages.set(copy, new Set(priv));
      }
      child.vmas.push(c);
    }
    child.brkStart = this.brkStart;
    child.brk = this.brk;
    child.mmapBase = this.mmapBase;
    child.stackTop = this.stackTop;
    child.stackLimit = this.stackLimit;
    child.argStart = this.argStart;
    child.argEnd = this.argEnd;
    child.envStart = this.envStart;
    child.envEnd = this.envEnd;
    child.auxv = this.auxv;
    child.exePath = this.exePath;
    child.exe = this.exe;
    return child;
  }

  /** Frees all memory (the stub itself is killed by the caller). */
  destroy(): void {
    for (const v of this.vmas) this.releaseVma(v);
    this.vmas = [];
    this.pendingOps = [];
    this.vmaCache = null;
  }

  /** Total size of all VMAs (for RLIMIT_AS and /proc). */
  totalBytes(): number {
    let n = 0;
    for (const v of this.vmas) n += v.end - v.start;
    return n;
  }
}

function decodeParts(parts: Uint8Array[], total: number): string {
  if (parts.length === 1) return bytesToBinary(parts[0]);
  const all = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    all.set(part, p);
    p += part.length;
  }
  return bytesToBinary(all);
}

/** The page number a grows-down VMA's private pages start from, so that growing down
 * never needs negative page numbers. */
export const STACK_ANON_BASE = 2 ** 30;

export function newVma(start: number, end: number, prot: number, fields: Partial<Vma> = {}): Vma {
  return {
    start,
    end,
    prot,
    maxProt: PROT_READ | PROT_WRITE | PROT_EXEC,
    shared: false,
    growsDown: false,
    obj: null,
    objPg: 0,
    anon: null,
    anonPg: 0,
    name: "",
    dontFork: false,
    locked: false,
    ...fields,
  };
}

export { MAP_GROWSDOWN };
