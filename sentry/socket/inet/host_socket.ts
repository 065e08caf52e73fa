// Network mode "host": each guest inet socket is a host socket the sentry holds (always
// non-blocking), and data moves between guest memory and the host kernel without passing
// through JS. Faster than netstack, but less isolated: the guest uses the host's network
// stack and namespace directly (its addresses, its loopback services, its ports), with only
// the checks below between them. The sentry runs with privileges the guest may not have, so
// what needs a capability on Linux is checked against the guest's own capabilities here.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Task } from "../../kernel/task.ts";
import type { IoctlContext } from "../../vfs/file.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { host } from "../../../ffi/host.ts";
import { hostnet } from "../../../ffi/hostnet.ts";
import { networkOf } from "../../net/network.ts";
import {
  AF_INET,
  credsOf,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  type RecvResult,
  type SendArgs,
  SOCK_STREAM,
  SocketFile,
  SOL_SOCKET,
  type Ucred,
} from "../socket.ts";
import { interfaceIoctl } from "./ifioctl.ts";
import { IPPROTO_IP, IPPROTO_IPV6, IPPROTO_TCP, IPPROTO_UDP } from "./options.ts";

const EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLRDHUP = 0x2000, EPOLLET = 1 << 31;
const CAP_NET_BIND_SERVICE = 10;
const CAP_NET_ADMIN = 12;
const CAP_NET_RAW = 13;
const SOCKADDR_MAX = 128;

/** Options that need a capability on Linux, by level:name. */
const PRIVILEGED = new Map<string, number>([
  [`${SOL_SOCKET}:25`, CAP_NET_RAW], // SO_BINDTODEVICE
  [`${SOL_SOCKET}:62`, CAP_NET_RAW], // SO_BINDTOIFINDEX
  [`${SOL_SOCKET}:36`, CAP_NET_ADMIN], // SO_MARK
  [`${SOL_SOCKET}:32`, CAP_NET_ADMIN], // SO_SNDBUFFORCE
  [`${SOL_SOCKET}:33`, CAP_NET_ADMIN], // SO_RCVBUFFORCE
  [`${IPPROTO_IP}:19`, CAP_NET_ADMIN], // IP_TRANSPARENT
  [`${IPPROTO_IPV6}:75`, CAP_NET_ADMIN], // IPV6_TRANSPARENT
]);
/** Options refused outright: they would hand the guest host kernel objects (BPF). */
const REFUSED = new Set([
  `${SOL_SOCKET}:26`,
  `${SOL_SOCKET}:50`,
  `${SOL_SOCKET}:51`,
  `${SOL_SOCKET}:52`,
  `${SOL_SOCKET}:27`,
]);

function portOf(addr: Uint8Array): number {
  return addr.length >= 4 ? (addr[2] << 8) | addr[3] : 0;
}

export class HostInetSocket extends SocketFile {
  private watchToken = 0;

  constructor(
    private readonly t: { kernel: Task["kernel"] },
    readonly fd: number,
    readonly family: number,
    readonly type: number,
    readonly protocol: number,
    flags: number,
    owner: Ucred,
    nowNs: number,
  ) {
    super(L.O_RDWR | (flags & L.O_NONBLOCK), owner, nowNs);
    this.watch();
  }

  /** Watches the host socket for good, edge-triggered: every new arrival, freed send
   * space or hang-up is a notification (what epoll's EPOLLET and blocked calls need). */
  private watch(): void {
    const k = this.t.kernel;
    const token = k.watchFd(this.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, (ev) => {
      this.waitQueue.notify(
        (ev & 0xffff) | (ev & EPOLLIN ? L.POLLRDNORM : 0) | (ev & EPOLLOUT ? L.POLLWRNORM : 0),
      );
    });
    if (token > 0) this.watchToken = token;
  }

  override bind(t: Task, addr: Uint8Array): number {
    if (addr.length > SOCKADDR_MAX) return -E.EINVAL;
    const port = portOf(addr);
    if (port !== 0 && port < 1024 && !t.creds.hasCap(CAP_NET_BIND_SERVICE)) return -E.EACCES;
    return hostnet().sb_hn_bind(this.fd, addr, addr.length);
  }

