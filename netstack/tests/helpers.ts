// Test fixtures: a stack with loopback only, and two stacks joined by an in-memory wire with
// a virtual clock that jumps to the next event, so loss and timeout tests run instantly.
import { AF_INET, AF_INET6, parseIP, SockAddr } from "../addr.ts";
import { createPipe, PipeEndpoint } from "../link/pipe.ts";
import { seededRandom } from "../link/pipe.ts";
import { Socket } from "../socket.ts";
import { Stack, StackOptions } from "../stack.ts";

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

export function assertEquals<T>(actual: T, expected: T, msg = ""): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${msg} expected ${e}, got ${a}`);
}

export function addr(text: string, port: number): SockAddr {
  const ip = parseIP(text)!;
  return { family: ip.length === 4 ? AF_INET : AF_INET6, addr: ip, port };
}

export function sock(stack: Stack, family: number, type: number): Socket {
  const s = stack.socket(family, type, 0);
  if (typeof s === "number") throw new Error(`socket: ${s}`);
  return s;
}

export class Net {
  now = 1_000_000_000;
  a: Stack;
  b: Stack;
  wireA: PipeEndpoint;
  wireB: PipeEndpoint;

  constructor(
    opts: { mtu?: number; seed?: number; stackA?: StackOptions; stackB?: StackOptions } = {},
  ) {
    const clock = () => this.now;
    [this.wireA, this.wireB] = createPipe({ clock, mtu: opts.mtu ?? 1500, seed: opts.seed ?? 7 });
    this.a = new Stack({
      now: this.now,
      random: seededRandom((opts.seed ?? 7) * 3 + 1),
      ...opts.stackA,
    });
    this.b = new Stack({
      now: this.now,
      random: seededRandom((opts.seed ?? 7) * 5 + 2),
      ...opts.stackB,
    });
    const na = this.a.addNic(this.wireA, "eth0");
    const nb = this.b.addNic(this.wireB, "eth0");
    this.a.addAddress(na, "198.18.0.1/24");
    this.b.addAddress(nb, "198.18.0.2/24");
    this.a.addAddress(na, "2001:db8::1/64");
    this.b.addAddress(nb, "2001:db8::2/64");
    this.settle();
  }

  /** Delivers what is due now on both sides until quiet. */
  settle(): void {
    for (let i = 0; i < 10000; i++) {
      const n = this.a.poll() + this.b.poll();
      if (n === 0) break;
    }
  }

  /** Runs until `done()` or until `limitNs` of virtual time passes; returns done(). */
  run(done: () => boolean, limitNs = 60e9): boolean {
    const end = this.now + limitNs;
    for (let i = 0; i < 2_000_000; i++) {
      this.settle();
      if (done()) return true;
      const next = Math.min(
        this.a.nextDeadlineNs(),
        this.b.nextDeadlineNs(),
        this.wireA.nextArrival(),
        this.wireB.nextArrival(),
      );
      if (next === Infinity || next > end) return done();
      this.now = Math.max(this.now, next);
      this.a.advance(this.now);
      this.b.advance(this.now);
    }
    return done();
  }

  /** Moves the clock forward by `ns`, processing everything on the way. */
  sleep(ns: number): void {
    const end = this.now + ns;
    this.run(() => false, ns);
    this.now = Math.max(this.now, end);
    this.a.advance(this.now);
    this.b.advance(this.now);
    this.settle();
  }
}

export { AF_INET, AF_INET6 };
