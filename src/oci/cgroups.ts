// Host cgroups for a sandbox: linux.resources applies to the sandbox as a whole (the sentry,
// its stubs, every guest process), through cgroups v1 or v2, whichever the host has.
//
// The sandbox process joins the cgroups before it execs (ffi/lib/oci.c sb_oci_spawn), so
// everything it starts is accounted there. The memory limit given to the host is the
// container's limit plus SENTRY_MEMORY_OVERHEAD for the sentry itself; the guest sees (and
// the sentry enforces) exactly the container's limit.
import { OciError } from "./errors.ts";
import type { Resources } from "./config.ts";

/** Host memory the sentry needs on top of the guest's (Deno, V8's heap, page tables). */
export const SENTRY_MEMORY_OVERHEAD = 96 * 1024 * 1024;

const CGROUP_ROOT = "/sys/fs/cgroup";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function isCgroupV2(): boolean {
  return exists(`${CGROUP_ROOT}/cgroup.controllers`);
}

/** v1 hierarchies: mount point per hierarchy (from /proc/self/mounts). */
function v1Hierarchies(): string[] {
  let text = "";
  try {
    text = Deno.readTextFileSync("/proc/self/mounts");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f[2] !== "cgroup") continue;
    out.push(f[1].replaceAll("\\040", " "));
  }
  return out;
}

/** The cgroup path (relative to a hierarchy's root) for linux.cgroupsPath. With systemd
 * paths ("slice:prefix:name"), the directories systemd would make, made by us. */
export function cgroupRelativePath(cgroupsPath: string, systemd: boolean): string {
  if (!systemd) {
    const p = cgroupsPath.replace(/^\/+/, "").replace(/\/+$/, "");
    if (p === "" || p.split("/").some((c) => c === ".." || c === ".")) {
      throw new OciError(`linux.cgroupsPath: '${cgroupsPath}' is not a usable cgroup path`);
    }
    return p;
  }
  const parts = cgroupsPath.split(":");
  if (parts.length !== 3) {
    throw new OciError(
      `linux.cgroupsPath: '${cgroupsPath}' is not slice:prefix:name (--systemd-cgroup)`,
    );
  }
  const [slice, prefix, name] = parts;
  const dirs = expandSlice(slice || "system.slice");
  const unit = name.endsWith(".slice") ? name : `${prefix ? prefix + "-" : ""}${name}.scope`;
  if (/[/\0]/.test(unit) || unit.startsWith(".")) {
    throw new OciError(`linux.cgroupsPath: bad unit name '${unit}'`);
  }
  return [...dirs, unit].join("/");
}

/** "a-b-c.slice" lives in a.slice/a-b.slice/a-b-c.slice, as systemd nests slices. */
function expandSlice(slice: string): string[] {
  if (!slice.endsWith(".slice") || slice.includes("/")) {
    throw new OciError(`linux.cgroupsPath: '${slice}' is not a slice name`);
  }
  if (slice === "-.slice") return [];
  const base = slice.slice(0, -".slice".length);
  const words = base.split("-");
  if (words.some((w) => w === "")) {
    throw new OciError(`linux.cgroupsPath: '${slice}' is not a slice name`);
  }
  return words.map((_, i) => words.slice(0, i + 1).join("-") + ".slice");
}

export interface CgroupSet {
  /** The directories made for the sandbox (one per hierarchy). */
  dirs: string[];
  /** cgroup.procs files to join. */
  procs: string[];
}

/** Creates the sandbox's cgroup directories under every hierarchy. */
export function createCgroups(relative: string): CgroupSet {
  const dirs: string[] = [];
  if (isCgroupV2()) {
    const parts = relative.split("/");
    let cur = CGROUP_ROOT;
    for (const part of parts) {
      // Controllers must be enabled in the parent before a child can use them.
      enableControllers(cur);
      cur = `${cur}/${part}`;
      mkdirOnce(cur);
    }
    dirs.push(cur);
  } else {
    for (const h of v1Hierarchies()) {
      let cur = h;
      for (const part of relative.split("/")) {
        const parent = cur;
        cur = `${cur}/${part}`;
        if (mkdirOnce(cur)) inheritCpuset(parent, cur);
      }
      dirs.push(cur);
    }
  }
  return { dirs, procs: dirs.map((d) => `${d}/cgroup.procs`) };
}

function mkdirOnce(path: string): boolean {
  try {
    Deno.mkdirSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw new OciError(`cannot create cgroup ${path}: ${e instanceof Error ? e.message : e}`);
  }
}

function enableControllers(dir: string): void {
  let available = "";
  try {
    available = Deno.readTextFileSync(`${dir}/cgroup.controllers`);
  } catch {
    return;
  }
  const want = ["cpu", "cpuset", "memory", "pids"].filter((c) =>
    available.split(/\s+/).includes(c)
  );
  if (!want.length) return;
  try {
    Deno.writeTextFileSync(`${dir}/cgroup.subtree_control`, want.map((c) => "+" + c).join(" "));
  } catch {
    // A parent with processes in it cannot delegate; limits then fail visibly when applied.
  }
}

/** A new v1 cpuset cgroup starts empty and cannot take processes until it has cpus and
 * mems: copy the parent's. */
function inheritCpuset(parent: string, dir: string): void {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    try {
      const mine = Deno.readTextFileSync(`${dir}/${f}`).trim();
      if (mine === "") {
        Deno.writeTextFileSync(`${dir}/${f}`, Deno.readTextFileSync(`${parent}/${f}`).trim());
      }
    } catch {
      // not a cpuset hierarchy
    }
  }
}

