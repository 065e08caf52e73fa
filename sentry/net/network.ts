// A sandbox's network: which mode it runs in, the netstack instance (modes none and
// sandbox) and how the kernel's loop drives it, and a description of its interfaces and
// routes that netlink, the SIOCGIF* ioctls and /proc/net are made from.
//
// netstack is a synchronous state machine: time moves only when we say (stack.now), its
// timers run from advance(), and frames come in when we poll its links. The kernel's loop
// does all three: a kernel timer is kept at stack.nextDeadlineNs(), each host link's fd is
// watched, and every socket call sets the clock first and re-arms the timer after (a call
// may have started a retransmission timer). Readiness changes reach guest tasks through the
// socket files' wait queues (socket/inet/), never through Promises or Deno's event loop.
import type { Kernel } from "../kernel/kernel.ts";
import type { Timer } from "../kernel/timers.ts";
import { Stack } from "../../netstack/stack.ts";
import type { HostEndpoint } from "../../netstack/link/host.ts";
import { AF_INET, AF_INET6 } from "../../netstack/addr.ts";

/** none: loopback only. sandbox: netstack on the interfaces of the sandbox process's
 * network namespace. host: host sockets on the guest's behalf (less isolated). */
export type NetworkMode = "none" | "sandbox" | "host";

// Interface flags (linux/if.h) and link types (linux/if_arp.h).
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;
export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;

// Address scopes (rtnetlink.h).
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;

export interface IfAddress {
  family: number;
  addr: Uint8Array;
  prefix: number;
  scope: number;
}

/** An interface as netlink, ioctls and /proc/net show it. */
export interface IfInfo {
  index: number;
  name: string;
  /** IFF_* flags. */
  flags: number;
  mtu: number;
  mac: Uint8Array;
  /** ARPHRD_*. */
  type: number;
  addrs: IfAddress[];
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
}

export interface RouteInfo {
  family: number;
  dst: Uint8Array;
  prefix: number;
  gateway: Uint8Array | null;
  ifindex: number;
  metric: number;
  /** Preferred source, if any. */
  src: Uint8Array | null;
  scope: number;
  /** RTN_UNICAST (1), RTN_LOCAL (2)... */
  type: number;
  /** RT_TABLE_MAIN (254) or RT_TABLE_LOCAL (255). */
  table: number;
  /** RTPROT_KERNEL (2), RTPROT_BOOT (3), RTPROT_STATIC (4). */
  protocol: number;
}

/** What every mode offers the rest of the sentry. */
export interface Network {
  readonly mode: NetworkMode;
  interfaces(): IfInfo[];
  routes(): RouteInfo[];
  /** Called when the kernel is handed the network (watch fds, arm timers). */
  attach(kernel: Kernel): void;
  /** Releases host resources (sandbox end). */
  close(): void;
}

const EPOLLIN = 0x001;

/** A netstack-backed network: loopback alone (mode none) or with host links (sandbox). */
export class NetstackNetwork implements Network {
  readonly stack: Stack;
  private kernel: Kernel | null = null;
  private timer: Timer | null = null;
  private readonly watched: Array<{ fd: number; token: number }> = [];
  /** Errors netstack caught while parsing frames (bugs, never the packet's fault). */
  internalErrors = 0;

  constructor(
    readonly mode: "none" | "sandbox",
    readonly hostLinks: HostEndpoint[] = [],
    stack?: Stack,
  ) {
    this.stack = stack ?? new Stack();
    this.stack.onInternalError = (e) => {
      this.internalErrors++;
      this.kernel?.log(`netstack internal error: ${e instanceof Error ? e.stack ?? e.message : e}`);
    };
  }

  attach(kernel: Kernel): void {
    this.kernel = kernel;
    this.stack.now = Math.max(this.stack.now, kernel.nowNs());
    for (const link of this.hostLinks) {
      const token = kernel.watchFd(link.fd, EPOLLIN, () => this.framesWaiting());
      if (token > 0) this.watched.push({ fd: link.fd, token });
      else kernel.log(`network: cannot watch link fd ${link.fd}: errno ${-token}`);
    }
    this.rearm();
  }

  /** The memory file's bytes (guest memory), for copies straight into netstack. */
  memory(): Uint8Array {
    return this.kernel!.memfile.mem;
  }

  /** CLOCK_REALTIME of a moment of the stack's clock (monotonic ns). */
  realtimeOf(stackNs: number): number {
    const k = this.kernel;
    return k ? k.realtimeNs() - (k.nowNs() - stackNs) : stackNs;
  }

  /** Before a socket call: the stack's clock catches up with the kernel's. Cheap. */
  begin(): void {
    const k = this.kernel;
    if (!k) return;
    const now = k.nowNs();
    if (now > this.stack.now) this.stack.now = now;
  }

  /** After a socket call: the stack's next deadline may have moved. */
  end(): void {
    this.rearm();
  }

  private framesWaiting(): void {
    const k = this.kernel;
    if (!k) return;
    this.stack.advance(k.nowNs());
    this.rearm();
  }

