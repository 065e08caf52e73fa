// `run`: create + start, then (unless --detach) wait for the container to exit, forwarding
// the signals we receive to it, delete it (unless --keep) and exit with its exit code, as
// `runc run` does.
import * as ffi from "../../ffi/oci.ts";
import { exitCodeOf } from "../../sentry/sandbox.ts";
import { Container, ociState } from "./container.ts";
import { runHooks } from "./hooks.ts";
import { createContainer, type CreateOptions } from "./create.ts";
import { deleteContainer } from "./delete.ts";
import { startContainer } from "./start.ts";
import { mark } from "./timing.ts";
import type { Runtime } from "./context.ts";

/** Signals `run` passes on to its container: HUP INT QUIT USR1 USR2 TERM WINCH. */
const FORWARDED = [1, 2, 3, 10, 12, 15, 28];

export async function runContainer(
  rt: Runtime,
  o: CreateOptions & { detach: boolean; keep: boolean },
): Promise<number> {
  const c = await createContainer(rt, { ...o, foreground: !o.detach, startAtOnce: true });
  try {
    if (c.record.status === "running") {
      await runHooks(
        "poststart",
        c.record.hooks.poststart,
        ociState(c.record, "running"),
        (m) => rt.warn(m),
        true,
      );
    } else {
      await startContainer(rt, o.id, c);
    }
  } catch (e) {
    c.unlock();
    await deleteContainer(rt, o.id, true).catch(() => {});
    throw e;
  }
  const pid = c.record.pid;
  c.unlock();
  mark("cli: started");
  if (o.detach) return 0;
  ffi.catchSignals(FORWARDED);
  const waited = ffi.oci().sb_oci_wait_forwarding(pid);
  mark("cli: sandbox exited");
  // The sandbox records init's wait status; a sandbox killed outright has only its own.
  let status = waited < 0 ? 0xff00 : waitStatusAsInit(waited);
  try {
    const recorded = Container.open(rt.root, o.id, true);
    status = recorded.exitStatus() ?? status;
    recorded.unlock();
  } catch {
    // deleted meanwhile
  }
  if (!o.keep) await deleteContainer(rt, o.id, true);
  mark("cli: deleted");
  return exitCodeOf(status);
}

/** The sandbox process exits with init's exit code: turn its wait status back into init's. */
function waitStatusAsInit(w: number): number {
  if (w & 0x7f) return w & 0x7f;
  const code = (w >> 8) & 0xff;
  return code > 128 && code < 128 + 65 ? code - 128 : code << 8;
}
