// The pages of an in-memory file (tmpfs, memfd, the overlay's upper layer): chunks of the
// memory file, allocated on first write, charged to the filesystem's size limit. The same
// object is the file's Mappable, so a MAP_SHARED mapping and read()/write() see the same
// bytes, and file I/O is a copy inside the memory file (no host call).
import { E } from "../../abi/errno.ts";
import { host } from "../../../ffi/host.ts";
import { CHUNK, CHUNK_PAGES, type MemoryFile } from "../../mm/memfile.ts";
import type { Mappable, MappableIdentity } from "../../mm/objects.ts";

const PAGE = 4096;

/** Where file pages are charged: a filesystem's size limit. */
export interface SpaceAccount {
  /** Takes bytes from the limit; false if that would go over it. */
  charge(bytes: number): boolean;
  uncharge(bytes: number): void;
}

/** Largest file size (keeps offsets exact in JS numbers). */
export const MAX_FILE_SIZE = 2 ** 46;

function pageUp(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}

export class FileData implements Mappable {
  /** Chunk index -> memory-file offset. */
  readonly chunks = new Map<number, number>();
  size = 0;
  /** Bytes charged: for each allocated chunk, the part of it below pageUp(size). */
  private charged = 0;
  /** References: the file itself, plus one per mapping (VMA). */
  private refs = 1;
  identity: MappableIdentity | null = null;

  constructor(readonly memfile: MemoryFile, readonly account: SpaceAccount) {}

  get mem(): Uint8Array {
    return this.memfile.mem;
  }

  /** Bytes charged for this file (what `stat` reports as blocks * 512). */
  get chargedBytes(): number {
    return this.charged;
  }

  get mapped(): boolean {
    return this.refs > 1;
  }

  private contribution(c: number, size: number): number {
    return Math.max(0, Math.min(CHUNK, pageUp(size) - c * CHUNK));
  }

  /** The chunk's memory-file offset, allocating (and charging) it if needed; -ENOSPC when
   * over the filesystem's limit, -ENOMEM when the sandbox is out of memory. */
  private chunk(c: number): number {
    const have = this.chunks.get(c);
    if (have !== undefined) return have;
    const cost = this.contribution(c, this.size);
    if (!this.account.charge(cost)) return -E.ENOSPC;
    const off = this.memfile.allocChunk();
    if (off < 0) {
      // The sandbox's memory is what holds files: out of it is out of space.
      this.account.uncharge(cost);
      return off === -E.ENOMEM ? -E.ENOSPC : off;
    }
    this.charged += cost;
    this.chunks.set(c, off);
    return off;
  }

  /** Changes the size. Growing charges the allocated chunk that held the old end (the
   * others are charged as they are allocated); shrinking frees whole chunks past the end and
   * zeroes the rest of the last page. Returns 0 or -ENOSPC. */
  resize(newSize: number): number {
    const old = this.size;
    if (newSize === old) return 0;
    if (newSize > old) {
      const c = Math.floor(old / CHUNK);
      if (this.chunks.has(c)) {
        const delta = this.contribution(c, newSize) - this.contribution(c, old);
        if (!this.account.charge(delta)) return -E.ENOSPC;
        this.charged += delta;
      }
      this.size = newSize;
      return 0;
    }
    // Shrink: zero the tail of the page holding the new end (a later extension must read
    // zeros there), then drop what lies past it.
    const keepChunks = Math.ceil(newSize / CHUNK);
    if (newSize % PAGE !== 0) {
      const off = this.chunks.get(Math.floor(newSize / CHUNK));
      if (off !== undefined) {
        const from = off + (newSize % CHUNK);
        this.mem.fill(0, from, off + pageUp(newSize % CHUNK));
      }
    }
    for (const [c, off] of [...this.chunks]) {
      const before = this.contribution(c, old), after = this.contribution(c, newSize);
      if (c >= keepChunks) {
        this.chunks.delete(c);
        this.release(off);
      } else if (after < before) {
        // Pages past the end inside a kept chunk: give them back to the host.
        this.memfile.platform.punch(off + after, before - after);
      }
      this.account.uncharge(before - after);
      this.charged -= before - after;
    }
    this.size = newSize;
    return 0;
  }

  /** Frees a chunk no longer part of the file. While the file is mapped somewhere, a
   * stale mapping may still point at it: the chunk is then zeroed but not reused, so no
   * other data can ever show through. */
  private release(off: number): void {
    if (this.refs > 1) this.memfile.platform.punch(off, CHUNK);
    else this.memfile.free(off, CHUNK);
  }

  /** Copies file bytes [pos, pos+n) to memory-file ranges (dst pairs: offset, length). */
  readTo(pos: number, dst: Float64Array): number {
    let done = 0;
    const end = this.size;
    for (let i = 0; i < dst.length && pos < end; i += 2) {
      let d = dst[i], len = Math.min(dst[i + 1], end - pos);
      while (len > 0) {
        const c = Math.floor(pos / CHUNK), within = pos - c * CHUNK;
        const n = Math.min(len, CHUNK - within);
        const off = this.chunks.get(c);
        if (off === undefined) this.mem.fill(0, d, d + n);
        else this.mem.copyWithin(d, off + within, off + within + n);
        d += n, pos += n, len -= n, done += n;
      }
    }
    return done;
  }

