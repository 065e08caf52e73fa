// The socket-shaped API as the sentry uses it: readiness masks and wakeup callbacks,
// MSG_PEEK, shutdown halves, SO_LINGER, TCP_INFO, options round-trips, dual-stack sockets.
import { AF_INET, AF_INET6, ipToString } from "../addr.ts";
import * as E from "../errno.ts";
import {
  intValue,
  IPPROTO_TCP,
  lingerValue,
  MSG_PEEK,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SO_ERROR,
  SO_LINGER,
  SO_RCVBUF,
  SOCK_DGRAM,
  SOCK_STREAM,
  Socket,
  SOL_SOCKET,
  TCP_INFO,
  TCP_NODELAY,
} from "../socket.ts";
import { Stack } from "../stack.ts";
import { State, TcpSocket } from "../tcp/endpoint.ts";
import { addr, assert, assertEquals, sock } from "./helpers.ts";

function pair(
  stack: Stack,
  family = AF_INET,
  host = "127.0.0.1",
): { l: Socket; c: Socket; s: Socket } {
  const l = sock(stack, family, SOCK_STREAM);
  l.bind(addr(host, 0));
  l.listen(4);
  const c = sock(stack, family, SOCK_STREAM);
  c.connect(addr(host, l.getsockname().port));
  const s = l.accept();
  if (typeof s === "number") throw new Error(`accept ${s}`);
  return { l, c, s };
}

const int = (v: Uint8Array | number) => {
  if (typeof v === "number") throw new Error(`getsockopt ${v}`);
  return new DataView(v.buffer, v.byteOffset).getInt32(0, true);
};

