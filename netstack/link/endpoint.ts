// The link-endpoint interface: how the stack reaches a wire. Every endpoint carries Ethernet
// frames (loopback too, with zero addresses, as Linux's lo does), so the layers above see one
// framing.

export interface LinkEndpoint extends GsoCapable {
  /** Largest IP packet (without the Ethernet header) the link carries. */
  readonly mtu: number;
  /** The endpoint's own MAC address (6 bytes). */
  readonly mac: Uint8Array;
  /** Loopback links need no neighbour resolution. */
  readonly isLoopback: boolean;
  /** When true, the stack neither computes nor checks TCP/UDP checksums on this link: frames
   * never leave the process (Linux's loopback does the same). */
  readonly checksumOffload: boolean;
  /** Where received frames go. The frame is only valid during the call. `trusted` says the
   * host already validated (or will fill in) the transport checksum, as for frames a veth
   * hands over with a partial checksum. */
  setReceiver(receive: (frame: Uint8Array, trusted?: boolean) => void): void;
  /** Queues one frame for sending. The endpoint copies it before returning, so the caller may
   * reuse its buffer. Returns false when the frame was dropped (queue full, link down).
   * `gso`, only on links with gsoMaxSize > 0, marks a TCP super-frame the host cuts into
   * `gso.mss`-sized segments (and checksums: the TCP checksum field then holds the folded
   * pseudo-header sum). */
  write(frame: Uint8Array, gso?: GsoInfo | null): boolean;
  /** Hands up to `budget` waiting received frames to the receiver; returns how many. */
  poll(budget: number): number;
  /** Sends anything batched by write(). */
  flush(): void;
  close(): void;
}

/** Frames kept in queues are copied into buffers from this pool, so a busy link reuses a
 * handful of buffers instead of allocating one per packet. */
export class BufferPool {
  private free: Uint8Array[] = [];
  constructor(readonly bufferSize: number, private readonly maxFree = 256) {}

  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.bufferSize);
  }

  give(buf: Uint8Array): void {
    if (this.free.length < this.maxFree && buf.length === this.bufferSize) this.free.push(buf);
  }
}

export const ETHERNET_HEADER_LENGTH = 14;

/** Segmentation offload for one outgoing TCP frame. */
export interface GsoInfo {
  mss: number;
  /** Offset of the TCP header in the frame. */
  l4Offset: number;
  /** Ethernet + IP + TCP header bytes. */
  headerLength: number;
  v6: boolean;
}

/** Links that can take TCP super-frames say how large (frame bytes); 0 or absent: none. */
export interface GsoCapable {
  readonly gsoMaxSize?: number;
}
