// Hostile and malformed input: each must be dropped or answered as the RFCs say, never
// crash the stack, never grow memory without bound. Ends with a bounded-time fuzz of every
// parser through the frame entry point.
import { AF_INET, AF_INET6, parseIP } from "../addr.ts";
import * as E from "../errno.ts";
import { seededRandom } from "../link/pipe.ts";
import { SOCK_DGRAM, SOCK_STREAM, Socket } from "../socket.ts";
import { State, TcpSocket } from "../tcp/endpoint.ts";
import { ACK, FIN, PSH, RST, SYN } from "../tcp/segment.ts";
import { seqAdd } from "../tcp/seq.ts";
import { ethernet, ipv4Packet, ipv6Packet, tcpSegment, udpDatagram } from "./craft.ts";
import { addr, assert, assertEquals, Net, sock } from "./helpers.ts";

const A4 = parseIP("198.18.0.1")!;
const B4 = parseIP("198.18.0.2")!;
const A6 = parseIP("2001:db8::1")!;
const B6 = parseIP("2001:db8::2")!;

/** An established connection from net.a (client) to net.b:8080 (server). */
function connected(net: Net): { c: TcpSocket; s: TcpSocket } {
  const l = sock(net.b, AF_INET, SOCK_STREAM);
  l.bind(addr("0.0.0.0", 8080));
  l.listen(8);
  const c = sock(net.a, AF_INET, SOCK_STREAM) as TcpSocket;
  c.connect(addr("198.18.0.2", 8080));
  let s: Socket | number = -E.EAGAIN;
  assert(net.run(() => {
    if (typeof s === "number") s = l.accept();
    return typeof s !== "number" && c.state === State.Established;
  }));
  return { c, s: s as unknown as TcpSocket };
}

/** Injects a TCP segment into b as if from a's side of the connection. */
function injectToServer(
  net: Net,
  c: TcpSocket,
  spec: {
    seq: number;
    ack: number;
    flags: number;
    window?: number;
    options?: number[];
    data?: Uint8Array;
  },
) {
  const seg = tcpSegment({ src: A4, dst: B4, sport: c.localPort, dport: 8080, ...spec });
  const frame = ethernet(net.wireB.mac, net.wireA.mac, 0x0800, ipv4Packet(A4, B4, 6, seg));
  net.b.receiveFrame(net.b.nics[1], frame);
}

function countFramesFromB(net: Net, f: () => void): Uint8Array[] {
  const seen: Uint8Array[] = [];
  net.wireB.filter = (frame) => {
    seen.push(frame.slice());
    return frame;
  };
  f();
  net.wireB.filter = null;
  return seen;
}

Deno.test("RST with an in-window but wrong sequence number gets a challenge ACK (RFC 5961)", () => {
  const net = new Net();
  const { c, s } = connected(net);
  const frames = countFramesFromB(
    net,
    () => injectToServer(net, c, { seq: seqAdd(s.rcvNxt, 100), ack: 0, flags: RST }),
  );
  assertEquals(s.state, State.Established, "connection survives");
  assertEquals(frames.length, 1, "one challenge ACK");
  assertEquals(frames[0][14 + 20 + 13] & (ACK | RST), ACK);
  // Out of window entirely: silently dropped.
  const none = countFramesFromB(
    net,
    () => injectToServer(net, c, { seq: seqAdd(s.rcvNxt, 1 << 30), ack: 0, flags: RST }),
  );
  assertEquals(none.length, 0);
  // The exact sequence number resets.
  injectToServer(net, c, { seq: s.rcvNxt, ack: 0, flags: RST });
  assertEquals(s.state, State.Closed);
  assertEquals(s.recvfrom(new Uint8Array(1), 0), -E.ECONNRESET);
});

Deno.test("SYN on an established connection gets a challenge ACK, not a reset", () => {
  const net = new Net();
  const { c, s } = connected(net);
  const frames = countFramesFromB(
    net,
    () => injectToServer(net, c, { seq: seqAdd(s.rcvNxt, 5), ack: 0, flags: SYN }),
  );
  assertEquals(s.state, State.Established);
  assertEquals(frames.length, 1);
});

