// The sandbox process: one per container, forked by `create` (create.ts, launchSandbox) from
// the CLI's own process, so that it starts with Deno and this code already loaded, in fresh
// mount, pid, ipc, uts and cgroup namespaces and the network namespace config.json gives (its
// path, a new one, or the host's when it lists none), in the container's cgroups. Its host pid
// is the container's pid; its exit status is the container init's.
//
// Set-up, in this order (see README.md for why):
//   1. read the launch message (config, options) from fd 3, the CLI's end of a socket pair;
//   2. bind the control socket, open the state directory (for the exit file);
//   3. take over the network while it still may (see networkMode): the interfaces of the
//      container's network namespace for the netstack, or host sockets when the container
//      shares the host's namespace;
//      then build its own root: a tmpfs with a read-only /proc of its pid namespace, the
//      container's root and the bind-mount sources bound in; pivot_root into it;
//      wait until the CLI has moved us into the container's cgroups (it does so meanwhile)
//      and make our cgroup namespace there;
//   4. drop capabilities (keeping only the file ones the container's root needs in its own
//      tree), set no_new_privs;
//   5. build the Sandbox (kernel, platform, filesystem tree, mounts, /dev, masked paths);
//   6. install the seccomp allowlist on all its threads;
//   7. report "ready" on fd 3 and serve the control socket from the kernel's loop.
// `start` then execs the container's init; when init exits, the process writes ROOT/ID/exit
// and exits with init's exit code.
import * as ffi from "../../ffi/oci.ts";
import {
  exitCodeOf,
  FILESYSTEMS,
  type MountSpec,
  type ProcessSpec,
  Sandbox,
  SandboxError,
} from "../../sentry/sandbox.ts";
import { registerFilesystems } from "../../sentry/fs/register.ts";
import { MNT_READONLY } from "../../sentry/vfs/mount.ts";
import { populateDev } from "../../sentry/fs/dev/devfs.ts";
import { HostConsole } from "../../sentry/kernel/tty/host.ts";
import {
  CAPABILITY_NAMES,
  MAX_CONFIG_BYTES,
  type OciConfig,
  parseConfig,
  parseProcess,
  type ProcessConfig,
} from "./config.ts";
import { CONTROL_SOCKET } from "./control.ts";
import { errnoName, OciError } from "./errors.ts";
import { mark } from "./timing.ts";
import { attachNetwork, type NetworkMode } from "../../sentry/net/network.ts";
import { prepareContainerNetwork, type PreparedNetwork } from "../../sentry/net/setup.ts";
import { host } from "../../ffi/host.ts";
import { SyscallPolicy } from "../../sentry/kernel/syscall_policy.ts";
import { libsandboxPath } from "../../ffi/locate.ts";

/** What `create` sends the sandbox process on fd 3. */
export interface LaunchMessage {
  id: string;
  stateDir: string;
  bundle: string;
  // config.json comes as a sealed memfd attached to the message (any size).
  platform: "trap" | "ptrace";
  /** Runtime log (--log) and its format; the sentry's debug log; strace to stderr. */
  log: string | null;
  logFormat: "text" | "json";
  debugLog: string | null;
  strace: boolean;
  /** fds 0-2 are a terminal (the slave of the console pty). */
  terminal: boolean;
  /** That terminal is the user's (run in the foreground): the CLI made it raw and forwards
   * its SIGWINCH; it is someone else's controlling terminal. */
  userTerminal: boolean;
  /** Start init as soon as the sandbox is ready (`run` without create-time or start hooks):
   * the ready message then says whether it started. */
  autostart: boolean;
  /** The CLI is moving us into the container's cgroups and sends { cgroups: "joined" } (or
   * { error }) on fd 3 once done. */
  cgroupsToJoin: boolean;
}

const SYNC_FD = 3;
const EPOLLIN = 0x001, EPOLLHUP = 0x010, EPOLLERR = 0x008;

/** Signals the sandbox process forwards to the container (SIGUSR1 is the platform's). */
const FORWARDED = [1, 2, 3, 12, 15, 28]; // HUP INT QUIT USR2 TERM WINCH
/** Terminal stop signals: the sentry must never stop; the guest's job control is its own. */
const SWALLOWED = [20, 21, 22]; // TSTP TTIN TTOU

