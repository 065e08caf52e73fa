// Conformance of the OCI life cycle, in the spirit of opencontainers/runtime-tools'
// validation suite, driven through dist/cordon with bundles: the states a container goes
// through, operations refused in the wrong state (and the state left unchanged), the pid
// file, hooks and their standard input, kill with each signal, delete --force of a running
// container, exec, ps, pause and resume, and what a failed create leaves behind (nothing).
import {
  alive,
  assert,
  assertEquals,
  eventually,
  readText,
  run,
  type TestRoot,
  withRoot,
} from "./helpers.ts";

const SLEEPER = ["/bin/sh", "-c", "echo ready; while true; do sleep 0.1; done"];

Deno.test("oci lifecycle: create, start, state, kill, delete; pid file; errors in wrong states", async () => {
  await withRoot("lifecycle", async (t) => {
    const bundle = t.bundle("b", { args: SLEEPER, annotations: { "org.example.key": "value" } });
    const pidFile = `${t.dir}/pid`;

    // Operations on a container that does not exist fail with status 1.
    for (
      const args of [
        ["state", "c1"],
        ["start", "c1"],
        ["kill", "c1"],
        ["delete", "c1"],
        ["exec", "c1", "/bin/true"],
        ["pause", "c1"],
        ["ps", "c1"],
      ]
    ) {
      const r = await t.cordon(args);
      assertEquals(r.code, 1, `${args[0]} of a missing container: exit status`);
      assert(r.stderr.includes("does not exist"), `${args[0]}: message: ${r.stderr}`);
    }
    assertEquals(
      (await t.cordon(["delete", "--force", "c1"])).code,
      0,
      "delete --force of a missing container",
    );

    const created = await t.detached(
      ["create", "--bundle", bundle, "--pid-file", pidFile, "c1"],
      "create",
    );
    assertEquals(created.code, 0, `create: ${created.stderr}`);
    let st = await t.state("c1");
    assertEquals(st.status, "created", "status after create");
    assertEquals(st.id, "c1", "id");
    assertEquals(st.bundle, bundle, "bundle");
    assertEquals(st.annotations, { "org.example.key": "value" }, "annotations");
    assert(typeof st.pid === "number" && st.pid > 0, `pid in state: ${st.pid}`);
    assertEquals(Number(readText(pidFile)), st.pid!, "the pid file holds the state's pid");
    assert(alive(st.pid!), "the sandbox process is alive after create");
    assertEquals(readText(created.out), "", "nothing runs before start");

    // Refused before start: a second create with the same id, exec, pause, resume; the
    // container stays created.
    const again = await t.detached(["create", "--bundle", bundle, "c1"], "create2");
    assertEquals(again.code, 1, "create of an existing id");
    assert(again.stderr.includes("already exists"), `create of an existing id: ${again.stderr}`);
    for (
      const args of [["exec", "c1", "/bin/true"], ["pause", "c1"], ["resume", "c1"], [
        "delete",
        "c1",
      ]]
    ) {
      assertEquals((await t.cordon(args)).code, 1, `${args[0]} of a created container`);
      assertEquals((await t.state("c1")).status, "created", `status after a refused ${args[0]}`);
    }

    assertEquals((await t.cordon(["start", "c1"])).code, 0, "start");
    assertEquals((await t.state("c1")).status, "running", "status after start");
    await eventually("the init's first output", () => readText(created.out).includes("ready"));
    const second = await t.cordon(["start", "c1"]);
    assertEquals(second.code, 1, "start of a running container");
    assertEquals((await t.state("c1")).status, "running", "status after a refused start");
    assertEquals((await t.cordon(["resume", "c1"])).code, 1, "resume of a running container");
    assertEquals((await t.cordon(["delete", "c1"])).code, 1, "delete of a running container");
    assertEquals((await t.state("c1")).status, "running", "status after a refused delete");

    // list shows it.
    const listed = JSON.parse((await t.cordon(["list", "--format", "json"])).stdout);
    assertEquals(listed.map((c: { id: string; status: string }) => [c.id, c.status]), [[
      "c1",
      "running",
    ]], "list");

    // kill (SIGTERM by default; sh's init ignores nothing here): stopped, with status 143.
    st = await t.state("c1");
    assertEquals((await t.cordon(["kill", "c1"])).code, 0, "kill");
    await t.waitStatus("c1", "stopped");
    st = await t.state("c1");
    assertEquals(st.pid, undefined, "a stopped container has no pid in its state");
    const waited = JSON.parse((await t.cordon(["wait", "c1"])).stdout);
    assertEquals(waited.exitStatus, 143, "exit status of init killed by SIGTERM");
    assertEquals((await t.cordon(["kill", "c1", "KILL"])).code, 1, "kill of a stopped container");
    assertEquals((await t.cordon(["start", "c1"])).code, 1, "start of a stopped container");
    assertEquals(
      (await t.cordon(["exec", "c1", "/bin/true"])).code,
      1,
      "exec in a stopped container",
    );

    assertEquals((await t.cordon(["delete", "c1"])).code, 0, "delete of a stopped container");
    assertEquals((await t.cordon(["state", "c1"])).code, 1, "state after delete");
    assertEquals((await t.cordon(["list", "--quiet"])).stdout.trim(), "", "list after delete");
  });
});

