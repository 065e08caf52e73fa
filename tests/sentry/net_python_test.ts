// python3 networking inside one sandbox: http.server answering urllib over 127.0.0.1 and
// ::1 (a large body with its digest), asyncio TCP streams and UDP datagrams, selectors,
// socket options and names, getaddrinfo of localhost, if_nameindex. Both platforms, in
// --network none (the netstack's loopback); one run in the default mode too.
import { assertEquals, cordonNetOk, NAT_POSSIBLE, PYTHON } from "./net_helpers.ts";

const HTTP = `
import hashlib, http.server, threading, urllib.request, socket
BODY = bytes((i * 7 + (i >> 8)) & 255 for i in range(3 * 1024 * 1024 + 17))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def do_POST(self):
        n = int(self.headers["Content-Length"])
        data = self.rfile.read(n)
        out = hashlib.sha256(data).hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a):
        pass
class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
for host, cls in (("127.0.0.1", http.server.ThreadingHTTPServer), ("::1", V6Server)):
    srv = cls((host, 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://%s:%d/" % (host if ":" not in host else "[" + host + "]", srv.server_address[1])
    got = urllib.request.urlopen(url, timeout=60).read()
    print(host, "GET", len(got), hashlib.sha256(got).digest() == hashlib.sha256(BODY).digest())
    payload = b"x" * 500000
    r = urllib.request.urlopen(urllib.request.Request(url, data=payload, method="POST"), timeout=60).read()
    print(host, "POST", r.decode() == hashlib.sha256(payload).hexdigest())
    srv.shutdown()
`;

const ASYNCIO = `
import asyncio, socket
async def main():
    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data.upper())
            await writer.drain()
        writer.close()
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    results = []
    async def client(i):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        msg = (b"client%d-" % i) * 5000
        w.write(msg)
        await w.drain()
        w.write_eof()
        got = b""
        while chunk := await r.read(65536):
            got += chunk
        results.append(got == msg.upper())
        w.close()
    await asyncio.gather(*(client(i) for i in range(8)))
    print("tcp clients", len(results), all(results))
    server.close()
    loop = asyncio.get_running_loop()
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, t): self.t = t
        def datagram_received(self, data, addr): self.t.sendto(data[::-1], addr)
    st, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    addr = st.get_extra_info("sockname")
    done = loop.create_future()
    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data, a): done.set_result(data)
    ct, _ = await loop.create_datagram_endpoint(Client, remote_addr=addr)
    ct.sendto(b"datagram")
    print("udp", await asyncio.wait_for(done, 30))
asyncio.run(main())
`;

const SOCKETS = `
import socket, selectors
print("127.0.0.1" in {a[4][0] for a in socket.getaddrinfo("localhost", 80, proto=socket.IPPROTO_TCP)})
print(socket.if_nameindex()[0])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 0)); l.listen(5); l.setblocking(False)
c = socket.socket(); c.setblocking(False)
print("connect_ex", c.connect_ex(l.getsockname()) in (0, 115))
sel = selectors.DefaultSelector()
sel.register(l, selectors.EVENT_READ)
print("listener ready", len(sel.select(10)))
s, peer = l.accept()
print("peer is client", peer == c.getsockname(), "SO_ERROR", c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("nodelay", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
c.send(b"ping"); s.setblocking(True); print(s.recv(10))
c.close(); print("eof", s.recv(10))
try:
    socket.create_connection(("127.0.0.1", l.getsockname()[1] + 1 if l.getsockname()[1] < 65535 else 1), timeout=10)
except ConnectionRefusedError as e:
    print("refused", e.errno)
`;

for (const platform of ["trap", "ptrace"] as const) {
  Deno.test(`net python: http.server and urllib over 127.0.0.1 and ::1 (${platform})`, async () => {
    const out = await cordonNetOk([PYTHON, "-c", HTTP], { network: "none", platform });
    assertEquals(out.trim().split("\n"), [
      "127.0.0.1 GET 3145745 True",
      "127.0.0.1 POST True",
      "::1 GET 3145745 True",
      "::1 POST True",
    ], "http transcript");
  });

  Deno.test(`net python: asyncio TCP streams and UDP datagrams (${platform})`, async () => {
    const out = await cordonNetOk([PYTHON, "-c", ASYNCIO], { network: "none", platform });
    assertEquals(
      out.trim().split("\n"),
      ["tcp clients 8 True", "udp b'margatad'"],
      "asyncio transcript",
    );
  });

  Deno.test(`net python: sockets, selectors, names, options, refusal (${platform})`, async () => {
    const out = await cordonNetOk([PYTHON, "-c", SOCKETS], { network: "none", platform });
    assertEquals(out.trim().split("\n"), [
      "True",
      "(1, 'lo')",
      "connect_ex True",
      "listener ready 1",
      "peer is client True SO_ERROR 0",
      "nodelay 1",
      "b'ping'",
      "eof b''",
      "refused 111",
    ], "sockets transcript");
  });
}

Deno.test({
  name: "net python: http.server and urllib in the default network mode",
  ignore: !NAT_POSSIBLE,
  fn: async () => {
    const out = await cordonNetOk([PYTHON, "-c", HTTP]);
    assertEquals(out.trim().split("\n").length, 4, "four results");
    assertEquals(out.includes("False"), false, "every check passed: " + out);
  },
});
