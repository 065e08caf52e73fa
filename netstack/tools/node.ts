// Runs netstack on a host interface (AF_PACKET, or --tap) with a synchronous loop, for the
// interop tests and the benchmark. One mode per run; results go to stdout as one JSON line.
//
//   deno run -A netstack/tools/node.ts --if IFACE --addr 198.18.0.2/24 [--addr 2001:db8::2/64]
//     [--gw IP] [--tap] [--pcap-log FILE] [--loss P] [--delay-ms N] [--jitter-ms N]
//     [--reorder P] [--timeout SECONDS] MODE ...
//   modes: idle | echo PORT | http PORT | sink PORT OUTFILE | send HOST PORT BYTES
//          | ping HOST COUNT | rr HOST PORT COUNT | stream HOST PORT BYTES
//
// "READY" is printed on stderr once the stack is up (servers are listening).
import { AF_INET, AF_INET6, parseIP, SockAddr } from "../addr.ts";
import * as E from "../errno.ts";
import type { LinkEndpoint } from "../link/endpoint.ts";
import { HostEndpoint } from "../link/host.ts";
import { ImpairedEndpoint } from "../link/impaired.ts";
import { CaptureEndpoint, PcapWriter } from "../link/pcap.ts";
import {
  intValue,
  IPPROTO_TCP,
  SO_REUSEADDR,
  SOCK_DGRAM,
  SOCK_STREAM,
  Socket,
  SHUT_WR,
  SOL_SOCKET,
  TCP_INFO,
  TCP_NODELAY,
} from "../socket.ts";
import { Stack } from "../stack.ts";

/** tcpi_state values (Linux's numbering, as TCP_INFO reports them). */
const TCP_TIME_WAIT = 6, TCP_CLOSED = 7;

/** The byte at offset i of every test stream: easy to regenerate in any language. */
export function patternByte(i: number): number {
  return (i * 7 + (i >>> 8)) & 0xff;
}

export function fillPattern(buf: Uint8Array, offset: number): void {
  for (let k = 0; k < buf.length; k++) buf[k] = patternByte(offset + k);
}

function nowNs(): number {
  return performance.now() * 1e6;
}

function sockAddr(host: string, port: number): SockAddr {
  const ip = parseIP(host);
  if (!ip) throw new Error(`bad address ${host}`);
  return { family: ip.length === 4 ? AF_INET : AF_INET6, addr: ip, port };
}

interface App {
  /** Does whatever non-blocking work is possible; true when it made progress. */
  step(): boolean;
  done: boolean;
  result?: unknown;
}

