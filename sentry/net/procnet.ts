// The text of /proc/net/* for the sandbox's network, in Linux's formats: tcp, tcp6, udp,
// udp6 (sockets of the netstack), dev, route, ipv6_route, if_inet6, snmp, sockstat, arp.
// In host mode the host's own files are shown (the guest uses host sockets there).
import type { Kernel } from "../kernel/kernel.ts";
import { registerProcNet } from "../fs/proc/pid.ts";
import { AF_INET, AF_INET6 } from "../../netstack/addr.ts";
import { TcpSocket } from "../../netstack/tcp/endpoint.ts";
import {
  type IfInfo,
  NetstackNetwork,
  type Network,
  networkOf,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
} from "./network.ts";

/** Who owns a netstack socket (for the uid and inode columns). */
export interface SocketOwner {
  ino: number;
  uid: number;
}

const owners = new WeakMap<object, SocketOwner>();

/** Records the guest file behind a netstack socket. */
export function setSocketOwner(sock: object, o: SocketOwner): void {
  owners.set(sock, o);
}

const hex8 = (n: number) => (n >>> 0).toString(16).toUpperCase().padStart(8, "0");
const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** An address as Linux prints it here: each 32-bit word as the host (little-endian) reads it. */
function addrHex(a: Uint8Array): string {
  let s = "";
  for (let i = 0; i < a.length; i += 4) {
    s += hex8((a[i + 3] << 24) | (a[i + 2] << 16) | (a[i + 1] << 8) | a[i]);
  }
  return s;
}

function asFamily(family: number, a: Uint8Array): Uint8Array {
  if (family === AF_INET6 && a.length === 4) {
    const m = new Uint8Array(16);
    m[10] = 0xff;
    m[11] = 0xff;
    m.set(a, 12);
    return m;
  }
  if (family === AF_INET && a.length === 16) return a.subarray(12, 16);
  return a;
}

const pad = (line: string, width: number) => line.padEnd(width, " ");

function tcpText(net: NetstackNetwork, family: number): string {
  const v6 = family === AF_INET6;
  let out = v6
    ? "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    : pad(
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      149,
    ) + "\n";
  let i = 0;
  for (const s of net.stack.tcp.sockets()) {
    if (s.family !== family || s.state === 7 /* CLOSE */) continue;
    const o = owners.get(s);
    const listening = s.state === 10;
    const rx = listening ? s.acceptQueue.length : s.recvBuf.readable;
    const tx = listening ? 0 : s.sendBuf.length;
    const local = addrHex(asFamily(family, s.localAddr)),
      remote = addrHex(asFamily(family, s.remoteAddr));
    const line = `${String(i++).padStart(4)}: ${local}:${hex4(s.localPort)} ${remote}:${
      hex4(s.remotePort)
    } ${hex2(s.state).toUpperCase()} ${hex8(tx)}:${hex8(rx)} 00:00000000 00000000 ${
      String(o?.uid ?? 0).padStart(5)
    } ${"0".padStart(8)} ${o?.ino ?? 0} 1 0000000000000000 20 4 30 10 -1`;
    out += v6 ? line + "\n" : pad(line, 149) + "\n";
  }
  return out;
}

function udpText(net: NetstackNetwork, family: number): string {
  const v6 = family === AF_INET6;
  let out = v6
    ? "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    : pad(
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
      127,
    ) + "\n";
  let i = 0;
  for (const p of net.stack.udp.ports.all()) {
    const s = p as unknown as {
      family: number;
      localAddr: Uint8Array;
      localPort: number;
      remoteAddr: Uint8Array | null;
      remotePort: number;
      pendingInput(): number;
      drops: number;
    };
    if (s.family !== family) continue;
    const o = owners.get(s);
    const remote = s.remoteAddr ?? new Uint8Array(family === AF_INET ? 4 : 16);
    const line = `${String(i++).padStart(v6 ? 4 : 5)}: ${addrHex(asFamily(family, s.localAddr))}:${
      hex4(s.localPort)
    } ${addrHex(asFamily(family, remote))}:${hex4(s.remoteAddr ? s.remotePort : 0)} ${
      s.remoteAddr ? "01" : "07"
    } 00000000:${hex8(s.pendingInput())} 00:00000000 00000000 ${String(o?.uid ?? 0).padStart(5)} ${
      "0".padStart(8)
    } ${o?.ino ?? 0} 2 0000000000000000 ${s.drops}`;
    out += v6 ? line + "\n" : pad(line, 127) + "\n";
  }
  return out;
}

