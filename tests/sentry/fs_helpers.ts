// Helpers for the filesystem tests: running `dist/cordon do`, scratch trees on the host
// (outside /tmp, to keep them with the build), and a digest of a host tree
// to prove that a sandbox left it unchanged.
export const REPO = new URL("../../", import.meta.url).pathname;
export const CORDON = Deno.env.get("CORDON_TEST_DIST") ?? `${REPO}dist/cordon`;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEquals<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) {
    const show = (v: unknown) =>
      typeof v === "object" && v !== null ? `a ${v.constructor?.name}` : JSON.stringify(v);
    throw new Error(`${what}:\n  expected ${show(expected)}\n  got      ${show(actual)}`);
  }
}

/** Runs `cordon do [doArgs] -- argv` and waits for it (killed after timeoutMs). */
export async function cordonDo(
  argv: string[],
  opts: { doArgs?: string[]; stdin?: string; cwd?: string; timeoutMs?: number; platform?: string } =
    {},
): Promise<RunResult> {
  const args = ["do", "--platform", opts.platform ?? "trap", ...(opts.doArgs ?? []), "--", ...argv];
  const child = new Deno.Command(CORDON, {
    args,
    cwd: opts.cwd ?? REPO,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a bash script in the sandbox; fails with its output if it does not exit 0. */
export async function sandboxBash(
  script: string,
  doArgs: string[] = [],
  platform = "trap",
): Promise<string> {
  const r = await cordonDo(["/bin/bash", "-e", "-c", script], { doArgs, platform });
  if (r.code !== 0) {
    throw new Error(
      `sandboxed script exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
  return r.stdout;
}

/** A scratch directory on the host, under tests/build (never under /tmp). */
export function scratchDir(prefix: string): string {
  const parent = `${REPO}tests/build/fs-scratch`;
  Deno.mkdirSync(parent, { recursive: true });
  return Deno.makeTempDirSync({ dir: parent, prefix });
}

async function sha256(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const h = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(h), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every entry below root (no symlink followed): path, type, mode, owner, size, mtime,
 * link target and content hash, sorted. Equal digests: nothing changed. */
export async function treeDigest(root: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (dir: string, rel: string) => {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    names.sort();
    for (const name of names) {
      const p = `${dir}/${name}`, r = `${rel}/${name}`;
      const st = Deno.lstatSync(p);
      const mtime = st.mtime?.getTime() ?? 0;
      let line = `${r} mode=${st.mode?.toString(8)} uid=${st.uid} gid=${st.gid} mtime=${mtime}`;
      if (st.isSymlink) line += ` -> ${Deno.readLinkSync(p)}`;
      else if (st.isFile) line += ` size=${st.size} sha=${await sha256(p)}`;
      lines.push(line);
      if (st.isDirectory) await walk(p, r);
    }
  };
  const st = Deno.lstatSync(root);
  lines.push(`. mode=${st.mode?.toString(8)} mtime=${st.mtime?.getTime()}`);
  await walk(root, "");
  return lines.join("\n");
}

/** Lines that differ between two digests (for a readable failure). */
export function digestDiff(a: string, b: string): string {
  const sa = new Set(a.split("\n")), sb = new Set(b.split("\n"));
  const out: string[] = [];
  for (const l of sa) if (!sb.has(l)) out.push(`- ${l}`);
  for (const l of sb) if (!sa.has(l)) out.push(`+ ${l}`);
  return out.slice(0, 40).join("\n");
}

export function cordonBuilt(): boolean {
  try {
    return Deno.statSync(CORDON).isFile;
  } catch {
    return false;
  }
}