function main(argv: string[]): number {
  let iface = "";
  let tap = false;
  const addrs: string[] = [];
  const gws: string[] = [];
  let pcap = "";
  let loss = 0, delayMs = 0, jitterMs = 0, reorder = 0;
  let timeout = 60;
  let i = 0;
  for (; i < argv.length && argv[i].startsWith("--"); i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === "--if") iface = v();
    else if (a === "--tap") tap = true;
    else if (a === "--addr") addrs.push(v());
    else if (a === "--gw") gws.push(v());
    else if (a === "--pcap-log") pcap = v();
    else if (a === "--loss") loss = Number(v());
    else if (a === "--delay-ms") delayMs = Number(v());
    else if (a === "--jitter-ms") jitterMs = Number(v());
    else if (a === "--reorder") reorder = Number(v());
    else if (a === "--timeout") timeout = Number(v());
    else throw new Error(`unknown flag ${a}`);
  }
  const mode = argv[i] ?? "idle";
  const args = argv.slice(i + 1);
  const host = tap ? HostEndpoint.openTap(iface) : HostEndpoint.openPacket(iface);
  let link: LinkEndpoint = host;
  let impaired: ImpairedEndpoint | null = null;
  if (loss || delayMs || jitterMs || reorder) {
    impaired = new ImpairedEndpoint(
      link,
      {
        loss,
        delayNs: delayMs * 1e6,
        jitterNs: jitterMs * 1e6,
        reorder,
        reorderDelayNs: Math.max(2, delayMs) * 1e6,
      },
      nowNs,
      42,
    );
    link = impaired;
  }
  let writer: PcapWriter | null = null;
  if (pcap) {
    writer = new PcapWriter(pcap);
    link = new CaptureEndpoint(link, writer);
  }
  const stack = new Stack({ now: nowNs() });
  stack.onInternalError = (e) => console.error("netstack internal error:", e);
  const nic = stack.addNic(link, iface);
  for (const a of addrs) stack.addAddress(nic, a);
  for (const g of gws) stack.addRoute(g.includes(":") ? "::/0" : "0.0.0.0/0", g, nic);
  const app = makeApp(stack, mode, args);
  console.error("READY");
  const deadline = nowNs() + timeout * 1e9;
  const debug = Deno.env.get("NODE_DEBUG") !== undefined;
  let lastPcapFlush = nowNs();
  while (!app.done && nowNs() < deadline) {
    stack.advance(nowNs());
    let progress = app.step();
    for (let k = 0; k < 64 && progress; k++) {
      stack.advance(nowNs());
      progress = app.step();
    }
    if (app.done) break;
    if (progress) continue; // more work is waiting: do not sleep on it
    if (writer && nowNs() - lastPcapFlush > 1e8) {
      writer.flush();
      lastPcapFlush = nowNs();
    }
    const now = nowNs();
    let next = Math.min(stack.nextDeadlineNs(), now + 50e6, deadline);
    if (impaired) next = Math.min(next, impaired.nextRelease());
    if (next > now) {
      const ready = host.wait(next - now);
      if (debug && nowNs() - now > 5e6) {
        console.error(
          "waited",
          ((nowNs() - now) / 1e6).toFixed(1),
          "ms ready",
          ready,
          "deadline in",
          ((stack.nextDeadlineNs() - now) / 1e6).toFixed(1),
        );
      }
    }
  }
  // Let final ACKs and FINs go out.
  const drainUntil = nowNs() + 200e6;
  while (nowNs() < drainUntil) {
    stack.advance(nowNs());
    host.wait(Math.max(0, Math.min(10e6, stack.nextDeadlineNs() - nowNs())));
  }
  link.close();
  const out = { mode, done: app.done, result: app.result ?? null, stats: stack.stats.toJSON() };
  console.log(JSON.stringify(out));
  return app.done ? 0 : 1;
}

function must<T>(v: T | number, what: string): T {
  if (typeof v === "number") throw new Error(`${what}: errno ${-v}`);
  return v;
}

function listenOn(stack: Stack, port: number): Socket {
  const l = must(stack.socket(AF_INET6, SOCK_STREAM), "socket");
  l.setsockopt(SOL_SOCKET, SO_REUSEADDR, intValue(1));
  const r = l.bind({ family: AF_INET6, addr: new Uint8Array(16), port });
  if (r < 0) throw new Error(`bind: ${r}`);
  l.listen(64);
  return l;
}

