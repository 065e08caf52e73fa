// netstack throughput and latency, beside Linux measured in the same run and runsc's figures
// quoted from shared/platform-facts.md. Run alone: deno run -A bench/netstack_bench.ts
//   --quick          shorter runs
//   --json FILE      also write the results as JSON
// Rows:
//   netstack loopback      two sockets on one stack over its loopback link (in process)
//   netstack <-> Linux     netstack (tools/node.ts, AF_PACKET, TCP segmentation offload through
//                          the virtio header) against a small C peer on Linux over a veth pair
//                          (MTU 9000) between two namespaces made here (needs root)
//   Linux loopback         a small C program (compiled here) over 127.0.0.1
//   runsc (reference)      not measured here
import { AF_INET } from "../netstack/addr.ts";
import * as E from "../netstack/errno.ts";
import {
  intValue,
  IPPROTO_TCP,
  POLLOUT,
  SOCK_STREAM,
  Socket,
  TCP_NODELAY,
} from "../netstack/socket.ts";
import { Stack } from "../netstack/stack.ts";

const quick = Deno.args.includes("--quick");
const jsonIdx = Deno.args.indexOf("--json");
const jsonOut = jsonIdx >= 0 ? Deno.args[jsonIdx + 1] : null;
const seconds = quick ? 0.5 : 2;
const RUNSC_STREAM_MIBS = 939;
const RUNSC_PINGPONG_US = 194;

function nowNs(): number {
  return performance.now() * 1e6;
}

function must<T>(v: T | number): T {
  if (typeof v === "number") throw new Error(`errno ${-v}`);
  return v;
}

function loopbackPair(): { stack: Stack; c: Socket; s: Socket } {
  const stack = new Stack({ now: nowNs() });
  const l = must(stack.socket(AF_INET, SOCK_STREAM));
  l.bind({ family: AF_INET, addr: new Uint8Array([127, 0, 0, 1]), port: 0 });
  l.listen(1);
  const c = must(stack.socket(AF_INET, SOCK_STREAM));
  c.connect(l.getsockname());
  const s = must(l.accept());
  if (!(c.readiness() & POLLOUT)) throw new Error("handshake");
  return { stack, c, s };
}

function netstackLoopbackStream(): number {
  const { stack, c, s } = loopbackPair();
  const chunk = new Uint8Array(65536).fill(120);
  const buf = new Uint8Array(65536);
  let received = 0;
  const run = (limitNs: number) => {
    const start = nowNs();
    let got = 0;
    while (nowNs() - start < limitNs) {
      for (let k = 0; k < 8; k++) {
        const n = c.sendto(chunk, 0);
        if (n <= 0) break;
      }
      for (;;) {
        const m = s.recvfrom(buf, 0);
        if (m <= 0) break;
        got += m;
      }
      stack.advance(nowNs());
    }
    return { got, ns: nowNs() - start };
  };
  run(0.2e9); // warm up the JIT
  const r = run(seconds * 1e9);
  received = r.got;
  return received / (1 << 20) / (r.ns / 1e9);
}

function netstackLoopbackPingPong(): number {
  const { stack, c, s } = loopbackPair();
  c.setsockopt(IPPROTO_TCP, TCP_NODELAY, intValue(1));
  s.setsockopt(IPPROTO_TCP, TCP_NODELAY, intValue(1));
  const one = new Uint8Array([1]);
  const buf = new Uint8Array(16);
  const round = () => {
    if (c.sendto(one, 0) !== 1) throw new Error("send");
    if (s.recvfrom(buf, 0) !== 1) throw new Error("server recv");
    if (s.sendto(one, 0) !== 1) throw new Error("server send");
    if (c.recvfrom(buf, 0) !== 1) throw new Error("client recv");
    stack.advance(nowNs());
  };
  for (let i = 0; i < 20000; i++) round();
  const start = nowNs();
  let n = 0;
  while (nowNs() - start < seconds * 1e9) {
    for (let i = 0; i < 1000; i++) round();
    n += 1000;
  }
  return (nowNs() - start) / 1e3 / n;
}

// ---- Linux loopback, measured with a small C program --------------------------------------

