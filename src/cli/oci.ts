// The OCI runtime's command line, runc-compatible: global flags, then a verb and its flags.
// Parsing only; the operations are src/oci/*. An operation that fails prints one line and
// exits 1 (runc's convention); a command line we do not understand exits 2.
import { CliError, type Opt, parseOptions } from "./options.ts";

export const OCI_VERBS = [
  "create",
  "start",
  "state",
  "kill",
  "delete",
  "run",
  "exec",
  "ps",
  "list",
  "spec",
  "features",
  "pause",
  "resume",
  "events",
  "wait",
  "update",
];

const GLOBAL_OPTIONS: Opt[] = [
  { name: "root", arg: true },
  { name: "log", arg: true },
  { name: "log-format", arg: true },
  { name: "debug" },
  { name: "systemd-cgroup" },
  { name: "platform", arg: true },
  { name: "debug-log", arg: true },
  { name: "strace" },
  // runc's and runsc's flags cordon does not need: accepted, ignored.
  { name: "rootless", arg: true, ignored: true },
  { name: "criu", arg: true, ignored: true },
  { name: "network", arg: true, ignored: true },
];

export const OCI_HELP = `OCI runtime commands (runc-compatible):
  cordon [global options] create [--bundle DIR] [--pid-file F] [--console-socket S] ID
  cordon [global options] start ID
  cordon [global options] run [--bundle DIR] [--detach] [--pid-file F] [--console-socket S] [--keep] ID
  cordon [global options] state ID
  cordon [global options] kill [--all] ID [SIGNAL]
  cordon [global options] delete [--force] ID
  cordon [global options] exec [--process F | options] [--detach] [--pid-file F] [--tty] ID [CMD...]
  cordon [global options] ps [--format table|json] ID
  cordon [global options] list [--format table|json] [--quiet]
  cordon [global options] pause ID | resume ID
  cordon [global options] events [--stats] [--interval 5s] ID
  cordon [global options] update [--resources F] [--memory N] [--pids-limit N] ... ID
  cordon [global options] wait ID
  cordon spec [--bundle DIR] [--rootless]
  cordon features

Global options:
  --root DIR              state directory (default /run/cordon)
  --log FILE              also write errors and warnings to FILE
  --log-format text|json  format of --log
  --debug                 debug messages
  --systemd-cgroup        linux.cgroupsPath is slice:prefix:name
  --platform trap|ptrace  how guest system calls are trapped (default trap)
  --debug-log FILE        the sentry's debug log
  --strace                log every guest system call to the container's stderr
`;

const VERB_OPTIONS: Record<string, Opt[]> = {
  create: [
    { name: "bundle", short: "b", arg: true },
    { name: "pid-file", arg: true },
    { name: "console-socket", arg: true },
    { name: "no-pivot", ignored: true },
    { name: "no-new-keyring", ignored: true },
    { name: "preserve-fds", arg: true, ignored: true },
    { name: "pidfd-socket", arg: true, ignored: true },
  ],
  run: [
    { name: "bundle", short: "b", arg: true },
    { name: "pid-file", arg: true },
    { name: "console-socket", arg: true },
    { name: "detach", short: "d" },
    { name: "keep" },
    { name: "no-subreaper", ignored: true },
    { name: "no-pivot", ignored: true },
    { name: "no-new-keyring", ignored: true },
    { name: "preserve-fds", arg: true, ignored: true },
    { name: "pidfd-socket", arg: true, ignored: true },
  ],
  start: [],
  state: [],
  kill: [{ name: "all", short: "a" }],
  delete: [{ name: "force", short: "f" }],
  exec: [
    { name: "process", short: "p", arg: true },
    { name: "detach", short: "d" },
    { name: "pid-file", arg: true },
    { name: "console-socket", arg: true },
    { name: "cwd", arg: true },
    { name: "env", short: "e", arg: true, repeat: true },
    { name: "tty", short: "t" },
    { name: "user", short: "u", arg: true },
    { name: "additional-gids", short: "g", arg: true, repeat: true },
    { name: "cap", short: "c", arg: true, repeat: true },
    { name: "no-new-privs" },
    { name: "process-label", arg: true, ignored: true },
    { name: "apparmor", arg: true, ignored: true },
    { name: "preserve-fds", arg: true, ignored: true },
    { name: "pidfd-socket", arg: true, ignored: true },
    { name: "cgroup", arg: true, ignored: true },
    { name: "ignore-paused", ignored: true },
  ],
  ps: [{ name: "format", short: "f", arg: true }],
  list: [{ name: "format", short: "f", arg: true }, { name: "quiet", short: "q" }],
  spec: [{ name: "bundle", short: "b", arg: true }, { name: "rootless" }],
  features: [],
  pause: [],
  resume: [],
  events: [{ name: "stats" }, { name: "interval", arg: true }],
  wait: [],
  update: [
    { name: "resources", short: "r", arg: true },
    { name: "memory", arg: true },
    { name: "memory-reservation", arg: true },
    { name: "memory-swap", arg: true },
    { name: "pids-limit", arg: true },
    { name: "cpu-period", arg: true },
    { name: "cpu-quota", arg: true },
    { name: "cpu-share", arg: true },
    { name: "cpuset-cpus", arg: true },
    { name: "cpuset-mems", arg: true },
    { name: "kernel-memory", arg: true, ignored: true },
    { name: "kernel-memory-tcp", arg: true, ignored: true },
    { name: "blkio-weight", arg: true, ignored: true },
    { name: "l3-cache-schema", arg: true, ignored: true },
    { name: "mem-bw-schema", arg: true, ignored: true },
  ],
};