function devText(ifs: IfInfo[]): string {
  let out = "Inter-|   Receive                                                |  Transmit\n" +
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n";
  for (const i of ifs) {
    const n = (v: number, w: number) => String(Math.max(0, Math.floor(v))).padStart(w);
    out += `${i.name.padStart(6)}: ${n(i.rxBytes, 7)} ${n(i.rxPackets, 7)} ${n(0, 4)} ${
      n(i.rxDropped, 4)
    } ${n(0, 4)} ${n(0, 5)} ${n(0, 10)} ${n(0, 9)} ${n(i.txBytes, 8)} ${n(i.txPackets, 7)} ${
      n(0, 4)
    } ${n(i.txDropped, 4)} ${n(0, 4)} ${n(0, 5)} ${n(0, 7)} ${n(0, 10)}\n`;
  }
  return out;
}

function routeText(net: Network): string {
  const ifs = net.interfaces();
  let out = pad(
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
    127,
  ) + "\n";
  for (const r of net.routes()) {
    if (r.family !== AF_INET || r.table !== 254) continue;
    const name = ifs.find((i) => i.index === r.ifindex)?.name ?? "*";
    const mask = new Uint8Array(4);
    for (let b = 0; b < r.prefix; b++) mask[b >> 3] |= 0x80 >> (b & 7);
    const flags = 1 | (r.gateway ? 2 : 0);
    out += pad(
      `${name}\t${addrHex(r.dst)}\t${addrHex(r.gateway ?? new Uint8Array(4))}\t${
        hex4(flags)
      }\t0\t0\t${r.metric}\t${addrHex(mask)}\t0\t0\t0`,
      127,
    ) + "\n";
  }
  return out;
}

const v6hex = (a: Uint8Array) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");

function ipv6RouteText(net: Network): string {
  const ifs = net.interfaces();
  let out = "";
  for (const r of net.routes()) {
    if (r.family !== AF_INET6) continue;
    const name = ifs.find((i) => i.index === r.ifindex)?.name ?? "lo";
    const flags = 1 | (r.gateway ? 2 : 0) | (r.type === 2 ? 0x80000000 : 0);
    out += `${v6hex(r.dst)} ${hex2(r.prefix)} ${"0".repeat(32)} 00 ${
      v6hex(r.gateway ?? new Uint8Array(16))
    } ${hex8(r.metric).toLowerCase()} 00000001 00000000 ${hex8(flags).toLowerCase()} ${
      name.padStart(8)
    }\n`;
  }
  return out;
}

function ifInet6Text(ifs: IfInfo[]): string {
  let out = "";
  for (const i of ifs) {
    for (const a of i.addrs) {
      if (a.family !== AF_INET6) continue;
      const scope = a.scope === RT_SCOPE_HOST ? 0x10 : a.scope === RT_SCOPE_LINK ? 0x20 : 0;
      out += `${v6hex(a.addr)} ${hex2(i.index)} ${hex2(a.prefix)} ${hex2(scope)} 80 ${
        i.name.padStart(8)
      }\n`;
    }
  }
  return out;
}

