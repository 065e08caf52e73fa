// config.json validation: every malformed or unsupported configuration is refused with an
// error naming the field, before anything starts; through the CLI, with exit status 1 and
// nothing left behind.
import { parseConfig, RLIM_INFINITY } from "../../src/oci/config.ts";
import { ConfigError } from "../../src/oci/errors.ts";
import { assert, assertEquals, withRoot } from "./helpers.ts";

function base(): Record<string, any> {
  return {
    ociVersion: "1.0.2",
    process: { args: ["/bin/true"], cwd: "/", user: { uid: 0, gid: 0 }, env: ["PATH=/bin"] },
    root: { path: "rootfs", readonly: true },
    mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
    linux: { namespaces: [{ type: "pid" }, { type: "network", path: "/run/netns/x" }] },
  };
}

/** Parses a config made by editing the base one; returns the ConfigError's message. */
function refusal(edit: (c: Record<string, any>) => void): string {
  const c = base();
  edit(c);
  try {
    parseConfig(JSON.stringify(c), "/bundle");
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw new Error(`not a ConfigError: ${e instanceof Error ? e.stack : e}`);
  }
  throw new Error(`accepted: ${JSON.stringify(c)}`);
}

Deno.test("oci config: a valid configuration is read as written", () => {
  const c = base();
  c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }, {
    type: "RLIMIT_CORE",
    soft: 18446744073709551615,
    hard: 18446744073709551615,
  }];
  c.process.capabilities = { bounding: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"] };
  c.process.terminal = true;
  c.process.consoleSize = { height: 24, width: 80 };
  c.mounts.push({ destination: "/data", source: "data", options: ["rbind", "ro"] });
  c.linux.resources = {
    memory: { limit: 64 * 1024 * 1024 },
    pids: { limit: 100 },
    cpu: { quota: 50000, period: 100000 },
  };
  c.linux.cgroupsPath = "/machine/x";
  c.hooks = { poststop: [{ path: "/bin/echo", args: ["echo", "done"], timeout: 5 }] };
  const cfg = parseConfig(JSON.stringify(c), "/bundle");
  assertEquals(cfg.root.path, "/bundle/rootfs", "a relative root is the bundle's");
  assertEquals(cfg.mounts[1], {
    destination: "/data",
    type: "bind",
    source: "/bundle/data",
    options: ["rbind", "ro"],
  }, "bind mount");
  assertEquals(cfg.process!.rlimits.map((r) => [r.type, r.soft, r.hard]), [[7, 1024, 4096], [
    4,
    RLIM_INFINITY,
    RLIM_INFINITY,
  ]], "rlimits");
  assert(cfg.process!.capabilities!.bounding === ((1n << 5n) | 1n), "bounding set");
  assert(cfg.process!.capabilities!.effective === 1n << 5n, "effective set");
  assertEquals(cfg.linux.namespaces, [{ type: "pid", path: null }, {
    type: "network",
    path: "/run/netns/x",
  }], "namespaces");
  assertEquals(
    [cfg.linux.resources.memoryLimit, cfg.linux.resources.pidsLimit, cfg.linux.resources.cpuQuota],
    [64 * 1024 * 1024, 100, 50000],
    "resources",
  );
  assertEquals(cfg.hooks.poststop[0].timeout, 5, "hook timeout");
});

