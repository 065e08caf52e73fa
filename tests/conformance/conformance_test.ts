// Runs every program listed in ENABLED, built with glibc and with musl, natively and under
// `cordon do` on each platform, and fails on any difference in stdout or exit status.
import {
  compareTranscripts,
  CORDON,
  LIBCS,
  makeFixture,
  PLATFORMS,
  programPath,
  readEnabled,
  run,
  sandboxedArgv,
} from "./harness.ts";

for (const name of readEnabled()) {
  for (const libc of LIBCS) {
    for (const platform of PLATFORMS) {
      Deno.test(`conformance: ${name} (${libc}) under --platform ${platform}`, async () => {
        const binary = programPath(name, libc);
        try {
          Deno.statSync(CORDON);
        } catch {
          throw new Error(`${CORDON} is missing: run ./compile.sh`);
        }
        const fixture = makeFixture();
        try {
          const args = [fixture.input];
          const native = await run([binary, ...args]);
          const sandboxed = await run(sandboxedArgv(binary, platform, args));
          const difference = compareTranscripts(
            native,
            sandboxed,
            `cordon do --platform ${platform}`,
          );
          if (difference !== null) throw new Error(`${name} (${libc}):\n${difference}`);
        } finally {
          Deno.removeSync(fixture.dir, { recursive: true });
        }
      });
    }
  }
}
