// The TypeScript API (src/api.ts): a script runs commands in sandboxes and gets their
// output and exit status; the host is untouched.
import { doArgs, run } from "../src/api.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const CORDON = [new URL("../dist/cordon", import.meta.url).pathname];

Deno.test("api: output, exit status, stdin, environment", async () => {
  const r = await run(["/bin/sh", "-c", 'read x; echo "got $x $GREETING"; exit 7'], {
    cordon: CORDON,
    stdin: "hello\n",
    env: { GREETING: "hi", PATH: "/usr/bin:/bin" },
  });
  assert(r.code === 7, `exit status ${r.code}: ${r.stderrText}`);
  assert(r.stdoutText === "got hello hi\n", `stdout ${JSON.stringify(r.stdoutText)}`);
});

Deno.test("api: a signal death is reported as 128+N", async () => {
  const r = await run(["/bin/sh", "-c", "kill -TERM $$"], { cordon: CORDON });
  assert(r.code === 143, `exit status ${r.code}`);
});

Deno.test("api: writes stay inside the sandbox", async () => {
  const marker = `/cordon-api-test-${crypto.randomUUID()}`;
  const r = await run(["/bin/sh", "-c", `echo x > ${marker} && cat ${marker}`], { cordon: CORDON });
  assert(r.code === 0 && r.stdoutText === "x\n", `in the sandbox: ${r.code} ${r.stderrText}`);
  let exists = true;
  try {
    Deno.statSync(marker);
  } catch {
    exists = false;
  }
  assert(!exists, "the sandbox wrote to the host's root");
});

Deno.test("api: the timeout kills the sandbox", async () => {
  const r = await run(["/bin/sleep", "30"], { cordon: CORDON, timeoutMs: 1000 });
  assert(r.timedOut && r.code !== 0, `timedOut ${r.timedOut} code ${r.code}`);
});

Deno.test("api: options become cordon do arguments", () => {
  const a = doArgs(["true"], {
    rootfs: "/r",
    volumes: [{ host: "/h", guest: "/g", readonly: true }],
    memory: 1 << 20,
    platform: "ptrace",
  });
  assert(
    a.join(" ") === "do --rootfs /r --volume /h:/g:ro --memory 1048576 --platform ptrace -- true",
    a.join(" "),
  );
});
