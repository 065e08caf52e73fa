// `create`: validates the bundle, makes the state directory, cgroups and terminal, starts
// the sandbox process (sandbox_process.ts) in its namespaces, waits until it is ready, runs
// the create-time hooks and writes the pid file. The container is then "created": its
// sandbox is built and its init is not running yet.
//
// Anything that fails leaves nothing behind: no state directory, no cgroup, no process.
import * as ffi from "../../ffi/oci.ts";
import { loadConfigText, type OciConfig } from "./config.ts";
import {
  checkId,
  Container,
  nowRfc3339,
  OCI_VERSION,
  ociState,
  processStartTime,
} from "./container.ts";
import { applyResources, cgroupRelativePath, createCgroups, removeCgroups } from "./cgroups.ts";
import { errnoName, OciError } from "./errors.ts";
import { mark } from "./timing.ts";
import { runHooks } from "./hooks.ts";
import type { Runtime } from "./context.ts";
import type { LaunchMessage } from "./sandbox_process.ts";

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile: string | null;
  consoleSocket: string | null;
  /** `run` in the foreground: a terminal without a console socket is our own stdio. */
  foreground?: boolean;
  /** `run` in the foreground on a terminal it made raw: the sandbox's console is the
   * user's terminal itself (not our controlling terminal to take, nor ours to make raw). */
  userTerminal?: boolean;
  /** `run`: start init as soon as the sandbox is ready when no hook must run in between. */
  startAtOnce?: boolean;
}

function absolute(path: string): string {
  if (path.startsWith("/")) return path.replace(/\/+$/, "") || "/";
  const cwd = Deno.cwd();
  return `${cwd === "/" ? "" : cwd}/${path}`.replace(/\/\.?$/, "").replace(/\/+$/, "") || "/";
}

/** Creates the container; returns it still locked (run goes on to start it). */
export async function createContainer(rt: Runtime, o: CreateOptions): Promise<Container> {
  mark("cli: create");
  const id = checkId(o.id);
  const bundle = absolute(o.bundle);
  const { text, config } = loadConfigText(bundle);
  if (!config.process) throw new OciError("config.json: process: missing (nothing to run)");
  const terminal = config.process.terminal;
  if (terminal && !o.consoleSocket && !o.foreground) {
    throw new OciError(
      "process.terminal is true: --console-socket is required (cannot detach a terminal otherwise)",
    );
  }
  if (!v8SingleThreaded()) {
    throw new OciError(
      "the sandbox process is forked from this one, which needs V8's --single-threaded " +
        "(dist/cordon passes it; from the source tree: deno run -A --v8-flags=--single-threaded " +
        "src/main.ts ...)",
    );
  }
  // Loaded before the fork: the child runs it at once, and must never await.
  const { sandboxMain } = await import("./sandbox_process.ts");
  rt.root.ensure();
  const container = Container.create(rt.root, id, {
    ociVersion: OCI_VERSION,
    id,
    status: "creating",
    pid: 0,
    bundle,
    annotations: config.annotations,
    pidStartTime: "",
    created: nowRfc3339(),
    owner: Deno.uid() === 0 ? "root" : String(Deno.uid() ?? ""),
    rootfs: config.root.path,
    hooks: {
      poststart: config.hooks.poststart,
      poststop: config.hooks.poststop,
      startContainer: config.hooks.startContainer,
    },
    cgroupDirs: [],
    platform: rt.opts.platform,
    process: JSON.parse(text).process,
  });
  let pid = 0;
  try {
    const launched = launchSandbox(rt, container, config, text, o, sandboxMain);
    pid = launched.pid;
    container.record.pid = pid;
    container.record.pidStartTime = processStartTime(pid) ?? "";
    container.save();
    const state = ociState(container.record, "creating");
    await runHooks("prestart", config.hooks.prestart, state, (m) => rt.warn(m));
    await runHooks("createRuntime", config.hooks.createRuntime, state, (m) => rt.warn(m));
    await runHooks("createContainer", config.hooks.createContainer, state, (m) => rt.warn(m));
    container.setStatus(launched.started ? "running" : "created");
    if (o.pidFile) writePidFile(o.pidFile, pid);
    mark("cli: created");
    return container;
  } catch (e) {
    if (pid > 0) {
      ffi.kill(pid, 9);
      ffi.oci().sb_oci_waitpid(pid, 0);
    }
    removeCgroups(container.record.cgroupDirs);
    container.remove();
    throw e;
  }
}