function makeApp(stack: Stack, mode: string, args: string[]): App {
  const buf = new Uint8Array(1 << 16);
  switch (mode) {
    case "idle":
      return { done: false, step: () => false };
    case "echo": {
      const l = listenOn(stack, Number(args[0]));
      const conns: { s: Socket; pending: Uint8Array | null }[] = [];
      const app: App = {
        done: false,
        step() {
          let progress = false;
          for (let a = l.accept(); typeof a !== "number"; a = l.accept()) {
            a.setsockopt(IPPROTO_TCP, TCP_NODELAY, intValue(1));
            conns.push({ s: a, pending: null });
            progress = true;
          }
          for (let k = conns.length - 1; k >= 0; k--) {
            const c = conns[k];
            if (c.pending) {
              const n = c.s.sendto(c.pending, 0);
              if (n > 0) c.pending = n < c.pending.length ? c.pending.subarray(n) : null;
              if (c.pending) continue;
            }
            const n = c.s.recvfrom(buf, 0);
            if (n > 0) {
              progress = true;
              const m = c.s.sendto(buf.subarray(0, n), 0);
              if (m < n) c.pending = buf.slice(Math.max(0, m), n);
            } else if (n === 0 || (n < 0 && n !== -E.EAGAIN)) {
              c.s.close();
              conns.splice(k, 1);
              progress = true;
            }
          }
          return progress;
        },
      };
      return app;
    }
    case "http": {
      const l = listenOn(stack, Number(args[0]));
      const conns: {
        s: Socket;
        req: string;
        out: Uint8Array | null;
        sent: number;
        served: boolean;
      }[] = [];
      const app: App = {
        done: false,
        result: { served: 0 },
        step() {
          let progress = false;
          for (let a = l.accept(); typeof a !== "number"; a = l.accept()) {
            conns.push({ s: a, req: "", out: null, sent: 0, served: false });
            progress = true;
          }
          for (let k = conns.length - 1; k >= 0; k--) {
            const c = conns[k];
            const n = c.s.recvfrom(buf, 0);
            if (n > 0) {
              c.req += new TextDecoder().decode(buf.subarray(0, n));
              progress = true;
            }
            if (!c.out && c.req.includes("\r\n\r\n")) {
              const path = c.req.split(" ")[1] ?? "/";
              let body: Uint8Array;
              const m = /^\/bytes\/(\d+)$/.exec(path);
              if (m) {
                body = new Uint8Array(Number(m[1]));
                fillPattern(body, 0);
              } else body = new TextEncoder().encode("hello from netstack\n");
              const head = new TextEncoder().encode(
                `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n`,
              );
              c.out = new Uint8Array(head.length + body.length);
              c.out.set(head);
              c.out.set(body, head.length);
            }
            if (c.out && c.sent < c.out.length) {
              const w = c.s.sendto(c.out.subarray(c.sent), 0);
              if (w > 0) {
                c.sent += w;
                progress = true;
              }
              if (c.sent === c.out.length) {
                c.s.shutdown(1);
                (app.result as { served: number }).served++;
              }
            }
            if (n === 0 || (n < 0 && n !== -E.EAGAIN)) {
              c.s.close();
              conns.splice(k, 1);
              progress = true;
            }
          }
          return progress;
        },
      };
      return app;
    }
    case "sink": {
      const l = listenOn(stack, Number(args[0]));
      const outFile = args[1];
      let conn: Socket | null = null;
      const chunks: Uint8Array[] = [];
      let total = 0;
      let replied = false;
      const app: App = {
        done: false,
        step() {
          if (!conn) {
            const a = l.accept();
            if (typeof a === "number") return false;
            conn = a;
          }
          let progress = false;
          if (replied) {
            // Done only once the reply and our FIN are acknowledged: on a lossy link they
            // may need retransmitting long after the short drain at exit.
            const info = conn.getsockopt(IPPROTO_TCP, TCP_INFO);
            const state = typeof info === "number" ? TCP_CLOSED : info[0];
            if (state === TCP_CLOSED || state === TCP_TIME_WAIT) {
              conn.close();
              app.done = true;
              app.result = { received: total };
            }
            return false;
          }
          for (;;) {
            const n = conn.recvfrom(buf, 0);
            if (n > 0) {
              chunks.push(buf.slice(0, n));
              total += n;
              progress = true;
              continue;
            }
            if (n === 0) {
              const all = new Uint8Array(total);
              let o = 0;
              for (const c of chunks) {
                all.set(c, o);
                o += c.length;
              }
              if (outFile) Deno.writeFileSync(outFile, all);
              conn.sendto(new TextEncoder().encode(`ok ${total}\n`), 0);
              conn.shutdown(SHUT_WR);
              replied = true;
              return true;
            } else if (n !== -E.EAGAIN) throw new Error(`recv: ${n}`);
            return progress;
          }
        },
      };
      return app;
    }
    case "send":
    case "stream": {
      const target = sockAddr(args[0], Number(args[1]));
      const bytes = Number(args[2]);
      const s = must(stack.socket(target.family, SOCK_STREAM), "socket");
      const r = s.connect(target);
      if (r !== -E.EINPROGRESS && r !== 0) throw new Error(`connect: ${r}`);
      const chunk = new Uint8Array(1 << 16);
      let sent = 0, shut = false;
      let reply = "";
      let start = 0;
      const app: App = {
        done: false,
        step() {
          let progress = false;
          if (!start && (s.readiness() & 4)) start = nowNs();
          while (sent < bytes) {
            const n = Math.min(chunk.length, bytes - sent);
            fillPattern(chunk.subarray(0, n), sent);
            const w = s.sendto(chunk.subarray(0, n), 0);
            if (w === -E.EAGAIN) break;
            if (w < 0) throw new Error(`send: ${w}`);
            sent += w;
            progress = true;
          }
          if (sent === bytes && !shut) {
            s.shutdown(1);
            shut = true;
          }
          for (;;) {
            const n = s.recvfrom(buf, 0);
            if (n > 0) {
              reply += new TextDecoder().decode(buf.subarray(0, n));
              progress = true;
              continue;
            }
            if (n === 0) {
              const secs = (nowNs() - start) / 1e9;
              app.done = true;
              app.result = {
                sent,
                reply: reply.trim(),
                seconds: secs,
                mibPerSec: sent / (1 << 20) / secs,
              };
              s.close();
            } else if (n !== -E.EAGAIN) throw new Error(`recv: ${n}`);
            break;
          }
          return progress;
        },
      };
      return app;
    }
    case "rr": {
      // Request/response: one byte there and back, COUNT times, TCP_NODELAY.
      const target = sockAddr(args[0], Number(args[1]));
      const count = Number(args[2]);
      const s = must(stack.socket(target.family, SOCK_STREAM), "socket");
      s.setsockopt(IPPROTO_TCP, TCP_NODELAY, intValue(1));
      s.connect(target);
      let done = 0, inFlight = false, start = 0;
      const one = new Uint8Array([120]);
      const app: App = {
        done: false,
        step() {
          if (!(s.readiness() & 4) && !inFlight) return false;
          if (!start) start = nowNs();
          let progress = false;
          if (!inFlight) {
            const w = s.sendto(one, 0);
            if (w === 1) {
              inFlight = true;
              progress = true;
            } else if (Deno.env.get("NODE_DEBUG")) console.error("rr send", w, s.readiness());
          }
          const n = s.recvfrom(buf, 0);
          if (n > 0) {
            inFlight = false;
            done++;
            progress = true;
            if (done === count) {
              const us = (nowNs() - start) / 1e3 / count;
              app.done = true;
              app.result = { count, usPerRoundTrip: us };
              s.close();
            }
          } else if (n === 0 || (n < 0 && n !== -E.EAGAIN)) throw new Error(`rr recv: ${n}`);
          return progress;
        },
      };
      return app;
    }
    case "ping": {
      const target = sockAddr(args[0], 0);
      const count = Number(args[1] ?? 3);
      const s = must(
        stack.socket(target.family, SOCK_DGRAM, target.family === AF_INET ? 1 : 58),
        "ping socket",
      );
      let seq = 0, replies = 0, lastSent = 0;
      const rtts: number[] = [];
      const app: App = {
        done: false,
        step() {
          const now = nowNs();
          let progress = false;
          if (seq < count && now - lastSent > 200e6) {
            const pkt = new Uint8Array(64);
            pkt[0] = target.family === AF_INET ? 8 : 128;
            pkt[7] = ++seq;
            new DataView(pkt.buffer).setFloat64(8, now);
            const r = s.sendto(pkt, 0, target);
            if (r < 0 && r !== -E.EAGAIN) throw new Error(`ping send: ${r}`);
            lastSent = now;
            progress = true;
          }
          for (;;) {
            const n = s.recvfrom(buf, 0);
            if (n <= 0) break;
            replies++;
            rtts.push((nowNs() - new DataView(buf.buffer).getFloat64(8)) / 1e3);
            progress = true;
          }
          if (replies >= count) {
            app.done = true;
            app.result = { replies, rttUs: rtts };
          }
          return progress;
        },
      };
      return app;
    }
  }
  throw new Error(`unknown mode ${mode}`);
}

if (import.meta.main) {
  try {
    Deno.exit(main(Deno.args));
  } catch (e) {
    console.error("node:", e instanceof Error ? e.message : e);
    Deno.exit(2);
  }
}
