// Fragment reassembly for IPv4 and IPv6, with hard limits: concurrent datagrams, bytes held,
// fragments per datagram, datagram size, and a timeout. Overlapping fragments drop the whole
// datagram (RFC 5722; also what protects IPv4 against overlap tricks); exact duplicates are
// ignored.
import { Timer, TimerQueue } from "./timer.ts";

export interface ReassemblyLimits {
  maxDatagrams: number;
  maxBytes: number;
  maxFragments: number;
  timeoutNs: number;
  /** Largest reassembled payload. */
  maxSize: number;
}

export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = {
  maxDatagrams: 64,
  maxBytes: 4 << 20,
  maxFragments: 64,
  timeoutNs: 30e9,
  maxSize: 65535,
};

export class PartialDatagram {
  buf = new Uint8Array(0);
  /** Received [start, end) ranges, sorted and disjoint. */
  ranges: number[] = [];
  received = 0;
  total = -1;
  fragments = 0;
  /** A copy of the first fragment (offset 0) as received, for ICMP time-exceeded quotes. */
  first: Uint8Array | null = null;
  readonly timer: Timer;
  constructor(readonly key: string, owner: Reassembler) {
    this.timer = new Timer(() => owner.expire(this));
  }
}

export type AddResult = Uint8Array | null;

export class Reassembler {
  private pending = new Map<string, PartialDatagram>();
  private bytesHeld = 0;
  readonly limits: ReassemblyLimits;
  dropped = 0;
  timedOut = 0;

  constructor(
    private readonly timers: TimerQueue,
    private readonly now: () => number,
    limits: Partial<ReassemblyLimits> = {},
    /** Told about datagrams that timed out after their first fragment arrived. */
    private readonly onTimeout: ((first: Uint8Array) => void) | null = null,
  ) {
    this.limits = { ...DEFAULT_REASSEMBLY_LIMITS, ...limits };
  }

  get count(): number {
    return this.pending.size;
  }
  get bytes(): number {
    return this.bytesHeld;
  }

  /** Adds a fragment carrying payload bytes [offset, offset+data.length). `more` is the MF
   * flag. `whole` is the fragment as received, kept only when offset is 0. Returns the
   * reassembled payload when complete. */
  add(key: string, offset: number, data: Uint8Array, more: boolean, whole: Uint8Array): AddResult {
    const L = this.limits;
    const end = offset + data.length;
    if (end > L.maxSize || (more && (data.length === 0 || (data.length & 7) !== 0))) {
      this.dropKey(key);
      this.dropped++;
      return null;
    }
    let d = this.pending.get(key);
    if (!d) {
      while (this.pending.size >= L.maxDatagrams || this.bytesHeld + data.length > L.maxBytes) {
        if (!this.evictOldest()) break;
      }
      if (this.bytesHeld + data.length > L.maxBytes) {
        this.dropped++;
        return null;
      }
      d = new PartialDatagram(key, this);
      this.pending.set(key, d);
      this.timers.arm(d.timer, this.now() + L.timeoutNs);
    }
    // Placement checks.
    const r = d.ranges;
    for (let i = 0; i < r.length; i += 2) {
      if (offset < r[i + 1] && end > r[i]) {
        if (offset === r[i] && end === r[i + 1]) return null; // exact duplicate
        this.drop(d);
        this.dropped++;
        return null;
      }
    }
    if (!more) {
      if (d.total >= 0 && d.total !== end) return this.fail(d);
      if (r.length && r[r.length - 1] > end) return this.fail(d);
      d.total = end;
    } else if (d.total >= 0 && end > d.total) {
      return this.fail(d);
    }
    if (++d.fragments > L.maxFragments) return this.fail(d);
    if (this.bytesHeld + data.length > L.maxBytes) return this.fail(d);
    // Store.
    if (d.buf.length < end) {
      const grown = new Uint8Array(Math.min(L.maxSize, Math.max(end, d.buf.length * 2, 2048)));
      grown.set(d.buf);
      d.buf = grown;
    }
    d.buf.set(data, offset);
    let at = 0;
    while (at < r.length && r[at] < offset) at += 2;
    r.splice(at, 0, offset, end);
    d.received += data.length;
    this.bytesHeld += data.length;
    if (offset === 0) d.first = whole.slice(0, Math.min(whole.length, 576));
    if (d.total >= 0 && d.received === d.total) {
      this.drop(d);
      return d.buf.subarray(0, d.total);
    }
    return null;
  }

  expire(d: PartialDatagram): void {
    if (this.pending.get(d.key) !== d) return;
    this.drop(d);
    this.timedOut++;
    if (d.first && this.onTimeout) this.onTimeout(d.first);
  }

  private fail(d: PartialDatagram): null {
    this.drop(d);
    this.dropped++;
    return null;
  }

  private dropKey(key: string): void {
    const d = this.pending.get(key);
    if (d) this.drop(d);
  }

  private drop(d: PartialDatagram): void {
    this.pending.delete(d.key);
    this.timers.cancel(d.timer);
    this.bytesHeld -= d.received;
  }

  private evictOldest(): boolean {
    const first = this.pending.values().next();
    if (first.done) return false;
    this.drop(first.value);
    this.dropped++;
    return true;
  }
}
