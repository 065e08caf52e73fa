// `delete`: removes a stopped container (with --force, kills it first): its cgroups, the
// poststop hooks, its state directory. With --force, a container that does not exist is
// not an error (engines delete containers that may be gone already).
import { Container, ociState } from "./container.ts";
import { removeCgroups } from "./cgroups.ts";
import { OciError } from "./errors.ts";
import { runHooks } from "./hooks.ts";
import { hardKill, waitGone } from "./kill.ts";
import type { Runtime } from "./context.ts";

export async function deleteContainer(rt: Runtime, id: string, force: boolean): Promise<void> {
  let c: Container;
  try {
    c = Container.open(rt.root, id);
  } catch (e) {
    if (force && e instanceof OciError && /does not exist/.test(e.message)) {
      // A directory without state.json (an interrupted create) goes too.
      try {
        Deno.removeSync(rt.root.dir(id), { recursive: true });
      } catch {
        // nothing there
      }
      return;
    }
    throw e;
  }
  try {
    const status = c.status();
    if (status !== "stopped") {
      if (!force) {
        throw new OciError(
          `cannot delete container '${id}': it is ${status} (stop it first, or use --force)`,
        );
      }
      if (c.record.pid > 0) {
        hardKill(c);
        if (!waitGone(c.record.pid, 10_000)) {
          throw new OciError(`container '${id}' did not die within 10 s of SIGKILL`);
        }
      }
    }
    const left = removeCgroups(c.record.cgroupDirs);
    for (const d of left) rt.warn(`could not remove cgroup ${d}`);
    await runHooks(
      "poststop",
      c.record.hooks.poststop,
      ociState(c.record, "stopped"),
      (m) => rt.warn(m),
      true,
    );
    c.remove();
  } finally {
    c.unlock();
  }
}
