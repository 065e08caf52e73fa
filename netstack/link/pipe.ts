// An in-memory wire between two endpoints, for tests: two stacks talk through it, and the
// wire can lose, delay, reorder, duplicate or corrupt frames, deterministically from a seed.
import { ETHERNET_HEADER_LENGTH, LinkEndpoint } from "./endpoint.ts";

export interface Impairment {
  /** Probability in [0,1] that a frame is dropped. */
  loss?: number;
  /** Fixed one-way delay, ns. */
  delayNs?: number;
  /** Uniform extra delay in [0, jitterNs), ns. */
  jitterNs?: number;
  /** Probability that a frame is held back by reorderDelayNs, letting later ones pass. */
  reorder?: number;
  reorderDelayNs?: number;
  /** Probability that a frame is delivered twice. */
  duplicate?: number;
  /** Probability that one byte of the frame is flipped. */
  corrupt?: number;
}

/** A small deterministic PRNG (mulberry32), so a failing test replays the same way. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface InFlight {
  at: number;
  seq: number;
  frame: Uint8Array;
}

export type WireFilter = (frame: Uint8Array, from: PipeEndpoint) => Uint8Array | null;

export class PipeEndpoint implements LinkEndpoint {
  readonly isLoopback = false;
  readonly checksumOffload = false;
  peer!: PipeEndpoint;
  impairment: Impairment = {};
  /** Frames this endpoint will receive, sorted by delivery time. */
  private inbox: InFlight[] = [];
  private receiver: (frame: Uint8Array) => void = () => {};
  private seq = 0;
  sent = 0;
  droppedByWire = 0;

  constructor(
    readonly mac: Uint8Array,
    readonly mtu: number,
    private readonly clock: () => number,
    private readonly random: () => number,
    private readonly maxQueued: number,
    /** Inspects or rewrites frames on the wire; returning null drops the frame. */
    public filter: WireFilter | null = null,
  ) {}

  setReceiver(receive: (frame: Uint8Array) => void): void {
    this.receiver = receive;
  }

  write(frame: Uint8Array): boolean {
    if (frame.length > this.mtu + ETHERNET_HEADER_LENGTH) return false;
    this.sent++;
    let f: Uint8Array | null = frame.slice();
    if (this.filter) f = this.filter(f, this);
    if (!f) {
      this.droppedByWire++;
      return true;
    }
    const imp = this.impairment;
    if (imp.loss && this.random() < imp.loss) {
      this.droppedByWire++;
      return true;
    }
    if (imp.corrupt && this.random() < imp.corrupt && f.length > 0) {
      f[Math.floor(this.random() * f.length)] ^= 1 << Math.floor(this.random() * 8);
    }
    const copies = imp.duplicate && this.random() < imp.duplicate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let at = this.clock() + (imp.delayNs ?? 0);
      if (imp.jitterNs) at += Math.floor(this.random() * imp.jitterNs);
      if (imp.reorder && this.random() < imp.reorder) at += imp.reorderDelayNs ?? 1_000_000;
      this.peer.enqueue({ at, seq: this.seq++, frame: c === 0 ? f : f.slice() });
    }
    return true;
  }

  private enqueue(item: InFlight): void {
    if (this.inbox.length >= this.maxQueued) {
      this.droppedByWire++;
      return;
    }
    // Keep delivery order by time; equal times keep sending order.
    let i = this.inbox.length;
    while (i > 0 && this.inbox[i - 1].at > item.at) i--;
    this.inbox.splice(i, 0, item);
  }

  /** When the next frame becomes deliverable (ns), or Infinity. */
  nextArrival(): number {
    return this.inbox.length ? this.inbox[0].at : Infinity;
  }

  get pending(): number {
    return this.inbox.length;
  }

  poll(budget: number): number {
    const now = this.clock();
    let n = 0;
    while (n < budget && this.inbox.length && this.inbox[0].at <= now) {
      const item = this.inbox.shift()!;
      n++;
      this.receiver(item.frame);
    }
    return n;
  }

  flush(): void {}
  close(): void {
    this.inbox.length = 0;
  }
}

/** Two connected endpoints. `clock` gives the current time in ns (a test's virtual clock). */
export function createPipe(opts: {
  clock: () => number;
  mtu?: number;
  seed?: number;
  maxQueued?: number;
  macA?: Uint8Array;
  macB?: Uint8Array;
}): [PipeEndpoint, PipeEndpoint] {
  const random = seededRandom(opts.seed ?? 1);
  const mtu = opts.mtu ?? 1500;
  const a = new PipeEndpoint(
    opts.macA ?? new Uint8Array([2, 0, 0, 0, 0, 1]),
    mtu,
    opts.clock,
    random,
    opts.maxQueued ?? 4096,
  );
  const b = new PipeEndpoint(
    opts.macB ?? new Uint8Array([2, 0, 0, 0, 0, 2]),
    mtu,
    opts.clock,
    random,
    opts.maxQueued ?? 4096,
  );
  a.peer = b;
  b.peer = a;
  return [a, b];
}