Deno.test("oci lifecycle: delete --force of a running container kills it", async () => {
  await withRoot("force", async (t) => {
    const bundle = t.bundle("b", { args: SLEEPER });
    assertEquals(
      (await t.detached(["run", "--detach", "--bundle", bundle, "c2"], "run")).code,
      0,
      "run --detach",
    );
    const pid = (await t.state("c2")).pid!;
    assert(alive(pid), "running");
    const r = await t.cordon(["delete", "--force", "c2"]);
    assertEquals(r.code, 0, `delete --force: ${r.stderr}`);
    await eventually("the sandbox process to exit", () => !alive(pid));
    assertEquals((await t.cordon(["state", "c2"])).code, 1, "state after delete --force");
  });
});

Deno.test("oci lifecycle: kill delivers each signal to init; SIGKILL and untrapped signals end it", async () => {
  await withRoot("signals", async (t) => {
    const trapped = [
      "HUP",
      "INT",
      "QUIT",
      "USR1",
      "USR2",
      "ALRM",
      "TERM",
      "CONT",
      "WINCH",
      "PIPE",
      "TSTP",
    ];
    const script = trapped.map((s) => `trap 'echo got ${s}' ${s};`).join(" ") +
      " echo ready; while true; do sleep 0.05; done";
    const bundle = t.bundle("b", { args: ["/bin/sh", "-c", script] });
    const started = await t.detached(["run", "--detach", "--bundle", bundle, "s1"], "s1");
    assertEquals(started.code, 0, `run: ${started.stderr}`);
    await eventually("ready", () => readText(started.out).includes("ready"));
    // Names, SIG-prefixed names and numbers are all accepted.
    const forms: Record<string, string> = { HUP: "SIGHUP", INT: "2", USR1: "usr1" };
    for (const s of trapped) {
      const r = await t.cordon(["kill", "s1", forms[s] ?? s]);
      assertEquals(r.code, 0, `kill ${s}: ${r.stderr}`);
      await eventually(
        `init's trap for ${s}`,
        () => readText(started.out).includes(`got ${s}`),
        15_000,
      );
    }
    assertEquals((await t.state("s1")).status, "running", "trapped signals leave init running");
    assertEquals(
      (await t.cordon(["kill", "s1", "NOTASIGNAL"])).code,
      1,
      "kill with a bad signal name",
    );
    assertEquals((await t.cordon(["kill", "s1", "KILL"])).code, 0, "kill KILL");
    await t.waitStatus("s1", "stopped");
    assertEquals(
      JSON.parse((await t.cordon(["wait", "s1"])).stdout).exitStatus,
      137,
      "SIGKILL: 128 + 9",
    );

    // An untrapped catchable signal kills with its own number; --all reaches every process.
    const b2 = t.bundle("b2", {
      args: ["/bin/sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait"],
    });
    const s2 = await t.detached(["run", "--detach", "--bundle", b2, "s2"], "s2");
    assertEquals(s2.code, 0, "run s2");
    await eventually("ready", () => readText(s2.out).includes("ready"));
    const ps = JSON.parse((await t.cordon(["ps", "--format", "json", "s2"])).stdout) as number[];
    assert(ps.length >= 3, `ps lists init and its two children: ${ps}`);
    assertEquals((await t.cordon(["kill", "--all", "s2", "USR2"])).code, 0, "kill --all USR2");
    await t.waitStatus("s2", "stopped");
    assertEquals(
      JSON.parse((await t.cordon(["wait", "s2"])).stdout).exitStatus,
      128 + 12,
      "SIGUSR2: 128 + 12",
    );
  });
});

