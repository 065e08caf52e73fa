// Wraps any endpoint with loss, delay, jitter and reordering in both directions, driven by
// the caller's clock: what `tc netem` would do, for kernels without sch_netem. Held frames
// are released by poll() and flush() once their time has come; nextRelease() says when.
import { seededRandom } from "./pipe.ts";
import type { Impairment } from "./pipe.ts";
import { LinkEndpoint } from "./endpoint.ts";

interface Held {
  at: number;
  frame: Uint8Array;
  trusted: boolean;
}

export class ImpairedEndpoint implements LinkEndpoint {
  private receiver: (frame: Uint8Array, trusted?: boolean) => void = () => {};
  private outbound: Held[] = [];
  private inbound: Held[] = [];
  private random: () => number;
  dropped = 0;

  constructor(
    private readonly inner: LinkEndpoint,
    readonly impairment: Impairment,
    private readonly clock: () => number,
    seed = 1,
    private readonly maxHeld = 10000,
  ) {
    this.random = seededRandom(seed);
    inner.setReceiver((frame, trusted) => this.hold(this.inbound, frame, trusted === true));
  }

  get mtu() {
    return this.inner.mtu;
  }
  get mac() {
    return this.inner.mac;
  }
  get isLoopback() {
    return false;
  }
  get checksumOffload() {
    return this.inner.checksumOffload;
  }

  setReceiver(receive: (frame: Uint8Array, trusted?: boolean) => void): void {
    this.receiver = receive;
  }

  private hold(q: Held[], frame: Uint8Array, trusted: boolean): void {
    const imp = this.impairment;
    if (imp.loss && this.random() < imp.loss) {
      this.dropped++;
      return;
    }
    if (q.length >= this.maxHeld) {
      this.dropped++;
      return;
    }
    let at = this.clock() + (imp.delayNs ?? 0);
    if (imp.jitterNs) at += this.random() * imp.jitterNs;
    if (imp.reorder && this.random() < imp.reorder) at += imp.reorderDelayNs ?? 1e6;
    let i = q.length;
    while (i > 0 && q[i - 1].at > at) i--;
    q.splice(i, 0, { at, frame: frame.slice(), trusted });
  }

  write(frame: Uint8Array): boolean {
    this.hold(this.outbound, frame, false);
    return true;
  }

  nextRelease(): number {
    return Math.min(
      this.outbound.length ? this.outbound[0].at : Infinity,
      this.inbound.length ? this.inbound[0].at : Infinity,
    );
  }

  poll(budget: number): number {
    this.inner.poll(budget);
    const now = this.clock();
    let n = 0;
    while (n < budget && this.inbound.length && this.inbound[0].at <= now) {
      const h = this.inbound.shift()!;
      n++;
      this.receiver(h.frame, h.trusted);
    }
    this.releaseOutbound();
    return n;
  }

  private releaseOutbound(): void {
    const now = this.clock();
    let any = false;
    while (this.outbound.length && this.outbound[0].at <= now) {
      this.inner.write(this.outbound.shift()!.frame);
      any = true;
    }
    if (any) this.inner.flush();
  }

  flush(): void {
    this.releaseOutbound();
  }

  close(): void {
    this.inner.close();
  }
}
