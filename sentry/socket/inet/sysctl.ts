// The net.* sysctls of the sandbox (/proc/sys/net): the ones inet sockets honour
// (ping_group_range) and read-only reports of the values netstack works with.
import { E } from "../../abi/errno.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import { registerSysctl } from "../../fs/proc/system.ts";
import { networkOf } from "../../net/network.ts";

/** Container runtimes open ping sockets to every group; so does the sandbox by default. */
const DEFAULT_PING_RANGE: [number, number] = [0, 2147483647];
const pingRanges = new WeakMap<Kernel, [number, number]>();

export function pingGroupRange(k: Kernel): [number, number] {
  return pingRanges.get(k) ?? DEFAULT_PING_RANGE;
}

registerSysctl("net/ipv4/ping_group_range", {
  // In host mode the host kernel decides, with its own range.
  read: (k) =>
    networkOf(k).mode === "host"
      ? hostValue("net/ipv4/ping_group_range")
      : pingGroupRange(k).join("\t") + "\n",
  write: (k, v) => {
    if (networkOf(k).mode === "host") return -E.EPERM;
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(v);
    if (!m) return -E.EINVAL;
    const lo = Number(m[1]), hi = Number(m[2]);
    if (lo > 2147483647 || hi > 2147483647) return -E.EINVAL;
    pingRanges.set(k, [lo, hi]);
    return 0;
  },
});

const FIXED: Array<[string, string]> = [
  ["net/core/somaxconn", "4096"],
  ["net/core/rmem_default", "212992"],
  ["net/core/rmem_max", "212992"],
  ["net/core/wmem_default", "212992"],
  ["net/core/wmem_max", "212992"],
  ["net/ipv4/ip_local_port_range", "32768\t60999"],
  ["net/ipv4/ip_unprivileged_port_start", "1024"],
  ["net/ipv4/ip_forward", "0"],
  ["net/ipv4/ip_default_ttl", "64"],
  ["net/ipv4/tcp_fin_timeout", "60"],
  ["net/ipv4/tcp_keepalive_time", "7200"],
  ["net/ipv4/tcp_keepalive_intvl", "75"],
  ["net/ipv4/tcp_keepalive_probes", "9"],
  ["net/ipv4/tcp_syn_retries", "6"],
  ["net/ipv4/tcp_sack", "1"],
  ["net/ipv4/tcp_timestamps", "1"],
  ["net/ipv4/tcp_window_scaling", "1"],
  ["net/ipv4/tcp_congestion_control", "cubic"],
  ["net/ipv4/tcp_available_congestion_control", "reno cubic"],
  ["net/ipv4/tcp_rmem", "4096\t131072\t6291456"],
  ["net/ipv4/tcp_wmem", "4096\t16384\t4194304"],
  ["net/ipv4/tcp_max_tw_buckets", "4096"],
  ["net/ipv6/conf/all/disable_ipv6", "0"],
  ["net/ipv6/conf/default/disable_ipv6", "0"],
];
function hostValue(path: string): string {
  try {
    return Deno.readTextFileSync(`/proc/sys/${path}`);
  } catch {
    return "";
  }
}

// In host mode the guest uses the host's stack: it sees the host's values.
for (const [path, value] of FIXED) {
  registerSysctl(path, {
    read: (k) => {
      if (networkOf(k).mode === "host") {
        try {
          return Deno.readTextFileSync(`/proc/sys/${path}`);
        } catch {
          // fall through to the netstack's value
        }
      }
      return value + "\n";
    },
  });
}