Deno.test("ACK injection: data with an ACK beyond SND.NXT is dropped", () => {
  const net = new Net();
  const { c, s } = connected(net);
  const una = s.sndUna;
  injectToServer(net, c, {
    seq: s.rcvNxt,
    ack: seqAdd(s.sndNxt, 1000),
    flags: ACK | PSH,
    data: new TextEncoder().encode("evil"),
  });
  assertEquals(s.recvBuf.readable, 0, "data not accepted");
  assertEquals(s.sndUna, una);
  // Too old an ACK also drops the segment.
  injectToServer(net, c, {
    seq: s.rcvNxt,
    ack: seqAdd(s.sndUna, -(1 << 30)),
    flags: ACK,
    data: new Uint8Array([1]),
  });
  assertEquals(s.recvBuf.readable, 0);
  // A good segment still works afterwards.
  injectToServer(net, c, { seq: s.rcvNxt, ack: s.sndUna, flags: ACK, data: new Uint8Array([7]) });
  assertEquals(s.recvBuf.readable, 1);
});

Deno.test("data outside the receive window is not stored", () => {
  const net = new Net();
  const { c, s } = connected(net);
  injectToServer(net, c, {
    seq: seqAdd(s.rcvNxt, 50_000_000),
    ack: s.sndUna,
    flags: ACK,
    data: new Uint8Array(1000),
  });
  assertEquals(s.recvBuf.ooo.length, 0);
  assertEquals(s.recvBuf.readable, 0);
});

Deno.test("out-of-order ranges are limited per connection", () => {
  const net = new Net({ stackB: { tcp: { maxOooRanges: 8 } } });
  const { c, s } = connected(net);
  for (let i = 1; i <= 40; i++) {
    injectToServer(net, c, {
      seq: seqAdd(s.rcvNxt, i * 20),
      ack: s.sndUna,
      flags: ACK,
      data: new Uint8Array(10),
    });
  }
  assert(s.recvBuf.ooo.length / 2 <= 8, `ranges ${s.recvBuf.ooo.length / 2}`);
  assert(net.b.stats.get("tcp.oooDropped") > 0);
});

Deno.test("huge window scale is clamped to 14, zero-length options do not loop", () => {
  const net = new Net();
  const l = sock(net.b, AF_INET, SOCK_STREAM);
  l.bind(addr("0.0.0.0", 9000));
  l.listen(4);
  // MSS, WS=200, then a zero-length option and garbage.
  const syn = tcpSegment({
    src: A4,
    dst: B4,
    sport: 40000,
    dport: 9000,
    seq: 1000,
    ack: 0,
    flags: SYN,
    options: [2, 4, 5, 0xb4, 1, 3, 3, 200, 8, 0, 0, 0],
  });
  net.b.nics[1].arp!.addStatic(A4, net.wireA.mac);
  net.b.receiveFrame(
    net.b.nics[1],
    ethernet(net.wireB.mac, net.wireA.mac, 0x0800, ipv4Packet(A4, B4, 6, syn)),
  );
  const child = net.b.tcp.connections()[0];
  assert(child && child.state === State.SynRcvd);
  assertEquals(child.sndWs, 14);
  // All-zero-length option area.
  const syn2 = tcpSegment({
    src: A4,
    dst: B4,
    sport: 40001,
    dport: 9000,
    seq: 1,
    ack: 0,
    flags: SYN,
    options: [5, 0, 5, 0, 5, 0, 5, 0],
  });
  net.b.receiveFrame(
    net.b.nics[1],
    ethernet(net.wireB.mac, net.wireA.mac, 0x0800, ipv4Packet(A4, B4, 6, syn2)),
  );
  assertEquals(net.b.tcp.connectionCount, 2);
});

Deno.test("bad TCP and UDP checksums are dropped", () => {
  const net = new Net();
  const u = sock(net.b, AF_INET, SOCK_DGRAM);
  u.bind(addr("0.0.0.0", 5353));
  const d = udpDatagram(A4, B4, 1, 5353, new Uint8Array([1, 2, 3]));
  d[9] ^= 0xff;
  net.b.receiveFrame(
    net.b.nics[1],
    ethernet(net.wireB.mac, net.wireA.mac, 0x0800, ipv4Packet(A4, B4, 17, d)),
  );
  assertEquals(u.recvfrom(new Uint8Array(10), 0), -E.EAGAIN);
  assertEquals(net.b.stats.get("udp.badChecksum"), 1);
  const good = udpDatagram(A4, B4, 1, 5353, new Uint8Array([1, 2, 3]));
  net.b.receiveFrame(
    net.b.nics[1],
    ethernet(net.wireB.mac, net.wireA.mac, 0x0800, ipv4Packet(A4, B4, 17, good)),
  );
  assertEquals(u.recvfrom(new Uint8Array(10), 0), 3);
});

