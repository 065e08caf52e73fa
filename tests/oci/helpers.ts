// Shared by the OCI runtime's tests: dist/cordon, a busybox root filesystem (built once into
// tests/build/oci/), bundles with a given config.json, and runtime roots that are always
// cleaned up (every container force-deleted) even when a test fails.

export const CORDON = Deno.env.get("CORDON_TEST_DIST") ??
  new URL("../../dist/cordon", import.meta.url).pathname;
export const BUILD = new URL("../build/oci", import.meta.url).pathname;

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export function assertEquals<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();

export async function run(
  cmd: string[],
  opts: { env?: Record<string, string>; stdin?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Result> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: opts.env,
    cwd: opts.cwd,
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
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A busybox root filesystem (static busybox and its applet links), built once. */
export function busyboxRootfs(): string {
  const dir = `${BUILD}/busybox-rootfs`;
  if (exists(`${dir}/.complete`)) return dir;
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find(exists);
  if (!busybox) throw new Error("busybox-static is not installed");
  const tmp = `${dir}.tmp-${Deno.pid}`;
  Deno.mkdirSync(`${tmp}/bin`, { recursive: true });
  for (const d of ["proc", "sys", "dev", "etc", "tmp", "root"]) Deno.mkdirSync(`${tmp}/${d}`);
  Deno.copyFileSync(busybox, `${tmp}/bin/busybox`);
  Deno.chmodSync(`${tmp}/bin/busybox`, 0o755);
  const list = new Deno.Command(busybox, { args: ["--list"], stdout: "piped" }).outputSync();
  for (const applet of decoder.decode(list.stdout).split("\n")) {
    if (!applet || applet === "busybox") continue;
    Deno.symlinkSync("busybox", `${tmp}/bin/${applet}`);
  }
  Deno.writeTextFileSync(
    `${tmp}/etc/passwd`,
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
  );
  Deno.writeTextFileSync(`${tmp}/etc/group`, "root:x:0:\nnogroup:x:65534:\n");
  Deno.writeTextFileSync(`${tmp}/.complete`, "");
  try {
    Deno.renameSync(tmp, dir);
  } catch {
    Deno.removeSync(tmp, { recursive: true }); // another test process built it first
  }
  return dir;
}

export interface BundleOptions {
  args: string[];
  terminal?: boolean;
  env?: string[];
  readonly?: boolean;
  hooks?: Record<string, unknown>;
  mounts?: unknown[];
  linux?: Record<string, unknown>;
  process?: Record<string, unknown>;
  annotations?: Record<string, string>;
  /** Replaces the whole config (for malformed-config tests): written as is. */
  raw?: string;
}

/** A bundle directory whose root is the shared busybox root (read-only by default). */
export function makeBundle(parent: string, name: string, o: BundleOptions): string {
  const dir = `${parent}/${name}`;
  Deno.mkdirSync(dir, { recursive: true });
  if (o.raw !== undefined) {
    Deno.writeTextFileSync(`${dir}/config.json`, o.raw);
    return dir;
  }
  const config = {
    ociVersion: "1.0.2",
    process: {
      terminal: o.terminal ?? false,
      user: { uid: 0, gid: 0 },
      args: o.args,
      env: o.env ?? ["PATH=/bin", "HOME=/root"],
      cwd: "/",
      capabilities: {
        bounding: [
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_FOWNER",
          "CAP_KILL",
          "CAP_SETUID",
          "CAP_SETGID",
        ],
        effective: [
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_FOWNER",
          "CAP_KILL",
          "CAP_SETUID",
          "CAP_SETGID",
        ],
        permitted: [
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_FOWNER",
          "CAP_KILL",
          "CAP_SETUID",
          "CAP_SETGID",
        ],
      },
      ...o.process,
    },
    root: { path: busyboxRootfs(), readonly: o.readonly ?? true },
    hostname: "oci-test",
    mounts: o.mounts ?? [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "mode=755", "size=65536k"],
      },
      {
        destination: "/tmp",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "nodev", "mode=1777"],
      },
    ],
    hooks: o.hooks,
    annotations: o.annotations,
    linux: {
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, {
        type: "mount",
      }],
      ...o.linux,
    },
  };
  Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(config, null, 1));
  return dir;
}

/** A runtime root (--root) in a scratch directory, with the bundles of one test. */
export class TestRoot {
  readonly dir: string;
  readonly root: string;

  constructor(readonly name: string) {
    Deno.mkdirSync(BUILD, { recursive: true });
    this.dir = Deno.makeTempDirSync({ dir: BUILD, prefix: `${name}-` });
    this.root = `${this.dir}/state`;
  }

  cordon(
    args: string[],
    opts: { stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {},
  ): Promise<Result> {
    return run([CORDON, "--root", this.root, ...args], opts);
  }

  /** A command whose sandbox process outlives it (create, run --detach): its standard
   * output and error (inherited by the container) go to files, never to a pipe we would
   * wait on. Returns the CLI's result with the files' contents so far. */
  async detached(args: string[], name: string): Promise<Result & { out: string; err: string }> {
    const out = `${this.dir}/${name}.out`, err = `${this.dir}/${name}.err`;
    const r = await run([
      "/bin/sh",
      "-c",
      'exec "$@" >"$OUT" 2>"$ERR" </dev/null',
      "sh",
      CORDON,
      "--root",
      this.root,
      ...args,
    ], {
      env: { OUT: out, ERR: err },
    });
    return { ...r, out, err, stdout: readText(out), stderr: readText(err) };
  }

  bundle(name: string, o: BundleOptions): string {
    return makeBundle(this.dir, name, o);
  }

  /** The container's state JSON (throws if `state` fails). */
  async state(
    id: string,
  ): Promise<
    {
      status: string;
      pid?: number;
      id: string;
      bundle: string;
      annotations?: Record<string, string>;
    }
  > {
    const r = await this.cordon(["state", id]);
    if (r.code !== 0) throw new Error(`state ${id}: exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  /** Waits until the container's status is `status` (up to timeoutMs). */
  async waitStatus(id: string, status: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      last = (await this.state(id)).status;
      if (last === status) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`container ${id} stayed ${last}, never ${status}`);
  }

  /** Force-deletes every container and removes the scratch directory. */
  async cleanup(): Promise<void> {
    const ids = await this.cordon(["list", "--quiet"]);
    for (const id of ids.stdout.split("\n").filter(Boolean)) {
      await this.cordon(["delete", "--force", id]);
    }
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // a mount or a busy file: leave it for the next build clean
    }
  }
}

/** Runs body with a fresh TestRoot, cleaned up whatever happens. */
export async function withRoot(name: string, body: (t: TestRoot) => Promise<void>): Promise<void> {
  const t = new TestRoot(name);
  try {
    await body(t);
  } finally {
    await t.cleanup();
  }
}

/** Polls until cond() holds (up to timeoutMs). */
export async function eventually(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Is the sandbox process pid alive (and not a zombie)? */
export function alive(pid: number): boolean {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = s.slice(s.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
