// The interface ioctls on sockets (struct ifreq, struct ifconf): SIOCGIFCONF, SIOCGIFNAME,
// SIOCGIFINDEX, SIOCGIFFLAGS, SIOCGIFADDR and friends, SIOCGIFMTU, SIOCGIFHWADDR... what
// ifconfig, net-tools, Python's socket.if_nameindex and older programs use. They describe the
// sandbox's own interfaces (net/network.ts); changing them is refused.
import { E } from "../../abi/errno.ts";
import type { IoctlContext } from "../../vfs/file.ts";
import type { Task } from "../../kernel/task.ts";
import { type IfInfo, type Network, networkOf } from "../../net/network.ts";
import { deviceIoctl } from "../socket.ts";

export const SIOCGIFNAME = 0x8910;
export const SIOCGIFCONF = 0x8912;
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const SIOCGIFADDR = 0x8915;
export const SIOCGIFDSTADDR = 0x8917;
export const SIOCGIFBRDADDR = 0x8919;
export const SIOCGIFNETMASK = 0x891b;
export const SIOCGIFMETRIC = 0x891d;
export const SIOCGIFMTU = 0x8921;
export const SIOCGIFHWADDR = 0x8927;
export const SIOCGIFINDEX = 0x8933;
export const SIOCGIFTXQLEN = 0x8942;
export const SIOCETHTOOL = 0x8946;
export const SIOCGIFMAP = 0x8970;
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;
const AF_INET = 2;
const CAP_NET_ADMIN = 12;

function ifName(req: Uint8Array): string {
  let s = "";
  for (let i = 0; i < IFNAMSIZ && req[i] !== 0; i++) s += String.fromCharCode(req[i]);
  return s;
}

function putName(req: Uint8Array, name: string): void {
  req.fill(0, 0, IFNAMSIZ);
  for (let i = 0; i < name.length && i < IFNAMSIZ - 1; i++) req[i] = name.charCodeAt(i);
}

/** A sockaddr_in at ifr_addr (offset 16). */
function putInet(req: Uint8Array, addr: Uint8Array): void {
  req.fill(0, 16, 32);
  req[16] = AF_INET;
  req.set(addr, 20);
}

function firstV4(i: IfInfo) {
  return i.addrs.find((a) => a.family === AF_INET) ?? null;
}

function maskOf(prefix: number): Uint8Array {
  const m = new Uint8Array(4);
  for (let b = 0; b < prefix; b++) m[b >> 3] |= 0x80 >> (b & 7);
  return m;
}

/** Handles cmd if it is an interface ioctl; -ENOTTY otherwise. The address ioctls
 * (SIOCGIFADDR, SIOCGIFNETMASK...) belong to inet sockets only (inet: false for others). */
