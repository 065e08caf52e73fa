// podman (Debian's 4.3.1, with conmon) driving dist/cordon as its OCI runtime, for real:
// run --rm with exit codes, run -d, logs, exec (plain and -it), stop (SIGTERM, then SIGKILL
// after the timeout), kill, ps, inspect, rm -f, run -it, --network=none, the bridge network
// and --network=host, and a Debian image made with debootstrap (cached in tests/build/oci/;
// skipped with a message when debootstrap is not installed). Every container this file makes is removed, even when a test fails.
import { assert, assertEquals, BUILD, busyboxRootfs, CORDON, eventually, run } from "./helpers.ts";

const PODMAN = ["/usr/bin/podman", "/bin/podman"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const IS_ROOT = Deno.uid() === 0;
const ignore = !PODMAN || !IS_ROOT;
if (ignore) {
  console.log(`podman tests skipped: ${!PODMAN ? "podman is not installed" : "not root"}`);
}

const PREFIX = `cordon-test-${Deno.pid}`;
let counter = 0;
const name = () => `${PREFIX}-${++counter}`;

function env(): Record<string, string> {
  Deno.mkdirSync(BUILD, { recursive: true });
  const conf = `${BUILD}/containers.conf`;
  // The machine lacks CAP_SYS_RESOURCE: podman's default ulimits would fail (shared/podman.md).
  Deno.writeTextFileSync(
    conf,
    `[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n`,
  );
  return { CONTAINERS_CONF: conf, PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
}

function podman(args: string[], opts: { timeoutMs?: number; stdin?: string } = {}) {
  return run([PODMAN!, "--runtime", CORDON, ...args], { env: env(), ...opts });
}

/** Imports a root filesystem directory as an image (once per tag). */
async function importImage(rootfs: string, image: string): Promise<void> {
  if ((await run([PODMAN!, "image", "exists", image], { env: env() })).code === 0) return;
  const tar = `${BUILD}/${image.replace(/[^a-z0-9]/g, "_")}.tar`;
  const t = await run(["tar", "-C", rootfs, "--exclude=./.complete", "-cf", tar, "."]);
  assertEquals(t.code, 0, `tar: ${t.stderr}`);
  const r = await run([PODMAN!, "import", tar, image], { env: env(), timeoutMs: 300_000 });
  Deno.removeSync(tar);
  assertEquals(r.code, 0, `podman import: ${r.stderr}`);
}

const BUSYBOX = "localhost/cordon-test-busybox:1";

async function cleanup(): Promise<void> {
  const ids = await run([PODMAN!, "ps", "-a", "-q", "--filter", `name=${PREFIX}`], { env: env() });
  for (const id of ids.stdout.split("\n").filter(Boolean)) {
    await run([PODMAN!, "--runtime", CORDON, "rm", "-f", "-t", "0", id], { env: env() });
  }
}

async function withPodman(body: () => Promise<void>): Promise<void> {
  await importImage(busyboxRootfs(), BUSYBOX);
  try {
    await body();
  } finally {
    await cleanup();
  }
}

/** Runs a command under a pseudo-terminal (script), feeding it input line by line. */
async function underTty(cmd: string[], lines: string[]): Promise<{ code: number; output: string }> {
  const quoted = cmd.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const feed =
    lines.map((l) => `sleep 1.5; printf '%s\\n' '${l.replaceAll("'", "'\\''")}'`).join("; ") +
    "; sleep 2";
  const r = await run([
    "/bin/sh",
    "-c",
    `(${feed}) | script -qfec "${quoted.replaceAll('"', '\\"')}" /dev/null`,
  ], {
    env: env(),
    timeoutMs: 120_000,
  });
  return { code: r.code, output: r.stdout + r.stderr };
}

Deno.test(
  { name: "podman: run --rm passes output and exit codes; --network=none", ignore },
  async () => {
    await withPodman(async () => {
      const ok = await podman([
        "run",
        "--rm",
        "--network=none",
        BUSYBOX,
        "/bin/sh",
        "-c",
        "echo hello; echo oops >&2",
      ]);
      assertEquals(ok.code, 0, `run: ${ok.stderr}`);
      assertEquals(ok.stdout, "hello\n", "stdout");
      assert(ok.stderr.includes("oops"), `stderr: ${ok.stderr}`);
      assertEquals(
        (await podman(["run", "--rm", "--network=none", BUSYBOX, "/bin/sh", "-c", "exit 3"])).code,
        3,
        "exit 3",
      );
      assertEquals(
        (await podman(["run", "--rm", "--network=none", BUSYBOX, "/bin/sh", "-c", "kill -9 $$"]))
          .code,
        137,
        "killed by SIGKILL",
      );
      const missing = await podman(["run", "--rm", "--network=none", BUSYBOX, "/no/such/thing"]);
      assert(missing.code !== 0, "a missing program fails");
      assert(missing.stderr.includes("/no/such/thing"), `message: ${missing.stderr}`);
      // The other platform, through --runtime-flag.
      const pt = await run([
        PODMAN!,
        "--runtime",
        CORDON,
        "--runtime-flag",
        "platform=ptrace",
        "run",
        "--rm",
        "--network=none",
        BUSYBOX,
        "/bin/sh",
        "-c",
        "echo ptrace; exit 4",
      ], { env: env() });
      assertEquals(
        [pt.code, pt.stdout],
        [4, "ptrace\n"],
        `--runtime-flag platform=ptrace: ${pt.stderr}`,
      );

      // --network=none: the sandbox process runs in podman's namespace, which has only lo.
      const n = name();
      assertEquals(
        (await podman(["run", "-d", "--name", n, "--network=none", BUSYBOX, "sleep", "1000"])).code,
        0,
        "run -d",
      );
      const pid = Number(
        (await podman(["inspect", n, "--format", "{{.State.Pid}}"])).stdout.trim(),
      );
      assert(pid > 0, "inspect gives the sandbox's pid");
      const links = await run(["nsenter", "-t", String(pid), "-n", "ip", "-o", "link"]);
      const names = links.stdout.split("\n").filter(Boolean).map((l) => l.split(":")[1].trim());
      assertEquals(names, ["lo"], "interfaces in the sandbox process's network namespace");
      assert(
        Deno.readLinkSync(`/proc/${pid}/ns/net`) !== Deno.readLinkSync("/proc/self/ns/net"),
        "not the host's network",
      );
    });
  },
);

Deno.test(
  { name: "podman: run -d, logs, exec, ps, inspect, stop, kill, rm -f", ignore },
  async () => {
    await withPodman(async () => {
      const n = name();
      const r = await podman([
        "run",
        "-d",
        "--name",
        n,
        "--network=none",
        BUSYBOX,
        "/bin/sh",
        "-c",
        'echo started; trap "echo stopping; exit 0" TERM; while true; do sleep 0.1; done',
      ]);
      assertEquals(r.code, 0, `run -d: ${r.stderr}`);
      await eventually(
        "the first log line",
        async () => (await podman(["logs", n])).stdout.includes("started"),
      );
      const ps = await podman([
        "ps",
        "--filter",
        `name=${n}`,
        "--format",
        "{{.Names}} {{.Status}}",
      ]);
      assert(ps.stdout.startsWith(`${n} Up`), `podman ps: ${ps.stdout}`);
      const inspect = JSON.parse((await podman(["inspect", n])).stdout)[0];
      assertEquals(
        [inspect.State.Status, inspect.State.Running],
        ["running", true],
        "inspect: state",
      );
      assert(inspect.State.Pid > 0, "inspect: pid");

      const e = await podman([
        "exec",
        n,
        "/bin/sh",
        "-c",
        "echo exec-out; echo exec-err >&2; exit 6",
      ]);
      assertEquals([e.code, e.stdout], [6, "exec-out\n"], `exec: ${e.stderr}`);
      assert(e.stderr.includes("exec-err"), `exec stderr: ${e.stderr}`);
      const e2 = await podman([
        "exec",
        "--env",
        "X=y",
        "--workdir",
        "/tmp",
        n,
        "/bin/sh",
        "-c",
        'echo "$X $(pwd)"',
      ]);
      assertEquals(e2.stdout, "y /tmp\n", "exec --env --workdir");

      // stop: SIGTERM, which the init traps and exits on.
      const stop = await podman(["stop", "-t", "10", n]);
      assertEquals(stop.code, 0, `stop: ${stop.stderr}`);
      const stopped = JSON.parse((await podman(["inspect", n])).stdout)[0].State;
      assertEquals([stopped.Status, stopped.ExitCode], ["exited", 0], "after stop");
      assert((await podman(["logs", n])).stdout.includes("stopping"), "the init saw SIGTERM");
      assertEquals((await podman(["rm", n])).code, 0, "rm of a stopped container");

      // stop of an init that ignores SIGTERM: SIGKILL after the timeout.
      const n2 = name();
      assertEquals(
        (await podman([
          "run",
          "-d",
          "--name",
          n2,
          "--network=none",
          BUSYBOX,
          "/bin/sh",
          "-c",
          'trap "" TERM; while true; do sleep 0.1; done',
        ])).code,
        0,
        "run -d n2",
      );
      await new Promise((r) => setTimeout(r, 300));
      await podman(["stop", "-t", "1", n2]);
      const killed = JSON.parse((await podman(["inspect", n2])).stdout)[0].State;
      assertEquals([killed.Status, killed.ExitCode], ["exited", 137], "stop escalates to SIGKILL");

      // kill (SIGKILL by default), and rm -f of a running container.
      const n3 = name();
      assertEquals(
        (await podman(["run", "-d", "--name", n3, "--network=none", BUSYBOX, "sleep", "1000"]))
          .code,
        0,
        "run -d n3",
      );
      assertEquals((await podman(["kill", n3])).code, 0, "kill");
      await eventually(
        "the killed container to exit",
        async () => JSON.parse((await podman(["inspect", n3])).stdout)[0].State.Status === "exited",
      );
      const n4 = name();
      assertEquals(
        (await podman(["run", "-d", "--name", n4, "--network=none", BUSYBOX, "sleep", "1000"]))
          .code,
        0,
        "run -d n4",
      );
      const pid = Number(
        (await podman(["inspect", n4, "--format", "{{.State.Pid}}"])).stdout.trim(),
      );
      assertEquals((await podman(["rm", "-f", n4])).code, 0, "rm -f of a running container");
      await eventually("the sandbox process to go", () => {
        try {
          Deno.statSync(`/proc/${pid}`);
          return false;
        } catch {
          return true;
        }
      });
      assertEquals(
        (await podman(["ps", "-a", "--filter", `name=${n4}`, "-q"])).stdout.trim(),
        "",
        "rm -f removed it",
      );
    });
  },
);

Deno.test(
  { name: "podman: run -it gives an interactive shell; exec -it too", ignore },
  async () => {
    await withPodman(async () => {
      const it = await underTty([
        PODMAN!,
        "--runtime",
        CORDON,
        "run",
        "-it",
        "--rm",
        "--network=none",
        BUSYBOX,
        "/bin/sh",
      ], [
        "echo $((6*7)) from $(tty)",
        "exit 5",
      ]);
      assert(/42 from \/dev\/pts\/\d+/.test(it.output), `run -it output: ${it.output}`);
      assertEquals(it.code, 5, "run -it exit status");

      const n = name();
      assertEquals(
        (await podman(["run", "-d", "--name", n, "--network=none", BUSYBOX, "sleep", "1000"])).code,
        0,
        "run -d",
      );
      const ex = await underTty([PODMAN!, "--runtime", CORDON, "exec", "-it", n, "/bin/sh"], [
        "echo $((7*6)) in exec",
        "exit 4",
      ]);
      assert(ex.output.includes("42 in exec"), `exec -it output: ${ex.output}`);
      assertEquals(ex.code, 4, "exec -it exit status");
    });
  },
);

/** Serves one fixed reply to every TCP connection on port (all addresses of the host), for
 * the guest to fetch; returns the listener to close. */
function replyServer(reply: string): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  (async () => {
    for await (const conn of listener) {
      (async () => {
        try {
          const buf = new Uint8Array(4096);
          await conn.read(buf);
          const body = new TextEncoder().encode(reply);
          await conn.write(new TextEncoder().encode(
            `HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`,
          ));
          await conn.write(body);
        } catch {
          // the guest went away
        } finally {
          conn.close();
        }
      })();
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

Deno.test(
  { name: "podman: bridge network (netstack on podman's namespace) and --network=host", ignore },
  async () => {
    await withPodman(async () => {
      const token = `reply-${Deno.pid}-${Date.now()}`;
      const server = replyServer(token);
      try {
        // Bridge: podman's namespace has eth0 with an address from its bridge; the netstack
        // takes it over and reaches the host through the bridge's gateway.
        const br = await podman([
          "run",
          "--rm",
          BUSYBOX,
          "/bin/sh",
          "-c",
          "ip -o -4 addr show eth0 && gw=$(ip route | awk '/^default/ {print $3}') && " +
          `echo gw=$gw && wget -q -O - http://$gw:${server.port}/`,
        ], { timeoutMs: 120_000 });
        assertEquals(br.code, 0, `bridge: ${br.stdout}${br.stderr}`);
        assert(/eth0\s+inet \d+\.\d+\.\d+\.\d+\/\d+/.test(br.stdout), `eth0 address: ${br.stdout}`);
        assert(/gw=\d+\.\d+\.\d+\.\d+/.test(br.stdout), `default route: ${br.stdout}`);
        assert(br.stdout.includes(token), `fetched over the bridge: ${br.stdout}`);

        // The guest's address belongs to the netstack: the host side of the namespace no
        // longer holds it (so the host kernel does not answer for the guest).
        const n = name();
        assertEquals(
          (await podman(["run", "-d", "--name", n, BUSYBOX, "sleep", "1000"])).code,
          0,
          "run -d",
        );
        const pid = Number(
          (await podman(["inspect", n, "--format", "{{.State.Pid}}"])).stdout.trim(),
        );
        assert(pid > 0, "inspect gives the sandbox's pid");
        const hostSide = await run(["nsenter", "-t", String(pid), "-n", "ip", "-o", "-4", "addr"]);
        assert(!/eth0\s+inet /.test(hostSide.stdout), `taken over: ${hostSide.stdout}`);
        const guestSide = await podman(["exec", n, "ip", "-o", "-4", "addr"]);
        assert(/eth0\s+inet /.test(guestSide.stdout), `guest's view: ${guestSide.stdout}`);

        // Host network: the guest's sockets are the host's own, so the host's loopback is
        // the guest's.
        const hn = await podman([
          "run",
          "--rm",
          "--network=host",
          BUSYBOX,
          "wget",
          "-q",
          "-O",
          "-",
          `http://127.0.0.1:${server.port}/`,
        ]);
        assertEquals(hn.code, 0, `--network=host: ${hn.stdout}${hn.stderr}`);
        assert(hn.stdout.includes(token), `fetched over the host's loopback: ${hn.stdout}`);
      } finally {
        server.close();
      }
    });
  },
);

/** A Debian root made by debootstrap, built once (about a minute) and kept in the build
 * folder; null (with the reason) when it cannot be made. */
async function debianRootfs(): Promise<string | null> {
  const dir = `${BUILD}/debian-rootfs`;
  try {
    Deno.statSync(`${dir}/.complete`);
    return dir;
  } catch {
    // build it
  }
  const which = await run(["/bin/sh", "-c", "command -v debootstrap"]);
  if (which.code !== 0) {
    console.log(
      "podman Debian test skipped: debootstrap is not installed (apt-get install debootstrap)",
    );
    return null;
  }
  const tmp = `${dir}.tmp`;
  await run(["rm", "-rf", tmp]);
  const r = await run(["debootstrap", "--variant=minbase", "--include=python3", "bookworm", tmp], {
    timeoutMs: 900_000,
  });
  if (r.code !== 0) {
    console.log(
      `podman Debian test skipped: debootstrap failed: ${
        r.stderr.trim().split("\n").slice(-2).join(" ")
      }`,
    );
    return null;
  }
  Deno.writeTextFileSync(`${tmp}/.complete`, "");
  Deno.renameSync(tmp, dir);
  return dir;
}

Deno.test({ name: "podman: a Debian image made with debootstrap", ignore }, async () => {
  const rootfs = await debianRootfs();
  if (!rootfs) return;
  await withPodman(async () => {
    const image = "localhost/cordon-test-debian:1";
    await importImage(rootfs, image);
    const r = await podman([
      "run",
      "--rm",
      "--network=none",
      image,
      "/bin/sh",
      "-c",
      "cat /etc/debian_version; python3 -c 'import sys; print(6*7, sys.version_info[0])'; id -un; exit 2",
    ]);
    assertEquals(r.code, 2, `exit status: ${r.stderr}`);
    const lines = r.stdout.trim().split("\n");
    assert(/^12\./.test(lines[0]), `debian_version: ${r.stdout}`);
    assertEquals(lines.slice(1), ["42 3", "root"], "python3 and id in the Debian image");
    const n = name();
    assertEquals(
      (await podman(["run", "-d", "--name", n, "--network=none", image, "sleep", "1000"])).code,
      0,
      "run -d",
    );
    const e = await podman([
      "exec",
      n,
      "/bin/bash",
      "-c",
      "ls /usr/bin | wc -l; echo $BASH_VERSION",
    ]);
    assertEquals(e.code, 0, `exec bash: ${e.stderr}`);
    assert(Number(e.stdout.split("\n")[0]) > 50, `ls /usr/bin: ${e.stdout}`);
  });
});