Deno.test("oci lifecycle: run propagates exit codes; a missing program fails create, leaving nothing", async () => {
  await withRoot("run", async (t) => {
    const b = t.bundle("b", { args: ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"] });
    const r = await t.cordon(["run", "--bundle", b, "r1"]);
    assertEquals(r.code, 7, "exit status of run");
    assertEquals(r.stdout, "out\n", "stdout");
    assertEquals(r.stderr, "err\n", "stderr");
    assertEquals(
      (await t.cordon(["list", "-q"])).stdout.trim(),
      "",
      "run without --keep deletes the container",
    );

    const missing = t.bundle("missing", { args: ["/no/such/program"] });
    const m = await t.detached(["create", "--bundle", missing, "r2"], "r2");
    assertEquals(m.code, 1, "create with a missing program");
    assert(
      m.stderr.includes("/no/such/program") && m.stderr.includes("no such file"),
      `message: ${m.stderr}`,
    );
    assertEquals(
      (await t.cordon(["list", "-q"])).stdout.trim(),
      "",
      "a failed create leaves no container",
    );
    assert(!Deno.readDirSync(t.root).some(() => true), "nor anything in the root");
  });
});

Deno.test("oci lifecycle: hooks run in order with the state on stdin; failing and slow hooks fail create cleanly", async () => {
  await withRoot("hooks", async (t) => {
    const log = `${t.dir}/hooks.log`;
    Deno.writeTextFileSync(
      `${t.dir}/hook.sh`,
      `#!/bin/sh\nprintf '%s %s\\n' "$1" "$(cat)" >> ${log}\n`,
    );
    Deno.chmodSync(`${t.dir}/hook.sh`, 0o755);
    const kinds = [
      "prestart",
      "createRuntime",
      "createContainer",
      "startContainer",
      "poststart",
      "poststop",
    ];
    const hooks = Object.fromEntries(
      kinds.map((
        k,
      ) => [k, [{ path: `${t.dir}/hook.sh`, args: ["hook.sh", k], env: ["PATH=/bin:/usr/bin"] }]]),
    );
    const b = t.bundle("b", { args: SLEEPER, hooks });
    assertEquals((await t.detached(["create", "--bundle", b, "h1"], "h1")).code, 0, "create");
    assertEquals((await t.cordon(["start", "h1"])).code, 0, "start");
    assertEquals((await t.cordon(["delete", "--force", "h1"])).code, 0, "delete --force");
    const lines = readText(log).trim().split("\n");
    assertEquals(lines.map((l) => l.split(" ")[0]), kinds, "hooks in order");
    const pid = (JSON.parse(lines[0].slice(lines[0].indexOf(" ") + 1)) as { pid: number }).pid;
    for (const line of lines) {
      const [kind, json] = [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)];
      const state = JSON.parse(json);
      assertEquals(state.id, "h1", `${kind}: id on stdin`);
      assertEquals(state.bundle, b, `${kind}: bundle on stdin`);
      const want = {
        prestart: "creating",
        createRuntime: "creating",
        createContainer: "creating",
        startContainer: "created",
        poststart: "running",
        poststop: "stopped",
      }[kind];
      assertEquals(state.status, want, `${kind}: status on stdin`);
      if (kind !== "poststop") assertEquals(state.pid, pid, `${kind}: pid on stdin`);
    }

    // A failing createRuntime hook, or one that outlives its timeout: create fails, naming
    // the hook, and leaves no container and no process.
    const failing = t.bundle("fail", {
      args: SLEEPER,
      hooks: { createRuntime: [{ path: "/bin/false" }] },
    });
    const f = await t.detached(["create", "--bundle", failing, "h2"], "h2");
    assertEquals(f.code, 1, "create with a failing hook");
    assert(f.stderr.includes("createRuntime"), `message names the hook: ${f.stderr}`);
    const slow = t.bundle("slow", {
      args: SLEEPER,
      hooks: { prestart: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] },
    });
    const s = await t.detached(["create", "--bundle", slow, "h3"], "h3");
    assertEquals(s.code, 1, "create with a hook past its timeout");
    assert(s.stderr.includes("timed out"), `message: ${s.stderr}`);
    assertEquals(
      (await t.cordon(["list", "-q"])).stdout.trim(),
      "",
      "failed creates leave no container",
    );
  });
});