/**
 * The guest's network, from the network namespace config.json gives the container:
 * - a namespace (podman's bridge or slirp4netns namespace, or a new one): "sandbox", the
 *   netstack on that namespace's interfaces, as runsc does; a namespace with only lo (podman
 *   --network=none) gives loopback alone;
 * - none listed, so the container shares the host's namespace (podman --network=host):
 *   "host", the host's sockets on the guest's behalf, as runc gives. Taking over the
 *   host's own interfaces is never an option.
 */
function networkMode(config: OciConfig): NetworkMode {
  return config.linux.namespaces.some((ns) => ns.type === "network") ? "sandbox" : "host";
}

/** Capabilities the sentry keeps on the host (if the container's root has them): it does
 * the file operations of the container's root in the container's own trees. */
const FILE_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID"].map((n) =>
  CAPABILITY_NAMES.indexOf(n)
);

const encoder = new TextEncoder();

export function sandboxMain(): number {
  mark("sandbox: main");
  const got = ffi.recvMessage(SYNC_FD, 60_000);
  if (typeof got === "number" || got.text === "") return 1; // the CLI is gone
  const launch = JSON.parse(got.text) as LaunchMessage;
  const configText = got.fds.length === 1 ? ffi.readAll(got.fds[0], MAX_CONFIG_BYTES) : -22;
  got.fds.forEach((fd) => ffi.close(fd));
  if (typeof configText === "number") {
    ffi.sendMessage(
      SYNC_FD,
      JSON.stringify({ error: `reading config.json: ${errnoName(configText)}` }),
    );
    return 1;
  }
  mark("sandbox: launch message");
  let server: SandboxServer;
  try {
    server = SandboxServer.setUp(launch, configText);
  } catch (e) {
    const message = e instanceof OciError || e instanceof SandboxError
      ? e.message
      : `sandbox set-up failed: ${e instanceof Error ? e.stack : e}`;
    const errno = (e as { errno?: number }).errno;
    ffi.sendMessage(SYNC_FD, JSON.stringify({ error: message, errno }));
    return 1;
  }
  mark("sandbox: ready");
  if (launch.autostart) {
    try {
      server.startInit();
    } catch (e) {
      const message = e instanceof OciError || e instanceof SandboxError ? e.message : String(e);
      ffi.sendMessage(SYNC_FD, JSON.stringify({ error: message }));
      return 1;
    }
  }
  ffi.sendMessage(SYNC_FD, JSON.stringify({ ok: true, started: launch.autostart }));
  ffi.close(SYNC_FD);
  // What set-up allocated and freed goes back to the host: a sleeping container is smaller.
  ffi.oci().sb_oci_trim_memory();
  return server.serve();
}

class SandboxServer {
  private sandbox!: Sandbox;
  private listenFd = -1;
  private stateDirFd = -1;
  private signalFd = -1;
  private logFile: Deno.FsFile | null = null;
  private console: HostConsole | null = null;
  private started = false;
  /** The container's seccomp profile (linux.seccomp), for init and every exec'd process. */
  private syscallPolicy: SyscallPolicy | null = null;
  /** Exec connections waiting for their process's exit: pid -> fd. */
  private readonly execConns = new Map<number, number>();

  private constructor(readonly launch: LaunchMessage, readonly config: OciConfig) {}

  static setUp(launch: LaunchMessage, configText: string): SandboxServer {
    const config = parseConfig(configText, launch.bundle);
    if (!config.process) throw new OciError("config.json: process: missing (nothing to run)");
    const s = new SandboxServer(launch, config);
    s.prepare();
    return s;
  }

  private log(level: string, msg: string): void {
    if (!this.logFile) return;
    const line = this.launch.logFormat === "json"
      ? JSON.stringify({ level, msg, time: new Date().toISOString() })
      : `time="${new Date().toISOString()}" level=${level} msg="${msg.replaceAll('"', '\\"')}"`;
    try {
      this.logFile.writeSync(encoder.encode(line + "\n"));
    } catch {
      // a log we cannot write is not a reason to fail
    }
  }