  private rearm(): void {
    const k = this.kernel;
    if (!k) return;
    const next = this.stack.nextDeadlineNs();
    const cur = this.timer;
    if (cur && cur.index >= 0) {
      if (cur.deadline === next) return;
      k.timers.cancel(cur);
    }
    this.timer = null;
    if (next === Infinity) return;
    this.timer = k.timers.add(next, () => {
      this.timer = null;
      this.stack.advance(k.nowNs());
      this.rearm();
    });
  }

  interfaces(): IfInfo[] {
    return this.stack.nics.map((nic) => {
      const lo = nic.isLoopback;
      const addrs: IfAddress[] = [];
      for (const a of nic.v4) {
        addrs.push({
          family: AF_INET,
          addr: a.addr,
          prefix: a.prefix,
          scope: lo ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE,
        });
      }
      for (const a of nic.v6) {
        const linkLocal = a.addr[0] === 0xfe && (a.addr[1] & 0xc0) === 0x80;
        addrs.push({
          family: AF_INET6,
          addr: a.addr,
          prefix: a.prefix,
          scope: lo ? RT_SCOPE_HOST : linkLocal ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE,
        });
      }
      const up = nic.up ? IFF_UP | IFF_RUNNING | IFF_LOWER_UP : 0;
      const host = this.hostLinks.find((h) => h === nic.link) as
        | (HostEndpoint & { framesIn: number; framesOut: number })
        | undefined;
      return {
        index: nic.id,
        name: nic.name,
        flags: lo ? up | IFF_LOOPBACK : up | IFF_BROADCAST | IFF_MULTICAST,
        mtu: nic.mtu,
        mac: nic.mac,
        type: lo ? ARPHRD_LOOPBACK : ARPHRD_ETHER,
        addrs,
        rxPackets: host ? host.framesIn : nic.framesIn,
        txPackets: host ? host.framesOut : nic.framesOut,
        rxBytes: 0,
        txBytes: 0,
        rxDropped: 0,
        txDropped: nic.dropsOut,
      };
    });
  }

  routes(): RouteInfo[] {
    const out: RouteInfo[] = [];
    for (const r of this.stack.routes.list()) {
      const v6 = r.dest.length === 16;
      // Linux keeps 127.0.0.0/8 in the local table (ip route show table local), ::1 in main.
      if (!v6 && r.nic.isLoopback) {
        out.push({
          family: AF_INET,
          dst: r.dest,
          prefix: r.prefix,
          gateway: null,
          ifindex: r.nic.id,
          metric: 0,
          src: r.nic.sourceFor(r.dest),
          scope: RT_SCOPE_HOST,
          type: 2,
          table: 255,
          protocol: 2,
        });
        continue;
      }
      out.push({
        family: v6 ? AF_INET6 : AF_INET,
        dst: r.dest,
        prefix: r.prefix,
        gateway: r.gateway,
        ifindex: r.nic.id,
        metric: v6 && !r.metric ? 256 : r.metric,
        src: r.gateway || v6 ? null : r.nic.sourceFor(r.dest),
        scope: r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
        type: 1,
        table: 254,
        protocol: r.gateway || r.prefix === 0 ? 3 : 2,
      });
    }
    // The local table: each of our addresses, as Linux lists them (ip route show table local).
    for (const nic of this.stack.nics) {
      for (const a of nic.v4) {
        out.push({
          family: AF_INET,
          dst: a.addr,
          prefix: 32,
          gateway: null,
          ifindex: nic.id,
          metric: 0,
          src: a.addr,
          scope: RT_SCOPE_HOST,
          type: 2,
          table: 255,
          protocol: 2,
        });
      }
      for (const a of nic.v6) {
        out.push({
          family: AF_INET6,
          dst: a.addr,
          prefix: 128,
          gateway: null,
          ifindex: nic.id,
          metric: 0,
          src: null,
          scope: RT_SCOPE_UNIVERSE,
          type: 2,
          table: 255,
          protocol: 2,
        });
      }
    }
    // Listed in address order, as Linux walks its tables (the default route first).
    out.sort((a, b) =>
      a.table - b.table || a.family - b.family || compareBytes(a.dst, b.dst) || a.prefix - b.prefix
    );
    return out;
  }

  close(): void {
    const k = this.kernel;
    if (k) {
      for (const w of this.watched) k.unwatchFd(w.fd, w.token);
      if (this.timer) k.timers.cancel(this.timer);
    }
    this.watched.length = 0;
    this.timer = null;
    for (const l of this.hostLinks) l.close();
  }
}

const networks = new WeakMap<Kernel, Network>();

/** The kernel's network; a kernel nobody gave one gets loopback only (mode none). */
export function networkOf(k: Kernel): Network {
  let n = networks.get(k);
  if (!n) {
    n = new NetstackNetwork("none");
    networks.set(k, n);
    n.attach(k);
  }
  return n;
}

/** Hands a network to a kernel (before guests run). */
export function attachNetwork(k: Kernel, n: Network): void {
  const old = networks.get(k);
  if (old && old !== n) old.close();
  networks.set(k, n);
  n.attach(k);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