function snmpText(net: NetstackNetwork): string {
  let established = 0;
  for (const s of net.stack.tcp.sockets()) {
    if (s instanceof TcpSocket && (s.state === 1 || s.state === 8)) established++;
  }
  const row = (name: string, fields: string[], values: number[]) =>
    `${name}: ${fields.join(" ")}\n${name}: ${values.join(" ")}\n`;
  const ipFields = [
    "Forwarding",
    "DefaultTTL",
    "InReceives",
    "InHdrErrors",
    "InAddrErrors",
    "ForwDatagrams",
    "InUnknownProtos",
    "InDiscards",
    "InDelivers",
    "OutRequests",
    "OutDiscards",
    "OutNoRoutes",
    "ReasmTimeout",
    "ReasmReqds",
    "ReasmOKs",
    "ReasmFails",
    "FragOKs",
    "FragFails",
    "FragCreates",
  ];
  const icmpFields = [
    "InMsgs",
    "InErrors",
    "InCsumErrors",
    "InDestUnreachs",
    "InTimeExcds",
    "InParmProbs",
    "InSrcQuenchs",
    "InRedirects",
    "InEchos",
    "InEchoReps",
    "InTimestamps",
    "InTimestampReps",
    "InAddrMasks",
    "InAddrMaskReps",
    "OutMsgs",
    "OutErrors",
    "OutRateLimitGlobal",
    "OutRateLimitHost",
    "OutDestUnreachs",
    "OutTimeExcds",
    "OutParmProbs",
    "OutSrcQuenchs",
    "OutRedirects",
    "OutEchos",
    "OutEchoReps",
    "OutTimestamps",
    "OutTimestampReps",
    "OutAddrMasks",
    "OutAddrMaskReps",
  ];
  const tcpFields = [
    "RtoAlgorithm",
    "RtoMin",
    "RtoMax",
    "MaxConn",
    "ActiveOpens",
    "PassiveOpens",
    "AttemptFails",
    "EstabResets",
    "CurrEstab",
    "InSegs",
    "OutSegs",
    "RetransSegs",
    "InErrs",
    "OutRsts",
    "InCsumErrors",
  ];
  const udpFields = [
    "InDatagrams",
    "NoPorts",
    "InErrors",
    "OutDatagrams",
    "RcvbufErrors",
    "SndbufErrors",
    "InCsumErrors",
    "IgnoredMulti",
    "MemErrors",
  ];
  const zeros = (n: number) => new Array(n).fill(0);
  const tcpValues = [1, 200, 120000, -1, 0, 0, 0, 0, established, 0, 0, 0, 0, 0, 0];
  return row("Ip", ipFields, [2, 64, ...zeros(ipFields.length - 2)]) +
    row("Icmp", icmpFields, zeros(icmpFields.length)) +
    row("Tcp", tcpFields, tcpValues) + row("Udp", udpFields, zeros(udpFields.length)) +
    row("UdpLite", udpFields, zeros(udpFields.length));
}

function sockstatText(net: NetstackNetwork): string {
  let tcp = 0, tw = 0, udp = 0;
  for (const s of net.stack.tcp.sockets()) {
    if (s.state === 6) tw++;
    else if (s.state !== 7) tcp++;
  }
  for (const _ of net.stack.udp.ports.all()) udp++;
  return `sockets: used ${tcp + udp}\nTCP: inuse ${tcp} orphan 0 tw ${tw} alloc ${
    tcp + tw
  } mem 0\nUDP: inuse ${udp} mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n`;
}

/** The files of /proc/net, each a function giving its text now. */
export const PROC_NET_FILES = [
  "tcp",
  "tcp6",
  "udp",
  "udp6",
  "dev",
  "route",
  "ipv6_route",
  "if_inet6",
  "snmp",
  "sockstat",
  "arp",
];

export function procNetText(k: Kernel, name: string): string | null {
  const net = networkOf(k);
  if (!(net instanceof NetstackNetwork)) {
    // Host mode: the host's own view (its sockets are the guest's).
    try {
      return Deno.readTextFileSync(`/proc/net/${name}`);
    } catch {
      return null;
    }
  }
  switch (name) {
    case "tcp":
      return tcpText(net, AF_INET);
    case "tcp6":
      return tcpText(net, AF_INET6);
    case "udp":
      return udpText(net, AF_INET);
    case "udp6":
      return udpText(net, AF_INET6);
    case "dev":
      return devText(net.interfaces());
    case "route":
      return routeText(net);
    case "ipv6_route":
      return ipv6RouteText(net);
    case "if_inet6":
      return ifInet6Text(net.interfaces());
    case "snmp":
      return snmpText(net);
    case "sockstat":
      return sockstatText(net);
    case "arp":
      return "IP address       HW type     Flags       HW address            Mask     Device\n";
  }
  return null;
}

for (const name of PROC_NET_FILES) registerProcNet(name, (k) => procNetText(k, name) ?? "");