Deno.test("readiness callbacks fire on accept, data, EOF and reset; masks follow", () => {
  const stack = new Stack();
  const l = sock(stack, AF_INET, SOCK_STREAM);
  l.bind(addr("127.0.0.1", 0));
  l.listen(4);
  let lw = 0;
  l.onReadiness = () => lw++;
  const c = sock(stack, AF_INET, SOCK_STREAM);
  assertEquals(c.readiness() & POLLOUT, POLLOUT, "fresh socket is writable/hung up like Linux");
  c.connect(addr("127.0.0.1", l.getsockname().port));
  assert(lw > 0, "listener woken");
  assertEquals(l.readiness() & POLLIN, POLLIN);
  const s = l.accept() as Socket;
  assertEquals(l.readiness() & POLLIN, 0);
  let sw = 0;
  s.onReadiness = () => sw++;
  assertEquals(s.readiness() & (POLLIN | POLLOUT), POLLOUT);
  c.sendto(new Uint8Array([1, 2, 3]), 0);
  assert(sw > 0);
  assertEquals(s.readiness() & POLLIN, POLLIN);
  const buf = new Uint8Array(8);
  assertEquals(s.recvfrom(buf, MSG_PEEK), 3);
  assertEquals(s.recvfrom(buf, 0), 3);
  assertEquals(s.recvfrom(buf, 0), -E.EAGAIN);
  c.shutdown(1);
  assertEquals(s.readiness() & (POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
  assertEquals(s.readiness() & POLLHUP, 0, "half closed is not hung up");
  assertEquals(s.recvfrom(buf, 0), 0);
  assertEquals(c.sendto(new Uint8Array(1), 0), -E.EPIPE);
  s.shutdown(1);
  assert(c.readiness() & POLLHUP);
  assert(s.readiness() & POLLHUP);
});

Deno.test("SO_LINGER 0 closes with RST; the peer sees ECONNRESET and POLLERR", () => {
  const stack = new Stack();
  const { c, s } = pair(stack);
  assertEquals(c.setsockopt(SOL_SOCKET, SO_LINGER, lingerValue(true, 0)), 0);
  c.close();
  assert(s.readiness() & POLLERR);
  assertEquals(int(s.getsockopt(SOL_SOCKET, SO_ERROR)), E.ECONNRESET);
  assertEquals(int(s.getsockopt(SOL_SOCKET, SO_ERROR)), 0, "SO_ERROR clears");
  assertEquals(stack.tcp.connectionCount, 0, "no TIME_WAIT after an abortive close");
});

Deno.test("TCP_INFO reports state, options and MSS; options round-trip", () => {
  const stack = new Stack();
  const { c } = pair(stack, AF_INET6, "::1");
  const info = c.getsockopt(IPPROTO_TCP, TCP_INFO) as Uint8Array;
  assertEquals(info[0], State.Established);
  assertEquals(info[5] & 7, 7, "timestamps, SACK, window scaling");
  assert(new DataView(info.buffer).getUint32(16, true) > 60000, "loopback MSS");
  assertEquals(c.setsockopt(IPPROTO_TCP, TCP_NODELAY, intValue(1)), 0);
  assertEquals(int(c.getsockopt(IPPROTO_TCP, TCP_NODELAY)), 1);
  assertEquals(c.setsockopt(SOL_SOCKET, SO_RCVBUF, intValue(100000)), 0);
  assert(int(c.getsockopt(SOL_SOCKET, SO_RCVBUF)) >= 200000, "doubled like Linux");
  assertEquals(c.getsockopt(99, 1), -E.ENOPROTOOPT);
});

Deno.test("dual-stack: an IPv6 listener accepts IPv4 clients and shows v4-mapped peers", () => {
  const stack = new Stack();
  const l = sock(stack, AF_INET6, SOCK_STREAM);
  assertEquals(l.bind(addr("::", 9090)), 0);
  l.listen(4);
  const c = sock(stack, AF_INET, SOCK_STREAM);
  c.connect(addr("127.0.0.1", 9090));
  const s = l.accept() as Socket;
  const peer = s.getpeername();
  assert(typeof peer !== "number");
  assertEquals(ipToString(peer.addr), "::ffff:7f00:1");
  assertEquals((s as TcpSocket).state, State.Established);
  const u = sock(stack, AF_INET6, SOCK_DGRAM);
  assertEquals(u.bind(addr("::", 5000)), 0);
  const u4 = sock(stack, AF_INET, SOCK_DGRAM);
  assertEquals(u4.sendto(new Uint8Array([1]), 0, addr("127.0.0.1", 5000)), 1);
  const from = { family: 0, addr: new Uint8Array(0), port: 0 };
  assertEquals(u.recvfrom(new Uint8Array(4), 0, from), 1);
  assertEquals(from.family, AF_INET6);
  assertEquals(ipToString(from.addr), "::ffff:7f00:1");
});

Deno.test("listen backlog: the accept queue holds backlog+1 connections, then SYNs wait", () => {
  const stack = new Stack();
  const l = sock(stack, AF_INET, SOCK_STREAM);
  l.bind(addr("127.0.0.1", 0));
  l.listen(1);
  const port = l.getsockname().port;
  const clients: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const c = sock(stack, AF_INET, SOCK_STREAM);
    c.connect(addr("127.0.0.1", port));
    clients.push(c);
  }
  assertEquals((l as TcpSocket).acceptQueue.length, 2);
  assert(
    clients.slice(2).every((c) =>
      (c as TcpSocket).state === State.SynSent || (c as TcpSocket).state === State.Established
    ),
  );
  let accepted = 0;
  for (let t = 0; t < 20 && accepted < 4; t++) {
    while (typeof l.accept() !== "number") accepted++;
    stack.advance(stack.now + 1.5e9);
  }
  assertEquals(accepted, 4, "the rest get in once the queue drains (SYN retransmission)");
});

Deno.test("UDP over ::1: loopback datagrams (zero checksum on a checksum-free link) arrive", () => {
  const stack = new Stack();
  const s = sock(stack, AF_INET6, SOCK_DGRAM);
  assertEquals(s.bind(addr("::", 0)), 0);
  const t = sock(stack, AF_INET6, SOCK_DGRAM);
  const port = s.getsockname().port;
  assertEquals(t.sendto(new TextEncoder().encode("six"), 0, addr("::1", port)), 3);
  const buf = new Uint8Array(8);
  const from = addr("::", 0);
  assertEquals(s.recvfrom(buf, 0, from), 3);
  assertEquals(ipToString(from.addr), "::1");
  assertEquals(stack.stats.get("udp.zeroChecksum6"), 0);
});

Deno.test("cloneUnconnected: after a refused connect a fresh socket with the options connects", () => {
  const stack = new Stack();
  const l = sock(stack, AF_INET, SOCK_STREAM);
  l.bind(addr("127.0.0.1", 0));
  const port = l.getsockname().port;
  const c = sock(stack, AF_INET, SOCK_STREAM) as TcpSocket;
  c.setsockopt(IPPROTO_TCP, TCP_NODELAY, intValue(1));
  c.setsockopt(SOL_SOCKET, SO_RCVBUF, intValue(65536));
  assertEquals(c.connect(addr("127.0.0.1", port)), -E.EINPROGRESS);
  assertEquals(c.state, State.Closed, "refused: nobody listens yet");
  assertEquals(c.connect(addr("127.0.0.1", port)), -E.ECONNREFUSED, "the error, once");
  const fresh = c.cloneUnconnected();
  c.close();
  assertEquals(int(fresh.getsockopt(IPPROTO_TCP, TCP_NODELAY)), 1);
  assertEquals(
    int(fresh.getsockopt(SOL_SOCKET, SO_RCVBUF)),
    int(c.getsockopt(SOL_SOCKET, SO_RCVBUF)),
  );
  l.listen(1);
  fresh.connect(addr("127.0.0.1", port));
  assertEquals(fresh.state, State.Established);
});

Deno.test("datagram metadata: the next datagram's destination, TTL, TOS and interface", () => {
  const stack = new Stack();
  const s = sock(stack, AF_INET, SOCK_DGRAM) as unknown as { nextMeta(): unknown } & Socket;
  s.bind(addr("127.0.0.1", 0));
  const t = sock(stack, AF_INET, SOCK_DGRAM);
  t.setsockopt(0, 2, intValue(9)); // IP_TTL
  t.setsockopt(0, 1, intValue(0x20)); // IP_TOS
  assertEquals(s.nextMeta(), null);
  t.sendto(new Uint8Array([1]), 0, addr("127.0.0.1", s.getsockname().port));
  const m = s.nextMeta() as { dst: Uint8Array; ttl: number; tos: number; ifindex: number };
  assertEquals(ipToString(m.dst), "127.0.0.1");
  assertEquals(m.ttl, 9);
  assertEquals(m.tos, 0x20);
  assertEquals(m.ifindex, stack.loopbackNic!.id);
});
