// config.json: reading and validating an OCI bundle's configuration (runtime-spec 1.0-1.2)
// into the typed form the runtime uses. Everything is checked before anything starts: a
// wrong type, a value out of range, a field the spec does not define, or a feature we cannot
// provide is a ConfigError naming the field ("process.args[0]: must be a string").
//
// Fields the spec defines but cordon does not act on (apparmor, selinux labels, ...) are
// validated for shape and otherwise ignored; README.md lists them.
import { ConfigError } from "./errors.ts";
import type { Profile } from "../../sentry/kernel/syscall_policy.ts";

export const CAPABILITY_NAMES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

export const RLIMIT_NAMES = [
  "RLIMIT_CPU",
  "RLIMIT_FSIZE",
  "RLIMIT_DATA",
  "RLIMIT_STACK",
  "RLIMIT_CORE",
  "RLIMIT_RSS",
  "RLIMIT_NPROC",
  "RLIMIT_NOFILE",
  "RLIMIT_MEMLOCK",
  "RLIMIT_AS",
  "RLIMIT_LOCKS",
  "RLIMIT_SIGPENDING",
  "RLIMIT_MSGQUEUE",
  "RLIMIT_NICE",
  "RLIMIT_RTPRIO",
  "RLIMIT_RTTIME",
];

export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"];

/** Filesystem types a mount may name; "bind" also comes from the bind/rbind options. */
export const MOUNT_TYPES = [
  "bind",
  "proc",
  "sysfs",
  "tmpfs",
  "devpts",
  "mqueue",
  "cgroup",
  "cgroup2",
  "devtmpfs",
  "none",
];

export const HOOK_KINDS = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
] as const;
export type HookKind = typeof HOOK_KINDS[number];

/** The largest RLIMIT value; anything at or above 2^63 means "unlimited". */
export const RLIM_INFINITY = Number.MAX_SAFE_INTEGER;

export interface Capabilities {
  bounding: bigint;
  effective: bigint;
  inheritable: bigint;
  permitted: bigint;
  ambient: bigint;
}

export interface ProcessConfig {
  terminal: boolean;
  consoleSize: { height: number; width: number } | null;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  umask: number | null;
  additionalGids: number[];
  capabilities: Capabilities | null;
  rlimits: Array<{ type: number; name: string; soft: number; hard: number }>;
  noNewPrivileges: boolean;
}

export interface MountConfig {
  destination: string;
  /** "bind" for bind mounts (whatever the type field said), else the filesystem type. */
  type: string;
  source: string;
  options: string[];
}

export interface Hook {
  path: string;
  args: string[];
  env: string[];
  /** Seconds; null: no limit. */
  timeout: number | null;
}

export interface Resources {
  memoryLimit: number | null;
  memoryReservation: number | null;
  memorySwap: number | null;
  pidsLimit: number | null;
  cpuShares: number | null;
  cpuQuota: number | null;
  cpuPeriod: number | null;
  cpus: string | null;
  mems: string | null;
}

export interface LinuxConfig {
  namespaces: Array<{ type: string; path: string | null }>;
  /** The guest's seccomp profile, which the sentry enforces (sentry/kernel/syscall_policy.ts). */
  seccomp: Profile | null;
  cgroupsPath: string | null;
  resources: Resources;
  maskedPaths: string[];
  readonlyPaths: string[];
  sysctl: Record<string, string>;
  devices: Array<
    {
      type: string;
      path: string;
      major: number;
      minor: number;
      fileMode: number | null;
      uid: number | null;
      gid: number | null;
    }
  >;
}

export interface OciConfig {
  ociVersion: string;
  process: ProcessConfig | null;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: MountConfig[];
  hooks: Record<HookKind, Hook[]>;
  annotations: Record<string, string>;
  linux: LinuxConfig;
}

/** config.json files above this size are refused before parsing. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

// ---- checking helpers -----------------------------------------------------------------

type Json = unknown;
type Obj = Record<string, Json>;

function fail(path: string, message: string): never {
  throw new ConfigError(`${path}: ${message}`);
}

function isObj(v: Json): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function obj(v: Json, path: string, allowed: readonly string[]): Obj {
  if (!isObj(v)) fail(path, "must be an object");
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) fail(path ? `${path}.${k}` : k, "unknown field");
  }
  return v;
}

function optObj(v: Json, path: string, allowed: readonly string[]): Obj | null {
  return v === undefined || v === null ? null : obj(v, path, allowed);
}

function str(v: Json, path: string, maxLen = 65536): string {
  if (typeof v !== "string") fail(path, "must be a string");
  if (v.length > maxLen) fail(path, `too long (more than ${maxLen} characters)`);
  if (v.includes("\0")) fail(path, "must not contain NUL characters");
  return v;
}

function optStr(v: Json, path: string, maxLen = 65536): string | null {
  return v === undefined || v === null ? null : str(v, path, maxLen);
}

function bool(v: Json, path: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") fail(path, "must be true or false");
  return v;
}

/** An integer in [min, max]. */
function int(v: Json, path: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(path, "must be a number");
  if (!Number.isInteger(v)) fail(path, "must be an integer");
  if (v < min || v > max) fail(path, `out of range (${min} to ${max})`);
  return v;
}

