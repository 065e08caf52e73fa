// The sandbox process as the host sees it: its namespaces, its root, capabilities,
// no_new_privs and seccomp; the network namespace a config names; cgroups and their limits;
// the terminal handed over a console socket.
import * as ffi from "../../ffi/oci.ts";
import { host } from "../../ffi/host.ts";
import { assert, assertEquals, CORDON, eventually, readText, run, withRoot } from "./helpers.ts";

const SLEEPER = ["/bin/sh", "-c", "while true; do sleep 0.1; done"];

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readText(`/proc/${pid}/status`).split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

function ns(pid: number | "self", kind: string): string {
  return Deno.readLinkSync(`/proc/${pid}/ns/${kind}`);
}

Deno.test("oci sandbox: own namespaces, an empty root, only file capabilities, no_new_privs, seccomp", async () => {
  await withRoot("harden", async (t) => {
    const b = t.bundle("b", { args: SLEEPER });
    assertEquals((await t.detached(["run", "--detach", "--bundle", b, "h"], "h")).code, 0, "run");
    const pid = (await t.state("h")).pid!;
    for (const kind of ["mnt", "pid", "ipc", "uts", "net", "cgroup"]) {
      assert(
        ns(pid, kind) !== ns("self", kind),
        `the sandbox process shares our ${kind} namespace`,
      );
    }
    const s = status(pid);
    assertEquals(s.NoNewPrivs, "1", "NoNewPrivs");
    assertEquals(s.Seccomp, "2", "Seccomp (filter mode)");
    // The bundle's root has CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETUID, SETGID: the sentry
    // keeps the file ones (bits 0, 1, 3) and nothing else, in every set.
    for (const set of ["CapEff", "CapPrm", "CapBnd"]) {
      assertEquals(parseInt(s[set], 16), 0b1011, set);
    }
    assertEquals(parseInt(s.CapInh, 16), 0, "CapInh");
    assertEquals(parseInt(s.CapAmb, 16), 0, "CapAmb");
    // Its root holds only /proc and the container's own trees.
    const top = [...Deno.readDirSync(`/proc/${pid}/root`)].map((e) => e.name).sort();
    assertEquals(top, ["binds", "proc", "root"], "the sandbox process's root");
    const mounts = readText(`/proc/${pid}/mounts`);
    assert(/^cordon-root \/ tmpfs ro,/m.test(mounts), `the root is a read-only tmpfs: ${mounts}`);
    // The seccomp allowlist leaves out what a sentry never needs.
    const allowed = new Set(ffi.syscallAllowlist());
    for (
      const [name, nr] of [
        ["execve", 59],
        ["mount", 165],
        ["ptrace is allowed", -1],
        ["open_by_handle_at", 304],
        ["bpf", 321],
        ["unshare", 272],
        ["setns", 308],
        ["keyctl", 250],
      ] as const
    ) {
      if (nr >= 0) assert(!allowed.has(nr), `${name} is in the sentry's allowlist`);
    }
    assert(allowed.size < 160, `the allowlist has ${allowed.size} entries`);
    // The sandbox process is forked from the CLI, yet keeps none of the CLI's descriptors:
    // not one the engine left open across exec (a FIFO here, as conmon leaves pipes).
    const fifo = `${t.dir}/inherited.fifo`;
    assertEquals((await run(["mkfifo", fifo])).code, 0, "mkfifo");
    const withFifo = await run([
      "/bin/sh",
      "-c",
      'exec 5<>"$FIFO"; exec "$@" >/dev/null 2>&1 </dev/null',
      "sh",
      CORDON,
      "--root",
      t.root,
      "run",
      "--detach",
      "--bundle",
      b,
      "fds",
    ], { env: { FIFO: fifo } });
    assertEquals(withFifo.code, 0, "run --detach with an inherited fd");
    const fdsPid = (await t.state("fds")).pid!;
    for (const e of Deno.readDirSync(`/proc/${fdsPid}/fd`)) {
      let target = "";
      try {
        target = Deno.readLinkSync(`/proc/${fdsPid}/fd/${e.name}`);
      } catch {
        continue; // closed meanwhile
      }
      assert(
        target !== fifo,
        `the sandbox process holds the CLI's inherited fd (its fd ${e.name})`,
      );
    }
    assertEquals((await t.cordon(["delete", "--force", "fds"])).code, 0, "delete fds");
    // The guest sees none of it: its own root, its hostname, pid 1.
    const e = await t.cordon(["exec", "h", "/bin/sh", "-c", "hostname; echo $$; ls /"]);
    assertEquals(e.stdout.split("\n").slice(0, 1), ["oci-test"], "hostname");
    assert(e.stdout.includes("bin\n"), `the guest sees its rootfs: ${e.stdout}`);
  });
});

