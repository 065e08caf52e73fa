// The differential conformance harness: runs a static test program natively and under
// `cordon do`, and compares what each printed on stdout and how each ended. Used by
// conformance_test.ts; its own behaviour is checked by harness_test.ts.

export const CONFORMANCE_DIR = new URL(".", import.meta.url).pathname;
export const REPO_ROOT = new URL("../../", import.meta.url).pathname;
export const BUILD_DIR = `${REPO_ROOT}tests/build/conformance`;
export const CORDON = `${REPO_ROOT}dist/cordon`;
export const LIBCS = ["glibc", "musl"] as const;
export const PLATFORMS = ["trap", "ptrace"] as const;
export type Libc = typeof LIBCS[number];
export type Platform = typeof PLATFORMS[number];

/** What a run left behind that must be the same natively and sandboxed. */
export interface Transcript {
  stdout: string;
  /** "exit N" or "signal NAME". */
  status: string;
  /** Kept for the failure message only: stderr may legitimately differ. */
  stderr: string;
}

/** Names from an ENABLED file: one per line, `#` starts a comment, blank lines ignored. */
export function parseEnabled(text: string): string[] {
  const names: string[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    const name = line.replace(/#.*/, "").trim();
    if (name === "") continue;
    if (!/^[a-z0-9_]+$/.test(name)) {
      throw new Error(`ENABLED line ${index + 1}: '${name}' is not a program name`);
    }
    if (names.includes(name)) throw new Error(`ENABLED line ${index + 1}: '${name}' listed twice`);
    names.push(name);
  }
  return names;
}

export function readEnabled(path = `${CONFORMANCE_DIR}ENABLED`): string[] {
  return parseEnabled(Deno.readTextFileSync(path));
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The built binary of a listed program; throws if its source or its binary is missing. */
export function programPath(
  name: string,
  libc: Libc,
  buildDir = BUILD_DIR,
  sourceDir = `${CONFORMANCE_DIR}progs`,
): string {
  if (!isFile(`${sourceDir}/${name}.c`)) {
    throw new Error(`'${name}' is listed in ENABLED but ${sourceDir}/${name}.c does not exist`);
  }
  const binary = `${buildDir}/${libc}/${name}`;
  if (!isFile(binary)) {
    throw new Error(`${binary} is missing: build it with \`make -C tests/conformance\``);
  }
  return binary;
}

/** Runs a command to completion (killed after `timeoutMs`) and records its transcript. */
export async function run(argv: string[], timeoutMs = 60_000): Promise<Transcript> {
  const [program, ...args] = argv;
  const output = await new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return {
    stdout: decoder.decode(output.stdout),
    status: output.signal ? `signal ${output.signal}` : `exit ${output.code}`,
    stderr: decoder.decode(output.stderr),
  };
}

export function sandboxedArgv(
  binary: string,
  platform: Platform,
  args: string[],
  cordon = CORDON,
): string[] {
  return [cordon, "do", "--platform", platform, "--", binary, ...args];
}

/**
 * A line diff of two texts in unified style (one hunk covering everything: transcripts are
 * short, and the whole context helps more than three lines of it).
 */
export function unifiedDiff(
  before: string,
  after: string,
  beforeLabel: string,
  afterLabel: string,
): string {
  const toLines = (text: string) => (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
  const a = toLines(before), b = toLines(after);
  // Longest common subsequence table, from the end, so the walk below goes forwards.
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const lines = [`--- ${beforeLabel}`, `+++ ${afterLabel}`, `@@ -1,${a.length} +1,${b.length} @@`];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push(` ${a[i++]}`);
      j++;
    } else if (j < b.length && (i === a.length || lcs[i][j + 1] >= lcs[i + 1][j])) {
      lines.push(`+${b[j++]}`);
    } else {
      lines.push(`-${a[i++]}`);
    }
  }
  return lines.join("\n");
}

/** null if the two runs agree; otherwise a report of how they differ. */
export function compareTranscripts(
  native: Transcript,
  sandboxed: Transcript,
  sandboxLabel: string,
): string | null {
  const problems: string[] = [];
  if (native.status !== sandboxed.status) {
    problems.push(`status differs: native ${native.status}, ${sandboxLabel} ${sandboxed.status}`);
  }
  if (native.stdout !== sandboxed.stdout) {
    problems.push(
      `stdout differs:\n${unifiedDiff(native.stdout, sandboxed.stdout, "native", sandboxLabel)}`,
    );
  }
  if (problems.length === 0) return null;
  if (sandboxed.stderr.trim() !== "") {
    problems.push(`${sandboxLabel} stderr:\n${sandboxed.stderr.trimEnd()}`);
  }
  return problems.join("\n");
}

/** A scratch directory with the input file every program receives as argv[1]. It is not
 * under /tmp: `cordon do` mounts a tmpfs of its own there, which would hide it. */
export function makeFixture(): { dir: string; input: string } {
  const parent = `${REPO_ROOT}tests/build/fixtures`;
  Deno.mkdirSync(parent, { recursive: true });
  const dir = Deno.makeTempDirSync({ dir: parent, prefix: "cordon-conformance-" });
  const input = `${dir}/input.txt`;
  Deno.writeTextFileSync(input, "hello, conformance file\n");
  return { dir, input };
}
