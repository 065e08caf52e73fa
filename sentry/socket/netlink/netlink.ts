// AF_NETLINK sockets, NETLINK_ROUTE only: enough for `ip addr`, `ip link`, `ip route`,
// glibc's getifaddrs() and if_nameindex() to list the sandbox's interfaces, addresses and
// routes (from net/network.ts), and for RTM_GETLINK/RTM_GETROUTE requests about one
// interface or destination. Changes (RTM_NEW*, RTM_DEL*) are refused, except setting an
// interface that is up "up". Other netlink families answer EPROTONOSUPPORT.
//
// Replies queue as datagrams the way Linux's netlink_dump fills its buffers: whole messages
// up to about a page per datagram, a dump ending with NLMSG_DONE.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Task } from "../../kernel/task.ts";
import type { IoctlContext } from "../../vfs/file.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { type IfInfo, type Network, networkOf, type RouteInfo } from "../../net/network.ts";
import * as NL from "../../net/rtnetlink.ts";
import { interfaceIoctl } from "../inet/ifioctl.ts";
import {
  AF_NETLINK,
  credsOf,
  int32,
  MSG_PEEK,
  MSG_TRUNC,
  type RecvResult,
  registerFamily,
  type SendArgs,
  SO_ERROR,
  SO_RCVBUF,
  SO_SNDBUF,
  SOCK_DGRAM,
  SOCK_RAW,
  SocketFile,
  SOL_SOCKET,
  type Ucred,
} from "../socket.ts";

export const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_ADD_MEMBERSHIP = 1;
const NETLINK_DROP_MEMBERSHIP = 2;
const NETLINK_LIST_MEMBERSHIPS = 9;
const SOCKADDR_NL_SIZE = 12;
const CAP_NET_ADMIN = 12;
/** About what one of Linux's dump buffers holds (NLMSG_GOODSIZE). */
const DATAGRAM_TARGET = 3776;
const AF_INET = 2;
const AF_INET6 = 10;

/** Port ids in use per kernel (netlink's autobind picks the tgid first, then -4096...). */
const portsInUse = new WeakMap<object, Set<number>>();

function ports(t: { kernel: object }): Set<number> {
  let s = portsInUse.get(t.kernel);
  if (!s) portsInUse.set(t.kernel, s = new Set());
  return s;
}

function sockaddrNl(pid: number, groups: number): Uint8Array {
  const b = new Uint8Array(SOCKADDR_NL_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, AF_NETLINK, true);
  dv.setUint32(4, pid >>> 0, true);
  dv.setUint32(8, groups >>> 0, true);
  return b;
}

const KERNEL_ADDR = sockaddrNl(0, 0);

export class NetlinkSocket extends SocketFile {
  readonly family = AF_NETLINK;
  readonly protocol = NETLINK_ROUTE;
  private portId = 0;
  private groups = 0;
  private readonly queue: Uint8Array[] = [];
  private rcvbuf = 212992;
  private sndbuf = 212992;
  private readonly options = new Map<number, number>();
  private closed = false;
  private readonly portSet: Set<number>;

  constructor(
    private readonly net: Network,
    readonly type: number,
    flags: number,
    owner: Ucred,
    nowNs: number,
    t: Task,
  ) {
    super(L.O_RDWR | (flags & L.O_NONBLOCK), owner, nowNs);
    this.portSet = ports(t);
  }

  private autobind(t: Task | null): void {
    if (this.portId) return;
    let id = t ? t.tg.tgid : 0;
    if (!id || this.portSet.has(id)) {
      id = -4096;
      while (this.portSet.has(id)) id--;
    }
    this.portId = id;
    this.portSet.add(id);
  }

  override bind(t: Task, addr: Uint8Array): number {
    if (addr.length < SOCKADDR_NL_SIZE) return -E.EINVAL;
    const dv = new DataView(addr.buffer, addr.byteOffset, addr.length);
    if (dv.getUint16(0, true) !== AF_NETLINK) return -E.EINVAL;
    const pid = dv.getInt32(4, true);
    const groups = dv.getUint32(8, true);
    if (this.portId) {
      if (pid && pid !== this.portId) return -E.EINVAL;
    } else if (pid) {
      if (this.portSet.has(pid)) return -E.EADDRINUSE;
      this.portId = pid;
      this.portSet.add(pid);
    } else this.autobind(t);
    this.groups = groups;
    return 0;
  }