Deno.test("oci sandbox: a network namespace given by path is joined; without one, a new one", async () => {
  const name = `cordon-test-${Deno.pid}`;
  const added = await run(["ip", "netns", "add", name]);
  if (added.code !== 0) {
    console.log(`skipped: ip netns add failed: ${added.stderr.trim()}`);
    return;
  }
  try {
    await withRoot("netns", async (t) => {
      const joined = t.bundle("joined", {
        args: SLEEPER,
        linux: {
          namespaces: [{ type: "pid" }, { type: "network", path: `/run/netns/${name}` }, {
            type: "mount",
          }],
        },
      });
      assertEquals(
        (await t.detached(["run", "--detach", "--bundle", joined, "n1"], "n1")).code,
        0,
        "run n1",
      );
      const pid = (await t.state("n1")).pid!;
      assertEquals(
        Deno.statSync(`/proc/${pid}/ns/net`).ino,
        Deno.statSync(`/run/netns/${name}`).ino,
        "joined the named namespace",
      );
      const hostNet = t.bundle("hostnet", {
        args: SLEEPER,
        linux: { namespaces: [{ type: "pid" }, { type: "mount" }] },
      });
      assertEquals(
        (await t.detached(["run", "--detach", "--bundle", hostNet, "n2"], "n2")).code,
        0,
        "run n2",
      );
      const pid2 = (await t.state("n2")).pid!;
      assertEquals(ns(pid2, "net"), ns("self", "net"), "no network namespace listed: the host's");
      const missing = t.bundle("missing", {
        args: SLEEPER,
        linux: { namespaces: [{ type: "network", path: "/run/netns/no-such-ns" }] },
      });
      const m = await t.detached(["create", "--bundle", missing, "n3"], "n3");
      assertEquals(m.code, 1, "a missing namespace path");
      assert(m.stderr.includes("linux.namespaces[0].path"), `message: ${m.stderr}`);
    });
  } finally {
    await run(["ip", "netns", "del", name]);
  }
});

Deno.test("oci sandbox: cgroups get the limits, update changes them, delete removes them", async () => {
  const v2 = (() => {
    try {
      Deno.statSync("/sys/fs/cgroup/cgroup.controllers");
      return true;
    } catch {
      return false;
    }
  })();
  const cg = `cordon-test-${Deno.pid}`;
  await withRoot("cgroups", async (t) => {
    const b = t.bundle("b", {
      args: SLEEPER,
      linux: {
        namespaces: [{ type: "pid" }, { type: "mount" }],
        cgroupsPath: `/${cg}`,
        resources: { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } },
      },
    });
    const r = await t.detached(["run", "--detach", "--bundle", b, "g"], "g");
    assertEquals(r.code, 0, `run: ${r.stderr}`);
    const pid = (await t.state("g")).pid!;
    const memDir = v2 ? `/sys/fs/cgroup/${cg}` : `/sys/fs/cgroup/memory/${cg}`;
    const pidsDir = v2 ? `/sys/fs/cgroup/${cg}` : `/sys/fs/cgroup/pids/${cg}`;
    assert(
      readText(`${memDir}/cgroup.procs`).split("\n").includes(String(pid)),
      "the sandbox process is in the memory cgroup",
    );
    const limit = Number(readText(`${memDir}/${v2 ? "memory.max" : "memory.limit_in_bytes"}`));
    assertEquals(
      limit,
      64 * 1024 * 1024 + 96 * 1024 * 1024,
      "memory limit: the container's plus the sentry's allowance",
    );
    // The CLI moves the sandbox process while it sets up; its stubs come after, so every
    // process of the sandbox is in the cgroup.
    const members = readText(`${memDir}/cgroup.procs`).split("\n");
    const children = readText(`/proc/${pid}/task/${pid}/children`).trim().split(/\s+/);
    assert(children.length >= 1 && children[0] !== "", "the sandbox process has stubs");
    for (const child of children) {
      assert(members.includes(child), `stub ${child} is in the memory cgroup: ${members}`);
    }
    assertEquals(readText(`${pidsDir}/pids.max`).trim(), "50", "pids limit");
    assert(Number(readText(`${pidsDir}/pids.current`)) >= 2, "the sandbox's processes are counted");
    assertEquals((await t.cordon(["update", "--pids-limit", "60", "g"])).code, 0, "update");
    assertEquals(readText(`${pidsDir}/pids.max`).trim(), "60", "pids limit after update");
    const stats = JSON.parse((await t.cordon(["events", "--stats", "g"])).stdout);
    assertEquals(stats.type, "stats", "events --stats");
    assert(
      stats.data.pids.current >= 2 && stats.data.memory.usage.usage > 0,
      `stats: ${JSON.stringify(stats)}`,
    );
    assertEquals((await t.cordon(["delete", "--force", "g"])).code, 0, "delete --force");
    let gone = false;
    try {
      Deno.statSync(memDir);
    } catch {
      gone = true;
    }
    assert(gone, `${memDir} is left after delete`);
  });
});

