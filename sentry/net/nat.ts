// What `cordon do` does by default, as `runsc do` does: the sandbox process moves into a
// fresh network namespace joined to the host by a veth pair, with NAT to the outside world,
// and runs network mode "sandbox" there.
//
// - The namespace belongs to the sandbox process alone (unshare of its main thread): it
//   and the veth pair in it vanish when the process ends, however it ends.
// - Each sandbox gets a /30 of 10.213.0.0/16 picked from its pid (host side .1 on
//   cdnPIDh, the sandbox .2 on eth0, default route through .1).
// - One nftables table, ip cordon (or one iptables rule commented "cordon" when nft is
//   missing), masquerades 10.213.0.0/16 and lets the cdn* interfaces forward. Each start
//   (re)writes it; the last sandbox to exit removes it, and a table left by a crashed last
//   sandbox is rewritten by the next start and removed when that one exits. A lock file
//   (/run/cordon-nat.lock) keeps a start and an exit from crossing.
//
// Everything but the NAT rule is done with rtnetlink from the sentry's main thread (no
// subprocess): start-up costs a few milliseconds plus one nft run. Needs root, and nft or
// iptables. IPv4 forwarding is turned on on the host (net.ipv4.ip_forward=1), as runsc do
// does, and left on. IPv4 only; a host FORWARD policy that drops (docker's) still drops.
import { hostnet } from "../../ffi/hostnet.ts";
import { rtnlDump, rtnlRequest } from "./hostns.ts";
import { IFF_UP } from "./network.ts";
import * as NL from "./rtnetlink.ts";

/** The sandbox's side of the NAT: its address, the gateway, the host interface. */
export interface NatSetup {
  guestAddress: string;
  gateway: string;
  hostInterface: string;
  /** Goes back to the host namespace and removes the NAT rule if no other sandbox uses
   * it. Call once, when the sandbox is over. */
  cleanup(): void;
}

const SUBNET = [10, 213];
const SLOTS = 16384;
const TABLE = "cordon";
const LOCK = "/run/cordon-nat.lock";
const AF_INET = 2;

