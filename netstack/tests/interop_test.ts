// netstack against the Linux kernel's stack, across a veth pair between two network
// namespaces made here: Linux owns one end (198.18.0.1, 2001:db8::1), netstack drives the
// other through AF_PACKET (198.18.0.2, 2001:db8::2) in the tools/node.ts driver. Needs root;
// skipped otherwise. The kernel here has no sch_netem, so loss comes from nftables
// (numgen random) on the Linux side and delay/reordering/loss from netstack's
// ImpairedEndpoint on its own side.
import { fillPattern } from "../tools/node.ts";

const root = Deno.uid() === 0;
const hasIp = (() => {
  try {
    return new Deno.Command("ip", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();
const ignore = !root || !hasIp;
if (ignore) {
  console.error("interop tests skipped: they need root and iproute2 (network namespaces)");
}

const here = new URL(".", import.meta.url).pathname;
const repo = new URL("../../", import.meta.url).pathname;
const nodeTool = `${here}../tools/node.ts`;
const id = `${Deno.pid % 10000}${Math.floor(Math.random() * 1000)}`;
const NS_LINUX = `nsl${id}`;
const NS_STACK = `nss${id}`;
const DEV_LINUX = `vl${id}`;
const DEV_STACK = `vs${id}`;

async function sh(
  cmd: string[],
  check = true,
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const out = new TextDecoder().decode(r.stdout), err = new TextDecoder().decode(r.stderr);
  if (check && !r.success) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${err}${out}`);
  return { code: r.code, out, err };
}

const inLinux = (...cmd: string[]) => ["ip", "netns", "exec", NS_LINUX, ...cmd];

async function setup(): Promise<void> {
  try {
    Deno.statSync(`${repo}ffi/build/libsandbox.so`);
  } catch {
    await sh(["make", "-s", "-C", `${repo}ffi`]);
  }
  await sh(["ip", "netns", "add", NS_LINUX]);
  await sh(["ip", "netns", "add", NS_STACK]);
  await sh([
    "ip",
    "link",
    "add",
    "name",
    DEV_LINUX,
    "netns",
    NS_LINUX,
    "type",
    "veth",
    "peer",
    "name",
    DEV_STACK,
    "netns",
    NS_STACK,
  ]);
  await sh(["ip", "-n", NS_LINUX, "addr", "add", "198.18.0.1/24", "dev", DEV_LINUX]);
  await sh(["ip", "-n", NS_LINUX, "addr", "add", "2001:db8::1/64", "dev", DEV_LINUX, "nodad"]);
  await sh(["ip", "-n", NS_LINUX, "link", "set", "lo", "up"]);
  await sh(["ip", "-n", NS_LINUX, "link", "set", DEV_LINUX, "up"]);
  // The netstack side's kernel must stay silent on that interface: no addresses, no IPv6.
  await sh(["ip", "netns", "exec", NS_STACK, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
  await sh([
    "ip",
    "netns",
    "exec",
    NS_STACK,
    "sysctl",
    "-qw",
    `net.ipv6.conf.${DEV_STACK}.disable_ipv6=1`,
  ]);
  await sh(["ip", "-n", NS_STACK, "link", "set", DEV_STACK, "up"]);
}

async function teardown(): Promise<void> {
  await sh(["ip", "netns", "del", NS_LINUX], false);
  await sh(["ip", "netns", "del", NS_STACK], false);
}

interface NodeRun {
  done: Promise<{ code: number; result: any; stderr: string }>;
}

/** Starts the netstack node; resolves once it printed READY. */
async function startNode(mode: string[], extra: string[] = []): Promise<NodeRun> {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      NS_STACK,
      Deno.execPath(),
      "run",
      "-A",
      nodeTool,
      "--if",
      DEV_STACK,
      "--addr",
      "198.18.0.2/24",
      "--addr",
      "2001:db8::2/64",
      "--timeout",
      "60",
      ...extra,
      ...mode,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const errReader = child.stderr.getReader();
  let stderr = "";
  while (!stderr.includes("READY")) {
    const { value, done } = await errReader.read();
    if (done) break;
    stderr += new TextDecoder().decode(value);
  }
  const done = (async () => {
    const outP = new Response(child.stdout).text();
    const restErr = (async () => {
      for (;;) {
        const { value, done } = await errReader.read();
        if (done) break;
        stderr += new TextDecoder().decode(value);
      }
    })();
    const status = await child.status;
    const out = await outP;
    await restErr;
    let result: any = null;
    try {
      result = JSON.parse(out.trim().split("\n").pop() ?? "null");
    } catch { /* reported below */ }
    return { code: status.code, result, stderr };
  })();
  return { done };
}

function expected(n: number): Uint8Array {
  const b = new Uint8Array(n);
  fillPattern(b, 0);
  return b;
}

async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

const PY_SERVER = `
import socket, hashlib, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(90)
print("LISTENING", flush=True)
c, _ = s.accept(); c.settimeout(90); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d); n += len(d)
r = "%d %s" % (n, h.hexdigest()); print(r, flush=True)
c.sendall((r + "\\n").encode()); c.close()
`;

const PY_CLIENT = `
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
data = bytes(((i * 7 + (i >> 8)) & 255) for i in range(n))
s = socket.create_connection((host, port), timeout=60)
s.sendall(data); s.shutdown(socket.SHUT_WR)
r = b""
while True:
    d = s.recv(4096)
    if not d: break
    r += d
print(r.decode().strip())
`;

async function linuxServer(host: string, port: number): Promise<{ done: Promise<string> }> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", NS_LINUX, "python3", "-c", PY_SERVER, host, String(port)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let out = "";
  while (!out.includes("LISTENING")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  // Wrapped: an async function returning a bare promise would be awaited through.
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    await child.status;
    await child.stderr.cancel();
    return out;
  })();
  return { done };
}

const opts = { ignore, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "interop with Linux over veth",
  ...opts,
  async fn(t) {
    await teardown();
    await setup();
    try {
      await t.step("Linux pings netstack (IPv4 and IPv6)", async () => {
        const node = await startNode(["idle"], ["--timeout", "6"]);
        const p4 = await sh(inLinux("busybox", "ping", "-c", "3", "-W", "2", "198.18.0.2"), false);
        const p6 = await sh(
          inLinux("busybox", "ping6", "-c", "3", "-W", "2", "2001:db8::2"),
          false,
        );
        await node.done;
        if (!p4.out.includes("3 packets received")) throw new Error(p4.out + p4.err);
        if (!p6.out.includes("3 packets received")) throw new Error(p6.out + p6.err);
      });

      for (const host of ["198.18.0.1", "2001:db8::1"]) {
        await t.step(`netstack pings Linux ${host}`, async () => {
          const node = await startNode(["ping", host, "3"], ["--timeout", "10"]);
          const r = await node.done;
          if (r.code !== 0 || r.result?.result?.replies !== 3) throw new Error(JSON.stringify(r));
        });
      }

      for (
        const [server, client] of [["198.18.0.2", "198.18.0.1"], ["2001:db8::2", "2001:db8::1"]]
      ) {
        await t.step(`Linux client -> netstack server ${server}: 3 MB intact`, async () => {
          const file = await Deno.makeTempFile();
          try {
            const node = await startNode(["sink", "7001", file]);
            const c = await sh(
              inLinux("python3", "-c", PY_CLIENT, server, "7001", String(3_000_000)),
            );
            const r = await node.done;
            if (!c.out.includes("ok 3000000")) throw new Error(`client got ${c.out} ${c.err}`);
            if (r.code !== 0) throw new Error(r.stderr);
            const got = Deno.readFileSync(file);
            if (await sha256(got) !== await sha256(expected(3_000_000))) {
              throw new Error("bytes differ");
            }
          } finally {
            Deno.removeSync(file);
          }
          void client;
        });

        await t.step(`netstack client -> Linux server ${client}: 3 MB intact`, async () => {
          const srv = await linuxServer(client, 7002);
          const node = await startNode(["send", client, "7002", String(3_000_000)]);
          const r = await node.done;
          const out = await srv.done;
          const want = `3000000 ${await sha256(expected(3_000_000))}`;
          if (!out.includes(want)) throw new Error(`server saw ${out}; node ${JSON.stringify(r)}`);
          if (r.result?.result?.reply !== want) {
            throw new Error(`node got ${JSON.stringify(r.result)}`);
          }
        });
      }

      await t.step("curl fetches from the netstack HTTP server (IPv4 and IPv6)", async () => {
        const node = await startNode(["http", "8080"], ["--timeout", "8"]);
        const small = await sh(inLinux("curl", "-s", "-m", "10", "http://198.18.0.2:8080/"));
        if (small.out !== "hello from netstack\n") throw new Error(small.out);
        const big = await sh(
          inLinux("sh", "-c", "curl -s -m 20 http://198.18.0.2:8080/bytes/5000000 | sha256sum"),
        );
        if (!big.out.startsWith(await sha256(expected(5_000_000)))) {
          throw new Error(`sha mismatch ${big.out}`);
        }
        const v6 = await sh(
          inLinux(
            "sh",
            "-c",
            "curl -s -g -m 20 'http://[2001:db8::2]:8080/bytes/1000000' | sha256sum",
          ),
        );
        if (!v6.out.startsWith(await sha256(expected(1_000_000)))) {
          throw new Error(`v6 sha mismatch ${v6.out}`);
        }
        await sh(["ip", "netns", "exec", NS_STACK, "true"]);
        await node.done;
      });

      await t.step("transfers under loss, delay and reordering stay intact", async () => {
        // Linux side: 3% random loss each way on TCP (nftables numgen).
        const nft = `table inet lossy {
          chain in { type filter hook input priority 0; meta l4proto tcp numgen random mod 100 < 3 drop; }
          chain out { type filter hook output priority 0; meta l4proto tcp numgen random mod 100 < 3 drop; }
        }`;
        const f = await Deno.makeTempFile();
        Deno.writeTextFileSync(f, nft);
        await sh(inLinux("nft", "-f", f));
        Deno.removeSync(f);
        const impair = [
          "--delay-ms",
          "5",
          "--jitter-ms",
          "2",
          "--reorder",
          "0.05",
          "--loss",
          "0.01",
          "--timeout",
          "120",
        ];
        for (
          const [peer, local] of [["198.18.0.1", "198.18.0.2"], ["2001:db8::1", "2001:db8::2"]]
        ) {
          const srv = await linuxServer(peer, 7003);
          const node = await startNode(["send", peer, "7003", String(2_000_000)], impair);
          const r = await node.done;
          const want = `2000000 ${await sha256(expected(2_000_000))}`;
          if (!(await srv.done).includes(want) || r.result?.result?.reply !== want) {
            throw new Error(`netstack->Linux ${peer}: ${JSON.stringify(r.result)}`);
          }
          const file = await Deno.makeTempFile();
          try {
            const sink = await startNode(["sink", "7004", file], impair);
            const c = await sh(
              inLinux("python3", "-c", PY_CLIENT, local, "7004", String(2_000_000)),
            );
            await sink.done;
            if (!c.out.includes("ok 2000000")) {
              throw new Error(`Linux->netstack ${local}: ${c.out}${c.err}`);
            }
            if (
              await sha256(Deno.readFileSync(file)) !== await sha256(expected(2_000_000))
            ) throw new Error("bytes differ");
          } finally {
            Deno.removeSync(file);
          }
        }
        await sh(inLinux("nft", "delete", "table", "inet", "lossy"), false);
      });

      await t.step("--pcap-log writes a capture tcpdump reads", async () => {
        const file = await Deno.makeTempFile({ suffix: ".pcap" });
        try {
          const node = await startNode(["idle"], ["--timeout", "3", "--pcap-log", file]);
          await sh(inLinux("busybox", "ping", "-c", "2", "-W", "2", "198.18.0.2"), false);
          await node.done;
          const r = await sh(["tcpdump", "-n", "-r", file], false);
          if (!r.out.includes("ICMP echo request") || !r.out.includes("ICMP echo reply")) {
            throw new Error(`tcpdump: ${r.out} ${r.err}`);
          }
        } finally {
          Deno.removeSync(file);
        }
      });
    } finally {
      await teardown();
    }
  },
});
