// `events`: statistics of a container as JSON lines ({"type":"stats","id":...,"data":...}),
// once with --stats, else every --interval until it stops.
import { Container } from "./container.ts";
import { cgroupStats } from "./cgroups.ts";
import { request } from "./control.ts";
import { OciError } from "./errors.ts";
import type { Runtime } from "./context.ts";

function statsOnce(rt: Runtime, id: string): Record<string, unknown> | null {
  const c = Container.open(rt.root, id, true);
  try {
    const status = c.status();
    if (status === "stopped") return null;
    const data: Record<string, unknown> = cgroupStats(c.record.cgroupDirs);
    try {
      data.sandbox = request(c.dir, { op: "stats" }, [], 5_000).stats;
    } catch {
      // not answering (paused or busy): the cgroup figures stand alone
    }
    return { type: "stats", id, data };
  } finally {
    c.unlock();
  }
}

export async function events(
  rt: Runtime,
  id: string,
  once: boolean,
  intervalMs: number,
  out: (line: string) => void,
): Promise<void> {
  for (;;) {
    const s = statsOnce(rt, id);
    if (s === null) {
      if (once) throw new OciError(`container '${id}' is stopped`);
      return;
    }
    out(JSON.stringify(s));
    if (once) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