function optInt(v: Json, path: string, min: number, max: number): number | null {
  return v === undefined || v === null ? null : int(v, path, min, max);
}

/** A JSON array (null and absent: empty), at most maxItems long. */
function arr(v: Json, path: string, maxItems = 65536): Json[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, "must be an array");
  if (v.length > maxItems) fail(path, `too many entries (more than ${maxItems})`);
  return v;
}

/** Strings of at most maxLen characters (default: Linux's limit for one argument). */
function strArr(v: Json, path: string, maxItems = 65536, maxLen = 131072): string[] {
  return arr(v, path, maxItems).map((x, i) => str(x, `${path}[${i}]`, maxLen));
}

function absPath(v: Json, path: string): string {
  const s = str(v, path, 4096);
  if (!s.startsWith("/")) fail(path, `must be an absolute path, not '${s}'`);
  return s;
}

const U32_MAX = 4294967295;
const ID_MAX = 4294967294; // (uid_t)-1 means "unchanged"
const I64_MAX = 2 ** 63 - 1;

// ---- the configuration ------------------------------------------------------------------

const TOP_FIELDS = [
  "ociVersion",
  "process",
  "root",
  "hostname",
  "domainname",
  "mounts",
  "hooks",
  "annotations",
  "linux",
  "solaris",
  "windows",
  "vm",
  "zos",
  "uidMappings",
  "gidMappings",
];

/** Reads and validates bundle/config.json. */
export function loadConfig(bundle: string): OciConfig {
  return loadConfigText(bundle).config;
}