function str(opts: Map<string, string | string[] | boolean>, name: string): string | null {
  const v = opts.get(name);
  return typeof v === "string" ? v : null;
}

function list(opts: Map<string, string | string[] | boolean>, name: string): string[] {
  const v = opts.get(name);
  return Array.isArray(v) ? v : [];
}

function onlyId(verb: string, rest: string[]): string {
  if (rest.length !== 1) {
    throw new CliError(`${verb}: expects exactly one container id, got ${rest.length} arguments`);
  }
  return rest[0];
}

/** A size for update: bytes, with k/m/g suffixes; -1 for no limit. */
function size(flag: string, v: string | null): number | null | undefined {
  if (v === null) return undefined;
  if (v === "-1") return null;
  const m = /^(\d+)([kmgt]?)b?$/i.exec(v.trim());
  if (!m) throw new CliError(`update: --${flag} needs a size, not '${v}'`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase()]!;
  return Number(m[1]) * mult;
}

function integer(flag: string, v: string | null): number | null | undefined {
  if (v === null) return undefined;
  if (!/^-?\d+$/.test(v)) throw new CliError(`update: --${flag} needs an integer, not '${v}'`);
  const n = Number(v);
  return n <= 0 ? null : n;
}

function duration(v: string | null): number {
  if (v === null) return 5000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new CliError(`events: --interval needs a duration like 5s, not '${v}'`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60000 }[m[2] ?? "s"] ?? 1000);
}