  override connect(t: Task, addr: Uint8Array): number {
    if (addr.length >= 2 && (addr[0] | (addr[1] << 8)) === 0) return 0;
    if (addr.length < SOCKADDR_NL_SIZE) return -E.EINVAL;
    if ((addr[0] | (addr[1] << 8)) !== AF_NETLINK) return -E.EINVAL;
    this.autobind(t);
    return 0;
  }

  override getsockname(): Uint8Array {
    return sockaddrNl(this.portId, this.groups);
  }

  override getpeername(): Uint8Array {
    return KERNEL_ADDR;
  }

  // ---- requests ---------------------------------------------------------------------------

  override sendmsg(t: Task | null, a: SendArgs): number {
    if (a.addr && a.addr.length > 0) {
      if (a.addr.length < SOCKADDR_NL_SIZE || (a.addr[0] | (a.addr[1] << 8)) !== AF_NETLINK) {
        return -E.EINVAL;
      }
      const dst = new DataView(a.addr.buffer, a.addr.byteOffset, a.addr.length).getUint32(4, true);
      // Only the kernel (port 0) answers here; messages to other sockets go nowhere.
      if (dst !== 0) return a.io.total;
    }
    const len = a.io.total;
    if (len > this.sndbuf) return -E.EMSGSIZE;
    const data = a.io.copyIn(len, 0);
    if (typeof data === "number") return data;
    this.autobind(t);
    for (const m of NL.parseMessages(data)) {
      if (!(m.flags & NL.NLM_F_REQUEST)) continue;
      this.handle(t, m);
    }
    if (this.queue.length) this.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
    return len;
  }

  private handle(t: Task | null, m: NL.NlMessage): void {
    const dump = (m.flags & NL.NLM_F_DUMP) === NL.NLM_F_DUMP;
    let err = 0;
    switch (m.type) {
      case NL.RTM_GETLINK:
        err = dump ? this.dumpLinks(m) : this.getLink(m);
        break;
      case NL.RTM_GETADDR:
        err = dump ? this.dumpAddrs(m) : -E.EOPNOTSUPP;
        break;
      case NL.RTM_GETROUTE:
        err = dump ? this.dumpRoutes(m) : this.getRoute(m);
        break;
      case NL.RTM_NEWLINK:
      case NL.RTM_SETLINK:
        err = this.setLink(t, m);
        break;
      default:
        if (m.type < 16) return; // control messages are ignored
        if ((m.type - 16) % 4 === 2) {
          // Other RTM_GET* (neighbours, rules, qdiscs...): nothing to list.
          err = dump ? this.finishDump(m, new NL.NlWriter()) : -E.EOPNOTSUPP;
        } else err = t && !t.creds.hasCap(CAP_NET_ADMIN) ? -E.EPERM : -E.EOPNOTSUPP;
    }
    if (err < 0 || (m.flags & NL.NLM_F_ACK)) this.ack(m, err);
  }

  /** NLMSG_ERROR carrying err (0: an acknowledgement) and the request's header. */
  private ack(m: NL.NlMessage, err: number): void {
    const w = new NL.NlWriter();
    const body = new Uint8Array(4 + 16 + (err ? m.payload.length : 0));
    const dv = new DataView(body.buffer);
    dv.setInt32(0, err, true);
    dv.setUint32(4, 16 + m.payload.length, true);
    dv.setUint16(8, m.type, true);
    dv.setUint16(10, m.flags, true);
    dv.setUint32(12, m.seq, true);
    dv.setUint32(16, m.pid, true);
    if (err) body.set(m.payload, 20);
    w.begin(NL.NLMSG_ERROR, err ? 0 : NL.NLM_F_CAPPED, m.seq, this.portId).bytes(body).end();
    this.push(w.take());
  }

  /** Queues dump messages as datagrams of about a page each, then NLMSG_DONE. */
  private finishDump(m: NL.NlMessage, w: NL.NlWriter): number {
    const all = w.take();
    let start = 0, off = 0;
    const dv = new DataView(all.buffer);
    while (off < all.length) {
      const len = dv.getUint32(off, true);
      if (off > start && off + len - start > DATAGRAM_TARGET) {
        this.push(all.slice(start, off));
        start = off;
      }
      off += (len + 3) & ~3;
    }
    if (off > start) this.push(all.slice(start, off));
    const done = new NL.NlWriter();
    done.begin(NL.NLMSG_DONE, NL.NLM_F_MULTI, m.seq, this.portId).bytes(int32(0)).end();
    this.push(done.take());
    return 0;
  }

