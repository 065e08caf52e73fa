// sysfs, as much of it as programs look for: CPU topology (online, possible, present; glibc's
// get_nprocs_conf, Go, Java and Rust read these), the NUMA node, transparent huge page
// settings, and the usual top-level directories (empty where the sandbox has no devices).
// Other subsystems add files with registerSysfs() (e.g. class/net/<ifname>/...).
import type { Kernel } from "../../kernel/kernel.ts";
import { Dentry, type Inode } from "../../vfs/inode.ts";
import { GenFile, PseudoDir, PseudoFS } from "../pseudo/nodes.ts";
import { cpuCount } from "../proc/format.ts";

export const SYSFS_MAGIC = 0x62656572;

type Gen = (k: Kernel) => string;
const extra = new Map<string, Gen>();

/** Adds /sys/<path> (a read-only file) for another subsystem. */
export function registerSysfs(path: string, gen: Gen): void {
  extra.set(path, gen);
}

function range(n: number): string {
  return n > 1 ? `0-${n - 1}` : "0";
}

function files(k: Kernel): Map<string, Gen | null> {
  const n = cpuCount();
  const m = new Map<string, Gen | null>([
    ["block", null],
    ["bus", null],
    ["class/net", null],
    ["class/tty", null],
    ["class/mem", null],
    ["dev/block", null],
    ["dev/char", null],
    ["devices/virtual", null],
    ["devices/system/cpu/online", () => range(n) + "\n"],
    ["devices/system/cpu/possible", () => range(n) + "\n"],
    ["devices/system/cpu/present", () => range(n) + "\n"],
    ["devices/system/cpu/offline", () => "\n"],
    ["devices/system/cpu/isolated", () => "\n"],
    ["devices/system/cpu/kernel_max", () => "8191\n"],
    ["devices/system/node/online", () => "0\n"],
    ["devices/system/node/possible", () => "0\n"],
    ["devices/system/node/has_cpu", () => "0\n"],
    ["devices/system/node/node0/cpulist", () => range(n) + "\n"],
    ["devices/system/node/node0/cpumap", () => ((1n << BigInt(n)) - 1n).toString(16) + "\n"],
    ["firmware", null],
    ["fs/cgroup", null],
    ["kernel/mm/transparent_hugepage/enabled", () => "always [madvise] never\n"],
    ["kernel/mm/transparent_hugepage/defrag", () => "always defer defer+madvise [madvise] never\n"],
    ["kernel/mm/transparent_hugepage/hpage_pmd_size", () => "2097152\n"],
    [
      "kernel/mm/transparent_hugepage/shmem_enabled",
      () => "always within_size advise [never] deny force\n",
    ],
    ["module", null],
    ["power", null],
  ]);
  for (let c = 0; c < n; c++) {
    const p = `devices/system/cpu/cpu${c}`;
    if (c > 0) m.set(`${p}/online`, () => "1\n");
    m.set(`${p}/topology/core_id`, () => `${c}\n`);
    m.set(`${p}/topology/physical_package_id`, () => "0\n");
    m.set(`${p}/topology/thread_siblings_list`, () => `${c}\n`);
    m.set(`${p}/topology/core_siblings_list`, () => range(n) + "\n");
    m.set(`${p}/topology/core_cpus_list`, () => `${c}\n`);
    m.set(`${p}/topology/package_cpus_list`, () => range(n) + "\n");
  }
  for (const [p, g] of extra) m.set(p, g);
  void k;
  return m;
}

export class SysFS extends PseudoFS {
  readonly root: PseudoDir;

  constructor(kernel: Kernel) {
    super("sysfs", kernel, SYSFS_MAGIC);
    const table = files(kernel);
    const dirs = new Map<string, PseudoDir>();
    const made = new Map<string, Inode>();
    const mkdir = (prefix: string): PseudoDir => {
      let d = dirs.get(prefix);
      if (d) return d;
      const names = (): string[] => {
        const out = new Set<string>();
        for (const key of table.keys()) {
          if (prefix && !key.startsWith(prefix + "/")) continue;
          out.add((prefix ? key.slice(prefix.length + 1) : key).split("/")[0]);
        }
        return [...out].sort();
      };
      d = new PseudoDir(this, 0o755, names, (name) => {
        const key = prefix ? `${prefix}/${name}` : name;
        const gen = table.get(key);
        if (gen) {
          let f = made.get(key);
          if (!f) made.set(key, f = new GenFile(this, 0o444, () => gen(kernel), { size: 4096 }));
          return f;
        }
        if (gen === null) return mkdir(key);
        for (const other of table.keys()) if (other.startsWith(key + "/")) return mkdir(key);
        return null;
      });
      dirs.set(prefix, d);
      return d;
    };
    this.root = mkdir("");
  }

  rootDentry(): Dentry {
    return new Dentry("", null, this.root);
  }
}
