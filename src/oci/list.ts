// `list`: every container under the root, as a table, ids only (--quiet) or JSON.
import { Container } from "./container.ts";
import { OciError } from "./errors.ts";
import { table } from "./ps.ts";
import type { Runtime } from "./context.ts";

export function listContainers(rt: Runtime, format: string, quiet: boolean): string {
  if (format !== "table" && format !== "json") {
    throw new OciError(`--format must be table or json, not '${format}'`);
  }
  const entries = [];
  for (const id of rt.root.ids()) {
    let c: Container;
    try {
      c = Container.open(rt.root, id, true);
    } catch {
      continue; // deleted meanwhile, or a directory that is not a container
    }
    const status = c.status();
    const r = c.record;
    c.unlock();
    entries.push({
      ociVersion: r.ociVersion,
      id,
      pid: status === "stopped" ? 0 : r.pid,
      status,
      bundle: r.bundle,
      rootfs: r.rootfs,
      created: r.created,
      owner: r.owner,
      annotations: r.annotations,
    });
  }
  if (quiet) return entries.map((e) => e.id).join("\n");
  if (format === "json") return JSON.stringify(entries);
  const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
  for (const e of entries) rows.push([e.id, String(e.pid), e.status, e.bundle, e.created, e.owner]);
  return table(rows);
}
