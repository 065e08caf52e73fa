// The single-file launcher (ffi/launcher/): dist/cordon must run alone from anywhere with a
// fresh HOME, exec Deno without forking, trust only cache entries private to the user, fall
// back to memfds when no cache directory works, and refuse a damaged payload with exit 125.
import { VERSION } from "../src/version.ts";

// CORDON_TEST_DIST checks another build of the same sources (for example an installed copy).
const DIST = Deno.env.get("CORDON_TEST_DIST") ??
  new URL("../dist/cordon", import.meta.url).pathname;
const TRAILER_SIZE = 4 * 96 + 24; // struct payload_trailer in ffi/launcher/payload.h
const MEMBER_SIZE = 96;
const MAGIC = "CORDPAY1";
const IS_ROOT = Deno.uid() === 0;
const UNUSABLE = "/proc/cordon-test-nonexistent"; // not creatable, even by root

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function assertEquals<T>(actual: T, expected: T, what = "value"): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  pid: number;
}

async function runCordon(
  binary: string,
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<Result> {
  const child = new Deno.Command(binary, {
    args,
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", ...env },
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    pid: child.pid,
  };
}

/** A scratch folder holding a copy of dist/cordon (or of `bytes`) and an empty home. */
class Scratch {
  readonly dir = Deno.makeTempDirSync({ prefix: "cordon-launcher-" });
  readonly home = `${this.dir}/home`;
  readonly binary = `${this.dir}/bin/cordon`;
  readonly cache = `${this.home}/.cache/cordon`;

  constructor(bytes?: Uint8Array) {
    Deno.mkdirSync(this.home);
    Deno.mkdirSync(`${this.dir}/bin`);
    if (bytes) Deno.writeFileSync(this.binary, bytes, { mode: 0o755 });
    else Deno.copyFileSync(DIST, this.binary);
  }

  run(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Result> {
    return runCordon(this.binary, args, { HOME: this.home, ...env }, cwd);
  }

  memberDir(prefix: string): string {
    const found = [...Deno.readDirSync(this.cache)].filter((entry) =>
      entry.name.startsWith(`${prefix}-`)
    );
    assertEquals(found.length, 1, `cache entries for ${prefix}`);
    return `${this.cache}/${found[0].name}`;
  }

  [Symbol.dispose]() {
    Deno.removeSync(this.dir, { recursive: true });
  }
}

function assertVersion(result: Result): void {
  assertEquals(result.stdout, `cordon version ${VERSION}\n`, `stdout (stderr: ${result.stderr})`);
  assertEquals(result.code, 0, "exit status");
}

function assertLauncherFailure(result: Result, pattern: RegExp): void {
  assertEquals(result.code, 125, `exit status (stderr: ${result.stderr})`);
  assertEquals(result.stdout, "", "stdout");
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `stderr lines (${result.stderr})`);
  assert(pattern.test(lines[0]), `stderr '${lines[0]}' does not match ${pattern}`);
}

// ---------------------------------------------------------------------------------------
// The payload format, read and written independently of ffi/launcher/pack.c.

interface Member {
  name: string;
  offset: number;
  packedSize: number;
  size: number;
  mode: number;
  sha256: Uint8Array;
}

function readTrailer(file: Uint8Array): { members: Member[]; payloadOffset: number } {
  const trailer = file.subarray(file.length - TRAILER_SIZE);
  const view = new DataView(trailer.buffer, trailer.byteOffset, TRAILER_SIZE);
  assertEquals(new TextDecoder().decode(trailer.subarray(400, 408)), MAGIC, "magic");
  const count = view.getUint32(384, true);
  const members: Member[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * MEMBER_SIZE;
    const nameBytes = trailer.subarray(at, at + 32);
    members.push({
      name: new TextDecoder().decode(nameBytes.subarray(0, nameBytes.indexOf(0))),
      offset: Number(view.getBigUint64(at + 32, true)),
      packedSize: Number(view.getBigUint64(at + 40, true)),
      size: Number(view.getBigUint64(at + 48, true)),
      mode: view.getUint32(at + 56, true),
      sha256: trailer.slice(at + 64, at + 96),
    });
  }
  return { members, payloadOffset: Number(view.getBigUint64(392, true)) };
}

function memberOffsetInFile(
  file: Uint8Array,
  name: string,
): { trailerIndex: number; member: Member } {
  const { members } = readTrailer(file);
  const index = members.findIndex((member) => member.name === name);
  assert(index >= 0, `no member ${name}`);
  return { trailerIndex: file.length - TRAILER_SIZE + index * MEMBER_SIZE, member: members[index] };
}

async function zstdCompress(source: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const zstd = new Deno.Command("zstd", {
    args: ["-q", "-c", "-3", "--no-progress"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = zstd.stdin.getWriter();
  await writer.write(source);
  await writer.close();
  return (await zstd.output()).stdout;
}

/** dist/cordon with its bundles replaced by `script` (a probe that reports what it sees), the
 * eager one by `eagerScript`. */
async function withBundle(script: string, eagerScript = script): Promise<Uint8Array> {
  const file = Deno.readFileSync(DIST);
  const { members, payloadOffset } = readTrailer(file);
  const replaced = new Map<string, { source: Uint8Array; packed: Uint8Array<ArrayBuffer> }>();
  for (const [name, text] of [["cordon.js", script], ["cordon-eager.js", eagerScript]]) {
    const source = new TextEncoder().encode(text);
    replaced.set(name, { source, packed: await zstdCompress(source) });
  }

  const parts: Uint8Array[] = [file.subarray(0, payloadOffset)];
  let offset = payloadOffset;
  const layout: Member[] = [];
  for (const member of members) {
    const swap = replaced.get(member.name);
    const bytes = swap
      ? swap.packed
      : file.subarray(member.offset, member.offset + member.packedSize);
    const sha256 = swap
      ? new Uint8Array(await crypto.subtle.digest("SHA-256", swap.packed))
      : member.sha256;
    const size = swap ? swap.source.length : member.size;
    layout.push({ ...member, offset, packedSize: bytes.length, size, sha256 });
    parts.push(bytes);
    offset += bytes.length;
  }
  const trailer = new Uint8Array(TRAILER_SIZE);
  const view = new DataView(trailer.buffer);
  layout.forEach((member, i) => {
    const at = i * MEMBER_SIZE;
    trailer.set(new TextEncoder().encode(member.name), at);
    view.setBigUint64(at + 32, BigInt(member.offset), true);
    view.setBigUint64(at + 40, BigInt(member.packedSize), true);
    view.setBigUint64(at + 48, BigInt(member.size), true);
    view.setUint32(at + 56, member.mode, true);
    trailer.set(member.sha256, at + 64);
  });
  view.setUint32(384, layout.length, true);
  view.setUint32(388, TRAILER_SIZE, true);
  view.setBigUint64(392, BigInt(payloadOffset), true);
  trailer.set(new TextEncoder().encode(MAGIC), 400);
  parts.push(trailer);
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const PROBE = `
const env = (name) => Deno.env.get(name) ?? null;
const library = env("CORDON_LIBSANDBOX") ?? env("CORDON_LIBDIR") + "/libsandbox.so";
let loaded;
try { Deno.dlopen(library, {}).close(); loaded = "loaded"; } catch (error) { loaded = String(error); }
console.log(JSON.stringify({
  args: Deno.args, pid: Deno.pid, library: loaded,
  CORDON_SELF: env("CORDON_SELF"), CORDON_LIBDIR: env("CORDON_LIBDIR"),
  CORDON_LIBSANDBOX: env("CORDON_LIBSANDBOX"), DENO_DIR: env("DENO_DIR"), KEPT: env("KEPT"),
}));
Deno.exit(Number(env("PROBE_EXIT") ?? 0));
`;

// ---------------------------------------------------------------------------------------

Deno.test("launcher: dist/cordon is one file with a well-formed payload", () => {
  const file = Deno.readFileSync(DIST);
  assertEquals(Array.from(file.subarray(0, 4)), [0x7f, 0x45, 0x4c, 0x46], "ELF magic");
  const { members, payloadOffset } = readTrailer(file);
  assertEquals(
    members.map((member) => member.name).sort(),
    ["cordon-eager.js", "cordon.js", "deno", "libsandbox.so"],
  );
  let expected = payloadOffset;
  for (const member of members) {
    assertEquals(member.offset, expected, `${member.name} offset`);
    expected += member.packedSize;
  }
  assertEquals(expected, file.length - TRAILER_SIZE, "members end at the trailer");
});

Deno.test("launcher: a copy alone in a fresh folder with a fresh HOME runs, then starts warm", async () => {
  using scratch = new Scratch();
  assertVersion(await scratch.run(["--version"]));
  for (const prefix of ["deno", "cordon.js", "cordon-eager.js", "libsandbox.so"]) {
    scratch.memberDir(prefix);
  }
  const leftovers = [...Deno.readDirSync(scratch.cache)].filter((entry) =>
    entry.name.startsWith(".")
  );
  assertEquals(leftovers.map((entry) => entry.name), [], "temporary directories left behind");
  const warm = await scratch.run(["--version"], { CORDON_LAUNCHER_DEBUG: "1" });
  assertVersion(warm);
  assert(!warm.stderr.includes("unpacking"), `second run unpacked again:\n${warm.stderr}`);
});

Deno.test("launcher: the first run leaves Deno a V8 code cache of both bundles", async () => {
  // Without it every start-up parses the bundle again (~12 ms); Deno writes it only in a run
  // that drains its event loop, which the launcher's warm-up runs are.
  using scratch = new Scratch();
  const first = await scratch.run(["do", "--network", "none", "--", "/bin/true"], {
    CORDON_LAUNCHER_DEBUG: "1",
  });
  assertEquals(first.code, 0, `first run (stderr: ${first.stderr})`);
  assert(first.stderr.includes("code cache warm-up: done"), first.stderr);
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(`${scratch.cache}/deno_dir/v8_code_cache_v2`, { readOnly: true });
  try {
    const sizes: Record<string, number> = {};
    for (const name of ["cordon.js", "cordon-eager.js"]) {
      const bundle = `file://${scratch.memberDir(name)}/${name}`;
      const row = db.prepare("SELECT length(data) AS size FROM codecache WHERE specifier = ?")
        .get(bundle) as { size: number } | undefined;
      assert(row !== undefined && row.size > 0, `no code cache entry for ${bundle}`);
      sizes[name] = row.size;
    }
    // The eager bundle's cache holds the functions compiled eagerly: much more code.
    assert(
      sizes["cordon-eager.js"] > 1.5 * sizes["cordon.js"],
      `code caches: ${JSON.stringify(sizes)}`,
    );
  } finally {
    db.close();
  }
  const second = await scratch.run(["--version"], { CORDON_LAUNCHER_DEBUG: "1" });
  assertVersion(second);
  assert(!second.stderr.includes("warm-up"), `warmed up again:\n${second.stderr}`);
});

Deno.test("launcher: the commands that start a sentry run the eager bundle, the others the plain one", async () => {
  const probe = (name: string) => `console.log(${JSON.stringify(name)});`;
  using scratch = new Scratch(await withBundle(probe("plain"), probe("eager")));
  const cases: Array<[string[], string]> = [
    [["--version"], "plain"],
    [["state", "x"], "plain"],
    [["--root", "/r", "delete", "x"], "plain"],
    [["do", "--", "/bin/true"], "eager"],
    [["--root", "/r", "run", "x"], "eager"],
    [["create", "--bundle", "b", "x"], "eager"],
  ];
  for (const [args, expected] of cases) {
    const result = await scratch.run(args);
    assertEquals(result.stdout.trim(), expected, `cordon ${args.join(" ")}`);
  }
  // Without a usable cache, from memfds too.
  const env = { HOME: UNUSABLE, XDG_CACHE_HOME: UNUSABLE, TMPDIR: UNUSABLE };
  assertEquals((await scratch.run(["run", "x"], env)).stdout.trim(), "eager", "run from memory");
  assertEquals((await scratch.run(["list"], env)).stdout.trim(), "plain", "list from memory");
});

Deno.test("launcher: XDG_CACHE_HOME is preferred to HOME", async () => {
  using scratch = new Scratch();
  const xdg = `${scratch.dir}/xdg`;
  assertVersion(await scratch.run(["--version"], { XDG_CACHE_HOME: xdg }));
  Deno.statSync(`${xdg}/cordon`);
  let homeCacheExists = true;
  try {
    Deno.statSync(scratch.cache);
  } catch {
    homeCacheExists = false;
  }
  assert(!homeCacheExists, "HOME's cache should stay untouched when XDG_CACHE_HOME is usable");
});

Deno.test("launcher: execs Deno in the same process with argv, status and environment intact", async () => {
  using scratch = new Scratch(await withBundle(PROBE));
  const args = ["do", "--", "", "two words", "--version", "-A", "ünïcödé", "*", "--no-prompt"];
  const result = await scratch.run(args, {
    PROBE_EXIT: "42",
    KEPT: "yes",
    DENO_DIR: "/ignored",
    CORDON_LIBDIR: "/ignored",
  });
  assertEquals(result.code, 42, `exit status (stderr: ${result.stderr})`);
  const report = JSON.parse(result.stdout);
  assertEquals(report.args, args, "argv");
  assertEquals(report.pid, result.pid, "pid (the launcher must exec, not fork)");
  assertEquals(report.CORDON_SELF, Deno.realPathSync(scratch.binary), "CORDON_SELF");
  assertEquals(report.library, "loaded", "libsandbox.so");
  assert(
    report.CORDON_LIBDIR.startsWith(`${scratch.cache}/libsandbox.so-`),
    `CORDON_LIBDIR ${report.CORDON_LIBDIR}`,
  );
  assertEquals(report.DENO_DIR, `${scratch.cache}/deno_dir`, "DENO_DIR");
  assertEquals(report.KEPT, "yes", "other variables pass through");
});

Deno.test("launcher: the user's deno.json, package.json and .npmrc do not matter", async () => {
  using scratch = new Scratch();
  const cwd = `${scratch.dir}/project`;
  Deno.mkdirSync(cwd);
  for (const name of ["deno.json", "package.json", ".npmrc", "deno.lock"]) {
    Deno.writeTextFileSync(`${cwd}/${name}`, "{ this is not valid");
  }
  assertVersion(await scratch.run(["--version"], {}, cwd));
});

Deno.test("launcher: a group-writable cached file or directory is not trusted and is unpacked again", async () => {
  using scratch = new Scratch();
  assertVersion(await scratch.run(["--version"]));
  const runtime = `${scratch.memberDir("deno")}/deno`;
  Deno.chmodSync(runtime, 0o775);
  const bundleDir = scratch.memberDir("cordon.js");
  Deno.chmodSync(bundleDir, 0o770);
  const result = await scratch.run(["--version"], { CORDON_LAUNCHER_DEBUG: "1" });
  assertVersion(result);
  assert(result.stderr.includes(`${runtime}: not trusted`), result.stderr);
  assert(result.stderr.includes(`${bundleDir}: not trusted`), result.stderr);
  assertEquals(Deno.statSync(runtime).mode! & 0o777, 0o755, "file mode after re-extraction");
  assertEquals(Deno.statSync(bundleDir).mode! & 0o777, 0o700, "directory mode after re-extraction");
});

Deno.test("launcher: temporary directories abandoned long ago are removed on a cold start", async () => {
  using scratch = new Scratch();
  Deno.mkdirSync(scratch.cache, { recursive: true, mode: 0o700 });
  const abandoned = `${scratch.cache}/.tmp-deno-0123456789abcdef-AbCdEf`;
  const recent = `${scratch.cache}/.tmp-deno-0123456789abcdef-GhIjKl`;
  for (const dir of [abandoned, recent]) {
    Deno.mkdirSync(dir, { mode: 0o700 });
    Deno.writeTextFileSync(`${dir}/deno`, "partial");
  }
  const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
  Deno.utimeSync(abandoned, twoHoursAgo, twoHoursAgo);
  assertVersion(await scratch.run(["--version"]));
  const names = [...Deno.readDirSync(scratch.cache)].map((entry) => entry.name);
  assert(!names.includes(abandoned.split("/").pop()!), `abandoned directory kept: ${names}`);
  assert(
    names.includes(recent.split("/").pop()!),
    `a recent directory (maybe in use) was removed: ${names}`,
  );
});

Deno.test("launcher: a cached file of the wrong size is unpacked again", async () => {
  using scratch = new Scratch();
  assertVersion(await scratch.run(["--version"]));
  const bundle = `${scratch.memberDir("cordon.js")}/cordon.js`;
  const original = Deno.readFileSync(bundle);
  Deno.writeTextFileSync(bundle, "console.log('tampered');\n");
  assertVersion(await scratch.run(["--version"]));
  assertEquals(Deno.readFileSync(bundle), original, "bundle restored");
});

Deno.test({
  name: "launcher: a cache entry owned by another user is not trusted",
  ignore: !IS_ROOT,
  fn: async () => {
    using scratch = new Scratch();
    assertVersion(await scratch.run(["--version"]));
    const directory = scratch.memberDir("libsandbox.so");
    Deno.chownSync(directory, 65534, 65534);
    const result = await scratch.run(["--version"], { CORDON_LAUNCHER_DEBUG: "1" });
    assertVersion(result);
    assert(result.stderr.includes("not trusted"), result.stderr);
    assertEquals(
      Deno.statSync(scratch.memberDir("libsandbox.so")).uid,
      Deno.uid(),
      "owner after re-extraction",
    );
  },
});

Deno.test({
  name: "launcher: a cache base owned by another user is skipped",
  ignore: !IS_ROOT,
  fn: async () => {
    using scratch = new Scratch();
    const hostile = `${scratch.dir}/tmp/cordon-${Deno.uid()}`;
    Deno.mkdirSync(hostile, { recursive: true, mode: 0o700 });
    Deno.chownSync(hostile, 65534, 65534);
    const result = await scratch.run(["--version"], {
      HOME: UNUSABLE,
      XDG_CACHE_HOME: UNUSABLE,
      TMPDIR: `${scratch.dir}/tmp`,
      CORDON_LAUNCHER_DEBUG: "1",
    });
    assertVersion(result);
    assert(result.stderr.includes("not usable as a cache"), result.stderr);
    assert(result.stderr.includes("running from memfds"), result.stderr);
    assertEquals([...Deno.readDirSync(hostile)].length, 0, "entries written into the hostile base");
  },
});

Deno.test("launcher: falls back to the /tmp-style base when HOME is unusable", async () => {
  using scratch = new Scratch();
  const tmp = `${scratch.dir}/tmp`;
  Deno.mkdirSync(tmp);
  assertVersion(await scratch.run(["--version"], { HOME: UNUSABLE, TMPDIR: tmp }));
  const base = Deno.statSync(`${tmp}/cordon-${Deno.uid()}`);
  assertEquals(base.mode! & 0o777, 0o700, "base mode");
});

Deno.test({
  name: "launcher: a cache on a noexec mount is passed over for the next location",
  ignore: !IS_ROOT,
  fn: async () => {
    using scratch = new Scratch();
    const noexec = `${scratch.dir}/noexec`;
    const tmp = `${scratch.dir}/tmp`;
    Deno.mkdirSync(noexec);
    Deno.mkdirSync(tmp);
    // A private mount namespace, so the tmpfs disappears with the command.
    const script = `mount -t tmpfs -o noexec tmpfs '${noexec}' && mkdir '${noexec}/home' && ` +
      `exec '${scratch.binary}' --version`;
    const result = await runCordon("unshare", ["-m", "sh", "-c", script], {
      HOME: `${noexec}/home`,
      TMPDIR: tmp,
      CORDON_LAUNCHER_DEBUG: "1",
    });
    assertVersion(result);
    assert(/exec .* failed: Permission denied/.test(result.stderr), result.stderr);
    Deno.statSync(`${tmp}/cordon-${Deno.uid()}/deno_dir`);
  },
});

Deno.test("launcher: runs from sealed memfds when no cache directory is usable", async () => {
  const unusable = { HOME: UNUSABLE, XDG_CACHE_HOME: UNUSABLE, TMPDIR: UNUSABLE };
  {
    using scratch = new Scratch();
    const result = await scratch.run(["--version"], { ...unusable, CORDON_LAUNCHER_DEBUG: "1" });
    assertVersion(result);
    assert(result.stderr.includes("running from memfds"), result.stderr);
  }
  using probe = new Scratch(await withBundle(PROBE));
  const result = await probe.run(["a", "b"], { ...unusable, PROBE_EXIT: "7" });
  assertEquals(result.code, 7, `exit status (stderr: ${result.stderr})`);
  const report = JSON.parse(result.stdout);
  assertEquals(report.args, ["a", "b"], "argv");
  assertEquals(report.pid, result.pid, "pid");
  assertEquals(report.library, "loaded", "libsandbox.so from a memfd");
  assert(
    /^\/proc\/self\/fd\/\d+$/.test(report.CORDON_LIBSANDBOX),
    `CORDON_LIBSANDBOX ${report.CORDON_LIBSANDBOX}`,
  );
  assertEquals(report.CORDON_LIBDIR, null, "CORDON_LIBDIR");
});

Deno.test("launcher: concurrent first runs agree on one cache", async () => {
  using scratch = new Scratch();
  const results = await Promise.all([1, 2, 3, 4].map(() => scratch.run(["--version"])));
  results.forEach(assertVersion);
  const entries = [...Deno.readDirSync(scratch.cache)].map((entry) => entry.name).sort();
  assertEquals(
    entries.filter((name) => name.startsWith(".")),
    [],
    "temporary directories left behind",
  );
  assertEquals(entries.length, 5, `cache entries ${entries}`); // four members and deno_dir
});

Deno.test("launcher: a truncated file exits 125 with a one-line message", async () => {
  const file = Deno.readFileSync(DIST);
  for (
    const length of [Math.floor(file.length / 2), readTrailer(file).payloadOffset, file.length - 1]
  ) {
    using scratch = new Scratch(file.slice(0, length));
    assertLauncherFailure(await scratch.run(["--version"]), /^cordon: .*(truncated|corrupt)/);
  }
});

Deno.test("launcher: a corrupt payload exits 125 with a one-line message", async () => {
  const file = Deno.readFileSync(DIST);
  const { member, trailerIndex } = memberOffsetInFile(file, "cordon.js");
  const flipped = file.slice();
  flipped[member.offset + Math.floor(member.packedSize / 2)] ^= 0xff;
  const environments: Record<string, string>[] = [{}, {
    HOME: UNUSABLE,
    XDG_CACHE_HOME: UNUSABLE,
    TMPDIR: UNUSABLE,
  }];
  for (const env of environments) {
    using scratch = new Scratch(flipped);
    assertLauncherFailure(
      await scratch.run(["--version"], env),
      /^cordon: payload member 'cordon\.js' is corrupt/,
    );
  }
  const wrongHash = file.slice();
  wrongHash[trailerIndex + 64] ^= 0x01;
  using scratch = new Scratch(wrongHash);
  assertLauncherFailure(
    await scratch.run(["--version"]),
    /^cordon: payload member 'cordon\.js' is corrupt \(hash mismatch\)$/,
  );
  const leftovers = [...Deno.readDirSync(scratch.cache)].filter((entry) =>
    entry.name.startsWith("cordon.js") || entry.name.startsWith(".tmp")
  );
  assertEquals(
    leftovers.map((entry) => entry.name),
    [],
    "a corrupt member must not reach the cache",
  );
});
