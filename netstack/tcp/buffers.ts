// Byte rings for TCP. Both grow their storage lazily (a half-open connection holds none) up
// to a limit that can only rise, so a flood of connections or a hostile peer cannot make the
// stack hold more than the configured buffer sizes.
import { seqAdd, seqDiff, seqGT, seqLE, seqLT } from "./seq.ts";

class Ring {
  buf = new Uint8Array(0);
  head = 0;

  /** Ensures storage for `need` bytes from head, keeping the first `keep` bytes in order. */
  reserve(need: number, keep: number, limit: number): void {
    if (need <= this.buf.length) return;
    let size = Math.max(4096, this.buf.length);
    while (size < need) size *= 2;
    size = Math.min(size, Math.max(limit, need));
    const next = new Uint8Array(size);
    if (keep > 0) this.copyOut(0, next, 0, Math.min(keep, this.buf.length));
    this.buf = next;
    this.head = 0;
  }

  /** Copies `n` bytes starting `at` bytes after head into dst. */
  copyOut(at: number, dst: Uint8Array, dstOff: number, n: number): void {
    if (n <= 0) return;
    const cap = this.buf.length;
    const p = (this.head + at) % cap;
    const first = Math.min(n, cap - p);
    dst.set(this.buf.subarray(p, p + first), dstOff);
    if (first < n) dst.set(this.buf.subarray(0, n - first), dstOff + first);
  }

  copyIn(at: number, src: Uint8Array, srcOff: number, n: number): void {
    if (n <= 0) return;
    const cap = this.buf.length;
    const p = (this.head + at) % cap;
    const first = Math.min(n, cap - p);
    this.buf.set(src.subarray(srcOff, srcOff + first), p);
    if (first < n) this.buf.set(src.subarray(srcOff + first, srcOff + n), 0);
  }

  drop(n: number): void {
    if (this.buf.length) this.head = (this.head + n) % this.buf.length;
  }
}

/** Bytes written by the application and not yet acknowledged. Offset 0 is SND.UNA. */
export class SendBuffer {
  private ring = new Ring();
  length = 0;
  constructor(public capacity: number) {}

  get free(): number {
    return Math.max(0, this.capacity - this.length);
  }

  append(src: Uint8Array): number {
    const n = Math.min(src.length, this.free);
    if (n === 0) return 0;
    this.ring.reserve(this.length + n, this.length, this.capacity);
    this.ring.copyIn(this.length, src, 0, n);
    this.length += n;
    return n;
  }

  copy(offset: number, dst: Uint8Array, dstOff: number, n: number): void {
    this.ring.copyOut(offset, dst, dstOff, n);
  }

  /** Forgets `n` acknowledged bytes. */
  consume(n: number): void {
    n = Math.min(n, this.length);
    this.ring.drop(n);
    this.length -= n;
    if (this.length === 0) this.ring.head = 0;
  }

  /** Frees the storage of an idle empty buffer. */
  release(): void {
    if (this.length === 0) this.ring = new Ring();
  }
}

/** Received bytes: `readable` in-order bytes at the front, then room for out-of-order data
 * placed at its offset, tracked as sorted [start, end) sequence ranges beyond RCV.NXT. */
export class RecvBuffer {
  private ring = new Ring();
  readable = 0;
  /** Sequence ranges held beyond rcvNxt, [s0, e0, s1, e1, ...], sorted and disjoint. */
  ooo: number[] = [];
  /** Sequence ranges most recently changed, first = newest, for SACK block order. */
  recent: number[] = [];
  constructor(public capacity: number, private readonly maxRanges: number) {}

  /** Room left in the buffer: the receive window. */
  get window(): number {
    return Math.max(0, this.capacity - this.readable);
  }

  get oooBytes(): number {
    let n = 0;
    for (let i = 0; i < this.ooo.length; i += 2) n += seqDiff(this.ooo[i + 1], this.ooo[i]);
    return n;
  }

