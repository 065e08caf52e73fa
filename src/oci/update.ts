// `update`: changes the resource limits of a running container: its host cgroups, and the
// guest memory limit the sentry enforces.
import { Container } from "./container.ts";
import { applyResources } from "./cgroups.ts";
import { parseResources, type Resources } from "./config.ts";
import { request } from "./control.ts";
import { ConfigError, OciError } from "./errors.ts";
import type { Runtime } from "./context.ts";

/** Resources from -r FILE ("-": standard input) or the individual flags. */
export function resourcesFrom(file: string | null, flags: Partial<Resources>): Resources {
  let r: Resources = parseResources(undefined, "resources");
  if (file) {
    let text: string;
    try {
      text = file === "-" ? new TextDecoder().decode(readAllStdin()) : Deno.readTextFileSync(file);
    } catch (e) {
      throw new OciError(`--resources ${file}: ${e instanceof Error ? e.message : e}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(
        `--resources ${file}: not valid JSON: ${e instanceof Error ? e.message : e}`,
      );
    }
    r = parseResources(json, "resources");
  }
  for (const [k, v] of Object.entries(flags)) {
    if (v !== undefined) (r as unknown as Record<string, unknown>)[k] = v;
  }
  return r;
}

function readAllStdin(): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
    if (chunks.length > 256) throw new OciError("--resources -: input too large");
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export function updateContainer(rt: Runtime, id: string, r: Resources): void {
  const c = Container.open(rt.root, id);
  try {
    const status = c.status();
    if (status === "stopped" || status === "creating") {
      throw new OciError(`cannot update container '${id}': it is ${status}`);
    }
    const wantsCgroup = r.pidsLimit !== null || r.cpuQuota !== null || r.cpuShares !== null ||
      r.cpuPeriod !== null ||
      r.cpus !== null || r.mems !== null || r.memoryLimit !== null;
    if (
      wantsCgroup && c.record.cgroupDirs.length === 0 &&
      (r.pidsLimit !== null || r.cpuQuota !== null || r.cpuShares !== null)
    ) {
      throw new OciError(
        `container '${id}' has no cgroup (create it with linux.cgroupsPath or resource limits)`,
      );
    }
    applyResources(c.record.cgroupDirs, r);
    if (r.memoryLimit !== null) request(c.dir, { op: "update", memoryLimit: r.memoryLimit });
  } finally {
    c.unlock();
  }
}
