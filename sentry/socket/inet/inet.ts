// The AF_INET and AF_INET6 families in the socket layer's registry: socket(2) makes a
// netstack socket (modes none and sandbox) or a host socket (mode host), with Linux's
// checks of type and protocol. Also the net.* sysctls these sockets honour.
import { E } from "../../abi/errno.ts";
import type { Task } from "../../kernel/task.ts";
import { type NetstackNetwork, networkOf } from "../../net/network.ts";
import {
  AF_INET,
  AF_INET6,
  credsOf,
  registerFamily,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  type SocketFile,
} from "../socket.ts";
import { NetstackSocket } from "./netstack_socket.ts";
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "./options.ts";
import { createHostSocket } from "./host_socket.ts";
import { pingGroupRange } from "./sysctl.ts";

const CAP_NET_RAW = 13;
const SOCK_MAX = 11;
const IPPROTO_MAX = 256;

/** ping_init_sock: the caller's effective or a supplementary group must be in
 * net.ipv4.ping_group_range. */
function mayPing(t: Task): boolean {
  const [lo, hi] = pingGroupRange(t.kernel);
  const ok = (g: number) => g >= lo && g <= hi;
  return ok(t.creds.egid) || t.creds.groups.some(ok);
}

export function createInet(
  t: Task,
  family: number,
  type: number,
  protocol: number,
  flags: number,
): SocketFile | number {
  if (type >= SOCK_MAX) return -E.EINVAL;
  if (protocol < 0 || protocol >= IPPROTO_MAX) return -E.EINVAL;
  const icmp = family === AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  switch (type) {
    case SOCK_STREAM:
      if (protocol !== 0 && protocol !== IPPROTO_TCP) return -E.EPROTONOSUPPORT;
      protocol = IPPROTO_TCP;
      break;
    case SOCK_DGRAM:
      if (protocol === 0) protocol = IPPROTO_UDP;
      if (protocol !== IPPROTO_UDP && protocol !== icmp) return -E.EPROTONOSUPPORT;
      // In host mode the host kernel checks its own ping_group_range.
      if (protocol === icmp && networkOf(t.kernel).mode !== "host" && !mayPing(t)) return -E.EACCES;
      break;
    case SOCK_RAW:
      // Raw IP is not offered; without CAP_NET_RAW Linux refuses first.
      return t.creds.hasCap(CAP_NET_RAW) ? -E.EPROTONOSUPPORT : -E.EPERM;
    default:
      return -E.ESOCKTNOSUPPORT;
  }
  const net = networkOf(t.kernel);
  if (net.mode === "host") return createHostSocket(t, family, type, protocol, flags);
  const ns = net as NetstackNetwork;
  const s = ns.stack.socket(family, type, protocol);
  if (typeof s === "number") return s;
  return new NetstackSocket(
    ns,
    s,
    family,
    type,
    protocol,
    flags,
    credsOf(t),
    t.kernel.realtimeNs(),
  );
}

registerFamily(AF_INET, {
  create: (t, type, protocol, flags) => createInet(t, AF_INET, type, protocol, flags),
});
registerFamily(AF_INET6, {
  create: (t, type, protocol, flags) => createInet(t, AF_INET6, type, protocol, flags),
});