export function writePidFile(path: string, pid: number): void {
  const tmp = `${path}.cordon-tmp`;
  try {
    Deno.writeTextFileSync(tmp, String(pid));
    Deno.renameSync(tmp, path);
  } catch (e) {
    throw new OciError(`cannot write the pid file ${path}: ${e instanceof Error ? e.message : e}`);
  }
}

/** Starts the sandbox process and waits for it to be ready; returns its pid. */
function launchSandbox(
  rt: Runtime,
  c: Container,
  config: OciConfig,
  text: string,
  o: CreateOptions,
  sandboxMain: () => number,
): { pid: number; started: boolean } {
  // Namespaces: always our own mount, pid, ipc, uts and cgroup namespaces (the sandbox
  // process makes the cgroup one itself, once in its cgroups); the network one as
  // config.json says (a path: join it; listed without a path: a new one; not listed: the
  // host's).
  let nsFlags = ffi.CLONE_NEWNS | ffi.CLONE_NEWPID | ffi.CLONE_NEWIPC | ffi.CLONE_NEWUTS;
  let netnsFd = -1;
  const toClose: number[] = [];
  try {
    config.linux.namespaces.forEach((ns, i) => {
      if (ns.type !== "network") return;
      if (ns.path === null) {
        nsFlags |= ffi.CLONE_NEWNET;
        return;
      }
      netnsFd = ffi.openReadOnly(ns.path);
      if (netnsFd < 0) {
        throw new OciError(
          `linux.namespaces[${i}].path: cannot open ${ns.path}: ${errnoName(netnsFd)}`,
        );
      }
      toClose.push(netnsFd);
    });

    // Cgroups: where config.json says, or our own when it sets limits without a path.
    const res = config.linux.resources;
    const limited = res.memoryLimit !== null || res.pidsLimit !== null || res.cpuQuota !== null ||
      res.cpuShares !== null || res.cpus !== null || res.mems !== null;
    let cgroupProcs: string[] = [];
    if (config.linux.cgroupsPath || limited) {
      const rel = config.linux.cgroupsPath
        ? cgroupRelativePath(config.linux.cgroupsPath, rt.opts.systemdCgroup)
        : `cordon/${c.id}`;
      const set = createCgroups(rel);
      c.record.cgroupDirs = set.dirs;
      c.save();
      applyResources(set.dirs, res);
      cgroupProcs = set.procs;
    }

    // Standard I/O: ours (conmon's pipes), or a new terminal whose master goes to the
    // console socket.
    let stdio = [0, 1, 2];
    let terminal = false;
    if (config.process!.terminal && o.consoleSocket) {
      const size = config.process!.consoleSize;
      const pair = ffi.openpty(size?.height ?? 0, size?.width ?? 0);
      if (typeof pair === "number") {
        throw new OciError(`cannot open a terminal: ${errnoName(pair)}`);
      }
      toClose.push(pair[0], pair[1]);
      const sent = ffi.sendConsole(o.consoleSocket, pair[0]);
      if (sent < 0) throw new OciError(`--console-socket ${o.consoleSocket}: ${errnoName(sent)}`);
      stdio = [pair[1], pair[1], pair[1]];
      terminal = true;
    } else if (config.process!.terminal && o.userTerminal) {
      // `run` in the foreground on the user's terminal (which run.ts has made raw): the
      // sentry's own terminal runs on top of it, as on a console pty.
      terminal = true;
    }

    const h = config.hooks;
    const autostart = o.startAtOnce === true && !h.prestart.length && !h.createRuntime.length &&
      !h.createContainer.length && !h.startContainer.length;
    const pair = ffi.socketpair();
    if (typeof pair === "number") throw new OciError(`socketpair: ${errnoName(pair)}`);
    toClose.push(pair[0], pair[1]);
    const forked = ffi.forkSandbox({
      fds: [...stdio, pair[1]],
      nsFlags,
      netnsFd,
      newSession: true,
    });
    if (forked === 0) becomeSandbox(sandboxMain);
    if (typeof forked !== "number") {
      throw new OciError(
        `cannot start the sandbox process (${forked.step}): ${errnoName(-forked.errno)}`,
      );
    }
    const pid = forked;
    let started = false;
    mark("cli: sandbox forked");
    ffi.close(pair[1]);
    toClose.splice(toClose.indexOf(pair[1]), 1);
    const launch: LaunchMessage = {
      id: c.id,
      stateDir: c.dir,
      bundle: c.record.bundle,
      platform: rt.opts.platform,
      log: rt.opts.log,
      logFormat: rt.opts.logFormat,
      debugLog: rt.opts.debugLog,
      strace: rt.opts.strace,
      terminal,
      userTerminal: terminal && !o.consoleSocket,
      autostart,
      cgroupsToJoin: cgroupProcs.length > 0,
    };
    const configFd = ffi.memfdFrom(text);
    if (configFd < 0) throw new OciError(`memfd: ${errnoName(configFd)}`);
    toClose.push(configFd);
    try {
      if (ffi.sendMessage(pair[0], JSON.stringify(launch), [configFd]) < 0) {
        throw new OciError("the sandbox process did not take its configuration");
      }
      // Moving a process between cgroups (v1) waits for an RCU grace period: done here while
      // the sandbox process sets itself up, which it then waits for before it allocates
      // the guest's memory or starts a stub (see SandboxServer.joinCgroups).
      if (launch.cgroupsToJoin) {
        const joined = ffi.joinCgroups(pid, cgroupProcs);
        const note = joined < 0
          ? { error: `joining the cgroups ${cgroupProcs.join(", ")}: ${errnoName(joined)}` }
          : { cgroups: "joined" };
        if (ffi.sendMessage(pair[0], JSON.stringify(note)) < 0 || joined < 0) {
          throw new OciError(note.error ?? "the sandbox process went away");
        }
      }
      const reply = ffi.recvMessage(pair[0], 120_000);
      if (typeof reply === "number") {
        throw new OciError(`the sandbox process did not answer: ${errnoName(reply)}`);
      }
      if (reply.text === "") {
        const status = ffi.oci().sb_oci_waitpid(pid, 0);
        throw new OciError(`the sandbox process exited during set-up (${describeStatus(status)})`);
      }
      const r = JSON.parse(reply.text);
      if (r.error) throw new OciError(r.error);
      started = r.started === true;
    } catch (e) {
      ffi.kill(pid, 9);
      ffi.oci().sb_oci_waitpid(pid, 0);
      throw e;
    }
    return { pid, started };
  } finally {
    for (const fd of toClose) ffi.close(fd);
  }
}

