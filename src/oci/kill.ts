// `kill`: sends a signal to the container's init (or, with --all, to every process in it).
// The sandbox delivers it as a guest signal. SIGKILL is the host's business: the sandbox
// process itself is killed, which takes every guest process and stub with it (they live in
// its pid namespace), so a wedged sentry cannot survive a kill -9.
import * as ffi from "../../ffi/oci.ts";
import { Container } from "./container.ts";
import { request } from "./control.ts";
import { errnoName, OciError } from "./errors.ts";
import type { Runtime } from "./context.ts";

export const SIGKILL = 9;

export function killContainer(rt: Runtime, id: string, signal: number, all: boolean): void {
  const c = Container.open(rt.root, id);
  try {
    const status = c.status();
    if (status === "stopped" || status === "creating") {
      throw new OciError(`cannot kill container '${id}': it is ${status}`);
    }
    if (signal === SIGKILL) {
      hardKill(c);
      return;
    }
    request(c.dir, { op: "kill", signal, all });
  } finally {
    c.unlock();
  }
}

/** SIGKILL for the sandbox process; its exit status is recorded as init's. */
export function hardKill(c: Container): void {
  try {
    Deno.writeTextFileSync(`${c.dir}/exit`, String(SIGKILL), { createNew: true });
  } catch {
    // init's own status was recorded first
  }
  const rc = ffi.kill(c.record.pid, SIGKILL);
  if (rc < 0 && rc !== -3) throw new OciError(`kill: ${errnoName(rc)}`);
}

/** Waits (at most timeoutMs) until process pid has exited. */
export function waitGone(pid: number, timeoutMs: number): boolean {
  const fd = ffi.oci().sb_oci_pidfd_open(pid);
  if (fd < 0) return true;
  try {
    return ffi.oci().sb_oci_poll(fd, 1, timeoutMs) > 0;
  } finally {
    ffi.close(fd);
  }
}
