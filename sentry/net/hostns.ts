// The sandbox process's own network namespace, read and changed through rtnetlink
// (ffi/lib/hostnet.c): its interfaces with their addresses, its routes and neighbours, and
// the removal of addresses the sandbox takes over. These calls act on the namespace of the
// sentry's main thread, where every FFI call runs.
import { hostnet } from "../../ffi/hostnet.ts";
import type { IfInfo, RouteInfo } from "./network.ts";
import * as NL from "./rtnetlink.ts";

let seq = 1;

/** One request; the replies, or -errno (an NLMSG_ERROR's error included). */
export function rtnlRequest(req: Uint8Array): NL.NlMessage[] | number {
  const resp = new Uint8Array(1 << 20);
  const n = hostnet().sb_net_rtnl(req, req.length, resp, resp.length);
  if (n < 0) return n;
  const msgs = NL.parseMessages(resp.subarray(0, n));
  for (const m of msgs) {
    if (m.type === NL.NLMSG_ERROR && m.payload.length >= 4) {
      const err = new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, true);
      if (err < 0) return err;
    }
  }
  return msgs;
}

/** A dump request: type, with a fixed header of hdrLen bytes whose first byte is family. */
export function rtnlDump(type: number, hdrLen: number, family = 0): NL.NlMessage[] | number {
  const hdr = new Uint8Array(hdrLen);
  hdr[0] = family;
  const w = new NL.NlWriter().begin(type, NL.NLM_F_REQUEST | NL.NLM_F_DUMP, seq++, 0).bytes(hdr)
    .end();
  return rtnlRequest(w.take());
}

export interface Namespace {
  links: IfInfo[];
  routes: RouteInfo[];
  neighbors: NL.NeighborEntry[];
}

/** Everything about the current namespace, or -errno. */
export function readNamespace(): Namespace | number {
  const links = rtnlDump(NL.RTM_GETLINK, 16);
  if (typeof links === "number") return links;
  const addrs = rtnlDump(NL.RTM_GETADDR, 8);
  if (typeof addrs === "number") return addrs;
  const routes = rtnlDump(NL.RTM_GETROUTE, 12);
  if (typeof routes === "number") return routes;
  const neigh = rtnlDump(NL.RTM_GETNEIGH, 12);
  const l = NL.readLinks(links);
  NL.addAddresses(l, addrs);
  return {
    links: l,
    routes: NL.readRoutes(routes),
    neighbors: typeof neigh === "number" ? [] : NL.readNeighbors(neigh),
  };
}

/** RTM_DELADDR: removes addr/prefix from interface ifindex. 0 or -errno. */
export function deleteAddress(
  ifindex: number,
  family: number,
  addr: Uint8Array,
  prefix: number,
): number {
  const hdr = new Uint8Array(8);
  hdr[0] = family;
  hdr[1] = prefix;
  new DataView(hdr.buffer).setUint32(4, ifindex, true);
  const w = new NL.NlWriter().begin(NL.RTM_DELADDR, NL.NLM_F_REQUEST | NL.NLM_F_ACK, seq++, 0)
    .bytes(hdr).attr(NL.IFA_LOCAL, addr).attr(NL.IFA_ADDRESS, addr).end();
  const r = rtnlRequest(w.take());
  return typeof r === "number" ? r : 0;
}