  /** Stores data that starts `seq`, given RCV.NXT = `rcvNxt`. Data must already be trimmed
   * to [rcvNxt, rcvNxt + window). Returns the new RCV.NXT (unchanged for out-of-order data),
   * or -1 when an out-of-order segment was refused (too many ranges). */
  store(seq: number, rcvNxt: number, data: Uint8Array): number {
    const off = seqDiff(seq, rcvNxt);
    const n = data.length;
    const end = seqAdd(seq, n);
    if (off > 0 && !this.canAddRange(seq, end)) return -1;
    this.ring.reserve(
      this.readable + off + n,
      this.readable + this.furthest(rcvNxt),
      this.capacity,
    );
    this.ring.copyIn(this.readable + off, data, 0, n);
    if (off > 0) {
      this.addRange(seq, end);
      return rcvNxt;
    }
    // In order: advance over it and over any ranges it now joins.
    let next = end;
    while (this.ooo.length && seqLE(this.ooo[0], next)) {
      if (seqGT(this.ooo[1], next)) next = this.ooo[1];
      this.ooo.splice(0, 2);
    }
    this.readable += seqDiff(next, rcvNxt);
    this.pruneRecent(next);
    return next;
  }

  /** Bytes from rcvNxt to the end of the furthest out-of-order range. */
  private furthest(rcvNxt: number): number {
    return this.ooo.length ? seqDiff(this.ooo[this.ooo.length - 1], rcvNxt) : 0;
  }

  private canAddRange(s: number, e: number): boolean {
    if (this.ooo.length / 2 < this.maxRanges) return true;
    for (let i = 0; i < this.ooo.length; i += 2) {
      if (seqLE(s, this.ooo[i + 1]) && seqGE2(e, this.ooo[i])) return true; // merges
    }
    return false;
  }

  private addRange(s: number, e: number): void {
    const r = this.ooo;
    let i = 0;
    while (i < r.length && seqLT(r[i + 1], s)) i += 2;
    // Merge every range that touches [s, e).
    let ns = s, ne = e, j = i;
    while (j < r.length && seqLE(r[j], ne)) {
      if (seqLT(r[j], ns)) ns = r[j];
      if (seqGT(r[j + 1], ne)) ne = r[j + 1];
      j += 2;
    }
    r.splice(i, j - i, ns, ne);
    // Newest block first for SACK (RFC 2018 4).
    const rec = this.recent;
    for (let k = 0; k < rec.length; k += 2) {
      if (seqLE(ns, rec[k]) && seqGE2(ne, rec[k + 1])) {
        rec.splice(k, 2);
        k -= 2;
      }
    }
    rec.unshift(ns, ne);
    if (rec.length > 8) rec.length = 8;
  }

  private pruneRecent(rcvNxt: number): void {
    const rec = this.recent;
    for (let k = 0; k < rec.length; k += 2) {
      if (seqLE(rec[k + 1], rcvNxt)) {
        rec.splice(k, 2);
        k -= 2;
      }
    }
  }

  /** The SACK blocks to report (newest first), each clipped to a current range. */
  sackBlocks(out: number[], max: number): number {
    let n = 0;
    for (let k = 0; k < this.recent.length && n < max; k += 2) {
      const s = this.recent[k];
      for (let i = 0; i < this.ooo.length; i += 2) {
        if (seqLE(this.ooo[i], s) && seqLT(s, this.ooo[i + 1])) {
          out[2 * n] = this.ooo[i];
          out[2 * n + 1] = this.ooo[i + 1];
          n++;
          break;
        }
      }
    }
    return n;
  }

  read(dst: Uint8Array, peek: boolean): number {
    const n = Math.min(dst.length, this.readable);
    if (n === 0) return 0;
    this.ring.copyOut(0, dst, 0, n);
    if (!peek) {
      this.ring.drop(n);
      this.readable -= n;
      if (this.readable === 0 && this.ooo.length === 0) this.ring.head = 0;
    }
    return n;
  }

  /** Raises the capacity (autotuning, setsockopt before connect). Never lowers it below
   * what is stored. */
  grow(capacity: number): void {
    if (capacity > this.capacity) this.capacity = capacity;
  }

  clear(): void {
    this.ring = new Ring();
    this.readable = 0;
    this.ooo = [];
    this.recent = [];
  }
}

function seqGE2(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
