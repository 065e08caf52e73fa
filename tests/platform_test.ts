// The platform on its own (ffi/tests/platform_test.c): hand-assembled guests driven through
// syscalls, faults, protections, interrupts, threads, FPU state and hostile behaviour, once
// per mechanism. The sentry's own tests (tests/sentry, tests/conformance) cover the same
// ground through the TypeScript side.
const ROOT = new URL("../", import.meta.url).pathname;

for (const mechanism of ["trap", "ptrace"]) {
  Deno.test(`platform (${mechanism}): C tests of libsandbox`, () => {
    const make = new Deno.Command("make", { args: ["-C", `${ROOT}ffi`, "-s", "build/platform_test"] }).outputSync();
    if (!make.success) throw new Error(new TextDecoder().decode(make.stderr));
    const r = new Deno.Command(`${ROOT}ffi/build/platform_test`, {
      args: [mechanism],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).outputSync();
    const out = new TextDecoder().decode(r.stdout), err = new TextDecoder().decode(r.stderr);
    if (r.code !== 0 || !out.includes("ok (0 failures)")) {
      throw new Error(`platform_test ${mechanism}: exit ${r.code}\n${out}\n${err}`);
    }
  });
}
