// Choosing and preparing a sandbox's network, before the sandbox is built (some steps need
// privileges the sandbox process may drop later). The result is attached to the kernel
// with attachNetwork (network.ts).
//
//   none     loopback only (127.0.0.1/8, ::1).
//   sandbox  netstack on the interfaces of the network namespace the process is in
//            (takeover.ts). `cordon do` first makes that namespace: a fresh one with a
//            veth pair and NAT to the host (nat.ts), as `runsc do` does. The OCI runtime's
//            sandbox process uses the container's namespace as it finds it.
//   host     host sockets on the guest's behalf (faster, less isolated).
import { HostNetwork } from "./host_network.ts";
import { natUnavailable, setUpNat } from "./nat.ts";
import { NetstackNetwork, type Network, type NetworkMode } from "./network.ts";
import { takeOverNamespace } from "./takeover.ts";

export interface PreparedNetwork {
  network: Network;
  /** A line for the user when the choice fell back to something else, or null. */
  notice: string | null;
  /** What was set up, for debug logs. */
  notes: string[];
  /** Undoes host-side set-up (NAT rules); call once the sandbox is over. */
  cleanup(): void;
}

/** For `cordon do`: "auto" is sandbox mode behind NAT when possible, else none (with a
 * notice); "sandbox" insists on NAT. */
export function prepareDoNetwork(choice: NetworkMode | "auto"): PreparedNetwork {
  const nothing = () => {};
  switch (choice) {
    case "none":
      return { network: new NetstackNetwork("none"), notice: null, notes: [], cleanup: nothing };
    case "host":
      return { network: new HostNetwork(), notice: null, notes: [], cleanup: nothing };
  }
  const why = natUnavailable();
  if (why) {
    if (choice === "sandbox") throw new Error(`--network sandbox: ${why}`);
    return {
      network: new NetstackNetwork("none"),
      notice: `cordon: network: loopback only (${why})`,
      notes: [],
      cleanup: nothing,
    };
  }
  let nat;
  try {
    nat = setUpNat();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (choice === "sandbox") throw new Error(`--network sandbox: ${msg}`);
    return {
      network: new NetstackNetwork("none"),
      notice: `cordon: network: loopback only (${msg})`,
      notes: [],
      cleanup: nothing,
    };
  }
  try {
    const t = takeOverNamespace();
    return {
      network: t.network,
      notice: loopbackNameserver(),
      notes: [
        `nat: ${nat.guestAddress} via ${nat.gateway} (host side ${nat.hostInterface})`,
        ...t.notes,
      ],
      cleanup: nat.cleanup,
    };
  } catch (e) {
    nat.cleanup();
    throw e;
  }
}

/** For a sandbox process already in its container's namespace (the OCI runtime):
 * "sandbox" takes that namespace over; a namespace with only lo gives loopback. */
export function prepareContainerNetwork(mode: NetworkMode): PreparedNetwork {
  const nothing = () => {};
  if (mode === "none") {
    return { network: new NetstackNetwork("none"), notice: null, notes: [], cleanup: nothing };
  }
  if (mode === "host") {
    return { network: new HostNetwork(), notice: null, notes: [], cleanup: nothing };
  }
  const t = takeOverNamespace();
  return { network: t.network, notice: null, notes: t.notes, cleanup: nothing };
}

/** A notice when the host's resolv.conf names a nameserver on the host's loopback (such as
 * systemd-resolved's 127.0.0.53): the sandbox's own loopback has none. */
function loopbackNameserver(): string | null {
  let text: string;
  try {
    text = Deno.readTextFileSync("/etc/resolv.conf");
  } catch {
    return null;
  }
  const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  const local = servers.filter((s) => s.startsWith("127.") || s === "::1");
  if (local.length === 0 || local.length < servers.length) return null;
  return `cordon: network: /etc/resolv.conf names ${local.join(", ")}, on the host's loopback: ` +
    "name lookups will fail in the sandbox (mount another resolv.conf with --volume)";
}
