// The network modes of `cordon do`: none (loopback only), the default (a namespace of the
// sandbox's own behind NAT, when root and nft or iptables are there), host (host sockets);
// what ip, /proc/net, the interface ioctls and netlink show in each; ping sockets; the
// host-side veth going away with the sandbox.
import {
  assert,
  assertEquals,
  CORDON,
  cordonNetOk,
  NAT_POSSIBLE,
  PYTHON,
  REPO,
} from "./net_helpers.ts";

/** A server on the host answering "hello from the host <path>". */
function hostServer(hostname: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname, port: 0, onListen() {} },
    (req) => new Response(`hello from the host ${new URL(req.url).pathname}\n`),
  );
}

Deno.test("net modes: --network none has only lo", async () => {
  const out = await cordonNetOk([
    PYTHON,
    "-c",
    `
import socket, errno
print(socket.if_nameindex())
print([l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:]])
s = socket.socket()
try:
    s.connect(("192.0.2.1", 80))
except OSError as e:
    print("connect out:", errno.errorcode[e.errno])
`,
  ], { network: "none" });
  assertEquals(
    out.trim().split("\n"),
    ["[(1, 'lo')]", "['lo']", "connect out: ENETUNREACH"],
    "none mode",
  );
  const ip = await cordonNetOk(["ip", "-o", "addr"], { network: "none" });
  assert(/^1: lo\s+inet 127\.0\.0\.1\/8 scope host lo/m.test(ip), `ip -o addr: ${ip}`);
  assert(/^1: lo\s+inet6 ::1\/128 scope host/m.test(ip), `ip -o addr (v6): ${ip}`);
  assertEquals(ip.trim().split("\n").length, 2, "two addresses");
  const route = await cordonNetOk(["ip", "route"], { network: "none" });
  assertEquals(route.trim(), "", "ip route (the main table: loopback routes are local)");
  const more = await cordonNetOk([
    "sh",
    "-c",
    "ip link show lo; ip route get 127.0.0.5; ip -6 route; ip route show table local",
  ], {
    network: "none",
  });
  assert(more.includes("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536"), `ip link show lo: ${more}`);
  assert(/^local 127\.0\.0\.5 dev lo .*src 127\.0\.0\.1/m.test(more), `ip route get: ${more}`);
  assert(/^::1 dev lo /m.test(more), `ip -6 route: ${more}`);
  assert(/^local 127\.0\.0\.0\/8 dev lo /m.test(more), `ip route show table local: ${more}`);
});

Deno.test("net modes: interface ioctls and /proc/net/tcp describe the sandbox's sockets", async () => {
  const out = await cordonNetOk([
    PYTHON,
    "-c",
    `
import socket, fcntl, struct, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack("16s24x", b"lo")
print(socket.inet_ntoa(fcntl.ioctl(s, 0x8915, req)[20:24]))   # SIOCGIFADDR
print(socket.inet_ntoa(fcntl.ioctl(s, 0x891b, req)[20:24]))   # SIOCGIFNETMASK
print(struct.unpack("i", fcntl.ioctl(s, 0x8921, req)[16:20])[0])  # SIOCGIFMTU
print(hex(struct.unpack("H", fcntl.ioctl(s, 0x8913, req)[16:18])[0] & 0x49))  # SIOCGIFFLAGS: UP|LOOPBACK|RUNNING
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
port = l.getsockname()[1]
ino = os.fstat(l.fileno()).st_ino
rows = [r.split() for r in open("/proc/net/tcp").read().splitlines()[1:]]
mine = [r for r in rows if r[1] == "0100007F:%04X" % port]
print(len(mine), mine[0][3], mine[0][9] == str(ino))
`,
  ], { network: "none" });
  assertEquals(
    out.trim().split("\n"),
    ["127.0.0.1", "255.0.0.0", "65536", "0x49", "1 0A True"],
    "ioctls and /proc/net/tcp",
  );
});

