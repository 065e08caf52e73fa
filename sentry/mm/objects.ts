// Memory objects: what a VMA maps. A Mappable hands out memory-file offsets for its pages;
// the address space (mm.ts) maps those ranges into the stub on faults.
import { E } from "../abi/errno.ts";
import { CHUNK, CHUNK_PAGES, type MemoryFile } from "./memfile.ts";

export interface MappableIdentity {
  /** For /proc/pid/maps: path, device and inode of the file mapped, if any. */
  path: string;
  dev: number;
  ino: number;
}

export interface Mappable {
  /** Memory-file offset of page `pg` of the object, allocating or filling it as needed;
   * -EFAULT for a page beyond the end of a file (a SIGBUS for the guest), -ENOMEM. */
  pageOffset(pg: number): number;
  /** Memory-file offset of page `pg` if it exists, else -1 (never allocates). */
  peekPage(pg: number): number;
  /** Object pages that share one chunk with page `pg` start at chunkStart(pg). */
  readonly identity: MappableIdentity | null;
  incRef(): void;
  decRef(): void;
}

/** Anonymous memory (and the pages of tmpfs/memfd files): chunks allocated on first use,
 * zero-filled. */
export class AnonMemory implements Mappable {
  readonly chunks = new Map<number, number>();
  private refs = 1;
  identity: MappableIdentity | null = null;

  constructor(readonly memfile: MemoryFile) {}

  pageOffset(pg: number): number {
    const c = Math.floor(pg / CHUNK_PAGES);
    let off = this.chunks.get(c);
    if (off === undefined) {
      off = this.memfile.allocChunk();
      if (off < 0) return off;
      this.chunks.set(c, off);
    }
    return off + (pg % CHUNK_PAGES) * 4096;
  }

  peekPage(pg: number): number {
    const off = this.chunks.get(Math.floor(pg / CHUNK_PAGES));
    return off === undefined ? -1 : off + (pg % CHUNK_PAGES) * 4096;
  }

  incRef(): void {
    this.refs++;
  }

  decRef(): void {
    if (--this.refs === 0) this.release();
  }

  private release(): void {
    for (const off of this.chunks.values()) this.memfile.free(off, CHUNK);
    this.chunks.clear();
  }

  /** Drops pages [pgStart, pgEnd): whole chunks are freed, partial ones zeroed. */
  discard(pgStart: number, pgEnd: number): void {
    for (let pg = pgStart; pg < pgEnd;) {
      const c = Math.floor(pg / CHUNK_PAGES);
      const cStart = c * CHUNK_PAGES, cEnd = cStart + CHUNK_PAGES;
      const a = Math.max(pg, cStart), b = Math.min(pgEnd, cEnd);
      const off = this.chunks.get(c);
      if (off !== undefined) {
        if (a === cStart && b === cEnd) {
          this.memfile.free(off, CHUNK);
          this.chunks.delete(c);
        } else {
          this.memfile.platform.punch(off + (a - cStart) * 4096, (b - a) * 4096);
        }
      }
      pg = b;
    }
  }

  /** A copy of pages [pgStart, pgEnd) as a new object, with the same page numbering. Only
   * pages the host committed are copied, so a sparse heap stays sparse. */
  copyRange(pgStart: number, pgEnd: number): AnonMemory | number {
    const copy = new AnonMemory(this.memfile);
    for (const [c, off] of this.chunks) {
      const cStart = c * CHUNK_PAGES, cEnd = cStart + CHUNK_PAGES;
      if (cEnd <= pgStart || cStart >= pgEnd) continue;
      const dst = this.memfile.allocChunk();
      if (dst < 0) {
        copy.decRef();
        return dst;
      }
      const a = Math.max(pgStart, cStart) - cStart, b = Math.min(pgEnd, cEnd) - cStart;
      this.memfile.platform.sym.sb_mem_copy_sparse(dst + a * 4096, off + a * 4096, (b - a) * 4096);
      copy.chunks.set(c, dst);
    }
    return copy;
  }

  /** Bytes of chunks held (reserved). */
  reservedBytes(): number {
    return this.chunks.size * CHUNK;
  }
}

export const NO_PAGE = -E.EFAULT;