function write(dir: string, file: string, value: string): void {
  try {
    Deno.writeTextFileSync(`${dir}/${file}`, value);
  } catch (e) {
    throw new OciError(`cgroup ${dir}/${file} = ${value}: ${e instanceof Error ? e.message : e}`);
  }
}

function hasFile(dir: string, file: string): boolean {
  return exists(`${dir}/${file}`);
}

/** Applies resource limits to the sandbox's cgroups. */
export function applyResources(dirs: string[], r: Resources): void {
  for (const dir of dirs) {
    if (isCgroupV2()) applyV2(dir, r);
    else applyV1(dir, r);
  }
}

function applyV1(dir: string, r: Resources): void {
  if (hasFile(dir, "memory.limit_in_bytes")) {
    if (r.memoryLimit !== null) {
      const host = r.memoryLimit + SENTRY_MEMORY_OVERHEAD;
      // memsw must stay >= the memory limit, in whichever order they change.
      if (r.memorySwap !== null && hasFile(dir, "memory.memsw.limit_in_bytes")) {
        write(dir, "memory.memsw.limit_in_bytes", "-1");
      }
      write(dir, "memory.limit_in_bytes", String(host));
      if (r.memorySwap !== null && hasFile(dir, "memory.memsw.limit_in_bytes")) {
        write(
          dir,
          "memory.memsw.limit_in_bytes",
          String(Math.max(r.memorySwap, r.memoryLimit) + SENTRY_MEMORY_OVERHEAD),
        );
      }
    }
    if (r.memoryReservation !== null) {
      write(
        dir,
        "memory.soft_limit_in_bytes",
        String(r.memoryReservation + SENTRY_MEMORY_OVERHEAD),
      );
    }
  }
  if (hasFile(dir, "pids.max") && r.pidsLimit !== null) write(dir, "pids.max", String(r.pidsLimit));
  if (hasFile(dir, "cpu.shares") && r.cpuShares !== null) {
    write(dir, "cpu.shares", String(Math.max(2, r.cpuShares)));
  }
  if (hasFile(dir, "cpu.cfs_period_us") && r.cpuPeriod !== null) {
    write(dir, "cpu.cfs_period_us", String(r.cpuPeriod));
  }
  if (hasFile(dir, "cpu.cfs_quota_us") && r.cpuQuota !== null) {
    write(dir, "cpu.cfs_quota_us", String(r.cpuQuota));
  }
  if (hasFile(dir, "cpuset.cpus") && r.cpus !== null) write(dir, "cpuset.cpus", r.cpus);
  if (hasFile(dir, "cpuset.mems") && r.mems !== null) write(dir, "cpuset.mems", r.mems);
}

function applyV2(dir: string, r: Resources): void {
  if (r.memoryLimit !== null) {
    write(dir, "memory.max", String(r.memoryLimit + SENTRY_MEMORY_OVERHEAD));
  }
  if (r.memoryReservation !== null) {
    write(dir, "memory.low", String(r.memoryReservation + SENTRY_MEMORY_OVERHEAD));
  }
  if (r.memorySwap !== null && r.memoryLimit !== null && hasFile(dir, "memory.swap.max")) {
    write(dir, "memory.swap.max", String(Math.max(0, r.memorySwap - r.memoryLimit)));
  }
  if (r.pidsLimit !== null) write(dir, "pids.max", String(r.pidsLimit));
  if (r.cpuShares !== null) {
    const weight = Math.max(
      1,
      Math.min(10000, 1 + Math.floor(((r.cpuShares - 2) * 9999) / 262142)),
    );
    write(dir, "cpu.weight", String(weight));
  }
  if (r.cpuQuota !== null || r.cpuPeriod !== null) {
    write(dir, "cpu.max", `${r.cpuQuota ?? "max"} ${r.cpuPeriod ?? 100000}`);
  }
  if (r.cpus !== null) write(dir, "cpuset.cpus", r.cpus);
  if (r.mems !== null) write(dir, "cpuset.mems", r.mems);
}

/** Removes the sandbox's cgroup directories (they must be empty: the sandbox is gone).
 * Returns the ones that could not be removed. */
export function removeCgroups(dirs: string[]): string[] {
  const left: string[] = [];
  for (const d of dirs) {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        Deno.removeSync(d);
        break;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) break;
        // EBUSY for a moment after the last process exits; retry briefly.
        if (attempt === 49) left.push(d);
        else sleepMs(10);
      }
    }
  }
  return left;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Stats of a cgroup set for `events`: memory, pids, cpu. */
export function cgroupStats(dirs: string[]): Record<string, unknown> {
  const read = (path: string): string | null => {
    try {
      return Deno.readTextFileSync(path).trim();
    } catch {
      return null;
    }
  };
  const num = (s: string | null) => (s === null || s === "max" ? undefined : Number(s));
  const stats: Record<string, unknown> = {};
  for (const d of dirs) {
    const usage = num(read(`${d}/memory.usage_in_bytes`)) ?? num(read(`${d}/memory.current`));
    if (usage !== undefined) {
      stats.memory = {
        usage: {
          usage,
          limit: num(read(`${d}/memory.limit_in_bytes`)) ?? num(read(`${d}/memory.max`)),
        },
      };
    }
    const pids = num(read(`${d}/pids.current`));
    if (pids !== undefined) stats.pids = { current: pids, limit: num(read(`${d}/pids.max`)) };
    const cpu = num(read(`${d}/cpuacct.usage`));
    if (cpu !== undefined) stats.cpu = { usage: { total: cpu } };
    const cpuStat = read(`${d}/cpu.stat`);
    const usec = cpuStat ? /usage_usec (\d+)/.exec(cpuStat) : null;
    if (usec) stats.cpu = { usage: { total: Number(usec[1]) * 1000 } };
  }
  return stats;
}
