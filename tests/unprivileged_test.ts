// `cordon do` as an ordinary user (issue 2): the sandbox needs no privilege of its own. Run
// as root, the test drops to nobody with a copy of dist/cordon it can execute.
const CORDON = new URL("../dist/cordon", import.meta.url).pathname;

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test({
  name: "cordon do works as an unprivileged user (nobody)",
  ignore: Deno.uid() !== 0,
  fn() {
    const dir = Deno.makeTempDirSync({ prefix: "cordon-unpriv-" });
    try {
      Deno.chmodSync(dir, 0o755);
      const bin = `${dir}/cordon`;
      Deno.copyFileSync(CORDON, bin);
      Deno.chmodSync(bin, 0o755);
      const home = `${dir}/home`;
      Deno.mkdirSync(home);
      Deno.chownSync(home, 65534, 65534);
      const script = 'id -u; echo inside > /tmp/f && cat /tmp/f; touch /etc/cordon-unpriv 2>/dev/null && echo wrote-etc; echo done';
      const r = new Deno.Command("setpriv", {
        args: ["--reuid=65534", "--regid=65534", "--clear-groups", "--", bin, "do", "--", "/bin/sh", "-c", script],
        env: { HOME: home, PATH: "/usr/bin:/bin" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const out = new TextDecoder().decode(r.stdout);
      const err = new TextDecoder().decode(r.stderr);
      assert(r.code === 0, `exit ${r.code}\n${out}\n${err}`);
      // The guest runs as the user; its writes (even to /etc, in the in-memory layer) stay in
      // the sandbox.
      assert(out.startsWith("65534\ninside\n"), out);
      assert(out.endsWith("done\n"), out);
      let leaked = true;
      try {
        Deno.statSync("/etc/cordon-unpriv");
      } catch {
        leaked = false;
      }
      assert(!leaked, "a write reached the host's /etc");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
