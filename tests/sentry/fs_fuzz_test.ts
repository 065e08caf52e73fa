// Random file system calls with hostile arguments (progs/fsfuzz.c) against the overlay, a
// writable volume's neighbour tree and /tmp: the sentry must survive with no internal
// error, and the host tree named in the arguments must not change (it is reached only
// through the overlay, which the fuzzer may wreck as it likes).
import { assert, cordonDo, digestDiff, REPO, scratchDir, treeDigest } from "./fs_helpers.ts";

const SRC = `${REPO}tests/sentry/progs/fsfuzz.c`;
const BIN = `${REPO}tests/build/fsfuzz`;

function build(): void {
  Deno.mkdirSync(`${REPO}tests/build`, { recursive: true });
  const r = new Deno.Command("gcc", { args: ["-static", "-O1", "-o", BIN, SRC] }).outputSync();
  if (!r.success) throw new Error(`building fsfuzz: ${new TextDecoder().decode(r.stderr)}`);
}

Deno.test("fs fuzz: hostile file syscalls leave the sentry alive and the host tree unchanged", async () => {
  build();
  const dir = scratchDir("fuzz-");
  Deno.writeTextFileSync(`${dir}/a`, "a\n");
  Deno.mkdirSync(`${dir}/d/e`, { recursive: true });
  Deno.symlinkSync("a", `${dir}/l`);
  Deno.symlinkSync("/etc/passwd", `${dir}/lnk-out`);
  const before = await treeDigest(dir);
  try {
    for (const seed of [1, 2, 3, 4]) {
      const log = `${dir}.log`;
      const r = await cordonDo([BIN, String(seed), "2500", dir], { doArgs: ["--debug-log", log] });
      const bugs = Deno.readTextFileSync(log).split("\n").filter((l) => l.includes("sentry bug"));
      Deno.removeSync(log);
      assert(bugs.length === 0, `seed ${seed}: internal errors:\n${bugs.join("\n")}`);
      // The fuzzer may crash itself (it scribbles on its own memory); the sandbox must
      // have run it, not refused it.
      assert(
        !r.stderr.includes("refusing to run"),
        `seed ${seed}: not on the overlay: ${r.stderr}`,
      );
      const after = await treeDigest(dir);
      assert(
        before === after,
        `seed ${seed}: the host tree changed:\n${digestDiff(before, after)}`,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