Deno.test("oci sandbox: --console-socket gets the terminal's master; the guest's terminal works and resizes", async () => {
  await withRoot("console", async (t) => {
    const sockPath = `${t.dir}/console.sock`;
    const listener = ffi.listen(sockPath, -1, "", true);
    assert(listener >= 0, `listen: ${listener}`);
    let master = -1;
    try {
      const b = t.bundle("b", {
        args: ["/bin/sh"],
        terminal: true,
        process: {
          consoleSize: { height: 33, width: 111 },
          env: ["PATH=/bin", "TERM=dumb", "PS1=$ "],
        },
        mounts: [
          { destination: "/proc", type: "proc", source: "proc" },
          { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"] },
          {
            destination: "/dev/pts",
            type: "devpts",
            source: "devpts",
            options: ["newinstance", "ptmxmode=0666", "mode=0620"],
          },
        ],
      });
      const created = await t.detached([
        "create",
        "--bundle",
        b,
        "--console-socket",
        sockPath,
        "tty",
      ], "tty");
      assertEquals(created.code, 0, `create: ${created.stderr}`);
      assertEquals(
        readText(created.out),
        "",
        "nothing on the CLI's stdout: the terminal has it all",
      );
      assert(ffi.oci().sb_oci_poll(listener, 1, 10_000) > 0, "no connection on the console socket");
      const conn = ffi.oci().sb_oci_accept(listener);
      assert(conn >= 0, `accept: ${conn}`);
      const got = ffi.recvMessage(conn, 10_000, 2);
      ffi.close(conn);
      assert(
        typeof got !== "number" && got.fds.length === 1,
        `no fd on the console socket: ${JSON.stringify(got)}`,
      );
      master = got.fds[0];
      assert(got.text.startsWith("/dev/pts/"), `the message names the pty: ${got.text}`);
      assertEquals((await t.cordon(["start", "tty"])).code, 0, "start");
      const h = host();
      const enc = new TextEncoder();
      let output = "";
      const readFor = async (want: RegExp) => {
        await eventually(`terminal output ${want} in ${JSON.stringify(output)}`, () => {
          const buf = new Uint8Array(4096);
          while (ffi.oci().sb_oci_poll(master, 1, 0) > 0) {
            const n = h.sb_h_read(master, buf, buf.length);
            if (n <= 0) break;
            output += new TextDecoder().decode(buf.subarray(0, n));
          }
          return want.test(output);
        }, 20_000);
      };
      const type = (s: string) => {
        const b = enc.encode(s);
        h.sb_h_write(master, b, b.length);
      };
      type("echo $((6*7)); tty; stty size\n");
      await readFor(/42\r?\n/);
      await readFor(/\/dev\/(pts\/\d+|console)/);
      await readFor(/33 111/);
      // Resize from the host side, as conmon does: the guest sees the new size.
      const ws = new Uint8Array(8);
      new DataView(ws.buffer).setUint16(0, 40, true);
      new DataView(ws.buffer).setUint16(2, 120, true);
      h.sb_h_ioctl(master, 0x5414, /* TIOCSWINSZ */ ws);
      await new Promise((r) => setTimeout(r, 200));
      type("stty size\n");
      await readFor(/40 120/);
      type("exit 3\n");
      await t.waitStatus("tty", "stopped");
      assertEquals(
        JSON.parse((await t.cordon(["wait", "tty"])).stdout).exitStatus,
        3,
        "the shell's exit status",
      );
    } finally {
      if (master >= 0) ffi.close(master);
      ffi.close(listener);
    }
  });
});

Deno.test("oci sandbox: run in the foreground on a terminal: the user's terminal is the console, restored afterwards", async () => {
  const hasScript = (await run(["/bin/sh", "-c", "command -v script"])).code === 0;
  if (!hasScript) {
    console.log("skipped: script(1) is not installed");
    return;
  }
  await withRoot("userterm", async (t) => {
    const b = t.bundle("b", {
      args: ["/bin/sh"],
      terminal: true,
      process: { env: ["PATH=/bin", "PS1=$ "] },
      mounts: [
        { destination: "/proc", type: "proc", source: "proc" },
        { destination: "/dev", type: "tmpfs", source: "tmpfs" },
        { destination: "/dev/pts", type: "devpts", source: "devpts" },
      ],
    });
    // The commands run under script(1)'s terminal, from a file, so no outer shell expands them.
    const inner = `${t.dir}/inner.sh`;
    Deno.writeTextFileSync(
      inner,
      `stty rows 30 cols 99\nbefore=$(stty -g)\n${CORDON} --root ${t.root} run --bundle ${b} u\n` +
        `echo "cli=$?"\n[ "$(stty -g)" = "$before" ] && echo restored\n`,
    );
    const feed =
      "sleep 2; printf 'echo $((6*7)) $(tty); stty size\\n'; sleep 1; printf 'sleep 30\\n'; sleep 1; " +
      "printf '\\003'; sleep 1; printf 'echo st=$?; exit 7\\n'; sleep 2";
    const r = await run(["/bin/sh", "-c", `(${feed}) | script -qfec "sh ${inner}" /dev/null`], {
      timeoutMs: 60_000,
    });
    const out = r.stdout;
    assert(/42 \/dev\/pts\/0/.test(out), `the guest's terminal: ${out}`);
    assert(out.includes("30 99"), `the size of the user's terminal: ${out}`);
    assert(out.includes("st=130"), `^C went to the guest's foreground job: ${out}`);
    assert(out.includes("cli=7"), `the exit status: ${out}`);
    assert(out.includes("restored"), `the terminal's settings are back: ${out}`);
  });
});

Deno.test("oci sandbox: the container's seccomp profile holds the guest: errno, argument conditions, kill, children, exec", async () => {
  const SCRIPT = [
    "mkdir /tmp/d 2>/dev/null; echo mkdir=$?",
    "touch /tmp/f; chmod 644 /tmp/f; echo chmod644=$?",
    "chmod 777 /tmp/f 2>/dev/null; echo chmod777=$?",
    "sh -c 'mkdir /tmp/e' 2>/dev/null; echo child-mkdir=$?",
    "grep Seccomp: /proc/self/status",
    "sync; echo sync=$?",
    "free >/dev/null; echo free=$?",
  ].join("; ");
  await withRoot("seccomp", async (t) => {
    const profile = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [
        { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        {
          names: ["chmod"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 1,
          args: [{ index: 1, value: 0o777, op: "SCMP_CMP_EQ" }],
        },
        {
          names: ["fchmodat"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: 1,
          args: [{ index: 2, value: 0o777, op: "SCMP_CMP_EQ" }],
        },
        { names: ["sync"], action: "SCMP_ACT_KILL_PROCESS" },
        { names: ["sysinfo"], action: "SCMP_ACT_TRAP" }, // SIGSYS, whose default kills
        { names: ["no_such_syscall"], action: "SCMP_ACT_KILL" }, // unknown names are skipped
      ],
    };
    const b = t.bundle("b", { args: ["/bin/sh", "-c", SCRIPT], linux: { seccomp: profile } });
    const r = await t.cordon(["run", "--bundle", b, "s1"]);
    assertEquals(r.code, 0, `run: ${r.stderr}`);
    assertEquals(
      r.stdout.split("\n"),
      [
        "mkdir=1", // EACCES, not made
        "chmod644=0", // the condition does not hold: allowed
        "chmod777=1", // it holds: EPERM
        "child-mkdir=1", // a child is held too
        "Seccomp:\t2",
        "sync=159", // killed by SIGSYS (128 + 31)
        "free=159",
        "",
      ],
      `stdout; stderr: ${r.stderr}`,
    );
    // A process started by exec is held to it as well.
    const bs = t.bundle("bs", { args: SLEEPER, linux: { seccomp: profile } });
    const started = await t.detached(["run", "--detach", "--bundle", bs, "s2"], "s2");
    assertEquals(started.code, 0, "run --detach");
    const e = await t.cordon(["exec", "s2", "/bin/mkdir", "/tmp/x"]);
    assert(e.code !== 0 && /denied/i.test(e.stderr), `exec mkdir: ${e.code} ${e.stderr}`);
    assertEquals((await t.cordon(["delete", "--force", "s2"])).code, 0, "delete");
    // A profile the sentry cannot honour is refused before anything starts, naming the field.
    const bad = t.bundle("bad", {
      args: ["/bin/true"],
      linux: {
        seccomp: {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{
            names: ["read"],
            action: "SCMP_ACT_ALLOW",
            includes: { caps: ["CAP_SYS_ADMIN"] },
          }],
        },
      },
    });
    const refused = await t.cordon(["run", "--bundle", bad, "s3"]);
    assert(
      refused.code !== 0 && refused.stderr.includes("linux.seccomp.syscalls[0].includes"),
      `includes: ${refused.code} ${refused.stderr}`,
    );
  });
});