  private prepare(): void {
    const L = this.launch;
    const config = this.config;
    if (L.log) this.logFile = Deno.openSync(L.log, { write: true, create: true, append: true });
    const debugFile = L.debugLog
      ? Deno.openSync(L.debugLog, { write: true, create: true, append: true })
      : null;

    this.stateDirFd = check(ffi.openDir(L.stateDir), `open ${L.stateDir}`);
    this.listenFd = check(
      ffi.listen(`${L.stateDir}/${CONTROL_SOCKET}`, this.stateDirFd, CONTROL_SOCKET),
      "control socket",
    );
    this.signalFd = check(ffi.catchSignals([...FORWARDED, ...SWALLOWED]), "signal handlers");

    // libsandbox.so stays reachable after pivot_root through an fd of ours.
    const libFd = check(ffi.openReadOnly(libsandboxPath()), "opening libsandbox.so");
    Deno.env.set("CORDON_LIBSANDBOX", `/proc/self/fd/${libFd}`);

    // 3. The network. Taking over the namespace's interfaces needs CAP_NET_RAW and
    // CAP_NET_ADMIN there, and host sockets must be allowed by the seccomp filter: both
    // are settled here, before either is given up.
    const netMode = networkMode(config);
    let network: PreparedNetwork;
    try {
      network = prepareContainerNetwork(netMode);
    } catch (e) {
      throw new OciError(`network (${netMode}): ${e instanceof Error ? e.message : e}`);
    }

    // Our own root: only the container's trees and a read-only /proc.
    check(ffi.oci().sb_oci_make_mounts_private(), "making mounts private");
    const newRoot = L.stateDir;
    check(ffi.oci().sb_oci_mount_root_tmpfs(ffi.cstr(newRoot)), "mounting the sandbox root");
    check(
      ffi.oci().sb_oci_bind_into(
        ffi.cstr(config.root.path),
        ffi.cstr(`${newRoot}/root`),
        config.root.readonly ? 1 : 0,
      ),
      `root.path ${config.root.path}`,
    );
    check(ffi.oci().sb_oci_mkdir(ffi.cstr(`${newRoot}/binds`), 0o755), "mkdir binds");
    const bindKinds = new Map<number, number>();
    config.mounts.forEach((m, i) => {
      if (m.type !== "bind") return;
      const ro = m.options.includes("ro") ? 1 : 0;
      const kind = ffi.oci().sb_oci_bind_into(
        ffi.cstr(m.source),
        ffi.cstr(`${newRoot}/binds/${i}`),
        ro,
      );
      if (kind < 0) throw new OciError(`mounts[${i}]: bind source ${m.source}: ${errnoName(kind)}`);
      bindKinds.set(i, kind);
    });
    check(ffi.oci().sb_oci_pivot(ffi.cstr(newRoot)), "pivot_root");
    mark("sandbox: pivoted");
    this.joinCgroups();

    // 4. Capabilities: only the file ones the container's root has.
    const bounding = config.process!.capabilities?.bounding ?? (1n << 41n) - 1n;
    let keep = 0n;
    for (const c of FILE_CAPS) if (bounding & (1n << BigInt(c))) keep |= 1n << BigInt(c);
    check(
      ffi.oci().sb_oci_drop_caps(Number(keep & 0xffffffffn), Number(keep >> 32n)),
      "dropping capabilities",
    );
    check(ffi.oci().sb_oci_no_new_privs(), "no_new_privs");

    // 5. The sandbox.
    registerFilesystems();
    const writer = (f: Deno.FsFile | null) =>
      f ? (line: string) => void f.writeSync(encoder.encode(line + "\n")) : null;
    this.sandbox = new Sandbox({
      rootfs: "/root",
      rootReadonly: config.root.readonly,
      // A read-only root gets an in-memory layer for the mount points cordon must make (runc
      // makes them on the host); the guest sees it read-only once they are made.
      overlay: config.root.readonly,
      mounts: [],
      hostname: config.hostname || L.id.slice(0, 12),
      platform: L.platform,
      memoryLimit: config.linux.resources.memoryLimit ?? undefined,
      strace: L.strace ? writer(Deno.stderr as unknown as Deno.FsFile) : null,
      debug: writer(debugFile),
    });
    mark("sandbox: kernel made");
    attachNetwork(this.sandbox.kernel, network.network);
    for (const n of network.notes) this.sandbox.kernel.log(`network: ${n}`);
    config.mounts.forEach((m, i) => this.mount(m, i, bindKinds.get(i)));
    for (const d of config.linux.devices) {
      const fmt = { c: 0o020000, b: 0o060000, u: 0o020000, p: 0o010000 }[d.type] ?? 0o020000;
      const rdev = d.major * 256 + (d.minor & 0xff) + ((d.minor >> 8) << 20);
      this.sandbox.makeNode(
        d.path,
        fmt | (d.fileMode ?? 0o666),
        d.type === "p" ? 0 : rdev,
        d.uid ?? 0,
        d.gid ?? 0,
      );
    }
    if (config.root.readonly) this.sandbox.root.mount.flags |= MNT_READONLY;
    for (const p of config.linux.maskedPaths) this.sandbox.maskPath(p);
    for (const p of config.linux.readonlyPaths) this.sandbox.readonlyPath(p);
    this.sandbox.checkProgram(config.process!);
    if (config.linux.seccomp) {
      try {
        this.syscallPolicy = new SyscallPolicy(config.linux.seccomp);
      } catch (e) {
        throw new OciError(`linux.seccomp: ${e instanceof Error ? e.message : e}`);
      }
    }
    if (L.terminal) {
      // A console pty is our controlling terminal: its resizes reach us as SIGWINCH (see
      // onSignals), its hangup as SIGHUP, which goes on to the guest's init.
      if (!L.userTerminal) check(ffi.oci().sb_oci_set_ctty(0), "console: TIOCSCTTY");
      const con = HostConsole.attach(this.sandbox.kernel, 0, { makeRaw: !L.userTerminal });
      if (typeof con === "number") throw new OciError(`console: ${errnoName(con)}`);
      this.console = con;
    }

    // 6. The sentry's own system calls, from here on.
    // CORDON_NO_SENTRY_SECCOMP=1 leaves it out, to tell a missing syscall from a bug.
    if (Deno.env.get("CORDON_NO_SENTRY_SECCOMP") !== "1") {
      check(ffi.oci().sb_oci_install_seccomp(netMode === "host" ? 1 : 0), "seccomp");
    }
  }

