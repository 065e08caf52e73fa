import { AF_INET, AF_INET6 } from "../addr.ts";
import * as E from "../errno.ts";
import { POLLIN, POLLOUT, SOCK_STREAM, Socket } from "../socket.ts";
import { Stack } from "../stack.ts";
import { addr, assert, assertEquals, sock } from "./helpers.ts";

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function connectPair(stack: Stack, family: number, host: string): [Socket, Socket, Socket] {
  const l = sock(stack, family, SOCK_STREAM);
  assertEquals(l.bind(addr(host, 0)), 0);
  assertEquals(l.listen(16), 0);
  const port = l.getsockname().port;
  const c = sock(stack, family, SOCK_STREAM);
  assertEquals(c.connect(addr(host, port)), -E.EINPROGRESS);
  const s = l.accept();
  assert(typeof s !== "number", `accept: ${s}`);
  assert(c.readiness() & POLLOUT, "client writable after handshake");
  return [l, c, s as Socket];
}

for (const [family, host] of [[AF_INET, "127.0.0.1"], [AF_INET6, "::1"]] as const) {
  Deno.test(`tcp loopback ${host}: connect, transfer both ways, close`, () => {
    const stack = new Stack();
    const [l, c, s] = connectPair(stack, family, host);
    const data = pattern(1 << 20);
    let sent = 0, got = 0;
    const out = new Uint8Array(1 << 20);
    const buf = new Uint8Array(65536);
    for (let i = 0; i < 100000 && got < data.length; i++) {
      if (sent < data.length) {
        const n = c.sendto(data.subarray(sent, Math.min(data.length, sent + 100000)), 0);
        if (n > 0) sent += n;
        else assertEquals(n, -E.EAGAIN);
      }
      const m = s.recvfrom(buf, 0);
      if (m > 0) {
        out.set(buf.subarray(0, m), got);
        got += m;
      }
      stack.advance(i * 1000);
    }
    assertEquals(got, data.length);
    assert(out.every((v, i) => v === data[i]), "bytes match");
    // Reply the other way.
    assertEquals(s.sendto(new TextEncoder().encode("pong"), 0), 4);
    assertEquals(c.recvfrom(buf, 0), 4);
    // Close: client first.
    c.close();
    assertEquals(s.recvfrom(buf, 0), 0, "EOF after peer close");
    assert(s.readiness() & POLLIN);
    s.close();
    l.close();
    assertEquals(stack.tcp.connectionCount, 1, "only the TIME_WAIT side remains");
  });
}

Deno.test("tcp loopback: connection refused", () => {
  const stack = new Stack();
  const c = sock(stack, AF_INET, SOCK_STREAM);
  assertEquals(c.connect(addr("127.0.0.1", 9)), -E.EINPROGRESS);
  assertEquals(c.recvfrom(new Uint8Array(10), 0), -E.ECONNREFUSED);
});
