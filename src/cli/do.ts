// `cordon do`: run one command sandboxed, like `runsc do`.
import { exitCodeOf, FILESYSTEMS, Sandbox, SandboxError, type SandboxSpec } from "../../sentry/sandbox.ts";
import { registerFilesystems } from "../../sentry/fs/register.ts";
import { CliError, type Opt, parseOptions } from "./options.ts";
import { HostConsole } from "../../sentry/kernel/tty/host.ts";
import { forwardHostSignals } from "../../sentry/kernel/tty/forward.ts";
import { hostsig } from "../../ffi/hostsig.ts";
import { attachNetwork, type NetworkMode } from "../../sentry/net/network.ts";
import { type PreparedNetwork, prepareDoNetwork } from "../../sentry/net/setup.ts";

export const HELP = `Usage: cordon do [options] [--] CMD [ARGS...]

Runs CMD in a sandbox: its system calls are served by cordon's own kernel, never by the
host's. The host's root filesystem (or --rootfs) is read-only underneath an in-memory
layer: the command may write anywhere, and nothing reaches the host unless a --volume
says so. Standard input, output and error are passed through; the exit status is the
command's (128+N if a signal N killed it).

When standard input is a terminal, the command gets a terminal of the sandbox's own
(/dev/pts/0, its controlling terminal) on top of it: the host terminal is in raw mode
while the command runs, ^C and ^Z reach the command's foreground job, and window size
changes follow. SIGINT, SIGTERM and SIGHUP sent to cordon go to the command.

Options:
  --cwd DIR             working directory (default: the current one, else /)
  --env K=V             set an environment variable (repeatable; the host's are passed)
  --clear-env           start from an empty environment
  --rootfs DIR          use DIR as the root filesystem instead of /
  --volume HOST:GUEST[:ro]
                        mount a host directory; writes go to the host (repeatable)
  --hostname NAME       the sandbox's host name (default: cordon)
  --memory BYTES        limit the sandbox's memory (suffixes k, m, g)
  --platform trap|ptrace
                        how guest system calls are trapped (default: trap)
  --network sandbox|none|host
                        sandbox: the guest's own TCP/IP stack (cordon's netstack) in a
                        fresh network namespace joined to the host by a veth pair with
                        NAT, as runsc do does (needs root, ip and nft or iptables; turns
                        on the host's IPv4 forwarding); none: loopback only; host: the
                        guest uses the host's sockets and network directly (faster, but
                        less isolated). Default: sandbox when possible, else none with a
                        notice on standard error
  --strace              log every system call to standard error
  --debug-log FILE      write the sentry's debug log to FILE
`;

const OPTIONS: Opt[] = [
  { name: "cwd", arg: true },
  { name: "env", arg: true, repeat: true },
  { name: "clear-env" },
  { name: "rootfs", arg: true },
  { name: "volume", arg: true, repeat: true },
  { name: "hostname", arg: true },
  { name: "memory", arg: true },
  { name: "platform", arg: true },
  { name: "network", arg: true },
  { name: "strace" },
  { name: "debug-log", arg: true },
];

/** Environment variables of cordon's own machinery, never passed to the guest. */
function hostEnv(): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(Deno.env.toObject())) {
    if (k.startsWith("CORDON_") || k.startsWith("DENO_")) continue;
    out.push(`${k}=${v}`);
  }
  return out.sort();
}