  /**
   * Waits until the CLI has moved us into the container's cgroups, if it is doing so, then
   * makes our cgroup namespace, rooted there. Before this, nothing is charged to the
   * container that matters: the guest's memory and every stub come after.
   */
  private joinCgroups(): void {
    if (this.launch.cgroupsToJoin) {
      const got = ffi.recvMessage(SYNC_FD, 60_000);
      if (typeof got === "number" || got.text === "") {
        throw new OciError("the CLI went away while joining the cgroups");
      }
      const note = JSON.parse(got.text) as { cgroups?: string; error?: string };
      if (note.cgroups !== "joined") throw new OciError(note.error ?? "joining the cgroups failed");
    }
    check(ffi.oci().sb_oci_unshare(ffi.CLONE_NEWCGROUP), "cgroup namespace");
  }

  /** Mounts one config.json mount (index i) into the sandbox. bindKind: 1 directory, 2 file
   * (bind mounts, whose sources were bound into our root at /binds/i). */
  private mount(m: OciConfig["mounts"][number], i: number, bindKind: number | undefined): void {
    let spec: MountSpec;
    if (m.type === "bind") {
      spec = {
        type: "bind",
        source: `/binds/${i}`,
        destination: m.destination,
        options: m.options,
      };
      this.sandbox.makeMountpoint(m.destination, bindKind !== 2);
    } else {
      const type = m.type === "cgroup2" ? "cgroup" : m.type;
      if (!FILESYSTEMS.has(type)) {
        this.log(
          "warning",
          `mounts[${i}] (${m.destination}): the sentry has no ${m.type} filesystem yet; skipped`,
        );
        return;
      }
      spec = { type, source: m.source, destination: m.destination, options: m.options };
      this.sandbox.makeMountpoint(m.destination, true);
    }
    this.sandbox.mount(spec);
    // An OCI /dev is a tmpfs the runtime fills with the standard nodes and links.
    if (m.destination === "/dev" && m.type === "tmpfs") {
      const dev = this.sandbox.resolve("/dev");
      if (typeof dev !== "number") populateDev(dev.dentry.inode);
    }
  }

