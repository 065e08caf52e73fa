// The routing table: longest-prefix match over static routes, per address family, plus the
// path-MTU cache that ICMP "fragmentation needed" / "packet too big" messages fill.
import { IPAddress, ipKey, prefixMatch } from "./addr.ts";
import type { NIC } from "./nic.ts";

export interface RouteEntry {
  dest: IPAddress;
  prefix: number;
  gateway: IPAddress | null;
  nic: NIC;
  metric: number;
}

/** A resolved path to one destination. */
export interface Route {
  nic: NIC;
  /** Our address used as the source. */
  src: IPAddress;
  dst: IPAddress;
  /** The neighbour that receives the frame: the gateway, or dst itself when on-link. */
  nextHop: IPAddress;
  /** Largest IP packet on this path (link MTU, lowered by path-MTU discovery). */
  mtu: number;
}

export class RouteTable {
  private entries: RouteEntry[] = [];

  add(e: RouteEntry): void {
    this.entries.push(e);
    // Longest prefix first, then lowest metric: lookup takes the first match.
    this.entries.sort((a, b) => b.prefix - a.prefix || a.metric - b.metric);
  }

  remove(pred: (e: RouteEntry) => boolean): void {
    this.entries = this.entries.filter((e) => !pred(e));
  }

  lookup(dst: IPAddress, nic?: NIC): RouteEntry | undefined {
    for (const e of this.entries) {
      if (e.dest.length !== dst.length) continue;
      if (nic && e.nic !== nic) continue;
      if (prefixMatch(e.dest, dst, e.prefix)) return e;
    }
    return undefined;
  }

  list(): readonly RouteEntry[] {
    return this.entries;
  }
}

/** Path MTUs learned from ICMP, expiring after ten minutes as Linux's do. */
export class PathMtuCache {
  private map = new Map<string, { mtu: number; expires: number }>();
  constructor(private readonly maxEntries = 1024, readonly lifetimeNs = 600e9) {}

  get(dst: IPAddress, now: number): number | undefined {
    const e = this.map.get(ipKey(dst));
    if (!e) return undefined;
    if (e.expires <= now) {
      this.map.delete(ipKey(dst));
      return undefined;
    }
    return e.mtu;
  }

  set(dst: IPAddress, mtu: number, now: number): void {
    if (this.map.size >= this.maxEntries) {
      const first = this.map.keys().next().value;
      if (first !== undefined) this.map.delete(first);
    }
    this.map.set(ipKey(dst), { mtu, expires: now + this.lifetimeNs });
  }
}