  override listen(_t: Task, backlog: number): number {
    return hostnet().sb_hn_listen(this.fd, backlog);
  }

  override accept(_t: Task, flags: number): SocketFile | number {
    const addr = new Uint8Array(SOCKADDR_MAX);
    const len = new Int32Array([SOCKADDR_MAX]);
    const fd = hostnet().sb_hn_accept(this.fd, addr, new Uint8Array(len.buffer));
    if (fd < 0) return fd;
    return new HostInetSocket(
      this.t,
      fd,
      this.family,
      this.type,
      this.protocol,
      flags,
      this.owner,
      this.createdNs,
    );
  }

  override connect(_t: Task, addr: Uint8Array): number {
    if (addr.length > SOCKADDR_MAX) return -E.EINVAL;
    const r = hostnet().sb_hn_connect(this.fd, addr, addr.length);
    // A blocking caller waits and calls again: the host then says EALREADY until done.
    if (r === -E.EALREADY && !this.nonblocking) return -E.EINPROGRESS;
    return r;
  }

  override shutdown(_t: Task, how: number): number {
    const r = hostnet().sb_hn_shutdown(this.fd, how);
    if (r === 0) this.waitQueue.notify(~0);
    return r;
  }

  private name(peer: boolean): Uint8Array | number {
    const addr = new Uint8Array(SOCKADDR_MAX);
    const len = new Int32Array([SOCKADDR_MAX]);
    const r = hostnet().sb_hn_name(this.fd, peer ? 1 : 0, addr, new Uint8Array(len.buffer));
    return r < 0 ? r : addr.slice(0, len[0]);
  }

  override getsockname(): Uint8Array | number {
    return this.name(false);
  }

  override getpeername(): Uint8Array | number {
    return this.name(true);
  }

