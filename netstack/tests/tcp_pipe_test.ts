// Two stacks over the in-memory wire: handshake with ARP/NDP, transfers under loss,
// reordering, duplication and delay, and the closing dances.
import { AF_INET, AF_INET6 } from "../addr.ts";
import * as E from "../errno.ts";
import { POLLERR, POLLHUP, POLLOUT, SOCK_STREAM, Socket } from "../socket.ts";
import { State, TcpSocket } from "../tcp/endpoint.ts";
import { addr, assert, assertEquals, Net, sock } from "./helpers.ts";

export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function establish(
  net: Net,
  family: number,
  serverHost: string,
): { l: Socket; c: Socket; s: Socket } {
  const l = sock(net.b, family, SOCK_STREAM);
  assertEquals(l.bind(addr(family === AF_INET ? "0.0.0.0" : "::", 8080)), 0);
  assertEquals(l.listen(8), 0);
  const c = sock(net.a, family, SOCK_STREAM);
  assertEquals(c.connect(addr(serverHost, 8080)), -E.EINPROGRESS);
  let s: Socket | number = -E.EAGAIN;
  assert(
    net.run(() => {
      if (typeof s === "number") s = l.accept();
      return typeof s !== "number" && (c.readiness() & POLLOUT) !== 0;
    }, 30e9),
    "handshake completes",
  );
  return { l, c, s: s as unknown as Socket };
}

/** Sends `data` from `from` to `to` through the net; returns what arrived. */
function transfer(
  net: Net,
  from: Socket,
  to: Socket,
  data: Uint8Array,
  limitNs = 600e9,
): Uint8Array {
  const out = new Uint8Array(data.length);
  let sent = 0, got = 0;
  const buf = new Uint8Array(65536);
  net.run(() => {
    while (sent < data.length) {
      const n = from.sendto(data.subarray(sent), 0);
      if (n <= 0) break;
      sent += n;
    }
    for (;;) {
      const m = to.recvfrom(buf, 0);
      if (m <= 0) break;
      out.set(buf.subarray(0, m), got);
      got += m;
    }
    return got === data.length;
  }, limitNs);
  assertEquals(got, data.length, "all bytes arrived");
  for (let i = 0; i < data.length; i++) {
    if (out[i] !== data[i]) throw new Error(`byte ${i} differs`);
  }
  return out;
}

for (const [family, host] of [[AF_INET, "198.18.0.2"], [AF_INET6, "2001:db8::2"]] as const) {
  Deno.test(`tcp pipe ${host}: handshake, transfer, orderly close`, () => {
    const net = new Net();
    const { l, c, s } = establish(net, family, host);
    transfer(net, c, s, pattern(300_000));
    transfer(net, s, c, pattern(100_000, 9));
    c.shutdown(1);
    const buf = new Uint8Array(10);
    assert(net.run(() => s.recvfrom(buf, 0) === 0), "server sees EOF");
    s.close();
    assert(net.run(() => c.recvfrom(buf, 0) === 0), "client sees EOF");
    assert((c.readiness() & POLLHUP) !== 0);
    c.close();
    l.close();
    const tw = net.a.tcp.connections();
    assertEquals(tw.map((x) => x.state), [State.TimeWait], "active closer in TIME_WAIT");
    net.sleep(61e9);
    assertEquals(net.a.tcp.connectionCount + net.b.tcp.connectionCount, 0, "all gone after 2MSL");
  });
}

for (
  const [name, imp] of [
    ["2% loss", { loss: 0.02 }],
    ["10% loss", { loss: 0.1 }],
    ["reordering", { reorder: 0.1, reorderDelayNs: 3e6, delayNs: 1e6 }],
    ["duplication and jitter", { duplicate: 0.05, delayNs: 2e6, jitterNs: 2e6 }],
    ["loss + delay + reorder", { loss: 0.03, delayNs: 5e6, reorder: 0.05, reorderDelayNs: 4e6 }],
  ] as const
) {
  for (const sack of [true, false]) {
    Deno.test(`tcp pipe: transfer under ${name}${sack ? "" : " without SACK"}`, () => {
      const net = new Net({ seed: 11, stackA: { tcp: { sack } }, stackB: { tcp: { sack } } });
      const { c, s } = establish(net, AF_INET, "198.18.0.2");
      net.wireA.impairment = { ...imp };
      net.wireB.impairment = { ...imp };
      transfer(net, c, s, pattern(400_000, 3));
      transfer(net, s, c, pattern(50_000, 4));
    });
  }
}