/** Reads and validates bundle/config.json; also returns its text. */
export function loadConfigText(bundle: string): { text: string; config: OciConfig } {
  const file = `${bundle}/config.json`;
  let size: number;
  try {
    const st = Deno.statSync(file);
    if (!st.isFile) throw new ConfigError(`${file}: not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot read ${file}: ${e instanceof Error ? e.message : e}`);
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new ConfigError(`${file}: too large (${size} bytes, at most ${MAX_CONFIG_BYTES})`);
  }
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${e instanceof Error ? e.message : e}`);
  }
  return { text, config: parseConfig(text, bundle) };
}

/** Parses config.json text; relative paths (root.path, bind sources) are taken from bundle. */
export function parseConfig(text: string, bundle: string): OciConfig {
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config.json: not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
  const c = obj(json, "", TOP_FIELDS);
  if (c.ociVersion === undefined) fail("ociVersion", "missing");
  const ociVersion = str(c.ociVersion, "ociVersion", 64);
  if (!/^1\.\d+\.\d+(-[0-9A-Za-z.+-]*)?$/.test(ociVersion)) {
    fail("ociVersion", `unsupported version '${ociVersion}' (cordon implements 1.x)`);
  }
  if (c.windows !== undefined && c.windows !== null) {
    fail("windows", "not supported (a Linux runtime)");
  }
  if (c.solaris !== undefined && c.solaris !== null) {
    fail("solaris", "not supported (a Linux runtime)");
  }
  if (c.zos !== undefined && c.zos !== null) fail("zos", "not supported (a Linux runtime)");
  if (c.vm !== undefined && c.vm !== null) fail("vm", "not supported (cordon is not a VM runtime)");
  if (c.root === undefined || c.root === null) fail("root", "missing");
  const root = obj(c.root, "root", ["path", "readonly"]);
  let rootPath = str(root.path, "root.path", 4096);
  if (rootPath === "") fail("root.path", "must not be empty");
  if (!rootPath.startsWith("/")) rootPath = `${bundle}/${rootPath}`;
  const hostname = optStr(c.hostname, "hostname", 64) ?? "";
  if (hostname && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(hostname)) {
    fail("hostname", `'${hostname}' is not a valid host name`);
  }
  optStr(c.domainname, "domainname", 64);
  const annotations: Record<string, string> = {};
  if (c.annotations !== undefined && c.annotations !== null) {
    if (!isObj(c.annotations)) fail("annotations", "must be an object");
    const keys = Object.keys(c.annotations);
    if (keys.length > 65536) fail("annotations", "too many entries");
    for (const k of keys) {
      if (k === "") fail("annotations", "keys must not be empty");
      annotations[k] = str(c.annotations[k], `annotations.${k}`);
    }
  }
  return {
    ociVersion,
    process: c.process === undefined || c.process === null
      ? null
      : parseProcess(c.process, "process"),
    root: { path: rootPath, readonly: bool(root.readonly, "root.readonly") },
    hostname,
    mounts: arr(c.mounts, "mounts", 4096).map((m, i) => parseMount(m, `mounts[${i}]`, bundle)),
    hooks: parseHooks(c.hooks),
    annotations,
    linux: parseLinux(c.linux),
  };
}

const PROCESS_FIELDS = [
  "terminal",
  "consoleSize",
  "cwd",
  "env",
  "args",
  "commandLine",
  "rlimits",
  "apparmorProfile",
  "capabilities",
  "noNewPrivileges",
  "oomScoreAdj",
  "scheduler",
  "selinuxLabel",
  "ioPriority",
  "execCPUAffinity",
  "user",
];

/** A process: config.json's "process", or an `exec --process` file. */
export function parseProcess(v: Json, path: string): ProcessConfig {
  const p = obj(v, path, PROCESS_FIELDS);
  if (p.commandLine !== undefined && p.commandLine !== null) {
    fail(`${path}.commandLine`, "is for Windows; use args");
  }
  const args = strArr(p.args, `${path}.args`, 65536);
  if (args.length === 0) fail(`${path}.args`, "must name a program (at least one element)");
  if (args[0] === "") fail(`${path}.args[0]`, "must not be empty");
  const env = strArr(p.env, `${path}.env`, 65536);
  env.forEach((e, i) => {
    if (!e.includes("=")) fail(`${path}.env[${i}]`, `'${e}' is not KEY=VALUE`);
  });
  if (
    args.reduce((n, a) => n + a.length + 1, 0) + env.reduce((n, e) => n + e.length + 1, 0) >
      2 * 1024 * 1024
  ) {
    fail(`${path}.args`, "arguments and environment exceed 2 MiB");
  }
  if (p.cwd === undefined) fail(`${path}.cwd`, "missing");
  const cwd = absPath(p.cwd, `${path}.cwd`);
  if (p.user === undefined || p.user === null) fail(`${path}.user`, "missing");
  const u = obj(p.user, `${path}.user`, ["uid", "gid", "umask", "additionalGids", "username"]);
  if (u.username !== undefined && u.username !== null) {
    str(u.username, `${path}.user.username`, 256);
    fail(`${path}.user.username`, "is for Windows; use uid and gid");
  }
  const uid = int(u.uid ?? 0, `${path}.user.uid`, 0, ID_MAX);
  const gid = int(u.gid ?? 0, `${path}.user.gid`, 0, ID_MAX);
  const umask = optInt(u.umask, `${path}.user.umask`, 0, 0o777);
  const additionalGids = arr(u.additionalGids, `${path}.user.additionalGids`, 65536)
    .map((g, i) => int(g, `${path}.user.additionalGids[${i}]`, 0, ID_MAX));
  let consoleSize: ProcessConfig["consoleSize"] = null;
  const cs = optObj(p.consoleSize, `${path}.consoleSize`, ["height", "width"]);
  if (cs) {
    consoleSize = {
      height: int(cs.height, `${path}.consoleSize.height`, 0, 65535),
      width: int(cs.width, `${path}.consoleSize.width`, 0, 65535),
    };
  }
  const rlimits = arr(p.rlimits, `${path}.rlimits`, 64).map((r, i) => {
    const rp = `${path}.rlimits[${i}]`;
    const o = obj(r, rp, ["type", "soft", "hard"]);
    const name = str(o.type, `${rp}.type`, 64);
    const type = RLIMIT_NAMES.indexOf(name);
    if (type < 0) fail(`${rp}.type`, `unknown resource limit '${name}'`);
    const soft = rlimitValue(o.soft, `${rp}.soft`);
    const hard = rlimitValue(o.hard, `${rp}.hard`);
    if (soft > hard) fail(rp, `soft limit ${o.soft} is above the hard limit ${o.hard}`);
    return { type, name, soft, hard };
  });
  const seen = new Set<number>();
  rlimits.forEach((r, i) => {
    if (seen.has(r.type)) fail(`${path}.rlimits[${i}].type`, `${r.name} is given twice`);
    seen.add(r.type);
  });
  let capabilities: Capabilities | null = null;
  const c = optObj(p.capabilities, `${path}.capabilities`, [
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
  ]);
  if (c) {
    const set = (k: string) => capSet(c[k], `${path}.capabilities.${k}`);
    capabilities = {
      bounding: set("bounding"),
      effective: set("effective"),
      inheritable: set("inheritable"),
      permitted: set("permitted"),
      ambient: set("ambient"),
    };
  }
  optStr(p.apparmorProfile, `${path}.apparmorProfile`, 4096);
  optStr(p.selinuxLabel, `${path}.selinuxLabel`, 4096);
  optInt(p.oomScoreAdj, `${path}.oomScoreAdj`, -1000, 1000);
  if (p.scheduler !== undefined && p.scheduler !== null) {
    const s = obj(p.scheduler, `${path}.scheduler`, [
      "policy",
      "nice",
      "priority",
      "flags",
      "runtime",
      "deadline",
      "period",
    ]);
    str(s.policy, `${path}.scheduler.policy`, 64);
    optInt(s.nice, `${path}.scheduler.nice`, -20, 19);
  }
  if (p.ioPriority !== undefined && p.ioPriority !== null) {
    const s = obj(p.ioPriority, `${path}.ioPriority`, ["class", "priority"]);
    str(s.class, `${path}.ioPriority.class`, 64);
    optInt(s.priority, `${path}.ioPriority.priority`, 0, 7);
  }
  if (p.execCPUAffinity !== undefined && p.execCPUAffinity !== null) {
    const s = obj(p.execCPUAffinity, `${path}.execCPUAffinity`, ["initial", "final"]);
    optStr(s.initial, `${path}.execCPUAffinity.initial`, 4096);
    optStr(s.final, `${path}.execCPUAffinity.final`, 4096);
  }
  return {
    terminal: bool(p.terminal, `${path}.terminal`),
    consoleSize,
    args,
    env,
    cwd,
    uid,
    gid,
    umask,
    additionalGids,
    capabilities,
    rlimits,
    noNewPrivileges: bool(p.noNewPrivileges, `${path}.noNewPrivileges`),
  };
}

function rlimitValue(v: Json, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !Number.isInteger(v)) {
    fail(path, "must be an integer");
  }
  if (v < 0) fail(path, "must not be negative");
  if (v > 2 ** 64) fail(path, "out of range (above 2^64-1)");
  return v >= 2 ** 63 ? RLIM_INFINITY : v;
}

function capSet(v: Json, path: string): bigint {
  let bits = 0n;
  arr(v, path, 256).forEach((x, i) => {
    const name = str(x, `${path}[${i}]`, 64);
    const bit = CAPABILITY_NAMES.indexOf(name);
    if (bit < 0) fail(`${path}[${i}]`, `unknown capability '${name}'`);
    bits |= 1n << BigInt(bit);
  });
  return bits;
}

/** Options we understand as flags; any other option is passed to the filesystem as data. */
const MOUNT_OPTION_RE = /^[A-Za-z0-9_.:@+-]+(=[^,\0]*)?$/;

function parseMount(v: Json, path: string, bundle: string): MountConfig {
  const m = obj(v, path, [
    "destination",
    "source",
    "options",
    "type",
    "uidMappings",
    "gidMappings",
  ]);
  if (m.destination === undefined) fail(`${path}.destination`, "missing");
  const destination = absPath(m.destination, `${path}.destination`);
  if (destination.split("/").includes("..")) fail(`${path}.destination`, "must not contain '..'");
  const options = strArr(m.options, `${path}.options`, 256);
  options.forEach((o, i) => {
    if (!MOUNT_OPTION_RE.test(o)) fail(`${path}.options[${i}]`, `'${o}' is not a mount option`);
  });
  if (m.uidMappings !== undefined || m.gidMappings !== undefined) {
    fail(`${path}.uidMappings`, "id-mapped mounts are not supported");
  }
  const isBind = options.includes("bind") || options.includes("rbind");
  const declared = optStr(m.type, `${path}.type`, 64) ?? (isBind ? "bind" : "");
  if (declared === "") fail(`${path}.type`, "missing (and the options do not say bind)");
  let type = isBind ? "bind" : declared;
  if (type === "none") fail(`${path}.type`, "'none' needs the bind or rbind option");
  if (type === "devtmpfs") type = "devtmpfs";
  if (!MOUNT_TYPES.includes(type)) {
    fail(`${path}.type`, `filesystem type '${type}' is not supported (mount of ${destination})`);
  }
  let source = optStr(m.source, `${path}.source`, 4096) ?? "";
  if (type === "bind") {
    if (source === "") {
      fail(`${path}.source`, `a bind mount needs a source (mount of ${destination})`);
    }
    if (!source.startsWith("/")) source = `${bundle}/${source}`;
  }
  return { destination, type, source, options };
}

function parseHooks(v: Json): Record<HookKind, Hook[]> {
  const out = Object.fromEntries(HOOK_KINDS.map((k) => [k, [] as Hook[]])) as Record<
    HookKind,
    Hook[]
  >;
  const h = optObj(v, "hooks", HOOK_KINDS);
  if (!h) return out;
  for (const kind of HOOK_KINDS) {
    out[kind] = arr(h[kind], `hooks.${kind}`, 256).map((x, i) => {
      const p = `hooks.${kind}[${i}]`;
      const o = obj(x, p, ["path", "args", "env", "timeout"]);
      const timeout = optInt(o.timeout, `${p}.timeout`, 1, 2 ** 31 - 1);
      return {
        path: absPath(o.path, `${p}.path`),
        args: strArr(o.args, `${p}.args`),
        env: strArr(o.env, `${p}.env`),
        timeout,
      };
    });
  }
  return out;
}

const LINUX_FIELDS = [
  "namespaces",
  "uidMappings",
  "gidMappings",
  "timeOffsets",
  "devices",
  "netDevices",
  "cgroupsPath",
  "rootfsPropagation",
  "maskedPaths",
  "readonlyPaths",
  "mountLabel",
  "personality",
  "resources",
  "intelRdt",
  "memoryPolicy",
  "seccomp",
  "sysctl",
];

function parseLinux(v: Json): LinuxConfig {
  const l = optObj(v, "linux", LINUX_FIELDS) ?? {};
  const namespaces = arr(l.namespaces, "linux.namespaces", 16).map((n, i) => {
    const p = `linux.namespaces[${i}]`;
    const o = obj(n, p, ["type", "path"]);
    const type = str(o.type, `${p}.type`, 32);
    if (!NAMESPACE_TYPES.includes(type)) fail(`${p}.type`, `unknown namespace type '${type}'`);
    const nsPath = optStr(o.path, `${p}.path`, 4096);
    if (nsPath !== null && nsPath !== "" && !nsPath.startsWith("/")) {
      fail(`${p}.path`, "must be an absolute path");
    }
    return { type, path: nsPath || null };
  });
  const seenNs = new Set<string>();
  namespaces.forEach((n, i) => {
    if (seenNs.has(n.type)) {
      fail(`linux.namespaces[${i}].type`, `namespace '${n.type}' is listed twice`);
    }
    seenNs.add(n.type);
  });
  for (const k of ["uidMappings", "gidMappings"]) {
    arr(l[k], `linux.${k}`, 340).forEach((m, i) => {
      const p = `linux.${k}[${i}]`;
      const o = obj(m, p, ["containerID", "hostID", "size"]);
      int(o.containerID, `${p}.containerID`, 0, U32_MAX);
      int(o.hostID, `${p}.hostID`, 0, U32_MAX);
      int(o.size, `${p}.size`, 1, U32_MAX);
    });
  }
  const cgroupsPath = optStr(l.cgroupsPath, "linux.cgroupsPath", 4096) || null;
  if (cgroupsPath && cgroupsPath.split(/[/:]/).includes("..")) {
    fail("linux.cgroupsPath", "must not contain '..'");
  }
  const maskedPaths = strArr(l.maskedPaths, "linux.maskedPaths", 4096);
  maskedPaths.forEach((m, i) => absPath(m, `linux.maskedPaths[${i}]`));
  const readonlyPaths = strArr(l.readonlyPaths, "linux.readonlyPaths", 4096);
  readonlyPaths.forEach((m, i) => absPath(m, `linux.readonlyPaths[${i}]`));
  const sysctl: Record<string, string> = {};
  if (l.sysctl !== undefined && l.sysctl !== null) {
    if (!isObj(l.sysctl)) fail("linux.sysctl", "must be an object");
    for (const [k, val] of Object.entries(l.sysctl)) {
      if (!/^[a-z0-9_]+([./][a-zA-Z0-9_-]+)+$/.test(k)) {
        fail(`linux.sysctl.${k}`, "not a sysctl name");
      }
      if (!isNamespacedSysctl(k)) {
        fail(
          `linux.sysctl.${k}`,
          "not a sysctl a container may set (only namespaced ones: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*)",
        );
      }
      sysctl[k] = str(val, `linux.sysctl.${k}`, 4096);
    }
  }
  const devices = arr(l.devices, "linux.devices", 4096).map((d, i) => {
    const p = `linux.devices[${i}]`;
    const o = obj(d, p, ["type", "path", "major", "minor", "fileMode", "uid", "gid"]);
    const type = str(o.type, `${p}.type`, 4);
    if (!["c", "b", "u", "p"].includes(type)) fail(`${p}.type`, `unknown device type '${type}'`);
    return {
      type,
      path: absPath(o.path, `${p}.path`),
      major: int(o.major ?? 0, `${p}.major`, 0, U32_MAX),
      minor: int(o.minor ?? 0, `${p}.minor`, 0, U32_MAX),
      fileMode: optInt(o.fileMode, `${p}.fileMode`, 0, 0o7777),
      uid: optInt(o.uid, `${p}.uid`, 0, ID_MAX),
      gid: optInt(o.gid, `${p}.gid`, 0, ID_MAX),
    };
  });
  const prop = optStr(l.rootfsPropagation, "linux.rootfsPropagation", 32);
  if (
    prop &&
    !["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"]
      .includes(prop)
  ) {
    fail("linux.rootfsPropagation", `unknown propagation '${prop}'`);
  }
  optStr(l.mountLabel, "linux.mountLabel", 4096);
  if (l.personality !== undefined && l.personality !== null) {
    const o = obj(l.personality, "linux.personality", ["domain", "flags"]);
    const domain = str(o.domain, "linux.personality.domain", 32);
    if (domain !== "LINUX") {
      fail("linux.personality.domain", `only LINUX is supported, not '${domain}'`);
    }
    strArr(o.flags, "linux.personality.flags", 32);
  }
  const seccomp = l.seccomp !== undefined && l.seccomp !== null ? parseSeccomp(l.seccomp) : null;
  if (l.timeOffsets !== undefined && l.timeOffsets !== null) {
    const o = obj(l.timeOffsets, "linux.timeOffsets", ["monotonic", "boottime"]);
    for (const k of ["monotonic", "boottime"]) {
      const t = optObj(o[k], `linux.timeOffsets.${k}`, ["secs", "nanosecs"]);
      if (t) {
        int(t.secs ?? 0, `linux.timeOffsets.${k}.secs`, -I64_MAX, I64_MAX);
        int(t.nanosecs ?? 0, `linux.timeOffsets.${k}.nanosecs`, 0, 999999999);
      }
    }
  }
  if (l.intelRdt !== undefined && l.intelRdt !== null) fail("linux.intelRdt", "not supported");
  if (
    l.netDevices !== undefined && l.netDevices !== null &&
    Object.keys(l.netDevices as Obj).length > 0
  ) {
    fail("linux.netDevices", "moving host network devices into a sandbox is not supported");
  }
  if (l.memoryPolicy !== undefined && l.memoryPolicy !== null) {
    const o = obj(l.memoryPolicy, "linux.memoryPolicy", ["mode", "nodes", "flags"]);
    str(o.mode, "linux.memoryPolicy.mode", 64);
  }
  return {
    namespaces,
    seccomp,
    cgroupsPath,
    resources: parseResources(l.resources, "linux.resources"),
    maskedPaths,
    readonlyPaths,
    sysctl,
    devices,
  };
}

function isNamespacedSysctl(k: string): boolean {
  const name = k.replaceAll("/", ".");
  return /^kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced|hostname|domainname)$/
    .test(name) ||
    name.startsWith("fs.mqueue.") || name.startsWith("net.");
}

const RESOURCE_FIELDS = [
  "devices",
  "memory",
  "cpu",
  "blockIO",
  "hugepageLimits",
  "network",
  "pids",
  "rdma",
  "unified",
];

/** linux.resources (also the input of `update --resources`). */
export function parseResources(v: Json, path: string): Resources {
  const r = optObj(v, path, RESOURCE_FIELDS) ?? {};
  const out: Resources = {
    memoryLimit: null,
    memoryReservation: null,
    memorySwap: null,
    pidsLimit: null,
    cpuShares: null,
    cpuQuota: null,
    cpuPeriod: null,
    cpus: null,
    mems: null,
  };
  arr(r.devices, `${path}.devices`, 4096).forEach((d, i) => {
    const p = `${path}.devices[${i}]`;
    const o = obj(d, p, ["allow", "type", "major", "minor", "access"]);
    if (typeof o.allow !== "boolean") fail(`${p}.allow`, "must be true or false");
    const type = optStr(o.type, `${p}.type`, 4);
    if (type !== null && !["a", "c", "b"].includes(type)) {
      fail(`${p}.type`, `unknown device type '${type}'`);
    }
    optInt(o.major, `${p}.major`, -1, U32_MAX);
    optInt(o.minor, `${p}.minor`, -1, U32_MAX);
    const access = optStr(o.access, `${p}.access`, 3);
    if (access !== null && !/^[rwm]*$/.test(access)) {
      fail(`${p}.access`, `'${access}' is not a combination of r, w and m`);
    }
  });
  const mem = optObj(r.memory, `${path}.memory`, [
    "limit",
    "reservation",
    "swap",
    "kernel",
    "kernelTCP",
    "swappiness",
    "disableOOMKiller",
    "useHierarchy",
    "checkBeforeUpdate",
  ]);
  if (mem) {
    out.memoryLimit = memValue(mem.limit, `${path}.memory.limit`);
    out.memoryReservation = memValue(mem.reservation, `${path}.memory.reservation`);
    out.memorySwap = memValue(mem.swap, `${path}.memory.swap`);
    memValue(mem.kernel, `${path}.memory.kernel`);
    memValue(mem.kernelTCP, `${path}.memory.kernelTCP`);
    optInt(mem.swappiness, `${path}.memory.swappiness`, 0, 100);
    bool(mem.disableOOMKiller, `${path}.memory.disableOOMKiller`);
    bool(mem.useHierarchy, `${path}.memory.useHierarchy`);
    bool(mem.checkBeforeUpdate, `${path}.memory.checkBeforeUpdate`);
    if (out.memoryLimit !== null && out.memoryLimit < 4 * 1024 * 1024) {
      fail(`${path}.memory.limit`, "below the minimum of 4 MiB");
    }
  }
  const cpu = optObj(r.cpu, `${path}.cpu`, [
    "shares",
    "quota",
    "burst",
    "period",
    "realtimeRuntime",
    "realtimePeriod",
    "cpus",
    "mems",
    "idle",
  ]);
  if (cpu) {
    out.cpuShares = optInt(cpu.shares, `${path}.cpu.shares`, 0, 262144) || null;
    const quota = optInt(cpu.quota, `${path}.cpu.quota`, -1, I64_MAX);
    out.cpuQuota = quota === null || quota <= 0 ? null : quota;
    if (out.cpuQuota !== null && out.cpuQuota < 1000) {
      fail(`${path}.cpu.quota`, "below the minimum of 1000 microseconds");
    }
    out.cpuPeriod = optInt(cpu.period, `${path}.cpu.period`, 0, 1000000) || null;
    if (out.cpuPeriod !== null && out.cpuPeriod < 1000) {
      fail(`${path}.cpu.period`, "below the minimum of 1000 microseconds");
    }
    optInt(cpu.burst, `${path}.cpu.burst`, 0, I64_MAX);
    optInt(cpu.realtimeRuntime, `${path}.cpu.realtimeRuntime`, -1, I64_MAX);
    optInt(cpu.realtimePeriod, `${path}.cpu.realtimePeriod`, 0, I64_MAX);
    optInt(cpu.idle, `${path}.cpu.idle`, 0, 1);
    out.cpus = cpuList(cpu.cpus, `${path}.cpu.cpus`);
    out.mems = cpuList(cpu.mems, `${path}.cpu.mems`);
  }
  const pids = optObj(r.pids, `${path}.pids`, ["limit"]);
  if (pids) {
    const limit = int(pids.limit, `${path}.pids.limit`, -1, I64_MAX);
    out.pidsLimit = limit <= 0 ? null : limit;
  }
  if (r.blockIO !== undefined && r.blockIO !== null) {
    const b = obj(r.blockIO, `${path}.blockIO`, [
      "weight",
      "leafWeight",
      "weightDevice",
      "throttleReadBpsDevice",
      "throttleWriteBpsDevice",
      "throttleReadIOPSDevice",
      "throttleWriteIOPSDevice",
    ]);
    optInt(b.weight, `${path}.blockIO.weight`, 0, 1000);
    optInt(b.leafWeight, `${path}.blockIO.leafWeight`, 0, 1000);
  }
  arr(r.hugepageLimits, `${path}.hugepageLimits`, 16).forEach((h, i) => {
    const o = obj(h, `${path}.hugepageLimits[${i}]`, ["pageSize", "limit"]);
    str(o.pageSize, `${path}.hugepageLimits[${i}].pageSize`, 16);
    int(o.limit, `${path}.hugepageLimits[${i}].limit`, 0, 2 ** 64);
  });
  if (r.network !== undefined && r.network !== null) {
    const n = obj(r.network, `${path}.network`, ["classID", "priorities"]);
    optInt(n.classID, `${path}.network.classID`, 0, U32_MAX);
  }
  if (r.unified !== undefined && r.unified !== null) {
    if (!isObj(r.unified)) fail(`${path}.unified`, "must be an object");
    for (const [k, val] of Object.entries(r.unified)) {
      if (!/^[a-z0-9_]+\.[a-z0-9_.]+$/.test(k)) {
        fail(`${path}.unified.${k}`, "not a cgroup v2 file name");
      }
      str(val, `${path}.unified.${k}`, 4096);
    }
  }
  return out;
}

/** A memory size in bytes; -1 (and 0, as runc reads it) mean no limit. */
function memValue(v: Json, path: string): number | null {
  const n = optInt(v, path, -1, I64_MAX);
  return n === null || n <= 0 ? null : n;
}

function cpuList(v: Json, path: string): string | null {
  const s = optStr(v, path, 4096);
  if (s === null || s === "") return null;
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(s)) fail(path, `'${s}' is not a list like 0-3,5`);
  return s;
}

// Each action and operator here has a meaning in sentry/kernel/syscall_policy.ts (kept apart
// so that parsing a config does not load the sentry).
const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
];

const SECCOMP_OPS = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];

/** An argument value of a seccomp rule: an unsigned 64-bit integer (JSON numbers above 2^53
 * arrive rounded, as JSON gives them). */
function u64(v: Json, path: string): bigint {
  if (v === undefined || v === null) return 0n;
  return BigInt(int(v, path, 0, 2 ** 64 - 1));
}

/** linux.seccomp: the profile the sentry enforces on the guest's syscalls (the guest's
 * syscalls never reach the host, so there is no host filter to install). */
function parseSeccomp(v: Json): Profile {
  const s = obj(v, "linux.seccomp", [
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
  ]);
  const defaultAction = str(s.defaultAction, "linux.seccomp.defaultAction", 64);
  if (!SECCOMP_ACTIONS.includes(defaultAction)) {
    fail("linux.seccomp.defaultAction", `unknown action '${defaultAction}'`);
  }
  const defaultErrnoRet = optInt(s.defaultErrnoRet, "linux.seccomp.defaultErrnoRet", 0, 4095);
  strArr(s.architectures, "linux.seccomp.architectures", 64);
  strArr(s.flags, "linux.seccomp.flags", 16);
  const syscalls = arr(s.syscalls, "linux.seccomp.syscalls", 4096).map((x, i) => {
    const p = `linux.seccomp.syscalls[${i}]`;
    const o = obj(x, p, ["names", "action", "errnoRet", "args", "comment", "includes", "excludes"]);
    // Docker's profile format conditions entries on capabilities; an OCI profile has them
    // resolved already. Applying such an entry unconditionally could allow what it denies.
    for (const k of ["includes", "excludes"]) {
      if (o[k] !== undefined && o[k] !== null && Object.keys(o[k] as Obj).length > 0) {
        fail(`${p}.${k}`, "not an OCI field (the engine resolves it); not supported");
      }
    }
    const names = strArr(o.names, `${p}.names`, 4096);
    const action = str(o.action, `${p}.action`, 64);
    if (!SECCOMP_ACTIONS.includes(action)) fail(`${p}.action`, `unknown action '${action}'`);
    const errnoRet = optInt(o.errnoRet, `${p}.errnoRet`, 0, 4095);
    const args = arr(o.args, `${p}.args`, 6).map((g, j) => {
      const q = `${p}.args[${j}]`;
      const ga = obj(g, q, ["index", "value", "valueTwo", "op"]);
      const op = str(ga.op, `${q}.op`, 32);
      if (!SECCOMP_OPS.includes(op)) fail(`${q}.op`, `unknown operator '${op}'`);
      return {
        index: int(ga.index, `${q}.index`, 0, 5),
        value: u64(ga.value, `${q}.value`),
        valueTwo: u64(ga.valueTwo, `${q}.valueTwo`),
        op,
      };
    });
    return { names, action, errnoRet, args };
  });
  return { defaultAction, defaultErrnoRet, syscalls };
}

// ---- defaults (`cordon spec`) --------------------------------------------------------------

/** The configuration `cordon spec` writes: what `runc spec` writes, for a busybox root. */
export function defaultConfigJson(): Record<string, unknown> {
  const caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "cordon",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      },
      {
        destination: "/dev/mqueue",
        type: "mqueue",
        source: "mqueue",
        options: ["nosuid", "noexec", "nodev"],
      },
      {
        destination: "/sys",
        type: "sysfs",
        source: "sysfs",
        options: ["nosuid", "noexec", "nodev", "ro"],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, {
        type: "mount",
      }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}
