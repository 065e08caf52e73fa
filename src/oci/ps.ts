// `ps`: the processes inside a container, as the sandbox's kernel sees them (guest pids).
// --format json prints the pids as a JSON array (runc prints host pids; a sandbox's guest
// processes have none of their own).
import { Container } from "./container.ts";
import { request } from "./control.ts";
import { OciError } from "./errors.ts";
import type { Runtime } from "./context.ts";

interface ProcessInfo {
  pid: number;
  ppid: number;
  uid: number;
  state: string;
  comm: string;
  threads: number;
}

export function psContainer(rt: Runtime, id: string, format: string): string {
  const c = Container.open(rt.root, id, true);
  let processes: ProcessInfo[];
  try {
    const status = c.status();
    if (status !== "running" && status !== "paused" && status !== "created") {
      throw new OciError(`cannot list the processes of container '${id}': it is ${status}`);
    }
    processes = request(c.dir, { op: "ps" }).processes as ProcessInfo[];
  } finally {
    c.unlock();
  }
  if (format === "json") return JSON.stringify(processes.map((p) => p.pid));
  if (format !== "table") throw new OciError(`--format must be table or json, not '${format}'`);
  const rows = [["UID", "PID", "PPID", "STAT", "THREADS", "CMD"]];
  for (const p of processes) {
    rows.push([String(p.uid), String(p.pid), String(p.ppid), p.state, String(p.threads), p.comm]);
  }
  return table(rows);
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("   ")
  ).join("\n");
}
