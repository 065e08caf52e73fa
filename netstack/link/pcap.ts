// Packet capture: wraps any endpoint and writes every frame sent and received to a pcap file
// (nanosecond timestamps, LINKTYPE_ETHERNET) that tcpdump and tshark read. Writes are
// synchronous and buffered; call close() (or flush()) to be sure the file is complete.
import { GsoInfo, LinkEndpoint } from "./endpoint.ts";

const PCAP_MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;

export class PcapWriter {
  private file: Deno.FsFile;
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private used = 0;

  constructor(path: string, private readonly snaplen = 262144) {
    this.file = Deno.openSync(path, { write: true, create: true, truncate: true });
    const h = new Uint8Array(24);
    const v = new DataView(h.buffer);
    v.setUint32(0, PCAP_MAGIC_NS, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, snaplen, true);
    v.setUint32(20, LINKTYPE_ETHERNET, true);
    this.writeAll(h);
  }

  /** Records one frame at wall-clock time `timeNs` since the epoch. */
  record(frame: Uint8Array, timeNs: number): void {
    const caplen = Math.min(frame.length, this.snaplen);
    if (this.used + 16 + caplen > this.buf.length) this.flush();
    if (16 + caplen > this.buf.length) {
      const h = new Uint8Array(16);
      this.header(new DataView(h.buffer), 0, timeNs, caplen, frame.length);
      this.writeAll(h);
      this.writeAll(frame.subarray(0, caplen));
      return;
    }
    this.header(this.view, this.used, timeNs, caplen, frame.length);
    this.buf.set(frame.subarray(0, caplen), this.used + 16);
    this.used += 16 + caplen;
  }

  private header(v: DataView, at: number, timeNs: number, caplen: number, len: number) {
    const sec = Math.floor(timeNs / 1e9);
    v.setUint32(at, sec, true);
    v.setUint32(at + 4, Math.floor(timeNs - sec * 1e9), true);
    v.setUint32(at + 8, caplen, true);
    v.setUint32(at + 12, len, true);
  }

  flush(): void {
    if (this.used) this.writeAll(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  close(): void {
    this.flush();
    this.file.close();
  }

  private writeAll(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) off += this.file.writeSync(b.subarray(off));
  }
}

/** Wall-clock time in ns for capture records (the stack's clock may be virtual). */
function wallNs(): number {
  return (performance.timeOrigin + performance.now()) * 1e6;
}

export class CaptureEndpoint implements LinkEndpoint {
  constructor(private readonly inner: LinkEndpoint, readonly writer: PcapWriter) {}
  get mtu() {
    return this.inner.mtu;
  }
  get mac() {
    return this.inner.mac;
  }
  get isLoopback() {
    return this.inner.isLoopback;
  }
  get checksumOffload() {
    return this.inner.checksumOffload;
  }
  setReceiver(receive: (frame: Uint8Array, trusted?: boolean) => void): void {
    this.inner.setReceiver((frame, trusted) => {
      this.writer.record(frame, wallNs());
      receive(frame, trusted);
    });
  }
  get gsoMaxSize() {
    return this.inner.gsoMaxSize ?? 0;
  }
  write(frame: Uint8Array, gso?: GsoInfo | null): boolean {
    this.writer.record(frame, wallNs());
    return this.inner.write(frame, gso);
  }
  poll(budget: number): number {
    return this.inner.poll(budget);
  }
  flush(): void {
    this.inner.flush();
    this.writer.flush();
  }
  close(): void {
    this.inner.close();
    this.writer.close();
  }
}