const CASES: Array<[string, (c: Record<string, any>) => void, string]> = [
  ["missing ociVersion", (c) => delete c.ociVersion, "ociVersion"],
  ["a version 2", (c) => (c.ociVersion = "2.0.0"), "ociVersion"],
  ["process not an object", (c) => (c.process = []), "process: must be an object"],
  ["args not an array", (c) => (c.process.args = "/bin/true"), "process.args: must be an array"],
  [
    "an arg not a string",
    (c) => (c.process.args = ["/bin/true", 3]),
    "process.args[1]: must be a string",
  ],
  ["no args", (c) => (c.process.args = []), "process.args"],
  ["a NUL in an arg", (c) => (c.process.args = ["/bin/tr\0ue"]), "process.args[0]"],
  ["env without =", (c) => (c.process.env = ["PATH"]), "process.env[0]"],
  ["relative cwd", (c) => (c.process.cwd = "tmp"), "process.cwd"],
  ["missing cwd", (c) => delete c.process.cwd, "process.cwd"],
  ["uid out of range", (c) => (c.process.user.uid = 2 ** 40), "process.user.uid: out of range"],
  ["negative gid", (c) => (c.process.user.gid = -1), "process.user.gid"],
  ["fractional uid", (c) => (c.process.user.uid = 1.5), "process.user.uid: must be an integer"],
  ["uid as a string", (c) => (c.process.user.uid = "0"), "process.user.uid: must be a number"],
  [
    "unknown field in process",
    (c) => (c.process.frobnicate = 1),
    "process.frobnicate: unknown field",
  ],
  [
    "unknown field in user",
    (c) => (c.process.user.name = "root"),
    "process.user.name: unknown field",
  ],
  ["unknown top-level field", (c) => (c.extra = {}), "extra: unknown field"],
  ["unknown field in linux", (c) => (c.linux.whatever = true), "linux.whatever: unknown field"],
  [
    "unknown capability",
    (c) => (c.process.capabilities = { bounding: ["CAP_FLY"] }),
    "process.capabilities.bounding[0]",
  ],
  [
    "unknown rlimit",
    (c) => (c.process.rlimits = [{ type: "RLIMIT_FOO", soft: 1, hard: 1 }]),
    "process.rlimits[0].type",
  ],
  [
    "soft above hard",
    (c) => (c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 10, hard: 1 }]),
    "process.rlimits[0]",
  ],
  [
    "rlimit beyond 2^64",
    (c) => (c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1e30, hard: 1e30 }]),
    "process.rlimits[0].soft",
  ],
  [
    "huge console",
    (c) => (c.process.consoleSize = { height: 1e9, width: 80 }),
    "process.consoleSize.height",
  ],
  ["terminal not a boolean", (c) => (c.process.terminal = "yes"), "process.terminal"],
  ["missing root", (c) => delete c.root, "root: missing"],
  ["root.path not a string", (c) => (c.root.path = 7), "root.path"],
  [
    "relative mount destination",
    (c) => (c.mounts[0].destination = "proc"),
    "mounts[0].destination",
  ],
  [
    ".. in a mount destination",
    (c) => (c.mounts[0].destination = "/a/../etc"),
    "mounts[0].destination",
  ],
  ["unsupported mount type", (c) => (c.mounts[0].type = "ext4"), "mounts[0].type"],
  [
    "bind without a source",
    (c) => c.mounts.push({ destination: "/x", options: ["bind"] }),
    "mounts[1].source",
  ],
  [
    "mount option with a comma",
    (c) => (c.mounts[0].options = ["ro,nosuid"]),
    "mounts[0].options[0]",
  ],
  ["mounts not an array", (c) => (c.mounts = {}), "mounts: must be an array"],
  [
    "unknown namespace",
    (c) => (c.linux.namespaces = [{ type: "time-travel" }]),
    "linux.namespaces[0].type",
  ],
  [
    "namespace twice",
    (c) => (c.linux.namespaces = [{ type: "pid" }, { type: "pid" }]),
    "linux.namespaces[1].type",
  ],
  [
    "relative namespace path",
    (c) => (c.linux.namespaces = [{ type: "network", path: "netns" }]),
    "linux.namespaces[0].path",
  ],
  [
    "memory limit below 4 MiB",
    (c) => (c.linux.resources = { memory: { limit: 1000 } }),
    "linux.resources.memory.limit",
  ],
  [
    "huge memory limit",
    (c) => (c.linux.resources = { memory: { limit: 1e300 } }),
    "linux.resources.memory.limit",
  ],
  [
    "pids limit as a string",
    (c) => (c.linux.resources = { pids: { limit: "10" } }),
    "linux.resources.pids.limit",
  ],
  ["bad cpuset", (c) => (c.linux.resources = { cpu: { cpus: "0-a" } }), "linux.resources.cpu.cpus"],
  [
    "cpu quota too small",
    (c) => (c.linux.resources = { cpu: { quota: 10 } }),
    "linux.resources.cpu.quota",
  ],
  [
    "device access",
    (c) => (c.linux.resources = { devices: [{ allow: false, access: "rwx" }] }),
    "linux.resources.devices[0].access",
  ],
  [
    "non-namespaced sysctl",
    (c) => (c.linux.sysctl = { "kernel.panic": "1" }),
    "linux.sysctl.kernel.panic",
  ],
  [".. in cgroupsPath", (c) => (c.linux.cgroupsPath = "/a/../../b"), "linux.cgroupsPath"],
  [
    "hook without a path",
    (c) => (c.hooks = { prestart: [{ args: [] }] }),
    "hooks.prestart[0].path",
  ],
  [
    "hook timeout zero",
    (c) => (c.hooks = { poststop: [{ path: "/bin/true", timeout: 0 }] }),
    "hooks.poststop[0].timeout",
  ],
  ["unknown hook kind", (c) => (c.hooks = { prestop: [] }), "hooks.prestop: unknown field"],
  ["a Windows section", (c) => (c.windows = {}), "windows"],
  ["annotation not a string", (c) => (c.annotations = { a: 1 }), "annotations.a"],
  ["bad hostname", (c) => (c.hostname = "bad host name"), "hostname"],
  [
    "seccomp with an unknown action",
    (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_EXPLODE" }),
    "linux.seccomp.defaultAction",
  ],
];

