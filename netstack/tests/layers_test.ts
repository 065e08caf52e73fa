// Unit tests per layer: checksum, addresses, timers, ARP and NDP, ICMP echo sockets, UDP
// broadcast/multicast, path-MTU discovery, RTT estimation and congestion control.
import { AF_INET, AF_INET6, ipToString, parseIP } from "../addr.ts";
import { checksum } from "../checksum.ts";
import * as E from "../errno.ts";
import { NeighborState } from "../neighbor.ts";
import {
  intValue,
  IP_ADD_MEMBERSHIP,
  IPPROTO_IP,
  SO_BROADCAST,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOL_SOCKET,
} from "../socket.ts";
import { Cubic, Reno } from "../tcp/congestion.ts";
import { State, TcpSocket } from "../tcp/endpoint.ts";
import { RttEstimator } from "../tcp/rtt.ts";
import { Timer, TimerQueue } from "../timer.ts";
import { ethernet, ipv4Packet } from "./craft.ts";
import { addr, assert, assertEquals, Net, sock } from "./helpers.ts";

Deno.test("checksum: fast path agrees with a byte-by-byte reference at every alignment", () => {
  const ref = (b: Uint8Array, off: number, len: number) => {
    let s = 0;
    for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return ~s & 0xffff;
  };
  const buf = new Uint8Array(5000);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + 7) & 0xff;
  for (let off = 0; off < 8; off += 2) {
    for (const len of [0, 1, 2, 3, 63, 64, 65, 100, 1499, 1500, 4000]) {
      assertEquals(checksum(buf, off, len), ref(buf, off, len), `off ${off} len ${len}`);
    }
  }
  buf.fill(0xff);
  assertEquals(checksum(buf, 0, 4096), ref(buf, 0, 4096), "all ones");
});

Deno.test("addresses parse and print (RFC 5952 compression)", () => {
  assertEquals(ipToString(parseIP("2001:db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1");
  assertEquals(ipToString(parseIP("::ffff:1.2.3.4")!), "::ffff:102:304");
  assertEquals(ipToString(parseIP("fe80::1")!), "fe80::1");
  assertEquals(parseIP("1.2.3.256"), null);
  assertEquals(parseIP("1::2::3"), null);
  assertEquals(ipToString(parseIP("10.1.2.3")!), "10.1.2.3");
});

Deno.test("timer queue fires in deadline order and supports re-arm and cancel", () => {
  const q = new TimerQueue();
  const fired: number[] = [];
  const ts = [5, 1, 9, 3, 7].map((d) => {
    const t = new Timer(() => fired.push(d));
    q.arm(t, d);
    return t;
  });
  q.cancel(ts[2]);
  q.arm(ts[0], 2);
  q.runExpired(6);
  assertEquals(fired, [1, 5, 3], "re-armed timer fires at its new time");
  assertEquals(q.nextDeadline(), 7);
  q.runExpired(100);
  assertEquals(fired, [1, 5, 3, 7]);
});

Deno.test("ARP: resolution, reply, gratuitous update, stale probing and expiry", () => {
  const net = new Net();
  const u = sock(net.a, AF_INET, SOCK_DGRAM);
  const v = sock(net.b, AF_INET, SOCK_DGRAM);
  v.bind(addr("0.0.0.0", 9999));
  assertEquals(u.sendto(new Uint8Array([1]), 0, addr("198.18.0.2", 9999)), 1);
  net.settle();
  assertEquals(v.recvfrom(new Uint8Array(4), 0), 1, "delivered after ARP");
  const B = parseIP("198.18.0.2")!;
  const arpA = net.a.nics[1].arp!;
  assertEquals(arpA.lookup(B)!.state, NeighborState.Reachable);
  // b learned a from its request.
  assert(net.b.nics[1].arp!.lookup(parseIP("198.18.0.1")!) !== undefined);
  // After the reachable time, the next use probes; a live peer answers.
  net.sleep(31e9);
  assertEquals(u.sendto(new Uint8Array([2]), 0, addr("198.18.0.2", 9999)), 1);
  net.settle();
  assertEquals(arpA.lookup(B)!.state, NeighborState.Reachable, "re-confirmed by probe");
  // A gratuitous ARP from b with a new MAC updates a's entry.
  const newMac = new Uint8Array([2, 9, 9, 9, 9, 9]);
  const garp = ethernet(
    new Uint8Array(6).fill(0xff),
    newMac,
    0x0806,
    new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, ...newMac, ...B, 0, 0, 0, 0, 0, 0, ...B]),
  );
  net.a.receiveFrame(net.a.nics[1], garp);
  assertEquals(Array.from(arpA.lookup(B)!.mac), Array.from(newMac));
  // Now b never answers at the new MAC: probes fail and the entry goes.
  net.sleep(31e9);
  u.sendto(new Uint8Array([3]), 0, addr("198.18.0.2", 9999));
  net.sleep(5e9);
  assertEquals(arpA.lookup(B), undefined, "unanswered entry removed");
});

