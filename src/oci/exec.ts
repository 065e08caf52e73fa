// `exec`: runs a new process in a running container. The process (from --process, else
// config.json's process with the command line's args and overrides) goes to the sandbox
// over the control socket with its stdio attached; the exit status comes back on the same
// connection. In the foreground the CLI exits with it; with --detach a small forked waiter
// (ffi/lib/oci.c) holds the connection and exits with it, and --pid-file names that waiter,
// which is what conmon waits for.
import * as ffi from "../../ffi/oci.ts";
import { CAPABILITY_NAMES, parseProcess } from "./config.ts";
import { Container } from "./container.ts";
import { connectControl, exchange } from "./control.ts";
import { writePidFile } from "./create.ts";
import { ConfigError, errnoName, OciError } from "./errors.ts";
import type { Runtime } from "./context.ts";

export interface ExecOptions {
  id: string;
  args: string[];
  processFile: string | null;
  detach: boolean;
  pidFile: string | null;
  consoleSocket: string | null;
  cwd: string | null;
  env: string[];
  tty: boolean;
  user: string | null;
  additionalGids: number[];
  caps: string[];
  noNewPrivs: boolean;
}

const FORWARDED = [1, 2, 3, 10, 12, 15, 28];

/** The process to run, as config.json's process JSON. */
function buildProcess(c: Container, o: ExecOptions): Record<string, unknown> {
  let proc: Record<string, unknown>;
  if (o.processFile) {
    let text: string;
    try {
      text = Deno.readTextFileSync(o.processFile);
    } catch (e) {
      throw new OciError(`--process ${o.processFile}: ${e instanceof Error ? e.message : e}`);
    }
    try {
      proc = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(
        `--process ${o.processFile}: not valid JSON: ${e instanceof Error ? e.message : e}`,
      );
    }
  } else {
    if (o.args.length === 0) throw new OciError("exec: no command given (and no --process)");
    proc = { ...(c.record.process as Record<string, unknown> ?? {}) };
    proc.args = o.args;
    proc.terminal = o.tty;
    delete proc.consoleSize;
  }
  if (o.cwd) proc.cwd = o.cwd;
  if (o.env.length) {
    const env = [...((proc.env as string[] | undefined) ?? [])];
    for (const kv of o.env) {
      const key = kv.split("=")[0];
      const i = env.findIndex((e) => e.split("=")[0] === key);
      if (i >= 0) env[i] = kv;
      else env.push(kv);
    }
    proc.env = env;
  }
  if (o.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(o.user);
    if (!m) throw new OciError(`--user must be UID[:GID], not '${o.user}'`);
    proc.user = { ...(proc.user as object ?? {}), uid: Number(m[1]), gid: Number(m[2] ?? 0) };
  }
  if (o.additionalGids.length) {
    proc.user = { ...(proc.user as object ?? {}), additionalGids: o.additionalGids };
  }
  if (o.caps.length) {
    const caps = { ...(proc.capabilities as Record<string, string[]> ?? {}) };
    for (const cap of o.caps) {
      const name = cap.startsWith("CAP_") ? cap : `CAP_${cap.toUpperCase()}`;
      if (!CAPABILITY_NAMES.includes(name)) {
        throw new OciError(`--cap: unknown capability '${cap}'`);
      }
      for (const set of ["bounding", "effective", "permitted", "ambient", "inheritable"]) {
        caps[set] = [...new Set([...(caps[set] ?? []), name])];
      }
    }
    proc.capabilities = caps;
  }
  if (o.noNewPrivs) proc.noNewPrivileges = true;
  if (proc.cwd === undefined) proc.cwd = "/";
  if (proc.user === undefined) proc.user = { uid: 0, gid: 0 };
  parseProcess(proc, "process"); // errors name the field, before anything runs
  return proc;
}

export function execInContainer(rt: Runtime, o: ExecOptions): number {
  const c = Container.open(rt.root, o.id, true);
  let sock = -1;
  const toClose: number[] = [];
  try {
    const status = c.status();
    if (status === "paused") throw new OciError(`cannot exec in container '${o.id}': it is paused`);
    if (status !== "running") {
      throw new OciError(`cannot exec in container '${o.id}': it is ${status}, not running`);
    }
    const proc = buildProcess(c, o);
    let stdio = [0, 1, 2];
    if (proc.terminal) {
      if (o.consoleSocket) {
        const size = proc.consoleSize as { height?: number; width?: number } | undefined;
        const pair = ffi.openpty(size?.height ?? 0, size?.width ?? 0);
        if (typeof pair === "number") {
          throw new OciError(`cannot open a terminal: ${errnoName(pair)}`);
        }
        toClose.push(pair[0], pair[1]);
        const sent = ffi.sendConsole(o.consoleSocket, pair[0]);
        if (sent < 0) throw new OciError(`--console-socket ${o.consoleSocket}: ${errnoName(sent)}`);
        stdio = [pair[1], pair[1], pair[1]];
      } else if (o.detach) {
        throw new OciError("a terminal needs --console-socket with --detach");
      } else {
        // Our own terminal, passed through as it is (its settings stay the user's).
        proc.terminal = false;
      }
    }
    sock = connectControl(c.dir);
    c.unlock();
    const reply = exchange(sock, { op: "exec", process: proc }, stdio, 60_000);
    for (const fd of toClose.splice(0)) ffi.close(fd);
    if (reply.error !== undefined) throw new OciError(String(reply.error));
    if (o.detach) {
      const waiter = ffi.oci().sb_oci_fork_waiter(sock);
      if (waiter < 0) throw new OciError(`cannot fork the exec waiter: ${errnoName(waiter)}`);
      if (o.pidFile) writePidFile(o.pidFile, waiter);
      return 0;
    }
    if (o.pidFile) writePidFile(o.pidFile, ffi.oci().sb_oci_getpid());
    ffi.catchSignals(FORWARDED);
    for (;;) {
      for (const sig of ffi.readSignals()) {
        ffi.sendMessage(sock, JSON.stringify({ op: "signal", signal: sig }));
      }
      const got = ffi.recvMessage(sock, 200);
      if (got === -110 /* ETIMEDOUT */ || got === -4 /* EINTR */) continue;
      if (typeof got === "number") {
        throw new OciError(`lost the sandbox process: ${errnoName(got)}`);
      }
      if (got.text === "") {
        throw new OciError("the sandbox process went away before the process exited");
      }
      const msg = JSON.parse(got.text);
      if (msg.op === "exit") return Number(msg.exitCode) & 0xff;
    }
  } finally {
    for (const fd of toClose) ffi.close(fd);
    if (sock >= 0) ffi.close(sock);
    c.unlock();
  }
}
