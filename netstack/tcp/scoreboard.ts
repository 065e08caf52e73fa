// The sender's record of segments in flight, one entry per transmitted segment: its sequence
// range, when it was (last) sent, and whether it was SACKed, judged lost, or retransmitted.
// SACK processing, RACK loss detection and the RFC 6675 "pipe" all read it. Entries are
// pooled, so steady-state sending allocates nothing.
import { seqDiff, seqGE, seqGT, seqLE, seqLT } from "./seq.ts";

export const SACKED = 1;
export const LOST = 2;
export const RETRANS = 4;
export const HAS_FIN = 8;

export class SegRecord {
  start = 0;
  end = 0;
  xmit = 0;
  flags = 0;
  get length(): number {
    return seqDiff(this.end, this.start);
  }
}

export class Scoreboard {
  recs: SegRecord[] = [];
  head = 0;
  private pool: SegRecord[] = [];
  /** Bytes of outstanding records SACKed by the peer. */
  sackedBytes = 0;
  /** Bytes judged lost and not yet retransmitted. */
  lostBytes = 0;
  /** Bytes of records retransmitted at least once and still outstanding. */
  retransBytes = 0;

  get count(): number {
    return this.recs.length - this.head;
  }

  at(i: number): SegRecord {
    return this.recs[this.head + i];
  }

  last(): SegRecord | undefined {
    return this.count ? this.recs[this.recs.length - 1] : undefined;
  }

  push(start: number, end: number, xmit: number, fin: boolean): SegRecord {
    const r = this.pool.pop() ?? new SegRecord();
    r.start = start;
    r.end = end;
    r.xmit = xmit;
    r.flags = fin ? HAS_FIN : 0;
    this.recs.push(r);
    return r;
  }

  /** Removes records wholly below `ack`, trimming one that straddles it. Calls `each` for
   * every record (or part) acknowledged, before it is released. */
  ackTo(ack: number, each: (r: SegRecord, bytes: number) => void): void {
    while (this.head < this.recs.length) {
      const r = this.recs[this.head];
      if (seqLE(r.end, ack)) {
        each(r, r.length);
        this.uncount(r, r.length);
        this.head++;
        this.pool.push(r);
        continue;
      }
      if (seqGT(ack, r.start)) {
        const cut = seqDiff(ack, r.start);
        each(r, cut);
        this.uncount(r, cut);
        r.start = ack;
      }
      break;
    }
    if (this.head > 256 && this.head * 2 > this.recs.length) {
      this.recs.splice(0, this.head);
      this.head = 0;
    } else if (this.head === this.recs.length) {
      this.recs.length = 0;
      this.head = 0;
    }
  }

  private uncount(r: SegRecord, bytes: number): void {
    if (r.flags & SACKED) this.sackedBytes -= bytes;
    else if (r.flags & LOST) this.lostBytes -= bytes;
    if (r.flags & RETRANS) this.retransBytes -= bytes;
  }

  /** Marks records wholly inside [start, end) SACKed; returns the newest xmit time among
   * newly SACKed records (or -1) through `each`. */
  sack(start: number, end: number, each: (r: SegRecord) => void): number {
    let newly = 0;
    for (let i = this.head; i < this.recs.length; i++) {
      const r = this.recs[i];
      if (seqGE(r.start, end)) break;
      if (r.flags & SACKED) continue;
      if (seqLE(start, r.start) && seqLE(r.end, end)) {
        const len = r.length;
        if (r.flags & LOST) {
          r.flags &= ~LOST;
          this.lostBytes -= len;
        }
        r.flags |= SACKED;
        this.sackedBytes += len;
        newly += len;
        each(r);
      }
    }
    return newly;
  }

  /** Splits `r` at sequence `at` (strictly inside it); the new record for [at, end) keeps
   * r's flags and is returned. Used when the MSS shrank under segments in flight. */
  split(r: SegRecord, at: number): SegRecord {
    const i = this.recs.indexOf(r, this.head);
    const t = this.pool.pop() ?? new SegRecord();
    t.start = at;
    t.end = r.end;
    t.xmit = r.xmit;
    t.flags = r.flags;
    r.end = at;
    r.flags &= ~HAS_FIN;
    this.recs.splice(i + 1, 0, t);
    return t;
  }

  markLost(r: SegRecord): void {
    if (r.flags & (LOST | SACKED)) return;
    r.flags |= LOST;
    this.lostBytes += r.length;
  }

  markRetransmitted(r: SegRecord, now: number): void {
    if (r.flags & LOST) {
      r.flags &= ~LOST;
      this.lostBytes -= r.length;
    }
    if (!(r.flags & RETRANS)) this.retransBytes += r.length;
    r.flags |= RETRANS;
    r.xmit = now;
  }

  /** Everything outstanding and not SACKed becomes lost (after a retransmission timeout). */
  markAllLost(): void {
    for (let i = this.head; i < this.recs.length; i++) this.markLost(this.recs[i]);
  }

  clear(): void {
    for (let i = this.head; i < this.recs.length; i++) this.pool.push(this.recs[i]);
    this.recs.length = 0;
    this.head = 0;
    this.sackedBytes = this.lostBytes = this.retransBytes = 0;
  }

  /** The record containing `seq`, if any. */
  find(seq: number): SegRecord | undefined {
    for (let i = this.head; i < this.recs.length; i++) {
      const r = this.recs[i];
      if (seqLE(r.start, seq) && seqLT(seq, r.end)) return r;
    }
    return undefined;
  }
}
