// Checks the conformance harness itself, without the sandbox: that it notices differences,
// missing programs and bad ENABLED lists, and that it records what a program did.
import {
  compareTranscripts,
  LIBCS,
  makeFixture,
  parseEnabled,
  programPath,
  readEnabled,
  run,
  type Transcript,
  unifiedDiff,
} from "./harness.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function assertEquals<T>(actual: T, expected: T): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`expected ${e}, got ${a}`);
}

function assertThrows(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    assert(pattern.test(message), `error '${message}' does not match ${pattern}`);
    return;
  }
  throw new Error(`expected an error matching ${pattern}`);
}

Deno.test("harness: ENABLED parsing skips comments and blank lines", () => {
  assertEquals(parseEnabled("# header\nhello\n\n  pipes  # pipes and EOF\n"), ["hello", "pipes"]);
});

Deno.test("harness: ENABLED rejects odd names and duplicates", () => {
  assertThrows(() => parseEnabled("hello\n../etc/passwd\n"), /line 2/);
  assertThrows(() => parseEnabled("hello\nhello\n"), /listed twice/);
});

Deno.test("harness: the checked-in ENABLED list parses and names existing sources", () => {
  const names = readEnabled();
  assert(names.includes("hello"), "ENABLED should list hello");
  for (const name of names) {
    Deno.statSync(new URL(`./progs/${name}.c`, import.meta.url));
  }
});

Deno.test("harness: a listed program without a source or a binary is an error", () => {
  assertThrows(() => programPath("no_such_program", "glibc"), /does not exist/);
  const sources = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${sources}/orphan.c`, "int main(void) { return 0; }\n");
    assertThrows(() => programPath("orphan", "musl", `${sources}/build`, sources), /is missing/);
  } finally {
    Deno.removeSync(sources, { recursive: true });
  }
});

Deno.test("harness: identical transcripts agree", () => {
  const transcript: Transcript = { stdout: "a\nb\n", status: "exit 0", stderr: "" };
  assertEquals(compareTranscripts(transcript, { ...transcript, stderr: "noise" }, "sandbox"), null);
});

Deno.test("harness: a different stdout fails with a diff", () => {
  const native: Transcript = { stdout: "one\ntwo\nthree\n", status: "exit 0", stderr: "" };
  const sandboxed: Transcript = { stdout: "one\nTWO\nthree\n", status: "exit 0", stderr: "why" };
  const report = compareTranscripts(native, sandboxed, "sandbox");
  assert(report !== null, "a stdout difference must be reported");
  assert(report.includes("-two") && report.includes("+TWO") && report.includes(" one"), report);
  assert(report.includes("sandbox stderr:\nwhy"), report);
});

Deno.test("harness: a different exit status fails", () => {
  const native: Transcript = { stdout: "", status: "exit 3", stderr: "" };
  const report = compareTranscripts(native, { ...native, status: "signal SIGSEGV" }, "sandbox");
  assert(
    report !== null && report.includes("native exit 3, sandbox signal SIGSEGV"),
    String(report),
  );
});

Deno.test("harness: unified diff marks insertions and deletions", () => {
  assertEquals(unifiedDiff("a\nb\nc", "a\nc\nd", "x", "y").split("\n"), [
    "--- x",
    "+++ y",
    "@@ -1,3 +1,3 @@",
    " a",
    "-b",
    " c",
    "+d",
  ]);
});

Deno.test("harness: native runs record stdout and exit status", async () => {
  for (const libc of LIBCS) {
    const fixture = makeFixture();
    try {
      const hello = await run([programPath("hello", libc), fixture.input]);
      assertEquals(hello.status, "exit 3");
      assert(hello.stdout.startsWith("hello from write(2)\n"), hello.stdout);
      const fileRead = await run([programPath("file_read", libc), fixture.input]);
      assertEquals(fileRead.status, "exit 0");
      assert(fileRead.stdout.includes("content: [hello, conformance file\n]"), fileRead.stdout);
    } finally {
      Deno.removeSync(fixture.dir, { recursive: true });
    }
  }
});

Deno.test("harness: a program killed by a signal is recorded as such", async () => {
  const killed = await run(["/bin/sh", "-c", "kill -KILL $$"]);
  assertEquals(killed.status, "signal SIGKILL");
});