/** Runs `cordon [global options] VERB ...`; returns the exit status. */
export async function runOci(args: string[]): Promise<number> {
  const { opts: g, rest } = parseOptions(args, GLOBAL_OPTIONS, "cordon");
  const [verb, ...verbArgs] = rest;
  if (verb === undefined) {
    throw new CliError("no command given after the global options (see 'cordon --help')");
  }
  if (!OCI_VERBS.includes(verb)) {
    throw new CliError(`unknown command '${verb}' (see 'cordon --help')`);
  }
  const platform = str(g, "platform") ?? "trap";
  if (platform !== "trap" && platform !== "ptrace") {
    throw new CliError(`--platform must be trap or ptrace, not '${platform}'`);
  }
  const logFormat = str(g, "log-format") ?? "text";
  if (logFormat !== "text" && logFormat !== "json") {
    throw new CliError(`--log-format must be text or json, not '${logFormat}'`);
  }
  const { opts: o, rest: pos } = parseOptions(verbArgs, VERB_OPTIONS[verb], verb);

  const { Runtime } = await import("../oci/context.ts");
  const { DEFAULT_ROOT } = await import("../oci/container.ts");
  const { OciError } = await import("../oci/errors.ts");
  const rt = new Runtime({
    root: str(g, "root") ?? DEFAULT_ROOT,
    log: str(g, "log"),
    logFormat,
    debug: g.has("debug"),
    systemdCgroup: g.has("systemd-cgroup"),
    platform,
    debugLog: str(g, "debug-log"),
    strace: g.has("strace"),
  });
  const print = (text: string) => {
    if (text !== "") console.log(text);
  };
  try {
    switch (verb) {
      case "create": {
        const { createContainer } = await import("../oci/create.ts");
        const c = await createContainer(rt, {
          id: onlyId(verb, pos),
          bundle: str(o, "bundle") ?? ".",
          pidFile: str(o, "pid-file"),
          consoleSocket: str(o, "console-socket"),
        });
        c.unlock();
        return 0;
      }
      case "run": {
        const { runContainer } = await import("../oci/run.ts");
        return await runContainer(rt, {
          id: onlyId(verb, pos),
          bundle: str(o, "bundle") ?? ".",
          pidFile: str(o, "pid-file"),
          consoleSocket: str(o, "console-socket"),
          detach: o.has("detach"),
          keep: o.has("keep"),
        });
      }
      case "start":
        await (await import("../oci/start.ts")).startContainer(rt, onlyId(verb, pos));
        return 0;
      case "state":
        print(
          JSON.stringify(
            (await import("../oci/state.ts")).containerState(rt, onlyId(verb, pos)),
            null,
            2,
          ),
        );
        return 0;
      case "kill": {
        if (pos.length < 1 || pos.length > 2) throw new CliError("kill: expects ID [SIGNAL]");
        const { parseSignal } = await import("../oci/signals.ts");
        const sig = parseSignal(pos[1] ?? "SIGTERM");
        if (sig === null) throw new OciError(`kill: '${pos[1]}' is not a signal`);
        (await import("../oci/kill.ts")).killContainer(rt, pos[0], sig, o.has("all"));
        return 0;
      }
      case "delete":
        await (await import("../oci/delete.ts")).deleteContainer(
          rt,
          onlyId(verb, pos),
          o.has("force"),
        );
        return 0;
      case "exec": {
        if (pos.length < 1) throw new CliError("exec: expects ID [COMMAND...]");
        const gids = list(o, "additional-gids").map((x) => {
          if (!/^\d+$/.test(x)) {
            throw new CliError(`exec: --additional-gids needs numbers, not '${x}'`);
          }
          return Number(x);
        });
        return (await import("../oci/exec.ts")).execInContainer(rt, {
          id: pos[0],
          args: pos.slice(1),
          processFile: str(o, "process"),
          detach: o.has("detach"),
          pidFile: str(o, "pid-file"),
          consoleSocket: str(o, "console-socket"),
          cwd: str(o, "cwd"),
          env: list(o, "env"),
          tty: o.has("tty"),
          user: str(o, "user"),
          additionalGids: gids,
          caps: list(o, "cap"),
          noNewPrivs: o.has("no-new-privs"),
        });
      }
      case "ps":
        print(
          (await import("../oci/ps.ts")).psContainer(
            rt,
            pos[0] ?? onlyId(verb, pos),
            str(o, "format") ?? "table",
          ),
        );
        return 0;
      case "list":
        if (pos.length) throw new CliError("list: takes no arguments");
        print(
          (await import("../oci/list.ts")).listContainers(
            rt,
            str(o, "format") ?? "table",
            o.has("quiet"),
          ),
        );
        return 0;
      case "spec":
        if (pos.length) throw new CliError("spec: takes no arguments");
        (await import("../oci/spec.ts")).writeSpec(str(o, "bundle") ?? ".", o.has("rootless"));
        return 0;
      case "features":
        print(JSON.stringify((await import("../oci/features.ts")).features(), null, 2));
        return 0;
      case "pause":
      case "resume":
        (await import("../oci/pause.ts")).pauseContainer(rt, onlyId(verb, pos), verb === "pause");
        return 0;
      case "events":
        await (await import("../oci/events.ts")).events(
          rt,
          onlyId(verb, pos),
          o.has("stats"),
          duration(str(o, "interval")),
          print,
        );
        return 0;
      case "wait":
        print(
          JSON.stringify((await import("../oci/wait.ts")).waitContainer(rt, onlyId(verb, pos))),
        );
        return 0;
      case "update": {
        const { resourcesFrom, updateContainer } = await import("../oci/update.ts");
        const r = resourcesFrom(str(o, "resources"), {
          memoryLimit: size("memory", str(o, "memory")),
          memoryReservation: size("memory-reservation", str(o, "memory-reservation")),
          memorySwap: size("memory-swap", str(o, "memory-swap")),
          pidsLimit: integer("pids-limit", str(o, "pids-limit")),
          cpuPeriod: integer("cpu-period", str(o, "cpu-period")),
          cpuQuota: integer("cpu-quota", str(o, "cpu-quota")),
          cpuShares: integer("cpu-share", str(o, "cpu-share")),
          cpus: str(o, "cpuset-cpus") ?? undefined,
          mems: str(o, "cpuset-mems") ?? undefined,
        });
        updateContainer(rt, onlyId(verb, pos), r);
        return 0;
      }
    }
    return 2;
  } catch (e) {
    if (e instanceof OciError) {
      console.error(`cordon: ${e.message}`);
      rt.logLine("error", e.message);
      return e.exitCode;
    }
    throw e;
  }
}
