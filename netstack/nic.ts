// A network interface: one link endpoint, its addresses, multicast memberships and neighbour
// caches. It frames outgoing IP packets and hands received frames to the stack.
import { IPAddress, ipEqual, ipKey, isMulticast, prefixMatch } from "./addr.ts";
import {
  BROADCAST_MAC,
  ETH_HLEN,
  ETH_P_IP,
  ipv4MulticastMac,
  ipv6MulticastMac,
} from "./ethernet.ts";
import type { GsoInfo, LinkEndpoint } from "./link/endpoint.ts";
import { NeighborCache } from "./neighbor.ts";

export interface InterfaceAddress {
  addr: IPAddress;
  prefix: number;
}

export class NIC {
  readonly v4: InterfaceAddress[] = [];
  readonly v6: InterfaceAddress[] = [];
  /** Joined multicast groups with reference counts. */
  readonly groups = new Map<string, number>();
  arp: NeighborCache | null = null;
  ndp: NeighborCache | null = null;
  up = true;
  framesIn = 0;
  framesOut = 0;
  dropsOut = 0;

  constructor(readonly id: number, readonly name: string, readonly link: LinkEndpoint) {}

  get mtu(): number {
    return this.link.mtu;
  }
  get mac(): Uint8Array {
    return this.link.mac;
  }
  get isLoopback(): boolean {
    return this.link.isLoopback;
  }

  hasAddress(a: IPAddress): boolean {
    const list = a.length === 4 ? this.v4 : this.v6;
    for (const e of list) if (ipEqual(e.addr, a)) return true;
    return false;
  }

  /** True for the limited broadcast or the directed broadcast of one of our IPv4 subnets. */
  isBroadcast4(a: IPAddress): boolean {
    if (a[0] === 255 && a[1] === 255 && a[2] === 255 && a[3] === 255) return true;
    for (const e of this.v4) {
      if (e.prefix >= 31 || !prefixMatch(e.addr, a, e.prefix)) continue;
      let allOnes = true;
      for (let bit = e.prefix; bit < 32; bit++) {
        if (((a[bit >> 3] >> (7 - (bit & 7))) & 1) === 0) {
          allOnes = false;
          break;
        }
      }
      if (allOnes) return true;
    }
    return false;
  }

  inGroup(a: IPAddress): boolean {
    return this.groups.has(ipKey(a));
  }

  joinGroup(a: IPAddress): void {
    const k = ipKey(a);
    this.groups.set(k, (this.groups.get(k) ?? 0) + 1);
  }

  leaveGroup(a: IPAddress): void {
    const k = ipKey(a);
    const n = this.groups.get(k) ?? 0;
    if (n <= 1) this.groups.delete(k);
    else this.groups.set(k, n - 1);
  }

  /** The source address to use toward `dst` on this interface. */
  sourceFor(dst: IPAddress): IPAddress | null {
    if (dst.length === 4) {
      for (const e of this.v4) if (prefixMatch(e.addr, dst, e.prefix)) return e.addr;
      return this.v4.length ? this.v4[0].addr : null;
    }
    const linkLocalDst = dst[0] === 0xfe && (dst[1] & 0xc0) === 0x80 ||
      (dst[0] === 0xff && (dst[1] & 0x0f) <= 2);
    for (const e of this.v6) if (prefixMatch(e.addr, dst, e.prefix) && e.prefix > 0) return e.addr;
    for (const e of this.v6) {
      const ll = e.addr[0] === 0xfe && (e.addr[1] & 0xc0) === 0x80;
      if (ll === linkLocalDst) return e.addr;
    }
    return this.v6.length ? this.v6[0].addr : null;
  }

  /** Sends an IP packet. Precondition: buf[off, off+14) is free for the Ethernet header and
   * buf[off+14, off+len) holds the packet. `nextHop` picks the destination MAC. */
  sendIP(
    type: number,
    nextHop: IPAddress,
    buf: Uint8Array,
    off: number,
    len: number,
    gso: GsoInfo | null = null,
  ): boolean {
    if (!this.up) {
      this.dropsOut++;
      return false;
    }
    const mac = this.link.mac;
    buf.set(mac, off + 6);
    buf[off + 12] = type >> 8;
    buf[off + 13] = type & 0xff;
    if (this.link.isLoopback) {
      buf.fill(0, off, off + 6);
    } else if (isMulticast(nextHop)) {
      if (nextHop.length === 4) ipv4MulticastMac(nextHop, buf, off);
      else ipv6MulticastMac(nextHop, buf, off);
    } else if (type === ETH_P_IP && this.isBroadcast4(nextHop)) {
      buf.set(BROADCAST_MAC, off);
    } else {
      const cache = type === ETH_P_IP ? this.arp : this.ndp;
      if (!cache) {
        this.dropsOut++;
        return false;
      }
      const dstMac = cache.resolve(nextHop);
      if (!dstMac) {
        // A super-frame cannot wait in the queue (it would lose its offload note); TCP
        // sends it again after resolution.
        if (!gso) cache.enqueue(nextHop, buf.slice(off, off + len));
        return true;
      }
      buf.set(dstMac, off);
    }
    return this.writeFrame(buf.subarray(off, off + len), gso);
  }

  writeFrame(frame: Uint8Array, gso: GsoInfo | null = null): boolean {
    this.framesOut++;
    if (!this.link.write(frame, gso)) {
      this.dropsOut++;
      return false;
    }
    return true;
  }
}

export const ETHERNET_HEADROOM = ETH_HLEN;