  private push(d: Uint8Array): void {
    this.queue.push(d);
  }

  private reqFamily(m: NL.NlMessage): number {
    return m.payload.length >= 1 ? m.payload[0] : 0;
  }

  private dumpLinks(m: NL.NlMessage): number {
    const w = new NL.NlWriter();
    for (const i of this.net.interfaces()) {
      NL.writeLink(w, i, NL.RTM_NEWLINK, NL.NLM_F_MULTI, m.seq, this.portId);
    }
    return this.finishDump(m, w);
  }

  private findLink(m: NL.NlMessage): IfInfo | number {
    if (m.payload.length < 16) return -E.EINVAL;
    const index = new DataView(m.payload.buffer, m.payload.byteOffset, 16).getInt32(4, true);
    const name = NL.attrStr(NL.parseAttrs(m.payload, 16).get(NL.IFLA_IFNAME));
    const all = this.net.interfaces();
    const found = index > 0
      ? all.find((i) => i.index === index)
      : name
      ? all.find((i) => i.name === name)
      : undefined;
    return found ?? -E.ENODEV;
  }

  private getLink(m: NL.NlMessage): number {
    const i = this.findLink(m);
    if (typeof i === "number") return i;
    const w = new NL.NlWriter();
    NL.writeLink(w, i, NL.RTM_NEWLINK, 0, m.seq, this.portId);
    this.push(w.take());
    return 0;
  }

  private setLink(t: Task | null, m: NL.NlMessage): number {
    if (t && !t.creds.hasCap(CAP_NET_ADMIN)) return -E.EPERM;
    const i = this.findLink(m);
    if (typeof i === "number") return i;
    const dv = new DataView(m.payload.buffer, m.payload.byteOffset, 16);
    const flags = dv.getUint32(8, true), change = dv.getUint32(12, true);
    const attrs = NL.parseAttrs(m.payload, 16);
    attrs.delete(NL.IFLA_IFNAME);
    // "Up" on an interface that is up, with nothing else asked: already so.
    const onlyUp = (change === 0 || change === 1 || change === 0xffffffff) && (flags & 1) &&
      (i.flags & 1);
    const mtu = NL.attrU32(attrs.get(NL.IFLA_MTU));
    if (mtu !== null && mtu === i.mtu) attrs.delete(NL.IFLA_MTU);
    return onlyUp && attrs.size === 0 ? 0 : -E.EOPNOTSUPP;
  }

  private dumpAddrs(m: NL.NlMessage): number {
    const fam = this.reqFamily(m);
    const w = new NL.NlWriter();
    for (const i of this.net.interfaces()) {
      for (const a of i.addrs) {
        if (fam && a.family !== fam) continue;
        NL.writeAddr(w, i, a, NL.RTM_NEWADDR, NL.NLM_F_MULTI, m.seq, this.portId);
      }
    }
    return this.finishDump(m, w);
  }

  private dumpRoutes(m: NL.NlMessage): number {
    const fam = this.reqFamily(m);
    const w = new NL.NlWriter();
    for (const r of this.net.routes()) {
      if (fam && r.family !== fam) continue;
      NL.writeRoute(w, r, NL.RTM_NEWROUTE, NL.NLM_F_MULTI, m.seq, this.portId);
    }
    return this.finishDump(m, w);
  }

  /** `ip route get ADDR`: the route the sandbox would use. */
  private getRoute(m: NL.NlMessage): number {
    if (m.payload.length < 12) return -E.EINVAL;
    const fam = m.payload[0];
    if (fam !== AF_INET && fam !== AF_INET6) return -E.EAFNOSUPPORT;
    const dst = NL.parseAttrs(m.payload, 12).get(NL.RTA_DST);
    if (!dst || dst.length !== (fam === AF_INET ? 4 : 16)) return -E.EINVAL;
    const best = pickRoute(this.net.routes(), fam, dst);
    if (!best) return -E.ENETUNREACH;
    const src = best.src ??
      this.net.interfaces().find((i) => i.index === best.ifindex)?.addrs.find((a) =>
        a.family === fam
      )?.addr ?? null;
    const w = new NL.NlWriter();
    NL.writeRoute(
      w,
      { ...best, dst, prefix: fam === AF_INET ? 32 : 128, src, table: 254, metric: 0 },
      NL.RTM_NEWROUTE,
      0,
      m.seq,
      this.portId,
    );
    this.push(w.take());
    return 0;
  }

