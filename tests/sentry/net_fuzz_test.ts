// Random socket calls with hostile arguments (progs/netfuzz.c) on inet, netlink and unix
// sockets, in the netstack modes (host mode would send the noise to the host's own
// services). The sentry must survive, stay responsive and record no internal error.
const CORDON = Deno.env.get("CORDON_BIN") ?? new URL("../../dist/cordon", import.meta.url).pathname;
const SRC = new URL("./progs/netfuzz.c", import.meta.url).pathname;
const BIN = new URL("../build/netfuzz", import.meta.url).pathname;

function build(): void {
  Deno.mkdirSync(new URL("../build", import.meta.url).pathname, { recursive: true });
  const r = new Deno.Command("gcc", { args: ["-static", "-O1", "-w", "-o", BIN, SRC] })
    .outputSync();
  if (!r.success) throw new Error(`building the fuzzer: ${new TextDecoder().decode(r.stderr)}`);
}

for (const [platform, network] of [["trap", "none"], ["ptrace", "none"], ["trap", "sandbox"]]) {
  Deno.test(`net fuzz (${platform}, --network ${network}): random socket calls, no internal error`, () => {
    build();
    for (const seed of [21, 22]) {
      const log = Deno.makeTempFileSync({
        dir: new URL("../build", import.meta.url).pathname,
        prefix: "netfuzz-log-",
      });
      try {
        const args = ["do", "--platform", platform, "--debug-log", log];
        // The default mode is the sandbox one when this machine allows it.
        if (network === "none") args.push("--network", "none");
        const r = new Deno.Command(CORDON, {
          args: [...args, "--", BIN, String(seed), "12"],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(120_000),
        }).outputSync();
        const out = new TextDecoder().decode(r.stdout);
        const err = new TextDecoder().decode(r.stderr);
        const bugs = Deno.readTextFileSync(log).split("\n").filter((l) =>
          l.includes("sentry bug") || l.includes("netstack internal error")
        );
        if (r.code !== 0 || !out.includes("kernel alive") || bugs.length) {
          throw new Error(
            `seed ${seed}: exit ${r.code}\nstdout: ${out}\nstderr: ${err}\nbugs:\n${
              bugs.join("\n")
            }`,
          );
        }
      } finally {
        Deno.removeSync(log);
      }
    }
  });
}
