// What `cordon do` does by default, as `runsc do` does: the sandbox process moves into a
// fresh network namespace joined to the host by a veth pair, with NAT to the outside world,
// and runs network mode "sandbox" there. Host-side pieces are named after the sandbox
// process's pid (veth cdnPIDh, nftables table cordon_PID or an iptables rule commented
// cordon-PID, namespace name cordon-PID while it is made) so that a later run removes the
// ones whose process is gone (a crash, SIGKILL); a normal exit removes its own.
//
// Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for the namespace), `ip` from iproute2, and nft
// or iptables. It enables IPv4 forwarding on the host (net.ipv4.ip_forward=1), as runsc do
// does, and leaves it on. IPv4 only; a host FORWARD policy that drops (docker's) blocks it.
import { hostnet } from "../../ffi/hostnet.ts";
import { rtnlDump } from "./hostns.ts";
import * as NL from "./rtnetlink.ts";

/** The sandbox's side of the NAT: its address, the gateway, the host interface. */
export interface NatSetup {
  guestAddress: string;
  gateway: string;
  hostInterface: string;
  /** Removes the host-side pieces (call from anywhere; it returns to the host namespace). */
  cleanup(): void;
}

/** 10.213.0.0/16 cut into /30s: one per sandbox, picked from its pid. */
const BASE = [10, 213];
const SLOTS = 16384;

