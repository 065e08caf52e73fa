// The TypeScript API: run commands sandboxed from a script.
//
//   import { run } from "./src/api.ts";
//   const r = await run(["python3", "-c", "print(6 * 7)"], { memory: 256 << 20 });
//   console.log(r.code, r.stdoutText);
//
// Each call starts its own sandbox in a child process (the sentry's loop owns its process's
// JS thread, so it cannot share the caller's): `cordon do` with the options below. The
// caller's process is never the sandbox; a hostile guest can at most make its own sandbox
// fail.

export interface Volume {
  host: string;
  guest: string;
  readonly?: boolean;
}

export interface RunOptions {
  /** Root filesystem (default: the host's /, read-only under an in-memory layer). */
  rootfs?: string;
  volumes?: Volume[];
  /** Environment of the command (replaces the default, which is the caller's). */
  env?: Record<string, string>;
  /** Added to the environment. */
  extraEnv?: Record<string, string>;
  cwd?: string;
  hostname?: string;
  /** Bytes of memory the whole sandbox may use. */
  memory?: number;
  network?: "none" | "sandbox" | "host";
  platform?: "trap" | "ptrace";
  /** Given to the command on its standard input. */
  stdin?: string | Uint8Array;
  /** Kills the sandbox after this long; the result then has timedOut set. */
  timeoutMs?: number;
  /** Log every system call to this file. */
  straceFile?: string;
  /** The cordon executable (default: the one running this code, or $CORDON_SELF). */
  cordon?: string[];
}

export interface RunResult {
  /** The command's exit status; 128 + N if signal N killed it (as a shell reports it). */
  code: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  readonly stdoutText: string;
  readonly stderrText: string;
  timedOut: boolean;
}

/** How to start cordon: the single file when this runs inside it, else the source tree. */
function cordonCommand(opts: RunOptions): string[] {
  if (opts.cordon) return opts.cordon;
  const self = Deno.env.get("CORDON_SELF");
  if (self) return [self];
  const main = new URL("./main.ts", import.meta.url).pathname;
  return [Deno.execPath(), "run", "-A", "--no-prompt", main];
}

/** The `cordon do` argument list for cmd and opts (exported for tests). */
export function doArgs(cmd: string[], opts: RunOptions = {}): string[] {
  if (cmd.length === 0) throw new Error("run: no command");
  const a = ["do"];
  if (opts.rootfs) a.push("--rootfs", opts.rootfs);
  for (const v of opts.volumes ?? []) a.push("--volume", `${v.host}:${v.guest}${v.readonly ? ":ro" : ""}`);
  if (opts.env) {
    a.push("--clear-env");
    for (const [k, v] of Object.entries(opts.env)) a.push("--env", `${k}=${v}`);
  }
  for (const [k, v] of Object.entries(opts.extraEnv ?? {})) a.push("--env", `${k}=${v}`);
  if (opts.cwd) a.push("--cwd", opts.cwd);
  if (opts.hostname) a.push("--hostname", opts.hostname);
  if (opts.memory !== undefined) a.push("--memory", String(Math.floor(opts.memory)));
  if (opts.network) a.push("--network", opts.network);
  if (opts.platform) a.push("--platform", opts.platform);
  if (opts.straceFile) a.push("--strace", "--debug-log", opts.straceFile);
  a.push("--", ...cmd);
  return a;
}

/** Runs cmd in a new sandbox and collects its output and exit status. */
export async function run(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [exe, ...pre] = cordonCommand(opts);
  const child = new Deno.Command(exe, {
    args: [...pre, ...doArgs(cmd, opts)],
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, opts.timeoutMs);
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(typeof opts.stdin === "string" ? new TextEncoder().encode(opts.stdin) : opts.stdin);
    await w.close();
  }
  const out = await child.output();
  if (timer !== undefined) clearTimeout(timer);
  const code = out.signal ? 128 + signalNumber(out.signal) : out.code;
  const dec = new TextDecoder();
  return {
    code,
    stdout: out.stdout,
    stderr: out.stderr,
    get stdoutText() {
      return dec.decode(out.stdout);
    },
    get stderrText() {
      return dec.decode(out.stderr);
    },
    timedOut,
  };
}

function signalNumber(s: Deno.Signal): number {
  const n: Partial<Record<Deno.Signal, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGSEGV: 11, SIGABRT: 6 };
  return n[s] ?? 0;
}