Deno.test("tcp pipe: corrupted frames are dropped by checksums, data stays intact", () => {
  const net = new Net({ seed: 5 });
  const { c, s } = establish(net, AF_INET, "198.18.0.2");
  net.wireA.impairment = { corrupt: 0.05 };
  transfer(net, c, s, pattern(200_000, 8));
  const bad = net.b.stats.get("tcp.badChecksum") + net.b.stats.get("ipv4.badChecksum") +
    net.b.stats.get("eth.otherHost") + net.b.stats.get("eth.unknownType") +
    net.b.stats.get("ipv4.badVersion") +
    net.b.stats.get("ipv4.badLength") + net.b.stats.get("ipv4.notForUs") +
    net.b.stats.get("tcp.malformed");
  assert(bad > 0, "some corruption was seen and dropped");
});

Deno.test("tcp pipe: simultaneous open", () => {
  const net = new Net();
  const a = sock(net.a, AF_INET, SOCK_STREAM);
  const b = sock(net.b, AF_INET, SOCK_STREAM);
  assertEquals(a.bind(addr("198.18.0.1", 5000)), 0);
  assertEquals(b.bind(addr("198.18.0.2", 6000)), 0);
  // Resolve ARP first so both SYNs cross on the wire.
  net.a.nics[1].arp!.addStatic(new Uint8Array([198, 18, 0, 2]), net.wireB.mac);
  net.b.nics[1].arp!.addStatic(new Uint8Array([198, 18, 0, 1]), net.wireA.mac);
  net.wireA.impairment = { delayNs: 5e6 };
  net.wireB.impairment = { delayNs: 5e6 };
  assertEquals(a.connect(addr("198.18.0.2", 6000)), -E.EINPROGRESS);
  assertEquals(b.connect(addr("198.18.0.1", 5000)), -E.EINPROGRESS);
  assert(
    net.run(
      () =>
        (a as TcpSocket).state === State.Established &&
        (b as TcpSocket).state === State.Established,
      10e9,
    ),
  );
  transfer(net, a, b, pattern(10_000));
  transfer(net, b, a, pattern(10_000, 2));
});

Deno.test("tcp pipe: simultaneous close goes through CLOSING to TIME_WAIT on both sides", () => {
  const net = new Net();
  const { c, s } = establish(net, AF_INET, "198.18.0.2");
  net.wireA.impairment = { delayNs: 5e6 };
  net.wireB.impairment = { delayNs: 5e6 };
  c.shutdown(1);
  s.shutdown(1);
  assert(
    net.run(
      () => (c as TcpSocket).state === State.TimeWait && (s as TcpSocket).state === State.TimeWait,
      10e9,
    ),
  );
});

Deno.test("tcp pipe: connect to a closed port is refused with RST", () => {
  const net = new Net();
  const c = sock(net.a, AF_INET, SOCK_STREAM);
  assertEquals(c.connect(addr("198.18.0.2", 1)), -E.EINPROGRESS);
  assert(net.run(() => (c.readiness() & POLLERR) !== 0, 10e9));
  assertEquals(c.connect(addr("198.18.0.2", 1)), -E.ECONNREFUSED);
});

Deno.test("tcp pipe: connect to an absent host fails with EHOSTUNREACH via ARP", () => {
  const net = new Net();
  const c = sock(net.a, AF_INET, SOCK_STREAM);
  assertEquals(c.connect(addr("198.18.0.99", 80)), -E.EINPROGRESS);
  assert(net.run(() => (c as TcpSocket).state === State.Closed, 400e9), "gives up");
  const err = new DataView((c.getsockopt(1, 4) as Uint8Array).buffer).getInt32(0, true);
  assert(err === E.EHOSTUNREACH || err === E.ETIMEDOUT, `so_error ${err}`);
});

Deno.test("tcp pipe: peer vanishes -> retransmissions give up with ETIMEDOUT", () => {
  const net = new Net({ stackA: { tcp: { retries2: 5 } } });
  const { c } = establish(net, AF_INET, "198.18.0.2");
  net.wireA.impairment = { loss: 1 };
  assertEquals(c.sendto(pattern(1000), 0), 1000);
  assert(net.run(() => (c as TcpSocket).state === State.Closed, 600e9));
  assertEquals(c.recvfrom(new Uint8Array(10), 0), -E.ETIMEDOUT);
});

