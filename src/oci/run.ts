// `run`: create + start, then (unless --detach) wait for the container to exit, forwarding
// the signals we receive to it, delete it (unless --keep) and exit with its exit code, as
// `runc run` does.
import * as ffi from "../../ffi/oci.ts";
import { Container, ociState } from "./container.ts";
import { runHooks } from "./hooks.ts";
import { createContainer, type CreateOptions } from "./create.ts";
import { deleteContainer } from "./delete.ts";
import { startContainer } from "./start.ts";
import { exitCodeOf, OciError } from "./errors.ts";
import { host } from "../../ffi/host.ts";
import { hostsig } from "../../ffi/hostsig.ts";
import { mark } from "./timing.ts";
import type { Runtime } from "./context.ts";

/** Signals `run` passes on to its container: HUP INT QUIT USR1 USR2 TERM WINCH. */
const FORWARDED = [1, 2, 3, 10, 12, 15, 28];

export async function runContainer(
  rt: Runtime,
  o: CreateOptions & { detach: boolean; keep: boolean },
): Promise<number> {
  // In the foreground on a terminal, the user's terminal becomes the container's console:
  // raw here (the sentry's line discipline does the rest), restored when we exit.
  const userTerminal = !o.detach && !o.consoleSocket && wantsTerminal(o.bundle) &&
    host().sb_h_isatty(0) === 1 && hostsig().sb_tty_is_foreground(0) === 1;
  if (userTerminal && hostsig().sb_tty_make_raw(0) < 0) {
    throw new OciError("cannot set the terminal to raw mode");
  }
  try {
    return await runIn(rt, o, userTerminal);
  } finally {
    if (userTerminal) hostsig().sb_tty_restore();
  }
}

/** Whether the bundle's process asks for a terminal (false if config.json is unreadable:
 * create reports that). */
function wantsTerminal(bundle: string): boolean {
  try {
    return JSON.parse(Deno.readTextFileSync(`${bundle}/config.json`))?.process?.terminal === true;
  } catch {
    return false;
  }
}

async function runIn(
  rt: Runtime,
  o: CreateOptions & { detach: boolean; keep: boolean },
  userTerminal: boolean,
): Promise<number> {
  const c = await createContainer(rt, {
    ...o,
    foreground: !o.detach,
    startAtOnce: true,
    userTerminal,
  });
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