function which(cmd: string): string | null {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat([
    "/usr/sbin",
    "/sbin",
    "/usr/bin",
    "/bin",
  ]);
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
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

/** Why NAT cannot be set up here, or null if it can. */
export function natUnavailable(): string | null {
  if (Deno.uid() !== 0) return "not running as root";
  if (!which("nft") && !which("iptables")) return "neither nft nor iptables is installed";
  return null;
}

function ipv4(a: number[]): Uint8Array {
  return new Uint8Array(a);
}

let seq = 1000;

function request(w: NL.NlWriter, what: string): void {
  const r = rtnlRequest(w.take());
  if (typeof r === "number") throw new Error(`${what}: errno ${-r}`);
}

function ifinfo(flags = 0, change = 0, index = 0): Uint8Array {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setInt32(4, index, true);
  dv.setUint32(8, flags, true);
  dv.setUint32(12, change, true);
  return b;
}

function linkIndex(name: string): number {
  const msgs = rtnlDump(NL.RTM_GETLINK, 16);
  if (typeof msgs === "number") return msgs;
  return NL.readLinks(msgs).find((l) => l.name === name)?.index ?? -19;
}

function setUp(name: string): void {
  const w = new NL.NlWriter().begin(NL.RTM_NEWLINK, NL.NLM_F_REQUEST | NL.NLM_F_ACK, seq++, 0)
    .bytes(ifinfo(IFF_UP, IFF_UP)).str(NL.IFLA_IFNAME, name).end();
  request(w, `bringing ${name} up`);
}

function addAddress(ifindex: number, addr: Uint8Array, prefix: number): void {
  const hdr = new Uint8Array(8);
  hdr[0] = AF_INET;
  hdr[1] = prefix;
  new DataView(hdr.buffer).setUint32(4, ifindex, true);
  const w = new NL.NlWriter().begin(
    NL.RTM_NEWADDR,
    NL.NLM_F_REQUEST | NL.NLM_F_ACK | NL.NLM_F_CREATE | NL.NLM_F_EXCL,
    seq++,
    0,
  )
    .bytes(hdr).attr(NL.IFA_LOCAL, addr).attr(NL.IFA_ADDRESS, addr).end();
  request(w, "adding an address");
}

/** 10.213.x.y/30 slots in use by the host's interfaces. */
function usedSlots(): Set<number> {
  const used = new Set<number>();
  const addrs = rtnlDump(NL.RTM_GETADDR, 8, AF_INET);
  if (typeof addrs === "number") return used;
  for (const m of addrs) {
    const a = NL.parseAttrs(m.payload, 8).get(NL.IFA_LOCAL);
    if (a && a[0] === SUBNET[0] && a[1] === SUBNET[1]) used.add(((a[2] << 8) | a[3]) >> 2);
  }
  return used;
}

/** Other sandboxes' host sides (cdn*h), besides `mine`. */
function othersRunning(mine: string): boolean {
  const msgs = rtnlDump(NL.RTM_GETLINK, 16);
  if (typeof msgs === "number") return true;
  return NL.readLinks(msgs).some((l) => /^cdn\d+h$/.test(l.name) && l.name !== mine);
}

/** Writes the shared NAT rule (idempotently). */
function writeNatRule(): void {
  const nft = which("nft");
  if (nft) {
    const script = Deno.makeTempFileSync({ prefix: "cordon-nft-" });
    try {
      // Declaring, flushing and filling the table in one transaction replaces any older one.
      Deno.writeTextFileSync(
        script,
        `table ip ${TABLE} {}
flush table ip ${TABLE}
table ip ${TABLE} {
  chain postrouting { type nat hook postrouting priority srcnat; policy accept; ip saddr ${
          SUBNET.join(".")
        }.0.0/16 oifname != "cdn*" masquerade; }
  chain forward { type filter hook forward priority filter; policy accept; iifname "cdn*" accept; oifname "cdn*" ct state established,related accept; }
}
`,
      );
      const r = run([nft, "-f", script]);
      if (!r.ok) throw new Error(`the NAT rule (nft): ${r.err.trim()}`);
    } finally {
      Deno.removeSync(script);
    }
    return;
  }
  const ipt = which("iptables")!;
  const rule = iptablesRule();
  if (!run([ipt, "-t", "nat", "-C", ...rule]).ok) {
    const r = run([ipt, "-t", "nat", "-A", ...rule]);
    if (!r.ok) throw new Error(`the NAT rule (iptables): ${r.err.trim()}`);
  }
}

/** The iptables form of the NAT rule (when nft is missing), as added and as deleted. */
function iptablesRule(): string[] {
  return [
    "POSTROUTING",
    "-s",
    `${SUBNET.join(".")}.0.0/16`,
    "!",
    "-o",
    "cdn+",
    "-j",
    "MASQUERADE",
    "-m",
    "comment",
    "--comment",
    TABLE,
  ];
}

function removeNatRule(): void {
  const nft = which("nft");
  if (nft) {
    run([nft, "delete", "table", "ip", TABLE]);
    return;
  }
  const ipt = which("iptables")!;
  const rule = iptablesRule();
  while (run([ipt, "-t", "nat", "-D", ...rule]).ok) { /* all copies */ }
}

function withLock<T>(fn: () => T): T {
  let f: Deno.FsFile | null = null;
  try {
    f = Deno.openSync(LOCK, { read: true, write: true, create: true });
    f.lockSync(true);
  } catch {
    f?.close();
    f = null; // no lock file possible: go on without (a crossing start/exit is rare)
  }
  try {
    return fn();
  } finally {
    if (f) {
      try {
        f.unlockSync();
      } catch {
        // closing releases it anyway
      }
      f.close();
    }
  }
}

/** Makes the namespace, the veth pair and the NAT rule, and moves the sentry's main thread
 * into the namespace. Throws with the failing step's message (after undoing what it did). */
export function setUpNat(pid = Deno.pid): NatSetup {
  const lib = hostnet();
  const used = usedSlots();
  let slot = pid % SLOTS;
  for (let i = 0; i < SLOTS && (used.has(slot) || slot === 0); i++) slot = (slot + 1) % SLOTS;
  const addr = (k: number) => [SUBNET[0], SUBNET[1], (slot * 4 + k) >> 8, (slot * 4 + k) & 255];
  const gateway = addr(1), guest = addr(2);
  const hostIf = `cdn${pid}h`;

  const hostNs = lib.sb_net_open_ns();
  if (hostNs < 0) throw new Error(`opening the host network namespace: errno ${-hostNs}`);
  let rc = lib.sb_net_unshare();
  if (rc < 0) throw new Error(`a new network namespace: errno ${-rc}`);
  const sandboxNs = lib.sb_net_open_ns();
  rc = lib.sb_net_setns_fd(hostNs);
  if (sandboxNs < 0 || rc < 0) {
    throw new Error(`switching network namespaces: errno ${-(sandboxNs < 0 ? sandboxNs : rc)}`);
  }

  let vethMade = false;
  const undo = () => {
    lib.sb_net_setns_fd(hostNs);
    if (vethMade) {
      const w = new NL.NlWriter().begin(NL.RTM_DELLINK, NL.NLM_F_REQUEST | NL.NLM_F_ACK, seq++, 0)
        .bytes(ifinfo()).str(NL.IFLA_IFNAME, hostIf).end();
      rtnlRequest(w.take());
    }
  };
  try {
    withLock(() => {
      // The veth pair, its peer born inside the sandbox's namespace as eth0.
      const w = new NL.NlWriter().begin(
        NL.RTM_NEWLINK,
        NL.NLM_F_REQUEST | NL.NLM_F_ACK | NL.NLM_F_CREATE | NL.NLM_F_EXCL,
        seq++,
        0,
      )
        .bytes(ifinfo()).str(NL.IFLA_IFNAME, hostIf);
      const info = w.nestStart(NL.IFLA_LINKINFO);
      w.str(NL.IFLA_INFO_KIND, "veth");
      const data = w.nestStart(NL.IFLA_INFO_DATA);
      const peer = w.nestStart(NL.VETH_INFO_PEER);
      w.bytes(ifinfo()).str(NL.IFLA_IFNAME, "eth0").u32(NL.IFLA_NET_NS_FD, sandboxNs);
      w.nestEnd(peer).nestEnd(data).nestEnd(info).end();
      request(w, "creating the veth pair");
      vethMade = true;
      const index = linkIndex(hostIf);
      if (index < 0) throw new Error(`finding ${hostIf}: errno ${-index}`);
      addAddress(index, ipv4(gateway), 30);
      setUp(hostIf);
      writeNatRule();
    });
    try {
      if (Deno.readTextFileSync("/proc/sys/net/ipv4/ip_forward").trim() !== "1") {
        Deno.writeTextFileSync("/proc/sys/net/ipv4/ip_forward", "1");
      }
    } catch (e) {
      throw new Error(`enabling IPv4 forwarding: ${e instanceof Error ? e.message : e}`);
    }
    rc = lib.sb_net_setns_fd(sandboxNs);
    if (rc < 0) throw new Error(`entering the sandbox's network namespace: errno ${-rc}`);
    const index = linkIndex("eth0");
    if (index < 0) throw new Error(`finding eth0: errno ${-index}`);
    addAddress(index, ipv4(guest), 30);
    setUp("eth0");
    const rt = new Uint8Array(12);
    rt[0] = AF_INET;
    rt[4] = 254; // RT_TABLE_MAIN
    rt[5] = 3; // RTPROT_BOOT
    rt[6] = 0; // RT_SCOPE_UNIVERSE
    rt[7] = 1; // RTN_UNICAST
    const w = new NL.NlWriter().begin(
      NL.RTM_NEWROUTE,
      NL.NLM_F_REQUEST | NL.NLM_F_ACK | NL.NLM_F_CREATE | NL.NLM_F_EXCL,
      seq++,
      0,
    )
      .bytes(rt).attr(NL.RTA_GATEWAY, ipv4(gateway)).u32(NL.RTA_OIF, index).end();
    request(w, "the sandbox's default route");
  } catch (e) {
    undo();
    throw e;
  }
  let cleaned = false;
  return {
    guestAddress: guest.join("."),
    gateway: gateway.join("."),
    hostInterface: hostIf,
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      lib.sb_net_setns_fd(hostNs);
      withLock(() => {
        if (!othersRunning(hostIf)) removeNatRule();
      });
    },
  };
}