Deno.test("tcp pipe: zero window, persist probes, then the window reopens", () => {
  const net = new Net();
  const { c, s } = establish(net, AF_INET, "198.18.0.2");
  const data = pattern(2_000_000);
  let sent = 0;
  net.run(() => {
    const n = c.sendto(data.subarray(sent), 0);
    if (n > 0) sent += n;
    return false;
  }, 5e9);
  const srv = s as TcpSocket;
  assert(srv.recvBuf.window < 1 << srv.rcvWs, `receiver filled: ${srv.recvBuf.window}`);
  net.sleep(20e9);
  assert(net.a.stats.get("tcp.zeroWindowProbe") > 0, "probes sent");
  assert((c as TcpSocket).state === State.Established, "still connected");
  const buf = new Uint8Array(65536);
  let got = 0;
  net.run(() => {
    for (;;) {
      const m = s.recvfrom(buf, 0);
      if (m <= 0) break;
      got += m;
    }
    const n = c.sendto(data.subarray(sent), 0);
    if (n > 0) sent += n;
    return got === data.length;
  }, 100e9);
  assertEquals(got, data.length);
});

Deno.test("tcp pipe: keepalive detects a dead peer", () => {
  const net = new Net();
  const { c } = establish(net, AF_INET, "198.18.0.2");
  const one = new Uint8Array([1, 0, 0, 0]);
  assertEquals(c.setsockopt(1, 9, one), 0); // SO_KEEPALIVE
  assertEquals(c.setsockopt(6, 4, new Uint8Array([10, 0, 0, 0])), 0); // TCP_KEEPIDLE 10 s
  assertEquals(c.setsockopt(6, 5, new Uint8Array([2, 0, 0, 0])), 0); // TCP_KEEPINTVL 2 s
  assertEquals(c.setsockopt(6, 6, new Uint8Array([3, 0, 0, 0])), 0); // TCP_KEEPCNT 3
  net.sleep(30e9);
  assertEquals((c as TcpSocket).state, State.Established, "alive peer answers probes");
  net.wireA.impairment = { loss: 1 };
  assert(net.run(() => (c as TcpSocket).state === State.Closed, 60e9), "dead peer detected");
  assertEquals(c.recvfrom(new Uint8Array(1), 0), -E.ETIMEDOUT);
});

Deno.test("tcp pipe: close with unread data sends RST; peer sees ECONNRESET", () => {
  const net = new Net();
  const { c, s } = establish(net, AF_INET, "198.18.0.2");
  transfer(net, c, s, pattern(100));
  assertEquals(c.sendto(pattern(50), 0), 50);
  net.settle();
  s.close();
  assert(net.run(() => (c as TcpSocket).state === State.Closed, 5e9));
  assertEquals(c.recvfrom(new Uint8Array(1), 0), -E.ECONNRESET);
});

Deno.test("tcp pipe: listen backlog and SYN queue limits hold under a SYN flood", () => {
  const net = new Net();
  const l = sock(net.b, AF_INET, SOCK_STREAM);
  assertEquals(l.bind(addr("0.0.0.0", 80)), 0);
  assertEquals(l.listen(2), 0);
  // Clients that never answer the SYN-ACK: drop everything from b to a.
  net.a.nics[1].arp!.addStatic(new Uint8Array([198, 18, 0, 2]), net.wireB.mac);
  net.wireB.impairment = { loss: 1 };
  const clients: Socket[] = [];
  for (let i = 0; i < 100; i++) {
    const c = sock(net.a, AF_INET, SOCK_STREAM);
    c.connect(addr("198.18.0.2", 80));
    clients.push(c);
  }
  net.sleep(1e8);
  const half = (l as TcpSocket).synQueue;
  assert(half <= 16 && half > 0, `SYN queue bounded: ${half}`);
  assert(net.b.stats.get("tcp.synQueueFull") > 0);
  net.sleep(200e9);
  assertEquals((l as TcpSocket).synQueue, 0, "half-open connections expire");
  assertEquals(net.b.tcp.connectionCount, 0);
});
