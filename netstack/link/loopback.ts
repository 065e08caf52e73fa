// The loopback link: frames written are queued and handed back to the receiver by poll().
// Queuing (rather than delivering inside write) keeps the stack free of re-entrancy: the
// stack drains this queue when its outermost call finishes.
import { BufferPool, ETHERNET_HEADER_LENGTH, LinkEndpoint } from "./endpoint.ts";

export class LoopbackEndpoint implements LinkEndpoint {
  readonly mac = new Uint8Array(6);
  readonly isLoopback = true;
  readonly checksumOffload = true;
  private receiver: (frame: Uint8Array) => void = () => {};
  private pool: BufferPool;
  private queue: { buf: Uint8Array; len: number }[] = [];
  private head = 0;
  /** Frames dropped because the queue was full. */
  dropped = 0;

  constructor(readonly mtu = 65536, private readonly maxQueued = 1024) {
    this.pool = new BufferPool(mtu + ETHERNET_HEADER_LENGTH, 64);
  }

  setReceiver(receive: (frame: Uint8Array) => void): void {
    this.receiver = receive;
  }

  write(frame: Uint8Array): boolean {
    if (this.queue.length - this.head >= this.maxQueued || frame.length > this.pool.bufferSize) {
      this.dropped++;
      return false;
    }
    const buf = this.pool.take();
    buf.set(frame);
    this.queue.push({ buf, len: frame.length });
    return true;
  }

  get pending(): number {
    return this.queue.length - this.head;
  }

  poll(budget: number): number {
    let n = 0;
    while (n < budget && this.head < this.queue.length) {
      const item = this.queue[this.head++];
      n++;
      try {
        this.receiver(item.buf.subarray(0, item.len));
      } finally {
        this.pool.give(item.buf);
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 512) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return n;
  }

  flush(): void {}
  close(): void {
    this.queue.length = 0;
    this.head = 0;
  }
}