Deno.test("net modes: ping sockets reach loopback; ping_group_range closes them", async () => {
  const out = await cordonNetOk([
    PYTHON,
    "-c",
    `
import socket, struct
def csum(b):
    if len(b) % 2: b += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
for fam, host, typ in ((socket.AF_INET, "127.0.0.1", 8), (socket.AF_INET6, "::1", 128)):
    s = socket.socket(fam, socket.SOCK_DGRAM, socket.IPPROTO_ICMP if fam == socket.AF_INET else socket.IPPROTO_ICMPV6)
    s.settimeout(20)
    body = struct.pack("!BBHHH", typ, 0, 0, 0, 7) + b"payload"
    if fam == socket.AF_INET:
        body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s.sendto(body, (host, 0))
    data, addr = s.recvfrom(100)
    print(host, data[0], struct.unpack("!H", data[6:8])[0], data[8:], addr[0])
open("/proc/sys/net/ipv4/ping_group_range", "w").write("1 0")
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
except PermissionError as e:
    print("after 1 0:", e.errno)
`,
  ], { network: "none" });
  assertEquals(out.trim().split("\n"), [
    "127.0.0.1 0 7 b'payload' 127.0.0.1",
    "::1 129 7 b'payload' ::1",
    "after 1 0: 13",
  ], "ping transcript");
});

Deno.test({
  name:
    "net modes: the default reaches a server on the host through NAT; the veth goes with the sandbox",
  ignore: !NAT_POSSIBLE,
  fn: async () => {
    const server = hostServer("0.0.0.0");
    try {
      const port = server.addr.port;
      const child = new Deno.Command(CORDON, {
        args: [
          "do",
          "--",
          "sh",
          "-c",
          `ip -o -4 addr show dev eth0; gw=$(ip route | awk '/^default/ {print $3}'); echo "gateway $gw"; curl -s -m 30 http://$gw:${port}/through-nat`,
        ],
        cwd: REPO,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000),
      }).spawn();
      const out = await child.output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, `exit status (${text}${new TextDecoder().decode(out.stderr)})`);
      assert(/eth0\s+inet 10\.213\.\d+\.\d+\/30/.test(text), `eth0 address: ${text}`);
      assert(/^gateway 10\.213\.\d+\.\d+$/m.test(text), `gateway: ${text}`);
      assert(text.includes("hello from the host /through-nat"), `curl through NAT: ${text}`);
      // The sandbox process (the child's pid) named its host side of the veth after itself.
      // The kernel dismantles a dead namespace in the background: wait for it (generously).
      let gone = false;
      for (let i = 0; i < 200 && !gone; i++) {
        const link = await new Deno.Command("ip", {
          args: ["link", "show", `cdn${child.pid}h`],
          stdout: "null",
          stderr: "null",
        }).output();
        gone = link.code !== 0;
        if (!gone) await new Promise((r) => setTimeout(r, 50));
      }
      assertEquals(gone, true, "the host-side veth is gone after the sandbox");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test("net modes: --network host uses the host's sockets and interfaces", async () => {
  const server = hostServer("127.0.0.1");
  try {
    const port = server.addr.port;
    const out = await cordonNetOk(
      ["curl", "-s", "-m", "30", `http://127.0.0.1:${port}/host-mode`],
      { network: "host" },
    );
    assertEquals(out, "hello from the host /host-mode\n", "curl to the host's loopback");
    const inside = await cordonNetOk(["ip", "-o", "link"], { network: "host" });
    const outside = new TextDecoder().decode(
      (await new Deno.Command("ip", { args: ["-o", "link"], stdout: "piped" }).output()).stdout,
    );
    const names = (s: string) =>
      s.trim().split("\n").map((l) => l.split(":")[1].trim().split("@")[0]).filter((n) =>
        !n.startsWith("cdn")
      ).sort();
    assertEquals(names(inside), names(outside), "the host's interfaces");
  } finally {
    await server.shutdown();
  }
});