Deno.test("IPv4 options are skipped safely; fragments reassemble; overlaps drop the datagram", () => {
  const net = new Net();
  const u = sock(net.b, AF_INET, SOCK_DGRAM);
  u.bind(addr("0.0.0.0", 7));
  const nic = net.b.nics[1];
  const send = (p: Uint8Array) =>
    net.b.receiveFrame(nic, ethernet(net.wireB.mac, net.wireA.mac, 0x0800, p));
  // Options: a record-route and a bogus option; the datagram is still delivered.
  send(
    ipv4Packet(A4, B4, 17, udpDatagram(A4, B4, 1, 7, new Uint8Array([9])), {
      ipOptions: [7, 7, 4, 0, 0, 0, 0, 0x99, 2],
    }),
  );
  assertEquals(u.recvfrom(new Uint8Array(10), 0), 1);
  const payload = udpDatagram(A4, B4, 1, 7, new Uint8Array(3000).fill(5));
  const frag = (off: number, len: number, more: boolean, id: number) =>
    send(ipv4Packet(A4, B4, 17, payload.subarray(off, off + len), { id, fragOffset: off, more }));
  frag(1480, 1480, true, 10);
  frag(0, 1480, true, 10);
  frag(2960, payload.length - 2960, false, 10);
  assertEquals(u.recvfrom(new Uint8Array(4000), 0), 3000, "reassembled out of order");
  frag(0, 1480, true, 11);
  frag(1472, 1480, true, 11); // overlaps by 8 bytes
  frag(2952, payload.length - 2952, false, 11);
  assertEquals(u.recvfrom(new Uint8Array(4000), 0), -E.EAGAIN, "overlapping datagram dropped");
  // Ping of death: a fragment reaching past 65535 is refused outright.
  const before = net.b.ipv4.reassembler.count;
  send(ipv4Packet(A4, B4, 17, new Uint8Array(1000), { id: 12, fragOffset: 65000, more: false }));
  assertEquals(net.b.ipv4.reassembler.count, before);
  assert(net.b.ipv4.reassembler.dropped > 0);
});

Deno.test("a fragment flood stays within the reassembly limits and times out", () => {
  const net = new Net();
  const nic = net.b.nics[1];
  for (let id = 0; id < 5000; id++) {
    net.b.receiveFrame(
      nic,
      ethernet(
        net.wireB.mac,
        net.wireA.mac,
        0x0800,
        ipv4Packet(A4, B4, 17, new Uint8Array(1400), { id, fragOffset: 0, more: true }),
      ),
    );
  }
  const r = net.b.ipv4.reassembler;
  assert(r.count <= r.limits.maxDatagrams, `datagrams ${r.count}`);
  assert(r.bytes <= r.limits.maxBytes);
  net.sleep(31e9);
  assertEquals(r.count, 0);
  assertEquals(r.bytes, 0);
});

Deno.test("IPv6: unknown extension header with 'discard and report' option, routing header, fragments", () => {
  const net = new Net();
  const u = sock(net.b, AF_INET6, SOCK_DGRAM);
  u.bind(addr("::", 9));
  const nic = net.b.nics[1];
  const send = (p: Uint8Array) =>
    net.b.receiveFrame(nic, ethernet(net.wireB.mac, net.wireA.mac, 0x86dd, p));
  const udp = udpDatagram(A6, B6, 1, 9, new Uint8Array([1, 2]));
  // Destination options with PadN only: delivered.
  send(ipv6Packet(A6, B6, 60, new Uint8Array([17, 0, 1, 4, 0, 0, 0, 0, ...udp])));
  assertEquals(u.recvfrom(new Uint8Array(10), 0), 2);
  // Unknown option type 0x80 (discard + ICMP): dropped.
  send(ipv6Packet(A6, B6, 60, new Uint8Array([17, 0, 0x80, 4, 0, 0, 0, 0, ...udp])));
  assertEquals(u.recvfrom(new Uint8Array(10), 0), -E.EAGAIN);
  // Routing header with segments left: dropped (we do not forward).
  send(ipv6Packet(A6, B6, 43, new Uint8Array([17, 0, 0, 1, 0, 0, 0, 0, ...udp])));
  assertEquals(u.recvfrom(new Uint8Array(10), 0), -E.EAGAIN);
  // Two fragments.
  const big = udpDatagram(A6, B6, 1, 9, new Uint8Array(2000).fill(3));
  const f1 = new Uint8Array([17, 0, 0, 1, 0, 0, 0, 42, ...big.subarray(0, 1232)]);
  const off = 1232;
  const f2 = new Uint8Array([17, 0, off >> 8, off & 0xf8, 0, 0, 0, 42, ...big.subarray(1232)]);
  send(ipv6Packet(A6, B6, 44, f2));
  send(ipv6Packet(A6, B6, 44, f1));
  assertEquals(u.recvfrom(new Uint8Array(4000), 0), 2000);
});