  /** Execs the container's init. Throws (and ends the sandbox) if it cannot run. */
  startInit(): void {
    if (this.started) throw new OciError("the container was already started");
    this.started = true;
    const sb = this.sandbox;
    try {
      sb.startInit(this.processSpec(this.config.process!, [0, 1, 2], this.console));
    } catch (e) {
      // The container cannot run: it is over, as a failed exec ends runc's init.
      const errno = (e as { errno?: number }).errno;
      sb.kernel.finished = (errno === 2 ? 127 : 126) << 8;
      throw e;
    }
    mark("sandbox: init started");
  }

  /** Runs the kernel's loop until init exits; returns the process's exit code. */
  serve(): number {
    const k = this.sandbox.kernel;
    k.watchFd(this.listenFd, EPOLLIN, () => this.acceptAll());
    k.watchFd(this.signalFd, EPOLLIN, () => this.onSignals());
    const status = this.sandbox.run();
    mark("sandbox: init exited");
    this.console?.close();
    // Exec'd processes die with the sandbox: tell whoever waits for them.
    for (const [pid, fd] of this.execConns) this.sendExit(fd, pid, 0x09);
    ffi.writeFileAt(this.stateDirFd, "exit", String(status));
    ffi.oci().sb_oci_exit(exitCodeOf(status));
    return exitCodeOf(status);
  }

  private acceptAll(): void {
    for (;;) {
      const fd = ffi.oci().sb_oci_accept(this.listenFd);
      if (fd < 0) return;
      const token = this.sandbox.kernel.watchFd(
        fd,
        EPOLLIN,
        (events) => this.onRequest(fd, token, events),
      );
      if (token < 0) ffi.close(fd);
    }
  }

  private closeConn(fd: number, token: number): void {
    this.sandbox.kernel.unwatchFd(fd, token);
    ffi.close(fd);
  }

  private onRequest(fd: number, token: number, events: number): void {
    const got = ffi.recvMessage(fd, 0, 3);
    if (got === -11 /* EAGAIN */ || got === -110 /* ETIMEDOUT */) {
      if (events & (EPOLLHUP | EPOLLERR)) this.closeConn(fd, token);
      return;
    }
    if (typeof got === "number" || got.text === "") {
      this.closeConn(fd, token);
      return;
    }
    let req: { op?: string; [k: string]: unknown };
    try {
      req = JSON.parse(got.text);
    } catch {
      got.fds.forEach(ffi.close);
      this.reply(fd, { error: "malformed request" });
      this.closeConn(fd, token);
      return;
    }
    let keep = false;
    try {
      keep = this.handle(fd, token, req, got.fds);
    } catch (e) {
      const msg = e instanceof OciError || e instanceof SandboxError
        ? e.message
        : `internal error: ${e instanceof Error ? e.stack : e}`;
      this.reply(fd, { error: msg });
    } finally {
      got.fds.forEach((f) => ffi.close(f));
    }
    if (!keep) this.closeConn(fd, token);
  }

  private reply(fd: number, msg: object): void {
    ffi.sendMessage(fd, JSON.stringify(msg));
  }