function which(cmd: string): string | null {
  for (
    const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").concat([
      "/usr/sbin",
      "/sbin",
    ])
  ) {
    try {
      const p = `${dir}/${cmd}`;
      if (Deno.statSync(p).isFile) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function run(argv: string[]): { ok: boolean; out: string; err: string } {
  try {
    const r = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    return {
      ok: r.success,
      out: new TextDecoder().decode(r.stdout),
      err: new TextDecoder().decode(r.stderr),
    };
  } catch (e) {
    return { ok: false, out: "", err: String(e) };
  }
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Why NAT cannot be set up here, or null if it can. */
export function natUnavailable(): string | null {
  if (Deno.uid() !== 0) return "not running as root";
  if (!which("ip")) return "ip (iproute2) is not installed";
  if (!which("nft") && !which("iptables")) return "neither nft nor iptables is installed";
  return null;
}

/** Removes what sandboxes that are gone left behind. */
export function cleanStale(): void {
  const ip = which("ip")!;
  const ns = run([ip, "netns", "list"]);
  for (const m of ns.out.matchAll(/^cordon-(\d+)/gm)) {
    if (!alive(Number(m[1]))) run([ip, "netns", "del", m[0]]);
  }
  const links = run([ip, "-o", "link", "show"]);
  for (const m of links.out.matchAll(/^\d+: (cdn(\d+)h)[@:]/gm)) {
    if (!alive(Number(m[2]))) run([ip, "link", "del", m[1]]);
  }
  const nft = which("nft");
  if (nft) {
    const t = run([nft, "list", "tables", "ip"]);
    for (const m of t.out.matchAll(/table ip (cordon_(\d+))/g)) {
      if (!alive(Number(m[2]))) run([nft, "delete", "table", "ip", m[1]]);
    }
  } else {
    const ipt = which("iptables")!;
    const rules = run([ipt, "-t", "nat", "-S", "POSTROUTING"]);
    for (const line of rules.out.split("\n")) {
      const m = /--comment "?cordon-(\d+)"?/.exec(line);
      if (m && !alive(Number(m[1]))) {
        run([
          ipt,
          "-t",
          "nat",
          ...line.replace(/^-A /, "-D ").split(/\s+/).map((s) => s.replace(/^"|"$/g, "")),
        ]);
      }
    }
  }
}

function usedSubnets(): Set<number> {
  const used = new Set<number>();
  const addrs = rtnlDump(NL.RTM_GETADDR, 8, 2);
  if (typeof addrs === "number") return used;
  for (const m of addrs) {
    const a = NL.parseAttrs(m.payload, 8).get(NL.IFA_LOCAL);
    if (a && a[0] === BASE[0] && a[1] === BASE[1]) used.add(((a[2] << 8) | a[3]) >> 2);
  }
  return used;
}

/** Makes the namespace, the veth pair and the NAT rule, and moves the sentry's main thread
 * into the namespace. Throws with the failing step's message (after undoing what it did). */
export function setUpNat(pid = Deno.pid): NatSetup {
  const ip = which("ip")!;
  const nft = which("nft");
  const ipt = nft ? null : which("iptables");
  cleanStale();
  const used = usedSubnets();
  let slot = pid % SLOTS;
  for (let i = 0; i < SLOTS && (used.has(slot) || slot === 0); i++) slot = (slot + 1) % SLOTS;
  const a = (host: number) =>
    `${BASE[0]}.${BASE[1]}.${(slot * 4 + host) >> 8}.${(slot * 4 + host) & 255}`;
  const subnet = `${a(0)}/30`, gateway = a(1), guest = a(2);
  const nsName = `cordon-${pid}`, hostIf = `cdn${pid}h`;
  const table = `cordon_${pid}`, comment = `cordon-${pid}`;
  const hostNs = hostnet().sb_net_open_ns();
  if (hostNs < 0) throw new Error(`opening the host network namespace: errno ${-hostNs}`);
  const undo: Array<() => void> = [];
  const step = (what: string, argv: string[]) => {
    const r = run(argv);
    if (!r.ok) throw new Error(`${what}: ${r.err.trim() || "failed"}`);
  };
  const cleanup = () => {
    const lib = hostnet();
    const back = lib.sb_net_setns_fd(hostNs);
    for (const u of undo.splice(0).reverse()) u();
    void back;
  };
  try {
    step("creating the network namespace", [ip, "netns", "add", nsName]);
    undo.push(() => run([ip, "netns", "del", nsName]));
    step("creating the veth pair", [
      ip,
      "link",
      "add",
      hostIf,
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      nsName,
    ]);
    undo.push(() => run([ip, "link", "del", hostIf]));
    step("addressing the host side", [ip, "addr", "add", `${gateway}/30`, "dev", hostIf]);
    step("bringing the host side up", [ip, "link", "set", hostIf, "up"]);
    step("addressing the sandbox side", [
      ip,
      "-n",
      nsName,
      "addr",
      "add",
      `${guest}/30`,
      "dev",
      "eth0",
    ]);
    step("bringing the sandbox side up", [ip, "-n", nsName, "link", "set", "eth0", "up"]);
    step("the sandbox's default route", [
      ip,
      "-n",
      nsName,
      "route",
      "add",
      "default",
      "via",
      gateway,
    ]);
    if (nft) {
      const script = Deno.makeTempFileSync({ prefix: "cordon-nft-" });
      try {
        Deno.writeTextFileSync(
          script,
          `table ip ${table} {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; ip saddr ${subnet} oifname != "${hostIf}" masquerade; }
  chain forward { type filter hook forward priority filter; policy accept; iifname "${hostIf}" accept; oifname "${hostIf}" ct state established,related accept; }
}
`,
        );
        step("the NAT rule (nft)", [nft, "-f", script]);
      } finally {
        Deno.removeSync(script);
      }
      undo.push(() => run([nft, "delete", "table", "ip", table]));
    } else {
      const rule = [
        "POSTROUTING",
        "-s",
        subnet,
        "!",
        "-o",
        hostIf,
        "-j",
        "MASQUERADE",
        "-m",
        "comment",
        "--comment",
        comment,
      ];
      step("the NAT rule (iptables)", [ipt!, "-t", "nat", "-A", ...rule]);
      undo.push(() => run([ipt!, "-t", "nat", "-D", ...rule]));
    }
    try {
      if (Deno.readTextFileSync("/proc/sys/net/ipv4/ip_forward").trim() !== "1") {
        Deno.writeTextFileSync("/proc/sys/net/ipv4/ip_forward", "1");
      }
    } catch (e) {
      throw new Error(`enabling IPv4 forwarding: ${e instanceof Error ? e.message : e}`);
    }
    const rc = hostnet().sb_net_setns(new TextEncoder().encode(`/run/netns/${nsName}\0`));
    if (rc < 0) throw new Error(`entering the network namespace: errno ${-rc}`);
    // The namespace lives as long as the sandbox process is in it: its name can go now,
    // and with the namespace gone the veth pair goes too.
    run([ip, "netns", "del", nsName]);
    undo.shift();
    undo.shift();
  } catch (e) {
    cleanup();
    throw e;
  }
  return { guestAddress: guest, gateway, hostInterface: hostIf, cleanup };
}