Deno.test("oci lifecycle: exec, ps, pause and resume", async () => {
  await withRoot("exec", async (t) => {
    const shared = `${t.dir}/shared`;
    Deno.mkdirSync(shared);
    const b = counterBundle(t, shared, false);
    assertEquals((await t.detached(["run", "--detach", "--bundle", b, "e1"], "e1")).code, 0, "run");
    const e = await t.cordon(["exec", "e1", "/bin/sh", "-c", "echo in; echo err >&2; exit 5"]);
    assertEquals(
      [e.code, e.stdout, e.stderr],
      [5, "in\n", "err\n"],
      "exec's exit status and stdio",
    );
    const env = await t.cordon([
      "exec",
      "--env",
      "FOO=bar",
      "--cwd",
      "/tmp",
      "e1",
      "/bin/sh",
      "-c",
      'echo "$FOO $(pwd) $PPID"',
    ]);
    assertEquals(
      env.stdout,
      "bar /tmp 0\n",
      "exec --env --cwd; an exec'd process has no parent in the sandbox",
    );
    const procFile = `${t.dir}/process.json`;
    Deno.writeTextFileSync(
      procFile,
      JSON.stringify({
        args: ["/bin/sh", "-c", "id -u; exit 3"],
        cwd: "/",
        env: ["PATH=/bin"],
        user: { uid: 65534, gid: 65534 },
      }),
    );
    const p = await t.cordon(["exec", "--process", procFile, "e1"]);
    assertEquals([p.code, p.stdout], [3, "65534\n"], "exec --process with another user");
    Deno.writeTextFileSync(
      procFile,
      JSON.stringify({ args: ["/bin/true"], cwd: "relative", user: { uid: 0, gid: 0 } }),
    );
    const bad = await t.cordon(["exec", "--process", procFile, "e1"]);
    assertEquals(bad.code, 1, "exec --process with a bad cwd");
    assert(bad.stderr.includes("process.cwd"), `message names the field: ${bad.stderr}`);

    // exec --detach: the pid file names a process that exits with the exec'd process's code.
    const pidFile = `${t.dir}/exec.pid`;
    const d = await t.detached([
      "exec",
      "--detach",
      "--pid-file",
      pidFile,
      "e1",
      "/bin/sh",
      "-c",
      "sleep 0.3; exit 9",
    ], "ed");
    assertEquals(d.code, 0, `exec --detach: ${d.stderr}`);
    const waiter = Number(readText(pidFile));
    assert(waiter > 0, "exec --detach wrote a pid");
    await eventually("the exec waiter to exit", () => !alive(waiter));

    const table = await t.cordon(["ps", "e1"]);
    const rows = table.stdout.trim().split("\n").map((l) => l.split(/\s+/));
    assertEquals(rows[0], ["UID", "PID", "PPID", "STAT", "THREADS", "CMD"], "ps header");
    assert(
      rows.some((r) => r[1] === "1" && r[2] === "0"),
      `ps lists init as pid 1: ${table.stdout}`,
    );

    await pausingHoldsIt(t, "e1", shared);
  });
});