const LINUX_C = String.raw`
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  int mode = atoi(argv[1]); double secs = atof(argv[2]);
  int l = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(l, (void *)&a, sizeof a); listen(l, 1); socklen_t len = sizeof a; getsockname(l, (void *)&a, &len);
  int one = 1; static char buf[65536];
  if (fork() == 0) {
    int c = socket(AF_INET, SOCK_STREAM, 0); connect(c, (void *)&a, sizeof a);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ssize_t n;
    if (mode == 0) { while ((n = read(c, buf, sizeof buf)) > 0) {} write(c, "k", 1); }
    else { while ((n = read(c, buf, 1)) == 1) write(c, buf, 1); }
    _exit(0);
  }
  int s = accept(l, 0, 0); setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  memset(buf, 'x', sizeof buf);
  double t0 = now(); long ops = 0;
  if (mode == 0) {
    while (now() - t0 < secs) { for (int i = 0; i < 16; i++) { size_t off = 0; while (off < sizeof buf) { ssize_t w = write(s, buf + off, sizeof buf - off); if (w <= 0) return 1; off += w; } ops++; } }
    shutdown(s, SHUT_WR); read(s, buf, 1);
    printf("%f\n", ops * 65536.0 / 1048576.0 / (now() - t0));
  } else {
    while (now() - t0 < secs) { for (int i = 0; i < 1000; i++) { write(s, "x", 1); read(s, buf, 1); } ops += 1000; }
    printf("%f\n", (now() - t0) * 1e6 / ops);
  }
  close(s); wait(0); return 0;
}`;

async function run(cmd: string[], check = true): Promise<string> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const out = new TextDecoder().decode(r.stdout);
  if (check && !r.success) {
    throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
  return out;
}