  /** Copies memory-file ranges into the file at pos, growing it. Returns the bytes written
   * (short if space ran out after some), or -ENOSPC / -ENOMEM / -EFBIG. */
  writeFrom(pos: number, src: Float64Array): number {
    let total = 0;
    for (let i = 1; i < src.length; i += 2) total += src[i];
    if (pos + total > MAX_FILE_SIZE) {
      if (pos >= MAX_FILE_SIZE) return -E.EFBIG;
      total = MAX_FILE_SIZE - pos;
    }
    const oldSize = this.size, start = pos;
    if (pos + total > this.size) {
      const rc = this.resize(pos + total);
      if (rc < 0) return rc;
    }
    let done = 0;
    for (let i = 0; i < src.length && done < total; i += 2) {
      let s = src[i], len = Math.min(src[i + 1], total - done);
      while (len > 0) {
        const c = Math.floor(pos / CHUNK), within = pos - c * CHUNK;
        const n = Math.min(len, CHUNK - within);
        const off = this.chunk(c);
        if (off < 0) {
          // Give back the size we could not fill.
          this.resize(done > 0 ? Math.max(oldSize, start + done) : oldSize);
          return done > 0 ? done : off;
        }
        this.mem.copyWithin(off + within, s, s + n);
        s += n, pos += n, len -= n, done += n;
      }
    }
    return done;
  }

  /** Copies file bytes at pos into a sentry buffer (exec, the ELF loader). */
  readInto(buf: Uint8Array, pos: number): number {
    const n = Math.max(0, Math.min(buf.length, this.size - pos));
    let done = 0;
    while (done < n) {
      const c = Math.floor((pos + done) / CHUNK), within = pos + done - c * CHUNK;
      const k = Math.min(n - done, CHUNK - within);
      const off = this.chunks.get(c);
      if (off === undefined) buf.fill(0, done, done + k);
      else buf.set(this.mem.subarray(off + within, off + within + k), done);
      done += k;
    }
    return n;
  }

  /** Fills the file from a host fd (overlay copy-up): reads straight into the memory
   * file. Returns 0 or -errno (the file is left empty on failure). */
  fillFromHost(fd: number, size: number): number {
    const rc = this.resize(size);
    if (rc < 0) return rc;
    for (let c = 0; c * CHUNK < size; c++) {
      const off = this.chunk(c);
      if (off < 0) {
        this.resize(0);
        return off;
      }
      const want = Math.min(CHUNK, size - c * CHUNK);
      let got = 0;
      while (got < want) {
        const n = host().sb_h_read_mem(fd, off + got, want - got, c * CHUNK + got);
        if (n < 0) {
          this.resize(0);
          return n;
        }
        if (n === 0) break; // the host file shrank meanwhile: the rest reads as zeros
        got += n;
      }
    }
    return 0;
  }

  /** fallocate: makes [pos, pos+len) allocated (and the size at least pos+len unless
   * keepSize). */
  allocate(pos: number, len: number, keepSize: boolean): number {
    const end = pos + len;
    if (end > MAX_FILE_SIZE) return -E.EFBIG;
    const oldSize = this.size;
    if (!keepSize && end > this.size) {
      const rc = this.resize(end);
      if (rc < 0) return rc;
    }
    const limit = Math.min(end, this.size);
    for (let c = Math.floor(pos / CHUNK); c * CHUNK < limit; c++) {
      const off = this.chunk(c);
      if (off < 0) {
        this.resize(oldSize);
        return off;
      }
    }
    return 0;
  }

  /** FALLOC_FL_PUNCH_HOLE / ZERO_RANGE inside the file: the range reads as zeros. */
  zeroRange(pos: number, len: number): void {
    const end = Math.min(pos + len, this.size);
    while (pos < end) {
      const c = Math.floor(pos / CHUNK), within = pos - c * CHUNK;
      const n = Math.min(end - pos, CHUNK - within);
      const off = this.chunks.get(c);
      if (off !== undefined) {
        if (n === CHUNK) {
          this.chunks.delete(c);
          const cost = this.contribution(c, this.size);
          this.account.uncharge(cost);
          this.charged -= cost;
          this.release(off);
        } else {
          this.mem.fill(0, off + within, off + within + n);
        }
      }
      pos += n;
    }
  }

  /** SEEK_DATA / SEEK_HOLE at chunk granularity. */
  seekData(pos: number, hole: boolean): number {
    if (pos >= this.size) return -E.ENXIO;
    for (let c = Math.floor(pos / CHUNK); c * CHUNK < this.size; c++) {
      if (this.chunks.has(c) !== hole) return Math.max(pos, c * CHUNK);
    }
    return hole ? this.size : -E.ENXIO;
  }

  // ---- Mappable ---------------------------------------------------------------------

  pageOffset(pg: number): number {
    if (pg * PAGE >= pageUp(this.size)) return -E.EFAULT;
    const c = Math.floor(pg / CHUNK_PAGES);
    const off = this.chunk(c);
    if (off < 0) return -E.EFAULT;
    return off + (pg % CHUNK_PAGES) * PAGE;
  }

  peekPage(pg: number): number {
    const off = this.chunks.get(Math.floor(pg / CHUNK_PAGES));
    return off === undefined ? -1 : off + (pg % CHUNK_PAGES) * PAGE;
  }

  incRef(): void {
    this.refs++;
  }

  decRef(): void {
    if (--this.refs === 0) this.destroy();
  }

  /** The file is gone (and no mapping remains): every chunk goes back. */
  private destroy(): void {
    for (const off of this.chunks.values()) this.memfile.free(off, CHUNK);
    this.chunks.clear();
    this.account.uncharge(this.charged);
    this.charged = 0;
  }
}