export function interfaceIoctl(
  net: Network,
  ctx: IoctlContext,
  cmd: number,
  arg: number,
  inet = true,
): number {
  if (cmd === SIOCGIFCONF) return ifconf(net, ctx, arg);
  if (
    !inet &&
    (cmd === SIOCGIFADDR || cmd === SIOCGIFDSTADDR || cmd === SIOCGIFBRDADDR ||
      cmd === SIOCGIFNETMASK)
  ) {
    return -E.ENOTTY;
  }
  if (cmd >= 0x8b00 && cmd <= 0x8bff) return -E.EOPNOTSUPP; // wireless extensions: none here
  switch (cmd) {
    case SIOCGIFNAME:
    case SIOCGIFFLAGS:
    case SIOCSIFFLAGS:
    case SIOCGIFADDR:
    case SIOCGIFDSTADDR:
    case SIOCGIFBRDADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFMETRIC:
    case SIOCGIFMTU:
    case SIOCGIFHWADDR:
    case SIOCGIFINDEX:
    case SIOCGIFTXQLEN:
    case SIOCGIFMAP:
    case SIOCETHTOOL:
      break;
    default:
      return -E.ENOTTY;
  }
  const req = ctx.mm.copyIn(arg, IFREQ_SIZE);
  if (typeof req === "number") return req;
  const dv = new DataView(req.buffer);
  const all = net.interfaces();
  let ifc: IfInfo | undefined;
  if (cmd === SIOCGIFNAME) {
    const index = dv.getInt32(16, true);
    ifc = all.find((i) => i.index === index);
    if (!ifc) return -E.ENODEV;
    putName(req, ifc.name);
    return ctx.mm.copyOut(arg, req);
  }
  const name = ifName(req);
  ifc = all.find((i) => i.name === name);
  if (!ifc) return -E.ENODEV;
  switch (cmd) {
    case SIOCGIFFLAGS:
      dv.setUint16(16, ifc.flags & 0xffff, true);
      break;
    case SIOCSIFFLAGS: {
      const task = ctx.task as { creds?: { hasCap(c: number): boolean } } | null;
      if (!task?.creds?.hasCap(CAP_NET_ADMIN)) return -E.EPERM;
      // Bringing an interface that is up "up" again is all the sandbox allows.
      const want = dv.getUint16(16, true);
      return (want & 1) && (ifc.flags & 1) ? 0 : -E.EOPNOTSUPP;
    }
    case SIOCGIFADDR:
    case SIOCGIFDSTADDR:
    case SIOCGIFBRDADDR:
    case SIOCGIFNETMASK: {
      const a = firstV4(ifc);
      if (!a) return -E.EADDRNOTAVAIL;
      if (cmd === SIOCGIFADDR || cmd === SIOCGIFDSTADDR) putInet(req, a.addr);
      else if (cmd === SIOCGIFNETMASK) putInet(req, maskOf(a.prefix));
      else {
        const m = maskOf(a.prefix);
        putInet(req, a.addr.map((b, k) => b | (~m[k] & 0xff)));
      }
      break;
    }
    case SIOCGIFMETRIC:
      dv.setInt32(16, 0, true);
      break;
    case SIOCGIFMTU:
      dv.setInt32(16, ifc.mtu, true);
      break;
    case SIOCGIFHWADDR:
      req.fill(0, 16, 32);
      dv.setUint16(16, ifc.type, true);
      req.set(ifc.mac.subarray(0, 6), 18);
      break;
    case SIOCGIFINDEX:
      dv.setInt32(16, ifc.index, true);
      break;
    case SIOCGIFTXQLEN:
      dv.setInt32(16, 1000, true);
      break;
    case SIOCGIFMAP:
      req.fill(0, 16, IFREQ_SIZE);
      break;
    case SIOCETHTOOL:
      return -E.EOPNOTSUPP;
  }
  return ctx.mm.copyOut(arg, req);
}

/** SIOCGIFCONF: one ifreq (name, IPv4 address) per interface address; with a null buffer,
 * the length needed. */
function ifconf(net: Network, ctx: IoctlContext, arg: number): number {
  const hdr = ctx.mm.copyIn(arg, 16);
  if (typeof hdr === "number") return hdr;
  const dv = new DataView(hdr.buffer);
  const len = dv.getInt32(0, true);
  const buf = dv.getUint32(8, true) + dv.getUint32(12, true) * 4294967296;
  const entries: Uint8Array[] = [];
  for (const i of net.interfaces()) {
    if (!(i.flags & 1)) continue;
    for (const a of i.addrs) {
      if (a.family !== AF_INET) continue;
      const req = new Uint8Array(IFREQ_SIZE);
      putName(req, i.name);
      putInet(req, a.addr);
      entries.push(req);
    }
  }
  if (buf === 0) {
    dv.setInt32(0, entries.length * IFREQ_SIZE, true);
    return ctx.mm.copyOut(arg, hdr.subarray(0, 4));
  }
  if (len < 0) return -E.EINVAL;
  let used = 0;
  for (const e of entries) {
    if (used + IFREQ_SIZE > len) break;
    const rc = ctx.mm.copyOut(buf + used, e);
    if (rc < 0) return rc;
    used += IFREQ_SIZE;
  }
  dv.setInt32(0, used, true);
  return ctx.mm.copyOut(arg, hdr.subarray(0, 4));
}

// Every socket answers these (unix sockets too: glibc's if_nametoindex uses one).
deviceIoctl.fn = (ctx, cmd, arg) => {
  const t = ctx.task as Task | null;
  return t ? interfaceIoctl(networkOf(t.kernel), ctx, cmd, arg, false) : -E.ENOTTY;
};
