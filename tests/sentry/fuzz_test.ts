// Random system calls with hostile arguments from inside the sandbox (progs/fuzz.c), for a
// bounded number of calls per mechanism. The sentry must survive every one of them, stay
// responsive (the fuzzer's parent checks after each batch) and record no internal error:
// a caught exception in a handler still counts as a failure here.
const CORDON = Deno.env.get("CORDON_BIN") ?? new URL("../../dist/cordon", import.meta.url).pathname;
const SRC = new URL("./progs/fuzz.c", import.meta.url).pathname;
const BIN = new URL("../build/fuzz", import.meta.url).pathname;

function build(): void {
  Deno.mkdirSync(new URL("../build", import.meta.url).pathname, { recursive: true });
  const r = new Deno.Command("gcc", { args: ["-static", "-O1", "-o", BIN, SRC] }).outputSync();
  if (!r.success) throw new Error(`building the fuzzer: ${new TextDecoder().decode(r.stderr)}`);
}

for (const platform of ["trap", "ptrace"]) {
  Deno.test(`fuzz (${platform}): random syscalls leave the sentry alive, with no internal error`, () => {
    build();
    for (const seed of [11, 12, 13]) {
      const log = Deno.makeTempFileSync({ dir: new URL("../build", import.meta.url).pathname, prefix: "fuzz-log-" });
      try {
        const r = new Deno.Command(CORDON, {
          args: ["do", "--platform", platform, "--debug-log", log, "--", BIN, String(seed), "25", "600"],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(120_000),
        }).outputSync();
        const out = new TextDecoder().decode(r.stdout);
        const err = new TextDecoder().decode(r.stderr);
        const bugs = Deno.readTextFileSync(log).split("\n").filter((l) => l.includes("sentry bug"));
        if (r.code !== 0 || !out.includes("kernel alive") || bugs.length) {
          throw new Error(
            `seed ${seed}: exit ${r.code}\nstdout: ${out}\nstderr: ${err}\nbugs:\n${bugs.join("\n")}`,
          );
        }
      } finally {
        Deno.removeSync(log);
      }
    }
  });
}