for (const [what, edit, field] of CASES) {
  Deno.test(`oci config: ${what} is refused, naming ${field.split(":")[0]}`, () => {
    const msg = refusal(edit);
    assert(
      msg.startsWith(field) || msg.includes(field),
      `message '${msg}' does not name '${field}'`,
    );
  });
}

Deno.test("oci config: not JSON at all", () => {
  for (const text of ["", "{", "[]", "null", '"config"', '{"ociVersion": "1.0.2",}']) {
    let message = "";
    try {
      parseConfig(text, "/b");
    } catch (e) {
      assert(e instanceof ConfigError, `${JSON.stringify(text)}: not a ConfigError: ${e}`);
      message = e.message;
    }
    assert(message !== "", `${JSON.stringify(text)} was accepted`);
  }
});

Deno.test("oci config: through the CLI a malformed config exits 1, names the field and leaves nothing", async () => {
  await withRoot("config", async (t) => {
    const cases: Array<[string, string]> = [
      ["{ not json", "not valid JSON"],
      [JSON.stringify({ ...base(), process: { ...base().process, args: [1] } }), "process.args[0]"],
      [JSON.stringify({ ...base(), surprise: true }), "surprise"],
      [
        JSON.stringify({ ...base(), linux: { resources: { pids: { limit: 1e400 } } } }),
        "linux.resources.pids.limit",
      ],
    ];
    for (const [i, [raw, field]] of cases.entries()) {
      const bundle = t.bundle(`bad${i}`, { args: [], raw });
      for (const verb of ["create", "run"]) {
        const r = await t.detached([verb, "--bundle", bundle, `bad${i}`], `bad${i}-${verb}`);
        assertEquals(r.code, 1, `${verb} case ${i}: exit status`);
        assert(
          r.stderr.includes(field),
          `${verb} case ${i}: '${r.stderr.trim()}' does not name ${field}`,
        );
        assert(!r.stderr.includes("    at "), `${verb} case ${i}: a stack trace: ${r.stderr}`);
      }
    }
    assertEquals((await t.cordon(["list", "-q"])).stdout.trim(), "", "no container left");
    let entries: string[] = [];
    try {
      entries = [...Deno.readDirSync(t.root)].map((e) => e.name);
    } catch {
      // the root was never made: nothing left either
    }
    assertEquals(entries, [], "nothing left in the root");
    // A bundle without config.json.
    Deno.mkdirSync(`${t.dir}/empty`);
    const none = await t.detached(["create", "--bundle", `${t.dir}/empty`, "none"], "none");
    assertEquals(none.code, 1, "a bundle without config.json");
    assert(none.stderr.includes("config.json"), `message: ${none.stderr}`);
    // Flags runc accepts that cordon does not need are no error; unknown ones are.
    assertEquals(
      (await t.cordon(["--rootless=false", "list", "-q"])).code,
      0,
      "--rootless ignored",
    );
    const unknown = await t.cordon(["--frobnicate", "list"]);
    assertEquals(unknown.code, 2, "an unknown global flag");
    assert(unknown.stderr.includes("--frobnicate"), `message: ${unknown.stderr}`);
    const ids = await t.detached(["create", "--bundle", `${t.dir}/empty`, "../escape"], "ids");
    assertEquals(ids.code, 1, "an id with a slash");
  });
});
