// `start`: runs the container's init (the sandbox execs process.args) and the poststart
// hooks. Only a "created" container can be started.
import * as ffi from "../../ffi/oci.ts";
import { Container, ociState } from "./container.ts";
import { request } from "./control.ts";
import { OciError } from "./errors.ts";
import { runHooks } from "./hooks.ts";
import type { Runtime } from "./context.ts";

/** Starts container id (or the already locked `locked`, which stays locked). */
export async function startContainer(rt: Runtime, id: string, locked?: Container): Promise<void> {
  const c = locked ?? Container.open(rt.root, id);
  try {
    const status = c.status();
    if (status !== "created") {
      throw new OciError(`cannot start container '${c.id}': it is ${status}, not created`);
    }
    try {
      await runHooks(
        "startContainer",
        c.record.hooks.startContainer,
        ociState(c.record),
        (m) => rt.warn(m),
      );
    } catch (e) {
      // A failed startContainer hook ends the container (runtime-spec: as if it exited).
      ffi.kill(c.record.pid, 9);
      throw e;
    }
    request(c.dir, { op: "start" }, [], 120_000);
    c.setStatus("running");
    await runHooks(
      "poststart",
      c.record.hooks.poststart,
      ociState(c.record, "running"),
      (m) => rt.warn(m),
      true,
    );
  } finally {
    if (!locked) c.unlock();
  }
}