/** The bundle of a container whose init counts into SHARED/count: in a tight loop when
 * `busy`, else every 50 ms. */
function counterBundle(t: TestRoot, shared: string, busy: boolean): string {
  const loop = busy
    ? "i=0; while true; do i=$((i+1)); echo $i > /shared/count; done"
    : "i=0; while true; do i=$((i+1)); echo $i > /shared/count; sleep 0.05; done";
  return t.bundle(busy ? "busy" : "b", {
    args: ["/bin/sh", "-c", loop],
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/tmp", type: "tmpfs", source: "tmpfs" },
      { destination: "/shared", type: "bind", source: shared, options: ["rbind", "rw"] },
    ],
  });
}

/** Paused, container `id` makes no progress (the counter its init writes to the shared folder
 * stands still) and takes no exec; resumed, it goes on. */
async function pausingHoldsIt(t: TestRoot, id: string, shared: string): Promise<void> {
  const count = () => Number(readText(`${shared}/count`).trim() || "0");
  await eventually("the counter to run", () => count() > 2);
  assertEquals((await t.cordon(["pause", id])).code, 0, "pause");
  assertEquals((await t.state(id)).status, "paused", "status after pause");
  assertEquals((await t.cordon(["exec", id, "/bin/true"])).code, 1, "exec in a paused container");
  assertEquals((await t.cordon(["pause", id])).code, 1, "pause of a paused container");
  await new Promise((r) => setTimeout(r, 100)); // a write in flight lands
  const frozen = count();
  await new Promise((r) => setTimeout(r, 500));
  assertEquals(count(), frozen, "no progress while paused");
  assertEquals((await t.cordon(["resume", id])).code, 0, "resume");
  assertEquals((await t.state(id)).status, "running", "status after resume");
  await eventually("the counter to run again", () => count() > frozen);
}

Deno.test("oci lifecycle: pause and resume on both platforms, a busy loop included", async () => {
  await withRoot("pause", async (t) => {
    for (const platform of ["trap", "ptrace"]) {
      const shared = `${t.dir}/shared-${platform}`;
      Deno.mkdirSync(shared);
      const b = counterBundle(t, shared, true);
      const id = `p-${platform}`;
      const r = await t.detached(
        ["--platform", platform, "run", "--detach", "--bundle", b, id],
        id,
      );
      assertEquals(r.code, 0, `run on ${platform}: ${r.stderr}`);
      await pausingHoldsIt(t, id, shared);
      assertEquals((await t.cordon(["delete", "--force", id])).code, 0, "delete --force");
    }
  });
});

Deno.test("oci lifecycle: without V8's --single-threaded (the source tree run bare), create refuses and leaves nothing", async () => {
  await withRoot("nofork", async (t) => {
    const b = t.bundle("b", { args: ["/bin/true"] });
    const main = new URL("../../src/main.ts", import.meta.url).pathname;
    const r = await run([
      Deno.execPath(),
      "run",
      "-A",
      main,
      "--root",
      t.root,
      "run",
      "--bundle",
      b,
      "n1",
    ]);
    assertEquals(r.code, 1, `exit status (stderr: ${r.stderr})`);
    assert(r.stderr.includes("--single-threaded"), `message: ${r.stderr}`);
    assertEquals((await t.cordon(["list", "-q"])).stdout.trim(), "", "nothing left behind");
  });
});
