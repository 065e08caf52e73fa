// Helpers for the IPC tests: running programs under `dist/cordon do` on either platform,
// with stdin fed, left open without data, or closed.
export const REPO = new URL("../../", import.meta.url).pathname;
export const CORDON = Deno.env.get("CORDON_TEST_DIST") ?? `${REPO}dist/cordon`;
export const PLATFORMS = ["trap", "ptrace"] as const;

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEquals<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) {
    throw new Error(
      `${what}:\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}`,
    );
  }
}

export interface RunOptions {
  platform?: string;
  /** Bytes for stdin, then closed; "open": a pipe left open without data until the run
   * ends; undefined: /dev/null. */
  stdin?: string | "open";
  /** With stdin "open": bytes written after this many ms (then stdin is closed), so the
   * guest is likely already waiting for them (the result must not depend on it). */
  stdinLater?: { afterMs: number; data: string };
  timeoutMs?: number;
}

/** Runs argv under `cordon do` and waits for it (killed after the timeout). */
export async function cordonRun(argv: string[], opts: RunOptions = {}): Promise<Ran> {
  const child = new Deno.Command(CORDON, {
    args: ["do", "--platform", opts.platform ?? "trap", "--", ...argv],
    cwd: REPO,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
  }).spawn();
  let writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  if (opts.stdin !== undefined) {
    writer = child.stdin.getWriter();
    if (opts.stdin !== "open") {
      await writer.write(new TextEncoder().encode(opts.stdin));
      await writer.close();
      writer = null;
    }
  }
  let later: Promise<void> | null = null;
  if (writer && opts.stdinLater) {
    const w = writer, { afterMs, data } = opts.stdinLater;
    writer = null;
    later = new Promise<void>((resolve) => setTimeout(resolve, afterMs)).then(async () => {
      await w.write(new TextEncoder().encode(data)).catch(() => {});
      await w.close().catch(() => {});
    });
  }
  const out = await child.output();
  if (writer) await writer.close().catch(() => {});
  if (later) await later;
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a command and fails (with its output) unless it exits 0; returns stdout. */
export async function cordonOk(argv: string[], opts: RunOptions = {}): Promise<string> {
  const r = await cordonRun(argv, opts);
  if (r.code !== 0) {
    throw new Error(
      `${argv.join(" ")} exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
  return r.stdout;
}