async function linuxLoopback(): Promise<{ stream: number; pingpong: number } | null> {
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeTextFileSync(`${dir}/lo.c`, LINUX_C);
    await run(["gcc", "-O2", "-o", `${dir}/lo`, `${dir}/lo.c`]);
    const stream = Number(await run([`${dir}/lo`, "0", String(seconds)]));
    const pingpong = Number(await run([`${dir}/lo`, "1", String(seconds)]));
    return { stream, pingpong };
  } catch (e) {
    console.error("Linux loopback not measured:", (e as Error).message);
    return null;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

// ---- netstack <-> Linux over a veth pair ---------------------------------------------------

// The Linux peer: accepts two connections; in each, a 1-byte read is echoed (ping-pong),
// anything else is counted and discarded; the count goes back at end of stream.
const LINUX_PEER_C = String.raw`
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(7100);
  inet_pton(AF_INET, "198.18.0.1", &a.sin_addr);
  if (bind(l, (void *)&a, sizeof a) || listen(l, 4)) return 1;
  printf("LISTENING\n"); fflush(stdout);
  static char buf[1 << 20];
  for (int k = 0; k < 2; k++) {
    int c = accept(l, 0, 0); long n = 0; ssize_t r;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while ((r = read(c, buf, sizeof buf)) > 0) { n += r; if (r == 1) write(c, buf, 1); }
    char out[32]; int m = snprintf(out, sizeof out, "%ld\n", n); write(c, out, m); close(c);
  }
  return 0;
}`;

async function veth(): Promise<{ stream: number; pingpong: number } | null> {
  if (Deno.uid() !== 0) {
    console.error("netstack <-> Linux over veth skipped: needs root");
    return null;
  }
  const id = `${Deno.pid % 10000}`;
  const nsl = `bnl${id}`, nss = `bns${id}`, dl = `bvl${id}`, ds = `bvs${id}`;
  const repo = new URL("../", import.meta.url).pathname;
  const tmp = await Deno.makeTempDir();
  const cleanup = async () => {
    await run(["ip", "netns", "del", nsl], false);
    await run(["ip", "netns", "del", nss], false);
  };
  await cleanup();
  try {
    try {
      Deno.statSync(`${repo}ffi/build/libsandbox.so`);
    } catch {
      await run(["make", "-s", "-C", `${repo}ffi`]);
    }
    await run(["ip", "netns", "add", nsl]);
    await run(["ip", "netns", "add", nss]);
    await run([
      "ip",
      "link",
      "add",
      "name",
      dl,
      "netns",
      nsl,
      "mtu",
      "9000",
      "type",
      "veth",
      "peer",
      "name",
      ds,
      "netns",
      nss,
      "mtu",
      "9000",
    ]);
    await run(["ip", "-n", nsl, "addr", "add", "198.18.0.1/24", "dev", dl]);
    await run(["ip", "-n", nsl, "link", "set", "lo", "up"]);
    await run(["ip", "-n", nsl, "link", "set", dl, "up"]);
    await run(["ip", "netns", "exec", nss, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    await run(["ip", "-n", nss, "link", "set", ds, "up"]);
    Deno.writeTextFileSync(`${tmp}/peer.c`, LINUX_PEER_C);
    await run(["gcc", "-O2", "-o", `${tmp}/peer`, `${tmp}/peer.c`]);
    const server = new Deno.Command("ip", {
      args: ["netns", "exec", nsl, `${tmp}/peer`],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = server.stdout.getReader();
    await reader.read(); // LISTENING
    const node = async (mode: string[]) => {
      const out = await run([
        "ip",
        "netns",
        "exec",
        nss,
        Deno.execPath(),
        "run",
        "-A",
        `${repo}netstack/tools/node.ts`,
        "--if",
        ds,
        "--addr",
        "198.18.0.2/24",
        "--timeout",
        "60",
        ...mode,
      ]);
      return JSON.parse(out.trim().split("\n").pop()!).result;
    };
    const bytes = quick ? 100 << 20 : 400 << 20;
    const s = await node(["stream", "198.18.0.1", "7100", String(bytes)]);
    const p = await node(["rr", "198.18.0.1", "7100", String(quick ? 2000 : 10000)]);
    await reader.cancel();
    await server.status;
    return { stream: s.mibPerSec, pingpong: p.usPerRoundTrip };
  } catch (e) {
    console.error("netstack <-> Linux not measured:", (e as Error).message);
    return null;
  } finally {
    await cleanup();
    Deno.removeSync(tmp, { recursive: true });
  }
}

// ---- Table ---------------------------------------------------------------------------------

const results: Record<string, { stream: number | null; pingpong: number | null; note: string }> =
  {};
const lo = { stream: netstackLoopbackStream(), pingpong: netstackLoopbackPingPong() };
results["netstack loopback"] = { ...lo, note: "measured" };
const v = await veth();
results["netstack <-> Linux (veth)"] = {
  stream: v?.stream ?? null,
  pingpong: v?.pingpong ?? null,
  note: v ? "measured" : "skipped",
};
const linux = await linuxLoopback();
results["Linux loopback"] = {
  stream: linux?.stream ?? null,
  pingpong: linux?.pingpong ?? null,
  note: linux ? "measured" : "skipped",
};
results["runsc netstack"] = {
  stream: RUNSC_STREAM_MIBS,
  pingpong: RUNSC_PINGPONG_US,
  note: "reference, from shared/platform-facts.md",
};

const fmt = (x: number | null, d = 1) => (x === null ? "-" : x.toFixed(d));
const ratio = (
  a: number | null,
  b: number | null,
) => (a === null || b === null ? "-" : (a / b).toFixed(2) + "x");
console.log(
  `| setup | stream MiB/s | ping-pong us | stream vs runsc | ping-pong runsc/this | source |`,
);
console.log(`|---|---|---|---|---|---|`);
for (const [name, r] of Object.entries(results)) {
  console.log(
    `| ${name} | ${fmt(r.stream)} | ${fmt(r.pingpong, 2)} | ${
      ratio(r.stream, RUNSC_STREAM_MIBS)
    } | ${ratio(RUNSC_PINGPONG_US, r.pingpong)} | ${r.note} |`,
  );
}
console.log(
  `(stream: higher is better; ping-pong: one byte there and back, lower is better; ratios > 1 beat runsc)`,
);
if (jsonOut) Deno.writeTextFileSync(jsonOut, JSON.stringify(results, null, 2));
void E;
