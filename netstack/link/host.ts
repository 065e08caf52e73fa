// The host link endpoint: an AF_PACKET socket on a host interface (a veth end, say) or a
// TAP device, through libsandbox's sb_netdev_* functions. Frames move in batches: poll()
// takes up to 64 per system call, and writes collect in a batch that flush() (called by the
// stack when its outermost call returns) hands to the kernel with one sendmmsg.
import { libsandboxPath } from "../../ffi/locate.ts";
import { finishChecksum, pseudoHeaderSum } from "../checksum.ts";
import { GsoInfo, LinkEndpoint } from "./endpoint.ts";

const KIND_PACKET = 1;
const KIND_TAP = 2;
const BATCH = 64;
/** Room for a GSO super-frame from the host plus the Ethernet header. */
const RX_SLOT = 65536 + 64;

const symbols = {
  sb_netdev_open_packet: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  sb_netdev_open_tap: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  sb_netdev_recv_batch: {
    parameters: ["i32", "i32", "buffer", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  sb_netdev_send_batch: {
    parameters: ["i32", "i32", "buffer", "i32", "i32", "buffer", "buffer"],
    result: "i32",
  },
  sb_netdev_wait: { parameters: ["i32", "i64"], result: "i32" },
  sb_netdev_close: { parameters: ["i32"], result: "i32" },
} as const;

type Lib = Deno.DynamicLibrary<typeof symbols>["symbols"];
let lib: Lib | null = null;

function netdev(path?: string): Lib {
  if (!lib) lib = Deno.dlopen(path ?? libsandboxPath(), symbols).symbols;
  return lib;
}

function cString(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}

export class HostEndpoint implements LinkEndpoint {
  readonly isLoopback = false;
  readonly checksumOffload = false;
  private receiver: (frame: Uint8Array, trusted?: boolean) => void = () => {};
  private rx = new Uint8Array(RX_SLOT * BATCH);
  private rxLens = new Int32Array(BATCH);
  private rxFlags = new Int32Array(BATCH);
  private tx: Uint8Array;
  private txLens = new Int32Array(BATCH);
  private txCount = 0;
  private readonly txSlot: number;
  private vnet = new Uint8Array(10 * BATCH);
  private vnetView = new DataView(this.vnet.buffer);
  /** AF_PACKET with a virtio header takes TCP super-frames; TAP here does not. */
  readonly gsoMaxSize: number;
  private closed = false;
  framesIn = 0;
  framesOut = 0;
  sendErrors = 0;

  private constructor(
    readonly fd: number,
    private readonly kind: number,
    readonly mac: Uint8Array,
    readonly mtu: number,
    private readonly lib: Lib,
  ) {
    this.gsoMaxSize = kind === KIND_PACKET && Deno.env.get("NETSTACK_NO_GSO") === undefined
      ? 65536
      : 0;
    this.txSlot = (Math.max(mtu + 14, this.gsoMaxSize + 14) + 63) & ~63;
    this.tx = new Uint8Array(this.txSlot * BATCH);
  }

  /** Opens an AF_PACKET endpoint on interface `ifname`, using its MAC and MTU. Throws when
   * the interface is missing or we lack CAP_NET_RAW. */
  static openPacket(ifname: string, libPath?: string): HostEndpoint {
    const l = netdev(libPath);
    const mac = new Uint8Array(6);
    const mtu = new Int32Array(1);
    const fd = l.sb_netdev_open_packet(cString(ifname), mac, new Uint8Array(mtu.buffer));
    if (fd < 0) throw new Error(`AF_PACKET on ${ifname}: errno ${-fd}`);
    return new HostEndpoint(fd, KIND_PACKET, mac, mtu[0], l);
  }

  /** Attaches to the TAP device `ifname`. The stack needs its own MAC (not the kernel
   * side's): pass one, or a random locally administered one is made. */
  static openTap(ifname: string, mac?: Uint8Array, libPath?: string): HostEndpoint {
    const l = netdev(libPath);
    const kernelMac = new Uint8Array(6);
    const mtu = new Int32Array(1);
    const fd = l.sb_netdev_open_tap(cString(ifname), kernelMac, new Uint8Array(mtu.buffer));
    if (fd < 0) throw new Error(`TAP ${ifname}: errno ${-fd}`);
    const own = mac ?? crypto.getRandomValues(new Uint8Array(6));
    own[0] = (own[0] & 0xfe) | 0x02;
    return new HostEndpoint(fd, KIND_TAP, own, mtu[0], l);
  }

  setReceiver(receive: (frame: Uint8Array, trusted?: boolean) => void): void {
    this.receiver = receive;
  }

  write(frame: Uint8Array, gso?: GsoInfo | null): boolean {
    if (this.closed || frame.length > this.txSlot) return false;
    if (this.txCount === BATCH) this.flush();
    const at = this.txCount * this.txSlot;
    this.tx.set(frame, at);
    const v = this.vnetView;
    const h = this.txCount * 10;
    if (gso && this.gsoMaxSize > 0) {
      // struct virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
      v.setUint8(h, 1); // VIRTIO_NET_HDR_F_NEEDS_CSUM
      v.setUint8(h + 1, gso.v6 ? 4 : 1); // GSO_TCPV6 : GSO_TCPV4
      v.setUint16(h + 2, gso.headerLength, true);
      v.setUint16(h + 4, gso.mss, true);
      v.setUint16(h + 6, gso.l4Offset, true);
      v.setUint16(h + 8, 16, true);
      // The checksum field carries the pseudo-header sum; the host adds the rest.
      const ip = frame.subarray(14);
      const tcpLen = frame.length - gso.l4Offset;
      const sum = gso.v6
        ? pseudoHeaderSum(ip.subarray(8, 24), ip.subarray(24, 40), 6, tcpLen)
        : pseudoHeaderSum(ip.subarray(12, 16), ip.subarray(16, 20), 6, tcpLen);
      const folded = ~finishChecksum(sum) & 0xffff;
      this.tx[at + gso.l4Offset + 16] = folded >> 8;
      this.tx[at + gso.l4Offset + 17] = folded & 0xff;
    } else {
      for (let k = 0; k < 10; k++) this.vnet[h + k] = 0;
    }
    this.txLens[this.txCount++] = frame.length;
    return true;
  }

  flush(): void {
    if (this.txCount === 0 || this.closed) return;
    const r = this.lib.sb_netdev_send_batch(
      this.fd,
      this.kind,
      this.tx,
      this.txSlot,
      this.txCount,
      this.txLens,
      this.vnet,
    );
    if (r < 0) this.sendErrors++;
    else this.framesOut += r;
    this.txCount = 0;
  }

  poll(budget: number): number {
    let total = 0;
    while (total < budget && !this.closed) {
      const n = this.lib.sb_netdev_recv_batch(
        this.fd,
        this.kind,
        this.rx,
        RX_SLOT,
        Math.min(BATCH, budget - total),
        this.rxLens,
        this.rxFlags,
      );
      if (n <= 0) break;
      for (let i = 0; i < n; i++) {
        const len = this.rxLens[i];
        if (len <= 0) continue;
        this.framesIn++;
        this.receiver(
          this.rx.subarray(i * RX_SLOT, i * RX_SLOT + len),
          (this.rxFlags[i] & 1) !== 0,
        );
      }
      total += n;
      if (n < BATCH) break;
    }
    return total;
  }

  /** Blocks until a frame waits or `timeoutNs` passes (negative: forever). */
  wait(timeoutNs: number): boolean {
    return this.lib.sb_netdev_wait(this.fd, BigInt(Math.floor(timeoutNs))) > 0;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.lib.sb_netdev_close(this.fd);
  }
}