  // ---- replies ----------------------------------------------------------------------------

  override recvmsg(_t: Task | null, io: UserIO, at: number, flags: number): RecvResult | number {
    const d = this.queue[0];
    if (!d) return this.closed ? 0 : -E.EAGAIN;
    const room = io.total - at;
    const n = Math.min(room, d.length);
    if (n > 0) {
      const rc = io.copyOut(d.subarray(0, n), at);
      if (rc < 0) return rc;
    }
    if (!(flags & MSG_PEEK)) this.queue.shift();
    return {
      n,
      length: d.length,
      addr: KERNEL_ADDR,
      rights: null,
      creds: null,
      flags: n < d.length ? MSG_TRUNC : 0,
    };
  }

  override readiness(mask: number): number {
    let r = L.POLLOUT | L.POLLWRNORM;
    if (this.queue.length) r |= L.POLLIN | L.POLLRDNORM;
    return r & (mask | L.POLLERR | L.POLLHUP);
  }

  override get streamLike(): boolean {
    return false;
  }

  override getsockopt(_t: Task, level: number, name: number): Uint8Array | number {
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_RCVBUF:
          return int32(this.rcvbuf);
        case SO_SNDBUF:
          return int32(this.sndbuf);
        case SO_ERROR:
          return int32(0);
      }
      return -E.ENOPROTOOPT;
    }
    if (level === SOL_NETLINK) {
      if (name === NETLINK_LIST_MEMBERSHIPS) return int32(this.groups);
      return int32(this.options.get(name) ?? 0);
    }
    return -E.ENOPROTOOPT;
  }

  override setsockopt(_t: Task, level: number, name: number, value: Uint8Array): number {
    if (value.length < 4) return -E.EINVAL;
    const v = new DataView(value.buffer, value.byteOffset, 4).getInt32(0, true);
    if (level === SOL_SOCKET) {
      switch (name) {
        case SO_RCVBUF:
          this.rcvbuf = Math.max(2304, Math.min(Math.max(v, 0), 212992) * 2);
          return 0;
        case SO_SNDBUF:
          this.sndbuf = Math.max(4608, Math.min(Math.max(v, 0), 212992) * 2);
          return 0;
        case 32: // SO_SNDBUFFORCE
        case 33: // SO_RCVBUFFORCE
          return 0;
      }
      return 0;
    }
    if (level === SOL_NETLINK) {
      // Group memberships are kept; no events are ever sent (the sandbox's network does
      // not change under it).
      if (name === NETLINK_ADD_MEMBERSHIP && v > 0 && v <= 32) this.groups |= 1 << (v - 1);
      else if (name === NETLINK_DROP_MEMBERSHIP && v > 0 && v <= 32) this.groups &= ~(1 << (v - 1));
      else this.options.set(name, v ? 1 : 0);
      return 0;
    }
    return -E.ENOPROTOOPT;
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    if (cmd === L.FIONREAD) return ctx.mm.writeU32(arg, this.queue[0]?.length ?? 0);
    return interfaceIoctl(this.net, ctx, cmd, arg, false);
  }

  protected override release(): void {
    this.closed = true;
    if (this.portId) this.portSet.delete(this.portId);
    this.queue.length = 0;
  }
}

/** Longest-prefix match over the local and main tables' routes. */
function pickRoute(routes: RouteInfo[], fam: number, dst: Uint8Array): RouteInfo | null {
  let best: RouteInfo | null = null;
  for (const r of routes) {
    if (r.family !== fam || (r.table !== 254 && r.table !== 255)) continue;
    let ok = true;
    for (let bit = 0; bit < r.prefix; bit++) {
      const m = 0x80 >> (bit & 7);
      if ((r.dst[bit >> 3] & m) !== (dst[bit >> 3] & m)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (!best || r.prefix > best.prefix || (r.prefix === best.prefix && r.metric < best.metric)) {
      best = r;
    }
  }
  return best;
}

registerFamily(AF_NETLINK, {
  create(t, type, protocol, flags) {
    if (type !== SOCK_RAW && type !== SOCK_DGRAM) return -E.ESOCKTNOSUPPORT;
    if (protocol !== NETLINK_ROUTE) return -E.EPROTONOSUPPORT;
    return new NetlinkSocket(
      networkOf(t.kernel),
      type,
      flags,
      credsOf(t),
      t.kernel.realtimeNs(),
      t,
    );
  },
});