export function parseSize(s: string): number {
  const m = /^(\d+)([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new CliError(`invalid size '${s}'`);
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase()]!;
  return Number(m[1]) * mult;
}

function writer(file: Deno.FsFile | null): ((line: string) => void) | null {
  if (!file) return null;
  const enc = new TextEncoder();
  return (line) => {
    file.writeSync(enc.encode(line + "\n"));
  };
}

export function runDo(args: string[]): number {
  const { opts, rest } = parseOptions(args, OPTIONS, "do");
  if (rest.length === 0) throw new CliError("do: no command given (see 'cordon help do')");
  const platform = (opts.get("platform") as string | undefined) ?? "trap";
  if (platform !== "trap" && platform !== "ptrace") {
    throw new CliError(`do: --platform must be trap or ptrace, not '${platform}'`);
  }
  let env = opts.has("clear-env") ? [] : hostEnv();
  for (const kv of (opts.get("env") as string[] | undefined) ?? []) {
    if (!kv.includes("=")) throw new CliError(`do: --env needs K=V, got '${kv}'`);
    const key = kv.slice(0, kv.indexOf("="));
    env = env.filter((e) => !e.startsWith(key + "="));
    env.push(kv);
  }
  const rootfs = (opts.get("rootfs") as string | undefined) ?? "/";
  const mounts = ((opts.get("volume") as string[] | undefined) ?? []).map((v) => {
    const parts = v.split(":");
    if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1].startsWith("/")) {
      throw new CliError(`do: --volume needs HOST:GUEST[:ro] with an absolute GUEST, got '${v}'`);
    }
    if (parts[2] !== undefined && parts[2] !== "ro" && parts[2] !== "rw") {
      throw new CliError(`do: --volume option must be ro or rw, got '${parts[2]}'`);
    }
    return { type: "bind", source: parts[0], destination: parts[1], options: parts[2] === "ro" ? ["ro"] : [] };
  });
  const stderrLine = (line: string) => {
    Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
  };
  const debugFile = opts.has("debug-log")
    ? Deno.openSync(opts.get("debug-log") as string, { write: true, create: true, append: true })
    : null;
  const memory = opts.has("memory") ? parseSize(opts.get("memory") as string) : undefined;

  registerFilesystems();
  const spec: SandboxSpec = {
    rootfs,
    rootReadonly: true,
    overlay: true,
    mounts: [...defaultMounts().filter((m) => FILESYSTEMS.has(m.type)), ...mounts],
    hostname: (opts.get("hostname") as string | undefined) ?? "cordon",
    platform,
    memoryLimit: memory,
    strace: opts.has("strace") ? stderrLine : null,
    debug: writer(debugFile),
  };
  let cwd = opts.get("cwd") as string | undefined;
  if (cwd === undefined) cwd = rootfs === "/" ? Deno.cwd() : "/";
  const netChoice = (opts.get("network") as string | undefined) ?? "auto";
  if (!["auto", "sandbox", "none", "host"].includes(netChoice)) {
    throw new CliError(`do: --network must be sandbox, none or host, not '${netChoice}'`);
  }
  let net: PreparedNetwork;
  try {
    net = prepareDoNetwork(netChoice as NetworkMode | "auto");
  } catch (e) {
    console.error(`cordon: ${e instanceof Error ? e.message : e}`);
    return 125;
  }
  if (net.notice) console.error(net.notice);
  let sandbox: Sandbox;
  try {
    sandbox = new Sandbox(spec);
  } catch (e) {
    net.cleanup();
    if (e instanceof SandboxError) {
      console.error(`cordon: ${e.message}`);
      return 125;
    }
    throw e;
  }
  attachNetwork(sandbox.kernel, net.network);
  for (const n of net.notes) spec.debug?.(`network: ${n}`);
  const uid = Deno.uid() ?? 0, gid = Deno.gid() ?? 0;
  const console_ = attachConsole(sandbox);
  const stopForwarding = forwardHostSignals(sandbox.kernel, console_);
  try {
    try {
      sandbox.startInit({
        args: rest,
        env,
        cwd: sandbox.resolve(cwd) instanceof Object ? cwd : "/",
        uid,
        gid,
        groups: [],
        stdio: [0, 1, 2],
        console: console_ ?? undefined,
      });
    } catch (e) {
      if (e instanceof SandboxError) {
        console.error(`cordon: ${e.message}`);
        const errno = (e as SandboxError & { errno?: number }).errno;
        return errno === 2 ? 127 : errno === undefined ? 125 : 126;
      }
      throw e;
    }
    const status = sandbox.run();
    return exitCodeOf(status);
  } finally {
    net.cleanup();
    console_?.close();
    hostsig().sb_tty_restore();
    stopForwarding();
    debugFile?.close();
  }
}

/** When standard input is a terminal whose foreground job we are, the guest gets a console
 * on it: the host terminal goes raw (restored on every way out: sb_tty_restore, exit, fatal
 * signals) and the sandbox's line discipline takes over. */
function attachConsole(sandbox: Sandbox): HostConsole | null {
  if (!Deno.stdin.isTerminal()) return null;
  const hs = hostsig();
  if (hs.sb_tty_is_foreground(0) !== 1) return null;
  const con = HostConsole.attach(sandbox.kernel, 0);
  if (typeof con === "number") return null;
  if (hs.sb_tty_make_raw(0) < 0) {
    con.close();
    return null;
  }
  return con;
}

/** What `cordon do` mounts over the root: the kernel's own /proc, /dev, /sys, /tmp, if the
 * sentry provides them. */
function defaultMounts() {
  return [
    { type: "proc", source: "proc", destination: "/proc", options: [] },
    { type: "devtmpfs", source: "dev", destination: "/dev", options: ["nosuid"] },
    {
      type: "devpts",
      source: "devpts",
      destination: "/dev/pts",
      options: ["nosuid", "noexec", "gid=5", "mode=620", "ptmxmode=666"],
    },
    {
      type: "tmpfs",
      source: "shm",
      destination: "/dev/shm",
      options: ["nosuid", "nodev", "noexec", "mode=1777", "size=65536k"],
    },
    { type: "sysfs", source: "sysfs", destination: "/sys", options: ["ro"] },
    // No tmpfs over /tmp: the host's /tmp shows through the overlay like the rest of the
    // root (read-only underneath, writes kept in memory), so a program or a working
    // directory under /tmp runs as it would outside.
  ];
}
