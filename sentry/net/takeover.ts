// Network mode "sandbox": the netstack takes over the interfaces of the network namespace
// the sandbox process runs in, as runsc does. For each Ethernet interface that is up: an
// AF_PACKET endpoint on it, its MTU, addresses and routes copied into the netstack, its
// neighbour entries used to seed the netstack's caches; then the addresses are removed from
// the host's side of the interface, so the host kernel no longer answers for them (no
// resets for connections it does not know, no ARP replies). A namespace with only lo gives
// loopback alone (podman --network=none).
//
// Needs CAP_NET_RAW (packet sockets) and CAP_NET_ADMIN (removing addresses) in that
// namespace: call before dropping capabilities or installing a seccomp filter.
import { AF_INET, AF_INET6, ipToString } from "../../netstack/addr.ts";
import { HostEndpoint } from "../../netstack/link/host.ts";
import { Stack } from "../../netstack/stack.ts";
import { deleteAddress, type Namespace, readNamespace } from "./hostns.ts";
import { ARPHRD_ETHER, IFF_LOOPBACK, IFF_UP, NetstackNetwork } from "./network.ts";

export interface TakeoverReport {
  network: NetstackNetwork;
  /** Human-readable lines on what was taken over (for debug logs). */
  notes: string[];
}

/** Builds the sandbox-mode network from the current namespace. Throws with a clear
 * message when the namespace cannot be read or an interface cannot be opened. */
export function takeOverNamespace(): TakeoverReport {
  const ns = readNamespace();
  if (typeof ns === "number") throw new Error(`reading the network namespace: errno ${-ns}`);
  return buildFrom(ns);
}

function cidr(addr: Uint8Array, prefix: number): string {
  return `${ipToString(addr)}/${prefix}`;
}

function buildFrom(ns: Namespace): TakeoverReport {
  const stack = new Stack();
  const notes: string[] = [];
  const links: HostEndpoint[] = [];
  const taken = ns.links.filter((l) =>
    l.type === ARPHRD_ETHER && (l.flags & IFF_UP) && !(l.flags & IFF_LOOPBACK)
  );
  const nicOf = new Map<number, ReturnType<Stack["addNic"]>>();
  try {
    for (const l of taken) {
      const ep = HostEndpoint.openPacket(l.name);
      links.push(ep);
      const nic = stack.addNic(ep, l.name);
      nicOf.set(l.index, nic);
      for (const a of l.addrs) {
        // Link-local IPv6 comes from the MAC (netstack makes its own); the rest is copied.
        if (a.family === AF_INET6 && a.addr[0] === 0xfe && (a.addr[1] & 0xc0) === 0x80) continue;
        stack.addAddress(nic, cidr(a.addr, a.prefix));
        notes.push(`${l.name}: address ${cidr(a.addr, a.prefix)}`);
      }
      notes.push(
        `${l.name}: mtu ${ep.mtu}, mac ${
          Array.from(ep.mac, (b) => b.toString(16).padStart(2, "0")).join(":")
        }`,
      );
    }
    for (const r of ns.routes) {
      const nic = nicOf.get(r.ifindex);
      if (!nic || r.table !== 254 || r.type !== 1) continue;
      const isV6 = r.family === AF_INET6;
      if (
        isV6 &&
        (r.dst[0] === 0xff || (r.dst[0] === 0xfe && (r.dst[1] & 0xc0) === 0x80 && r.prefix === 64))
      ) continue;
      // On-link prefixes of our own addresses are there already.
      if (
        !r.gateway &&
        nic.v4.concat(nic.v6).some((a) =>
          a.prefix === r.prefix && samePrefix(a.addr, r.dst, r.prefix)
        )
      ) continue;
      const dst = cidr(r.dst, r.prefix);
      stack.addRoute(dst, r.gateway ? ipToString(r.gateway) : null, nic, r.metric);
      notes.push(`route ${dst}${r.gateway ? ` via ${ipToString(r.gateway)}` : ""} dev ${nic.name}`);
    }
    for (const n of ns.neighbors) {
      const nic = nicOf.get(n.ifindex);
      // NUD_REACHABLE 0x02, NUD_STALE 0x04, NUD_PERMANENT 0x80.
      if (!nic || !(n.state & (0x02 | 0x04 | 0x80))) continue;
      const cache = n.family === AF_INET ? nic.arp : nic.ndp;
      cache?.learn(n.addr, n.mac);
    }
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  // The host side lets go of the addresses (IPv6 link-local ones too: the host would
  // otherwise answer for them with the same MAC).
  for (const l of taken) {
    for (const a of l.addrs) {
      const rc = deleteAddress(l.index, a.family, a.addr, a.prefix);
      if (rc < 0 && rc !== -99 /* EADDRNOTAVAIL: gone with another */) {
        notes.push(`${l.name}: removing ${cidr(a.addr, a.prefix)}: errno ${-rc}`);
      }
    }
    disableHostIpv6(l.name);
  }
  return { network: new NetstackNetwork("sandbox", links, stack), notes };
}

/** Stops the host kernel's IPv6 on an interface it no longer owns (no new link-local
 * address, no answers to neighbour solicitations). Best effort. */
function disableHostIpv6(ifname: string): void {
  try {
    Deno.writeTextFileSync(`/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`, "1");
  } catch {
    // No writable /proc/sys here: the addresses are gone already.
  }
}

function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  if (a.length !== b.length) return false;
  for (let bit = 0; bit < prefix; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((a[bit >> 3] & m) !== (b[bit >> 3] & m)) return false;
  }
  return true;
}
