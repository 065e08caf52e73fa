// Helpers for the network tests: running a command under `dist/cordon do` with a network
// mode, and whether this machine can give a sandbox NAT (root, nft or iptables).
export const REPO = new URL("../../", import.meta.url).pathname;
export const CORDON = Deno.env.get("CORDON_TEST_DIST") ?? `${REPO}dist/cordon`;
export const PYTHON = "/usr/bin/python3";

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEquals<T>(actual: T, expected: T, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(
      `${what}:\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}`,
    );
  }
}

export interface NetRunOptions {
  /** --network value; undefined: the default. */
  network?: "sandbox" | "none" | "host";
  platform?: "trap" | "ptrace";
  timeoutMs?: number;
  env?: Record<string, string>;
}

/** Runs argv under `cordon do` and waits for it (killed after the timeout). */
export async function cordonNet(argv: string[], opts: NetRunOptions = {}): Promise<Ran> {
  const args = ["do", "--platform", opts.platform ?? "trap"];
  if (opts.network) args.push("--network", opts.network);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push("--env", `${k}=${v}`);
  const out = await new Deno.Command(CORDON, {
    args: [...args, "--", ...argv],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Like cordonNet, but the command must exit 0; returns its stdout. */
export async function cordonNetOk(argv: string[], opts: NetRunOptions = {}): Promise<string> {
  const r = await cordonNet(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

function onPath(cmd: string): boolean {
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return true;
    } catch {
      // not there
    }
  }
  return false;
}

/** Whether `cordon do` can set up its NAT namespace here. */
export const NAT_POSSIBLE = Deno.uid() === 0 && (onPath("nft") || onPath("iptables"));

export function have(cmd: string): boolean {
  return onPath(cmd);
}