/**
 * The forked child's whole life: it runs the sandbox process's main (which reads the launch
 * message the parent sends on fd 3) and exits with its status, never returning into the CLI
 * code it was forked from, nor to Deno's event loop, which it shares with its parent.
 */
function becomeSandbox(sandboxMain: () => number): never {
  let code = 1;
  try {
    code = sandboxMain();
  } catch (e) {
    try {
      Deno.stderr.writeSync(
        new TextEncoder().encode(`cordon: sandbox process: ${e instanceof Error ? e.stack : e}\n`),
      );
    } catch {
      // stderr gone: the exit status still tells
    }
  }
  ffi.oci().sb_oci_exit(code);
  throw new Error("unreachable: _exit returned");
}

/**
 * Whether V8 runs with --single-threaded, the precondition of forking the sandbox process (see
 * sb_oci_fork_sandbox): from DENO_V8_FLAGS and then each --v8-flags before the main module,
 * the last mention winning, as Deno applies them.
 */
function v8SingleThreaded(): boolean {
  const lists = [Deno.env.get("DENO_V8_FLAGS") ?? ""];
  const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
  for (const arg of argv.slice(2)) { // after the executable and "run"
    if (!arg.startsWith("-")) break; // the main module: what follows is ours
    if (arg.startsWith("--v8-flags=")) lists.push(arg.slice("--v8-flags=".length));
  }
  let single = false;
  for (const flag of lists.join(",").split(/[\s,]+/)) {
    if (flag === "--single-threaded" || flag === "--single_threaded") single = true;
    if (flag === "--no-single-threaded" || flag === "--no-single_threaded") single = false;
  }
  return single;
}

export function describeStatus(status: number): string {
  if (status < 0) return errnoName(status);
  const sig = status & 0x7f;
  return sig ? `killed by signal ${sig}` : `exit status ${(status >> 8) & 0xff}`;
}