  /** Handles one request; returns true to keep the connection (exec). */
  private handle(
    fd: number,
    token: number,
    req: { op?: string; [k: string]: unknown },
    fds: number[],
  ): boolean {
    const sb = this.sandbox;
    switch (req.op) {
      case "start": {
        this.startInit();
        this.reply(fd, { ok: true });
        return false;
      }
      case "kill": {
        const sig = Number(req.signal);
        if (!Number.isInteger(sig) || sig < 1 || sig > 64) {
          throw new OciError(`invalid signal ${req.signal}`);
        }
        if (!this.started) {
          // Before start there is no init yet: a signal that would kill it ends the container.
          if (![17, 18, 19, 20, 21, 22, 23, 28].includes(sig)) sb.kernel.finished = sig;
        } else if (req.all) {
          sb.signalAll(sig);
        } else {
          sb.signalProcess(1, sig);
        }
        this.reply(fd, { ok: true });
        return false;
      }
      case "exec": {
        if (!this.started) throw new OciError("the container is not running (start it first)");
        if (sb.paused) throw new OciError("the container is paused");
        const proc = parseProcess(req.process, "process");
        const terminal = proc.terminal && fds.length >= 1 && host().sb_h_isatty(fds[0]) === 1;
        const stdio: [number, number, number] = fds.length >= 3
          ? [fds[0], fds[1], fds[2]]
          : [fds[0] ?? -1, fds[0] ?? -1, fds[0] ?? -1];
        let con: HostConsole | null = null;
        if (terminal) {
          // Not our controlling terminal: its size is polled.
          const c = HostConsole.attach(sb.kernel, stdio[0], {
            makeRaw: true,
            console: false,
            pollWinSizeMs: 250,
          });
          if (typeof c === "number") throw new OciError(`exec terminal: ${errnoName(c)}`);
          con = c;
        }
        // From now on the connection carries signals for this process, then its exit.
        this.sandbox.kernel.unwatchFd(fd, token);
        let execToken = 0;
        const pid: number = sb.exec(this.processSpec(proc, stdio, con), (status) => {
          con?.close();
          this.execConns.delete(pid);
          this.sendExit(fd, pid, status);
          this.closeConn(fd, execToken);
        });
        this.execConns.set(pid, fd);
        execToken = sb.kernel.watchFd(fd, EPOLLIN, () => this.onExecMessage(fd, execToken, pid));
        this.reply(fd, { ok: true, pid });
        return true;
      }
      case "ps":
        this.reply(fd, { ok: true, processes: sb.processes() });
        return false;
      case "pause":
        sb.pause();
        this.reply(fd, { ok: true });
        return false;
      case "resume":
        sb.resume();
        this.reply(fd, { ok: true });
        return false;
      case "update": {
        const limit = req.memoryLimit;
        if (limit !== undefined) {
          if (limit !== null && (typeof limit !== "number" || !(limit > 0))) {
            throw new OciError("invalid memory limit");
          }
          sb.kernel.memfile.limit = limit === null ? Infinity : limit;
        }
        this.reply(fd, { ok: true });
        return false;
      }
      case "stats":
        this.reply(fd, {
          ok: true,
          stats: {
            processes: sb.processes().length,
            memoryCommitted: sb.kernel.platform.sym.sb_mem_committed(),
            events: sb.kernel.eventCount,
          },
        });
        return false;
      default:
        throw new OciError(`unknown request '${req.op}'`);
    }
  }

  /** Messages on an exec connection: signals for the exec'd process; hangup is ignored
   * (the process runs on, as with runc when its exec caller goes away). */
  private onExecMessage(fd: number, token: number, pid: number): void {
    const got = ffi.recvMessage(fd, 0, 0);
    if (typeof got === "number") return;
    if (got.text === "") {
      this.sandbox.kernel.unwatchFd(fd, token);
      return;
    }
    try {
      const msg = JSON.parse(got.text);
      if (msg.op === "signal" && Number.isInteger(msg.signal)) {
        this.sandbox.signalProcess(pid, msg.signal);
      }
    } catch {
      // ignore malformed messages
    }
  }

  private sendExit(fd: number, pid: number, status: number): void {
    ffi.sendMessage(fd, JSON.stringify({ op: "exit", pid, status, exitCode: exitCodeOf(status) }));
  }

  private processSpec(
    p: ProcessConfig,
    stdio: [number, number, number],
    con: HostConsole | null,
  ): ProcessSpec {
    const caps = p.capabilities;
    return {
      args: p.args,
      env: p.env,
      cwd: p.cwd,
      uid: p.uid,
      gid: p.gid,
      groups: p.additionalGids,
      noNewPrivileges: p.noNewPrivileges,
      umask: p.umask ?? 0o022,
      rlimits: p.rlimits.map((r) => ({ type: r.type, soft: r.soft, hard: r.hard })),
      stdio,
      capSets: caps ?? { effective: 0n, permitted: 0n, inheritable: 0n, bounding: 0n, ambient: 0n },
      console: con ?? undefined,
      syscallPolicy: this.syscallPolicy,
    };
  }

  private onSignals(): void {
    for (const sig of ffi.readSignals()) {
      if (SWALLOWED.includes(sig)) continue;
      if (sig === 28 /* WINCH */) {
        this.console?.syncWinSize();
        continue;
      }
      if (!this.started) {
        if (sig !== 28) this.sandbox.kernel.finished = sig;
        continue;
      }
      this.sandbox.signalProcess(1, sig);
    }
  }
}

function check(rc: number, what: string): number {
  if (rc < 0) {
    const err = new OciError(`${what}: ${errnoName(rc)}`);
    (err as OciError & { errno: number }).errno = -rc;
    throw err;
  }
  return rc;
}