Deno.test("NDP: neighbour solicitation/advertisement and ICMPv6 echo through ping sockets", () => {
  const net = new Net();
  for (
    const [fam, target] of [[AF_INET6, "2001:db8::2"], [AF_INET, "198.18.0.2"], [
      AF_INET6,
      "::1",
    ]] as const
  ) {
    const p = net.a.socket(fam, SOCK_DGRAM, fam === AF_INET ? 1 : 58);
    assert(typeof p !== "number");
    const req = new Uint8Array(16);
    req[0] = fam === AF_INET ? 8 : 128;
    req[7] = 1;
    req.set([9, 8, 7], 8);
    assertEquals(p.sendto(req, 0, addr(target, 0)), 16);
    const buf = new Uint8Array(64);
    assert(net.run(() => p.recvfrom(buf, 0) === 16, 5e9), `reply from ${target}`);
    assertEquals(buf[0], fam === AF_INET ? 0 : 129);
    assertEquals(Array.from(buf.subarray(8, 11)), [9, 8, 7]);
  }
  const n = net.a.nics[1].ndp!.lookup(parseIP("2001:db8::2")!);
  assert(n && n.state === NeighborState.Reachable, "NA confirmed the neighbour");
});

Deno.test("UDP: broadcast needs SO_BROADCAST; multicast reaches members only", () => {
  const net = new Net();
  const s = sock(net.a, AF_INET, SOCK_DGRAM);
  const r = sock(net.b, AF_INET, SOCK_DGRAM);
  r.bind(addr("0.0.0.0", 5000));
  assertEquals(s.sendto(new Uint8Array([1]), 0, addr("198.18.0.255", 5000)), -E.EACCES);
  assertEquals(s.setsockopt(SOL_SOCKET, SO_BROADCAST, intValue(1)), 0);
  assertEquals(s.sendto(new Uint8Array([1]), 0, addr("198.18.0.255", 5000)), 1);
  assertEquals(s.sendto(new Uint8Array([2]), 0, addr("255.255.255.255", 5000)), 1);
  net.settle();
  assertEquals(r.recvfrom(new Uint8Array(4), 0), 1);
  assertEquals(r.recvfrom(new Uint8Array(4), 0), 1);
  // Multicast: not a member yet.
  const m = sock(net.b, AF_INET, SOCK_DGRAM);
  m.bind(addr("0.0.0.0", 6000));
  assertEquals(s.sendto(new Uint8Array([3]), 0, addr("239.1.2.3", 6000)), 1);
  net.settle();
  assertEquals(m.recvfrom(new Uint8Array(4), 0), -E.EAGAIN);
  assertEquals(
    m.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, new Uint8Array([239, 1, 2, 3, 0, 0, 0, 0])),
    0,
  );
  assertEquals(s.sendto(new Uint8Array([4, 5]), 0, addr("239.1.2.3", 6000)), 2);
  net.settle();
  const from = { family: 0, addr: new Uint8Array(0), port: 0 };
  assertEquals(m.recvfrom(new Uint8Array(4), 0, from), 2);
  assertEquals(ipToString(from.addr), "198.18.0.1");
});

Deno.test("UDP: large datagrams fragment and reassemble (IPv4 and IPv6)", () => {
  const net = new Net();
  for (const [fam, host] of [[AF_INET, "198.18.0.2"], [AF_INET6, "2001:db8::2"]] as const) {
    const s = sock(net.a, fam, SOCK_DGRAM);
    const r = sock(net.b, fam, SOCK_DGRAM);
    r.bind(addr(fam === AF_INET ? "0.0.0.0" : "::", 7000 + fam));
    const data = new Uint8Array(20000).map((_, i) => i & 0xff);
    assertEquals(s.sendto(data, 0, addr(host, 7000 + fam)), 20000);
    const buf = new Uint8Array(30000);
    assert(net.run(() => r.recvfrom(buf, 0) === 20000, 5e9), `reassembled ${host}`);
    assert(buf.subarray(0, 20000).every((v, i) => v === (i & 0xff)));
  }
});