  override sendmsg(_t: Task | null, a: SendArgs): number {
    if (a.rights) return -E.EOPNOTSUPP;
    if (a.addr && a.addr.length > SOCKADDR_MAX) return -E.EINVAL;
    const ranges = a.io.memRanges(false, a.at, a.io.total - a.at);
    if (typeof ranges === "number") return ranges;
    if (ranges.length / 2 > 1024) return -E.EMSGSIZE;
    const addr = a.addr && this.type !== SOCK_STREAM ? a.addr : new Uint8Array(0);
    const flags = a.flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL);
    const r = hostnet().sb_hn_sendmsg_mem(
      this.fd,
      ranges,
      ranges.length / 2,
      addr,
      addr.length,
      flags,
    );
    return r;
  }

  override recvmsg(_t: Task | null, io: UserIO, at: number, flags: number): RecvResult | number {
    const ranges = io.memRanges(true, at, io.total - at);
    if (typeof ranges === "number") return ranges;
    if (ranges.length / 2 > 1024) return -E.EMSGSIZE;
    const addr = new Uint8Array(SOCKADDR_MAX);
    const len = new Int32Array([SOCKADDR_MAX]);
    const outFlags = new Int32Array(1);
    const ctl = new Uint8Array(512);
    const ctlLen = new Int32Array([ctl.length]);
    const r = hostnet().sb_hn_recvmsg_mem(
      this.fd,
      ranges,
      ranges.length / 2,
      addr,
      new Uint8Array(len.buffer),
      flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL),
      new Uint8Array(outFlags.buffer),
      ctl,
      new Uint8Array(ctlLen.buffer),
    );
    if (r < 0) return r;
    const room = io.total - at;
    const n = Math.min(r, room);
    const res: RecvResult = {
      n,
      length: r,
      addr: this.type === SOCK_STREAM || len[0] === 0 ? null : addr.slice(0, len[0]),
      rights: null,
      creds: null,
      flags: outFlags[0] & (0x20 | 0x80), // MSG_TRUNC, MSG_EOR
    };
    if (ctlLen[0] > 0) res.control = hostControl(ctl.subarray(0, ctlLen[0]));
    return res;
  }

  override readiness(mask: number): number {
    const r = host().sb_h_poll1(this.fd, mask & (L.POLLIN | L.POLLOUT | L.POLLPRI | L.POLLRDHUP));
    if (r < 0) return L.POLLERR;
    return r & (mask | L.POLLERR | L.POLLHUP | L.POLLNVAL);
  }

  override getsockopt(t: Task, level: number, name: number): Uint8Array | number {
    if (REFUSED.has(`${level}:${name}`)) return -E.ENOPROTOOPT;
    const buf = new Uint8Array(512);
    const len = new Int32Array([buf.length]);
    const r = hostnet().sb_hn_getsockopt(this.fd, level, name, buf, new Uint8Array(len.buffer));
    void t;
    return r < 0 ? r : buf.slice(0, len[0]);
  }

  override setsockopt(t: Task, level: number, name: number, value: Uint8Array): number {
    if (
      level !== SOL_SOCKET && level !== IPPROTO_IP && level !== IPPROTO_IPV6 &&
      level !== IPPROTO_TCP && level !== IPPROTO_UDP
    ) {
      return -E.ENOPROTOOPT;
    }
    const key = `${level}:${name}`;
    if (REFUSED.has(key)) return -E.EPERM;
    const cap = PRIVILEGED.get(key);
    if (cap !== undefined && !t.creds.hasCap(cap)) return -E.EPERM;
    if (level === SOL_SOCKET && name === 12 /* SO_PRIORITY */ && value.length >= 4) {
      const v = new DataView(value.buffer, value.byteOffset, 4).getInt32(0, true);
      if ((v < 0 || v > 6) && !t.creds.hasCap(CAP_NET_ADMIN)) return -E.EPERM;
    }
    return hostnet().sb_hn_setsockopt(this.fd, level, name, value, value.length);
  }

  override get streamLike(): boolean {
    return this.type === SOCK_STREAM;
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    if (cmd === L.FIONREAD || cmd === L.TIOCOUTQ || cmd === 0x894b /* SIOCOUTQNSD */) {
      const b = new Uint8Array(4);
      const r = host().sb_h_ioctl(this.fd, cmd, b);
      if (r < 0) return r;
      return ctx.mm.writeU32(arg, new DataView(b.buffer).getUint32(0, true));
    }
    const t = ctx.task as Task | null;
    return t ? interfaceIoctl(networkOf(t.kernel), ctx, cmd, arg) : -E.ENOTTY;
  }

  protected override release(): void {
    if (this.watchToken) this.t.kernel.unwatchFd(this.fd, this.watchToken);
    host().sb_h_close(this.fd);
  }
}

/** The host's control messages the guest may see: timestamps and the IP levels' own
 * (never descriptors or credentials, which inet sockets do not carry anyway). */
function hostControl(b: Uint8Array): Array<{ level: number; type: number; data: Uint8Array }> {
  const out: Array<{ level: number; type: number; data: Uint8Array }> = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  for (let off = 0; off + 16 <= b.length;) {
    const len = Number(dv.getBigUint64(off, true));
    if (len < 16 || off + len > b.length) break;
    const level = dv.getInt32(off + 8, true), type = dv.getInt32(off + 12, true);
    const ok = level === IPPROTO_IP || level === IPPROTO_IPV6 ||
      (level === SOL_SOCKET && (type === 29 || type === 35 || type === 37));
    if (ok) out.push({ level, type, data: b.slice(off + 16, off + len) });
    off += (len + 7) & ~7;
  }
  return out;
}

export function createHostSocket(
  t: Task,
  family: number,
  type: number,
  protocol: number,
  flags: number,
): SocketFile | number {
  const fd = hostnet().sb_hn_socket(family, type, protocol);
  if (fd < 0) return fd;
  return new HostInetSocket(
    t,
    fd,
    family,
    type,
    protocol,
    flags,
    credsOf(t),
    t.kernel.realtimeNs(),
  );
}

export { AF_INET };
