// A neighbour cache shared by ARP (IPv4) and NDP (IPv6): maps next-hop IP addresses to MACs,
// holds a few packets per entry while resolving, probes stale entries before trusting them
// again, and is bounded in size. The protocol-specific part (how a solicitation looks) comes
// from the Solicitor.
import { IPAddress, ipKey } from "./addr.ts";
import { Timer, TimerQueue } from "./timer.ts";

export const enum NeighborState {
  Incomplete,
  Reachable,
  Stale,
  Probe,
}

export interface Solicitor {
  /** Sends a solicitation for `target`; unicast to `mac` when given, else broadcast or the
   * solicited-node multicast group. */
  solicit(target: IPAddress, mac: Uint8Array | null): void;
  /** Called with queued frames whose resolution failed. */
  unreachable(frames: Uint8Array[]): void;
  /** Sends a held frame once its destination MAC is written in. */
  transmit(frame: Uint8Array): void;
}

export interface NeighborConfig {
  reachableNs: number;
  retransNs: number;
  maxSolicits: number;
  maxEntries: number;
  maxQueuedPerEntry: number;
}

export const DEFAULT_NEIGHBOR_CONFIG: NeighborConfig = {
  reachableNs: 30e9,
  retransNs: 1e9,
  maxSolicits: 3,
  maxEntries: 512,
  maxQueuedPerEntry: 64,
};

class Entry {
  state = NeighborState.Incomplete;
  mac = new Uint8Array(6);
  queue: Uint8Array[] = [];
  solicits = 0;
  confirmedAt = 0;
  readonly timer: Timer;
  constructor(readonly ip: IPAddress, readonly key: string, cache: NeighborCache) {
    this.timer = new Timer(() => cache.onTimer(this));
  }
}

export class NeighborCache {
  private entries = new Map<string, Entry>();
  config: NeighborConfig;

  constructor(
    private readonly timers: TimerQueue,
    private readonly now: () => number,
    private readonly solicitor: Solicitor,
    config: Partial<NeighborConfig> = {},
  ) {
    this.config = { ...DEFAULT_NEIGHBOR_CONFIG, ...config };
  }

  get size(): number {
    return this.entries.size;
  }

  /** The MAC for `ip` if usable now, else null (and resolution starts). */
  resolve(ip: IPAddress): Uint8Array | null {
    const key = ipKey(ip);
    let e = this.entries.get(key);
    if (!e) {
      e = this.create(ip, key);
      this.startResolve(e);
      return null;
    }
    switch (e.state) {
      case NeighborState.Incomplete:
        return null;
      case NeighborState.Reachable:
        if (this.now() - e.confirmedAt > this.config.reachableNs) {
          e.state = NeighborState.Stale;
          this.startProbe(e);
        }
        return e.mac;
      case NeighborState.Stale:
        this.startProbe(e);
        return e.mac;
      case NeighborState.Probe:
        return e.mac;
    }
  }

  /** Holds a frame (already copied by the caller) until `ip` resolves. */
  enqueue(ip: IPAddress, frame: Uint8Array): void {
    const e = this.entries.get(ipKey(ip));
    if (!e || e.state !== NeighborState.Incomplete) return;
    if (e.queue.length >= this.config.maxQueuedPerEntry) e.queue.shift();
    e.queue.push(frame);
  }

  /** A solicited answer (ARP reply, solicited NA): the neighbour is reachable. */
  confirm(ip: IPAddress, mac: Uint8Array, override = true): void {
    const e = this.entries.get(ipKey(ip));
    if (!e) return;
    if (e.state !== NeighborState.Incomplete && !override && !sameMac(e.mac, mac)) {
      // RFC 4861 7.2.5: a non-override answer with a different MAC only makes us doubt.
      e.state = NeighborState.Stale;
      return;
    }
    this.update(e, mac, NeighborState.Reachable);
  }

  /** An unsolicited hint (an ARP request from the neighbour, an NS with its address): create
   * or refresh as stale, per RFC 826's merge rule and RFC 4861 7.2.3. `create` is false for
   * gratuitous announcements, which only update entries we already have. */
  learn(ip: IPAddress, mac: Uint8Array, create = true): void {
    const key = ipKey(ip);
    let e = this.entries.get(key);
    if (!e) {
      if (!create) return;
      e = this.create(ip, key);
    }
    if (e.state === NeighborState.Incomplete) {
      this.update(e, mac, NeighborState.Stale);
    } else if (!sameMac(e.mac, mac)) {
      this.update(e, mac, NeighborState.Stale);
    }
  }

  lookup(ip: IPAddress): { state: NeighborState; mac: Uint8Array } | undefined {
    const e = this.entries.get(ipKey(ip));
    return e && { state: e.state, mac: e.mac };
  }

  /** Adds a permanent-looking entry (tests, static configuration). */
  addStatic(ip: IPAddress, mac: Uint8Array): void {
    const key = ipKey(ip);
    const e = this.entries.get(key) ?? this.create(ip, key);
    this.update(e, mac, NeighborState.Reachable);
    e.confirmedAt = Infinity;
  }

  flush(): void {
    for (const e of this.entries.values()) this.timers.cancel(e.timer);
    this.entries.clear();
  }

  onTimer(e: Entry): void {
    if (e.state === NeighborState.Incomplete || e.state === NeighborState.Probe) {
      if (e.solicits >= this.config.maxSolicits) {
        this.remove(e);
        if (e.queue.length) this.solicitor.unreachable(e.queue);
        e.queue = [];
        return;
      }
      e.solicits++;
      this.solicitor.solicit(e.ip, e.state === NeighborState.Probe ? e.mac : null);
      this.timers.arm(e.timer, this.now() + this.config.retransNs);
    }
  }

  private create(ip: IPAddress, key: string): Entry {
    if (this.entries.size >= this.config.maxEntries) this.evict();
    const e = new Entry(ip.slice(), key, this);
    this.entries.set(key, e);
    return e;
  }

  private evict(): void {
    // Prefer an entry that is not mid-resolution; the Map keeps insertion order, oldest first.
    let victim: Entry | undefined;
    for (const e of this.entries.values()) {
      if (e.state === NeighborState.Stale) {
        victim = e;
        break;
      }
      victim ??= e;
    }
    if (victim) this.remove(victim);
  }

  private remove(e: Entry): void {
    this.timers.cancel(e.timer);
    this.entries.delete(e.key);
  }

  private startResolve(e: Entry): void {
    e.state = NeighborState.Incomplete;
    e.solicits = 1;
    this.solicitor.solicit(e.ip, null);
    this.timers.arm(e.timer, this.now() + this.config.retransNs);
  }

  private startProbe(e: Entry): void {
    e.state = NeighborState.Probe;
    e.solicits = 1;
    this.solicitor.solicit(e.ip, e.mac);
    this.timers.arm(e.timer, this.now() + this.config.retransNs);
  }

  private update(e: Entry, mac: Uint8Array, state: NeighborState): void {
    e.mac.set(mac.subarray(0, 6));
    e.state = state;
    e.solicits = 0;
    if (state === NeighborState.Reachable) e.confirmedAt = this.now();
    this.timers.cancel(e.timer);
    const queued = e.queue;
    e.queue = [];
    for (const frame of queued) {
      frame.set(e.mac, 0);
      this.solicitor.transmit(frame);
    }
  }
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