Deno.test("UDP: port unreachable ICMP reaches a connected sender as ECONNREFUSED", () => {
  const net = new Net();
  const u = sock(net.a, AF_INET, SOCK_DGRAM);
  assertEquals(u.connect(addr("198.18.0.2", 4444)), 0);
  assertEquals(u.sendto(new Uint8Array([1]), 0), 1);
  assert(net.run(() => u.recvfrom(new Uint8Array(4), 0) === -E.ECONNREFUSED, 5e9));
});

Deno.test("fuzz: random and mutated frames never crash the stack or grow it without bound", () => {
  const net = new Net();
  const errors: unknown[] = [];
  net.b.onInternalError = (e) => errors.push(e);
  const l = sock(net.b, AF_INET6, SOCK_STREAM);
  l.bind(addr("::", 80));
  l.listen(16);
  const u = sock(net.b, AF_INET, SOCK_DGRAM);
  u.bind(addr("0.0.0.0", 53));
  const { c, s } = connected(net);
  const nic = net.b.nics[1];
  const rnd = seededRandom(1234);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
  const seeds: Uint8Array[] = [
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x0800,
      ipv4Packet(
        A4,
        B4,
        6,
        tcpSegment({
          src: A4,
          dst: B4,
          sport: 1234,
          dport: 80,
          seq: 1,
          ack: 0,
          flags: SYN,
          options: [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7],
        }),
      ),
    ),
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x0800,
      ipv4Packet(
        A4,
        B4,
        6,
        tcpSegment({
          src: A4,
          dst: B4,
          sport: c.localPort,
          dport: 8080,
          seq: s.rcvNxt,
          ack: s.sndNxt,
          flags: ACK | PSH | FIN,
          data: bytes(100),
          options: [1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 9],
        }),
      ),
    ),
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x0800,
      ipv4Packet(A4, B4, 17, udpDatagram(A4, B4, 9, 53, bytes(40)), {
        ipOptions: [7, 7, 4, 0, 0, 0, 0],
      }),
    ),
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x0800,
      ipv4Packet(
        A4,
        B4,
        1,
        new Uint8Array([3, 4, 0, 0, 0, 0, 5, 0, ...ipv4Packet(B4, A4, 6, bytes(20))]),
      ),
    ),
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x0800,
      ipv4Packet(A4, B4, 17, bytes(600), { id: 77, fragOffset: 1480, more: true }),
    ),
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x0806,
      new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, ...net.wireA.mac, ...A4, 0, 0, 0, 0, 0, 0, ...B4]),
    ),
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x86dd,
      ipv6Packet(A6, B6, 0, new Uint8Array([58, 0, 1, 4, 0, 0, 0, 0, 128, 0, 0, 0, 0, 1, 0, 1])),
    ),
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x86dd,
      ipv6Packet(
        A6,
        B6,
        58,
        new Uint8Array([135, 0, 0, 0, 0, 0, 0, 0, ...B6, 1, 1, ...net.wireA.mac]),
        255,
      ),
    ),
    ethernet(
      net.wireB.mac,
      net.wireA.mac,
      0x86dd,
      ipv6Packet(A6, B6, 44, new Uint8Array([6, 0, 0, 1, 0, 0, 0, 1, ...bytes(64)])),
    ),
  ];
  const deadline = performance.now() + 3000;
  let n = 0;
  while (performance.now() < deadline) {
    for (let k = 0; k < 200; k++, n++) {
      let f: Uint8Array;
      const pick = rnd();
      if (pick < 0.1) {
        f = bytes(Math.floor(rnd() * 200));
      } else {
        f = seeds[Math.floor(rnd() * seeds.length)].slice();
        const flips = 1 + Math.floor(rnd() * 6);
        for (let i = 0; i < flips; i++) {
          const at = 14 + Math.floor(rnd() * Math.max(1, f.length - 14));
          if (at < f.length) f[at] = Math.floor(rnd() * 256);
        }
        if (rnd() < 0.2) f = f.subarray(0, Math.floor(rnd() * f.length));
      }
      net.b.receiveFrame(nic, f);
    }
    net.now += 50e6;
    net.a.advance(net.now);
    net.b.advance(net.now);
    net.settle();
  }
  if (errors.length) throw errors[0];
  assert(n > 1000, `fuzzed ${n} frames`);
  assert(net.b.tcp.connectionCount < 300, `connections ${net.b.tcp.connectionCount}`);
  assert(net.b.ipv4.reassembler.bytes <= net.b.ipv4.reassembler.limits.maxBytes);
  assert(net.b.nics[1].arp!.size <= 512 && net.b.nics[1].ndp!.size <= 512);
  assert(net.b.timers.size < 5000, `timers ${net.b.timers.size}`);
});
