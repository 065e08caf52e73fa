// The network conformance programs (tests/conformance/progs/net_*.c) in the network modes the
// conformance suite does not use: --network none (the netstack without any host link) and
// --network host (host sockets). The suite itself runs them in cordon do's default mode.
import {
  compareTranscripts,
  CORDON,
  makeFixture,
  programPath,
  run,
} from "../conformance/harness.ts";

const PROGRAMS = ["net_tcp", "net_udp", "net_poll", "net_opts", "net_cmsg", "net_ifaces"];

for (const network of ["none", "host"] as const) {
  for (const name of PROGRAMS) {
    Deno.test(`net conformance: ${name} (glibc) with --network ${network}`, async () => {
      const binary = programPath(name, "glibc");
      const fixture = makeFixture();
      try {
        const native = await run([binary, fixture.input]);
        const sandboxed = await run([
          CORDON,
          "do",
          "--network",
          network,
          "--",
          binary,
          fixture.input,
        ]);
        const difference = compareTranscripts(native, sandboxed, `cordon do --network ${network}`);
        if (difference !== null) throw new Error(`${name}:\n${difference}`);
      } finally {
        Deno.removeSync(fixture.dir, { recursive: true });
      }
    });
  }
}
