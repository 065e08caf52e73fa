// Hostile guests (progs/hostile.c): each misbehaves in its own child process, and the
// sandbox must contain it (an error or a fatal signal for that child only), refuse to let
// it touch the platform's own pages, never run its syscalls on the host, and keep the
// parent and the sentry running.
const CORDON = Deno.env.get("CORDON_BIN") ?? new URL("../../dist/cordon", import.meta.url).pathname;
const SRC = new URL("./progs/hostile.c", import.meta.url).pathname;
const BIN = new URL("../build/hostile", import.meta.url).pathname;
const ESCAPE = "/tmp/cordon-hostile-escape";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

for (const platform of ["trap", "ptrace"]) {
  Deno.test(`hostile guests (${platform}) are contained`, () => {
    Deno.mkdirSync(new URL("../build", import.meta.url).pathname, { recursive: true });
    const b = new Deno.Command("gcc", { args: ["-static", "-O1", "-o", BIN, SRC] }).outputSync();
    assert(b.success, new TextDecoder().decode(b.stderr));
    try {
      Deno.removeSync(ESCAPE);
    } catch { /* absent */ }
    const log = Deno.makeTempFileSync({ dir: new URL("../build", import.meta.url).pathname, prefix: "hostile-" });
    try {
      const r = new Deno.Command(CORDON, {
        args: ["do", "--platform", platform, "--debug-log", log, "--", BIN],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(120_000),
      }).outputSync();
      const out = new TextDecoder().decode(r.stdout);
      const where = `\n--- stdout\n${out}\n--- stderr\n${new TextDecoder().decode(r.stderr)}`;
      assert(r.code === 0, `exit status ${r.code}${where}`);
      assert(out.includes("parent still running: yes"), `the parent did not survive${where}`);
      const after = (name: string) => out.split(name + ":\n")[1]?.split("\n").slice(0, 4).join("\n") ?? "";
      // Escaping into the stub: killed (trap: seccomp) or emulated and then killed (ptrace).
      assert(/ended by signal/.test(after("jump into the stub's text")), `stub jump${where}`);
      assert(/ended by signal/.test(after("scribble over the thread slots")), `slot scribble${where}`);
      assert(!after("map over the platform's pages").includes("ALLOWED"), `platform pages${where}`);
      assert(/exited 0/.test(after("map over the platform's pages")), `platform pages${where}`);
      assert(/ended by signal/.test(after("forged sigreturn frame")), `forged frame${where}`);
      assert(/ended by signal 9/.test(after("spin with every signal blocked")), `blocked spin${where}`);
      assert(/int 0x80 returned -38/.test(after("int 0x80")), `int 0x80${where}`);
      assert(/fork bomb created \d+ before the limit/.test(after("fork bomb")), `fork bomb${where}`);
      const bugs = Deno.readTextFileSync(log).split("\n").filter((l) => l.includes("sentry bug"));
      assert(bugs.length === 0, `internal errors:\n${bugs.join("\n")}`);
      let escaped = true;
      try {
        Deno.statSync(ESCAPE);
      } catch {
        escaped = false;
      }
      assert(!escaped, `the host ran a guest's mkdir (${ESCAPE} exists)`);
    } finally {
      Deno.removeSync(log);
    }
  });
}
