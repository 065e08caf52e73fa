// Port ownership per transport protocol: bind conflicts (with SO_REUSEADDR/SO_REUSEPORT and
// dual-stack wildcards), ephemeral allocation, and the candidates for demultiplexing.
import { AF_INET6, IPAddress, ipEqual, isUnspecified, isV4Mapped } from "./addr.ts";

export interface PortOwner {
  /** The bound address: 4 bytes for IPv4 (also for IPv6 sockets bound to a v4-mapped
   * address), 16 for IPv6. All zeroes is the wildcard. */
  localAddr: IPAddress;
  localPort: number;
  readonly family: number;
  v6only: boolean;
  reuseAddr: boolean;
  reusePort: boolean;
  /** TCP: listening sockets block SO_REUSEADDR rebinding. */
  isListening(): boolean;
}

/** Whether an owner's bound address accepts packets addressed to `dst`. */
export function ownerAccepts(o: PortOwner, dst: IPAddress): boolean {
  const a = o.localAddr;
  if (isUnspecified(a)) {
    if (a.length === dst.length) return true;
    // A v6 wildcard socket takes IPv4 too unless IPV6_V6ONLY.
    return a.length === 16 && dst.length === 4 && !o.v6only;
  }
  return ipEqual(a, dst);
}

function overlaps(a: PortOwner, b: PortOwner): boolean {
  const wa = isUnspecified(a.localAddr), wb = isUnspecified(b.localAddr);
  const covers4 = (o: PortOwner, w: boolean) =>
    o.localAddr.length === 4 || (w && o.localAddr.length === 16 && !o.v6only);
  const covers6 = (o: PortOwner) => o.localAddr.length === 16;
  if (wa && wb) return (covers4(a, true) && covers4(b, true)) || (covers6(a) && covers6(b));
  if (wa) return ownerAccepts(a, b.localAddr);
  if (wb) return ownerAccepts(b, a.localAddr);
  return ipEqual(a.localAddr, b.localAddr);
}

export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;

export class PortTable {
  private byPort = new Map<number, Set<PortOwner>>();

  constructor(private readonly random: () => number, private readonly tcpRules: boolean) {}

  owners(port: number): Set<PortOwner> | undefined {
    return this.byPort.get(port);
  }

  /** Every owner (for listings such as /proc/net/udp). */
  *all(): Iterable<PortOwner> {
    for (const set of this.byPort.values()) yield* set;
  }

  canBind(o: PortOwner, addr: IPAddress, port: number): boolean {
    const set = this.byPort.get(port);
    if (!set) return true;
    const probe = { ...o, localAddr: addr, localPort: port } as PortOwner;
    for (const other of set) {
      if (other === o || !overlaps(probe, other)) continue;
      if (o.reusePort && other.reusePort) continue;
      if (o.reuseAddr && other.reuseAddr && (!this.tcpRules || !other.isListening())) continue;
      return false;
    }
    return true;
  }

  /** Whether another listening owner overlaps `o` (and they do not share by SO_REUSEPORT). */
  listenerConflict(o: PortOwner): boolean {
    const set = this.byPort.get(o.localPort);
    if (!set) return false;
    for (const other of set) {
      if (other === o || !other.isListening() || !overlaps(o, other)) continue;
      if (o.reusePort && other.reusePort) continue;
      return true;
    }
    return false;
  }

  add(o: PortOwner): void {
    let set = this.byPort.get(o.localPort);
    if (!set) this.byPort.set(o.localPort, set = new Set());
    set.add(o);
  }

  remove(o: PortOwner): void {
    const set = this.byPort.get(o.localPort);
    if (!set) return;
    set.delete(o);
    if (set.size === 0) this.byPort.delete(o.localPort);
  }

  /** Picks a free ephemeral port for `o` bound at `addr`, or 0 when none is left.
   * `extraCheck` lets TCP also avoid ports whose 4-tuple is in use. */
  allocate(o: PortOwner, addr: IPAddress, extraCheck?: (port: number) => boolean): number {
    const range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    const start = Math.floor(this.random() * range);
    for (let i = 0; i < range; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % range);
      if (!this.byPort.has(port) && (!extraCheck || extraCheck(port))) return port;
    }
    for (let i = 0; i < range; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % range);
      if (this.canBind(o, addr, port) && (!extraCheck || extraCheck(port))) return port;
    }
    return 0;
  }
}

/** Converts a socket address given to an `family` socket into the IP address to use:
 * IPv6 sockets reach IPv4 through v4-mapped addresses. Returns null when not allowed. */
export function toWireAddress(family: number, addr: IPAddress, v6only: boolean): IPAddress | null {
  if (family !== AF_INET6) return addr.length === 4 ? addr : null;
  if (addr.length !== 16) return null;
  if (isV4Mapped(addr)) return v6only ? null : addr.slice(12, 16);
  return addr;
}

/** The inverse: how an IPv6 socket shows an IPv4 peer. */
export function toSocketAddress(family: number, addr: IPAddress): IPAddress {
  if (family === AF_INET6 && addr.length === 4) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(addr, 12);
    return out;
  }
  return addr.slice();
}
