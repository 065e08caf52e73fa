// The basics of the command line, run through the product itself (dist/cordon): version,
// help, and one-line errors with exit status 2 for what it does not understand.
import { VERSION } from "../src/version.ts";

const CORDON = Deno.env.get("CORDON_TEST_DIST") ??
  new URL("../dist/cordon", import.meta.url).pathname;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function cordon(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(CORDON, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("cli: --version prints the version and exits 0", async () => {
  const result = await cordon("--version");
  assert(result.code === 0, `exit status ${result.code}, stderr: ${result.stderr}`);
  assert(
    result.stdout === `cordon version ${VERSION}\n`,
    `stdout: ${JSON.stringify(result.stdout)}`,
  );
  assert(result.stderr === "", `stderr: ${result.stderr}`);
});

for (const args of [["--help"], ["-h"], ["help"]]) {
  Deno.test(`cli: ${args.join(" ")} prints the usage and exits 0`, async () => {
    const result = await cordon(...args);
    assert(result.code === 0, `exit status ${result.code}, stderr: ${result.stderr}`);
    assert(/^Usage:/m.test(result.stdout), `no usage in: ${result.stdout}`);
    assert(
      result.stdout.includes("cordon do"),
      `the usage does not mention 'cordon do': ${result.stdout}`,
    );
    assert(
      result.stdout.includes("--version"),
      `the usage does not mention --version: ${result.stdout}`,
    );
  });
}

for (
  const [what, word] of [["unknown command", "frobnicate"], ["unknown option", "--frobnicate"]]
) {
  Deno.test(`cli: an ${what} exits 2 with a one-line message`, async () => {
    const result = await cordon(word, "extra");
    assert(result.code === 2, `exit status ${result.code}`);
    assert(result.stdout === "", `stdout: ${result.stdout}`);
    const lines = result.stderr.trimEnd().split("\n");
    assert(lines.length === 1, `stderr has ${lines.length} lines: ${result.stderr}`);
    assert(lines[0].startsWith("cordon: "), `stderr: ${lines[0]}`);
    assert(lines[0].includes(word), `the message does not name '${word}': ${lines[0]}`);
  });
}