Deno.test("PMTU: ICMP fragmentation-needed shrinks the MSS and the data still arrives", () => {
  const net = new Net();
  const l = sock(net.b, AF_INET, SOCK_STREAM);
  l.bind(addr("0.0.0.0", 80));
  l.listen(4);
  const c = sock(net.a, AF_INET, SOCK_STREAM) as TcpSocket;
  c.connect(addr("198.18.0.2", 80));
  let s: any = -11;
  assert(net.run(() => {
    if (typeof s === "number") s = l.accept();
    return c.state === State.Established && typeof s !== "number";
  }));
  const before = c.sndMss;
  // A "router" on the wire: frames from a larger than 1000 bytes are dropped and answered
  // with ICMP fragmentation needed (MTU 1000).
  const A = parseIP("198.18.0.1")!, R = parseIP("198.18.0.2")!;
  const icmpQueue: Uint8Array[] = [];
  net.wireA.filter = (frame) => {
    if (frame.length <= 1014) return frame;
    const ip = frame.subarray(14);
    const icmp = new Uint8Array(8 + 28);
    icmp[0] = 3;
    icmp[1] = 4;
    icmp[6] = 1000 >> 8;
    icmp[7] = 1000 & 0xff;
    icmp.set(ip.subarray(0, 28), 8);
    const c2 = checksum(icmp, 0, icmp.length);
    icmp[2] = c2 >> 8;
    icmp[3] = c2 & 0xff;
    icmpQueue.push(ethernet(net.wireA.mac, net.wireB.mac, 0x0800, ipv4Packet(R, A, 1, icmp)));
    return null;
  };
  const data = new Uint8Array(50000).fill(7);
  let sent = 0, got = 0;
  const buf = new Uint8Array(65536);
  assert(
    net.run(() => {
      for (const f of icmpQueue.splice(0)) net.a.receiveFrame(net.a.nics[1], f);
      const n = c.sendto(data.subarray(sent), 0);
      if (n > 0) sent += n;
      for (let m = s.recvfrom(buf, 0); m > 0; m = s.recvfrom(buf, 0)) got += m;
      return got === data.length;
    }, 60e9),
    `got ${got}`,
  );
  assert(c.sndMss < before && c.sndMss <= 1000 - 40, `mss ${before} -> ${c.sndMss}`);
});

Deno.test("RTT estimator follows RFC 6298", () => {
  const r = new RttEstimator(1e9, 200e6, 120e9);
  r.sample(100e6, 0);
  assertEquals(r.srtt, 100e6);
  assertEquals(r.rttvar, 50e6);
  assertEquals(r.rto, 300e6);
  r.sample(100e6, 1);
  assertEquals(r.rto, Math.max(200e6, 100e6 + 4 * 37.5e6));
});

Deno.test("congestion control: slow start, recovery halving (Reno) and CUBIC's 0.7", () => {
  const reno = new Reno(1000, 10);
  reno.onAck(1000, 0, 1e6, true);
  assertEquals(reno.cwnd, 11000);
  reno.enterRecovery(0, 20000);
  assertEquals(reno.ssthresh, 10000);
  const cubic = new Cubic(1000, 10);
  cubic.cwnd = 100000;
  cubic.enterRecovery(0, 100000);
  assertEquals(cubic.ssthresh, 70000);
  const w0 = cubic.cwnd;
  for (let t = 0; t < 200; t++) cubic.onAck(1000, t * 10e6, 10e6, true);
  assert(cubic.cwnd > w0, "grows again in congestion avoidance");
  cubic.onRto(0, 50000);
  assertEquals(cubic.cwnd, 1000);
});

Deno.test("socket API errors: EADDRINUSE, EISCONN, ENOTCONN, EOPNOTSUPP for MSG_OOB", () => {
  const net = new Net();
  const a = sock(net.a, AF_INET, SOCK_STREAM);
  const b = sock(net.a, AF_INET, SOCK_STREAM);
  assertEquals(a.bind(addr("0.0.0.0", 4000)), 0);
  assertEquals(b.bind(addr("198.18.0.1", 4000)), -E.EADDRINUSE);
  assertEquals(a.listen(1), 0);
  assertEquals(b.sendto(new Uint8Array(1), 0), -E.ENOTCONN);
  assertEquals(b.recvfrom(new Uint8Array(1), 0), -E.ENOTCONN);
  assertEquals(b.sendto(new Uint8Array(1), 1), -E.EOPNOTSUPP);
  assertEquals(a.accept(), -E.EAGAIN);
  const v6 = sock(net.a, AF_INET6, SOCK_STREAM);
  assertEquals(
    v6.bind(addr("::", 4000)),
    -E.EADDRINUSE,
    "dual-stack wildcard overlaps IPv4 wildcard",
  );
  const v6only = sock(net.a, AF_INET6, SOCK_STREAM);
  assertEquals(v6only.setsockopt(41, 26, intValue(1)), 0);
  assertEquals(v6only.bind(addr("::", 4000)), 0, "IPV6_V6ONLY does not overlap");
});
