// The memory file: every page of guest memory is a page of one memfd that the sentry maps
// whole (Platform.mem). This allocator hands out ranges of it. Pages are allocated in
// chunks (CHUNK bytes): a chunk reserves file space, but the host only commits the pages a
// guest or the sentry actually touches, so an untouched chunk costs nothing.
//
// Freed ranges are punched out of the file: the memory goes back to the host and the range
// reads as zeros when it is handed out again, which is what anonymous memory must be.
// Punching is batched (flush): a process's exit frees many chunks, often next to each other,
// and one hole punch per run of them is much cheaper than one per chunk.
import type { Platform } from "../../ffi/platform.ts";
import { E } from "../abi/errno.ts";

export const CHUNK = 64 * 1024;
export const CHUNK_PAGES = CHUNK / 4096;

export class MemoryFile {
  /** Free chunk offsets, reused before the bump pointer moves. */
  private freeChunks: number[] = [];
  /** Free multi-chunk extents [offset, length], for large allocations. */
  private freeExtents: Array<[number, number]> = [];
  private next = 0;
  /** Freed ranges not yet punched (not reusable until they are). */
  private pending: Array<[number, number]> = [];
  /** Bytes currently allocated (reserved, not necessarily touched). */
  allocated = 0;
  /** Sandbox-wide limit on touched memory (bytes), or Infinity. */
  limit = Infinity;
  private allocsSinceCheck = 0;

  constructor(readonly platform: Platform) {}

  get mem(): Uint8Array {
    return this.platform.mem;
  }

  /** One chunk; returns its file offset or -ENOMEM. */
  allocChunk(): number {
    if (!this.checkLimit()) return -E.ENOMEM;
    if (this.freeChunks.length === 0 && this.pending.length) this.flush();
    const off = this.freeChunks.pop();
    this.allocated += CHUNK;
    if (off !== undefined) return off;
    return this.bump(CHUNK);
  }

  /** A contiguous range of whole chunks covering `bytes`; returns its offset or -ENOMEM. */
  allocRange(bytes: number): number {
    const len = Math.ceil(bytes / CHUNK) * CHUNK;
    if (len === CHUNK) return this.allocChunk();
    if (!this.checkLimit()) return -E.ENOMEM;
    if (this.pending.length) this.flush();
    for (let i = 0; i < this.freeExtents.length; i++) {
      const [off, elen] = this.freeExtents[i];
      if (elen >= len) {
        if (elen === len) this.freeExtents.splice(i, 1);
        else this.freeExtents[i] = [off + len, elen - len];
        this.allocated += len;
        return off;
      }
    }
    this.allocated += len;
    return this.bump(len);
  }

  private bump(len: number): number {
    if (this.next + len > this.platform.memSize) {
      this.allocated -= len;
      return -E.ENOMEM;
    }
    const off = this.next;
    this.next += len;
    return off;
  }

  /** Returns a range (chunk multiple) allocated by allocChunk/allocRange. It is punched
   * and reusable after the next flush. */
  free(off: number, len: number): void {
    this.allocated -= len;
    this.pending.push([off, len]);
    if (this.pending.length >= 4096) this.flush();
  }

  /** Punches the freed ranges (adjacent ones in one call) and makes them reusable. */
  flush(): void {
    if (this.pending.length === 0) return;
    const ranges = this.pending.sort((a, b) => a[0] - b[0]);
    this.pending = [];
    let start = ranges[0][0], end = start + ranges[0][1];
    for (let i = 1; i <= ranges.length; i++) {
      const r = ranges[i];
      if (r && r[0] === end) {
        end += r[1];
        continue;
      }
      this.platform.punch(start, end - start);
      if (r) {
        start = r[0];
        end = start + r[1];
      }
    }
    for (const [off, len] of ranges) {
      if (len === CHUNK) this.freeChunks.push(off);
      else this.freeExtents.push([off, len]);
    }
  }

  get hasPendingFrees(): boolean {
    return this.pending.length > 0;
  }

  /** Checks the sandbox memory limit against what the host really committed, now and then
   * (it costs an fstat). */
  private checkLimit(): boolean {
    if (this.limit === Infinity) return true;
    if (++this.allocsSinceCheck < 64 && this.allocated < this.limit) return true;
    this.allocsSinceCheck = 0;
    return this.committedBytes() < this.limit;
  }

  /** Bytes of the memory file the host has actually committed. */
  committedBytes(): number {
    return this.platform.sym.sb_mem_committed();
  }
}
