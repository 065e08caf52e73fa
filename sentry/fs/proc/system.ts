// The system-wide files of /proc: cpuinfo, meminfo, stat, uptime, loadavg, version,
// filesystems, cmdline, devices, swaps; and /proc/sys (sysctl), which other subsystems can
// extend with registerSysctl().
import { E } from "../../abi/errno.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import { KERNEL_RELEASE, KERNEL_VERSION } from "../../kernel/kernel.ts";
import type { Task } from "../../kernel/task.ts";
import { TaskState } from "../../kernel/task.ts";
import { ptyTable } from "../../kernel/tty/ptys.ts";
import { type Inode } from "../../vfs/inode.ts";
import { GenFile, PseudoDir, type PseudoFS } from "../pseudo/nodes.ts";
import { cpuCount, hostUsage, HZ, memUse } from "./format.ts";

let hostCpuinfo: string | null = null;
let hostMemTotalKb = 0;

/** The host's /proc/cpuinfo: the guest runs on the host's CPUs and must see their features. */
function cpuinfo(): string {
  if (hostCpuinfo === null) {
    try {
      hostCpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
    } catch {
      hostCpuinfo = Array.from(
        { length: cpuCount() },
        (_, i) =>
          `processor\t: ${i}\nvendor_id\t: GenuineIntel\nmodel name\t: cordon virtual CPU\nflags\t\t: fpu sse sse2\n\n`,
      ).join("");
    }
  }
  return hostCpuinfo;
}

function hostMemTotal(): number {
  if (!hostMemTotalKb) {
    try {
      const m = /^MemTotal:\s+(\d+) kB/m.exec(Deno.readTextFileSync("/proc/meminfo"));
      hostMemTotalKb = m ? Number(m[1]) : 4 * 1024 * 1024;
    } catch {
      hostMemTotalKb = 4 * 1024 * 1024;
    }
  }
  return hostMemTotalKb;
}

function meminfo(k: Kernel): string {
  const limit = k.memfile.limit;
  const totalKb = limit === Infinity ? hostMemTotal() : Math.floor(limit / 1024);
  let anon = 0, file = 0, shmem = 0, pte = 0;
  const seen = new Set<unknown>();
  for (const g of k.groups.values()) {
    const t = g.tasks[0];
    if (!t || g.zombie || t.mm.stubKilled || seen.has(t.mm)) continue;
    seen.add(t.mm);
    const u = memUse(t.mm);
    anon += u.anon * 4;
    file += u.file * 4;
    shmem += u.shmem * 4;
    pte += Math.ceil(u.size / 512 / 64) * 4;
  }
  const usedKb = Math.min(totalKb, Math.max(Math.floor(k.memfile.allocated / 1024), anon + shmem));
  const free = Math.max(0, totalKb - usedKb);
  const rows: Array<[string, number | string]> = [
    ["MemTotal", totalKb],
    ["MemFree", free],
    ["MemAvailable", free],
    ["Buffers", 0],
    ["Cached", file + shmem],
    ["SwapCached", 0],
    ["Active", anon + file],
    ["Inactive", 0],
    ["Active(anon)", anon],
    ["Inactive(anon)", 0],
    ["Active(file)", file],
    ["Inactive(file)", 0],
    ["Unevictable", 0],
    ["Mlocked", 0],
    ["SwapTotal", 0],
    ["SwapFree", 0],
    ["Zswap", 0],
    ["Zswapped", 0],
    ["Dirty", 0],
    ["Writeback", 0],
    ["AnonPages", anon],
    ["Mapped", file],
    ["Shmem", shmem],
    ["KReclaimable", 0],
    ["Slab", 0],
    ["SReclaimable", 0],
    ["SUnreclaim", 0],
    ["KernelStack", 0],
    ["PageTables", pte],
    ["SecPageTables", 0],
    ["NFS_Unstable", 0],
    ["Bounce", 0],
    ["WritebackTmp", 0],
    ["CommitLimit", Math.floor(totalKb / 2)],
    ["Committed_AS", usedKb],
    ["VmallocTotal", 34359738367],
    ["VmallocUsed", 0],
    ["VmallocChunk", 0],
    ["Percpu", 0],
    ["HardwareCorrupted", 0],
    ["AnonHugePages", 0],
    ["ShmemHugePages", 0],
    ["ShmemPmdMapped", 0],
    ["FileHugePages", 0],
    ["FilePmdMapped", 0],
    ["HugePages_Total", "0"],
    ["HugePages_Free", "0"],
    ["HugePages_Rsvd", "0"],
    ["HugePages_Surp", "0"],
    ["Hugepagesize", 2048],
    ["Hugetlb", 0],
    ["DirectMap4k", 0],
    ["DirectMap2M", totalKb],
  ];
  return rows.map(([name, v]) =>
    typeof v === "string"
      ? `${(name + ":").padEnd(16)}${v.padStart(8)}\n`
      : `${(name + ":").padEnd(16)}${String(v).padStart(8)} kB\n`
  ).join("");
}

/** CPU time of every live process (ticks), and how many tasks run or wait. */
function busyTicks(
  k: Kernel,
): { user: number; system: number; running: number; blocked: number; total: number } {
  let user = 0, system = 0, running = 0, total = 0;
  const blocked = 0;
  const seen = new Set<unknown>();
  for (const g of k.groups.values()) {
    user += Math.floor(g.childUserNs / 1e7);
    system += Math.floor(g.childSysNs / 1e7);
    for (const t of g.tasks) {
      if (t.state === TaskState.Dead) continue;
      total++;
      if (t.state === TaskState.Running || t.state === TaskState.InKernel) running++;
    }
    const t = g.tasks[0];
    if (!t || g.zombie || t.mm.stubKilled || seen.has(t.mm)) continue;
    seen.add(t.mm);
    const u = hostUsage(k, t.mm);
    user += u.utime;
    system += u.stime;
  }
  return { user, system, running: Math.max(1, running), blocked, total };
}

function uptimeNs(k: Kernel): number {
  return Math.max(0, k.nowNs() - k.bootNs);
}

function statText(k: Kernel): string {
  const b = busyTicks(k);
  const n = cpuCount();
  const up = Math.floor(uptimeNs(k) / 1e7);
  const idle = Math.max(0, up * n - b.user - b.system);
  const line = (name: string, u: number, s: number, i: number) =>
    `${name} ${u} 0 ${s} ${i} 0 0 0 0 0 0\n`;
  let out = line("cpu ", b.user, b.system, idle);
  for (let c = 0; c < n; c++) {
    out += line(`cpu${c}`, Math.floor(b.user / n), Math.floor(b.system / n), Math.floor(idle / n));
  }
  out += `intr 0\nctxt 0\nbtime ${Math.floor(k.bootRealtimeNs / 1e9)}\n`;
  out += `processes ${k.groups.size}\nprocs_running ${b.running}\nprocs_blocked ${b.blocked}\n`;
  out += `softirq 0 0 0 0 0 0 0 0 0 0 0\n`;
  return out;
}

function uptimeText(k: Kernel): string {
  const up = uptimeNs(k) / 1e9;
  const b = busyTicks(k);
  const idle = Math.max(0, up * cpuCount() - (b.user + b.system) / HZ);
  return `${up.toFixed(2)} ${idle.toFixed(2)}\n`;
}

/** Load averages, decayed as Linux's are (1, 5 and 15 minute constants), from the number
 * of running tasks seen at each read: between reads it is taken as constant, so a sandbox
 * nobody watches shows what it runs now, weighted by how long since the last look. */
const loads = new WeakMap<Kernel, { at: number; avg: number[] }>();

function loadAverages(k: Kernel, running: number): number[] {
  const now = k.nowNs();
  let l = loads.get(k);
  if (!l) loads.set(k, l = { at: k.bootNs, avg: [0, 0, 0] });
  const dt = (now - l.at) / 1e9;
  l.at = now;
  l.avg = l.avg.map((a, i) => {
    const e = Math.exp(-dt / [60, 300, 900][i]);
    return a * e + running * (1 - e);
  });
  return l.avg;
}

function loadavgText(k: Kernel): string {
  let running = 0, total = 0, last = 0;
  for (const t of k.tasks.values()) {
    if (t.state === TaskState.Dead) continue;
    total++;
    if (t.state === TaskState.Running || t.state === TaskState.InKernel) running++;
    last = Math.max(last, t.tid);
  }
  // The reader is in the middle of this read: it is left out of the averages.
  const avg = loadAverages(k, Math.max(0, running - 1));
  return `${avg.map((a) => a.toFixed(2)).join(" ")} ${Math.max(1, running)}/${total} ${last}\n`;
}

function filesystemsText(types: string[]): string {
  const all = new Set(["sysfs", "tmpfs", "proc", "devtmpfs", "devpts", "overlay", ...types]);
  return [...all].map((t) => `nodev\t${t}\n`).join("");
}

const DEVICES =
  "Character devices:\n  1 mem\n  5 /dev/tty\n  5 /dev/console\n  5 /dev/ptmx\n136 pts\n\nBlock devices:\n";

// ---- /proc/sys ---------------------------------------------------------------------------

export interface Sysctl {
  read: (k: Kernel) => string;
  /** Absent: read-only (mode 0444). */
  write?: (k: Kernel, value: string, t: Task | null) => number;
}

const extraSysctls = new Map<string, Sysctl>();

/** Adds /proc/sys/<path> (e.g. "net/core/somaxconn") for another subsystem. */
export function registerSysctl(path: string, s: Sysctl): void {
  extraSysctls.set(path, s);
}

function randomUuid(): string {
  return crypto.randomUUID();
}

const bootIds = new WeakMap<Kernel, string>();

/** Values root has written to tunables, per sandbox. */
const tuned = new WeakMap<Kernel, Map<string, string>>();

/** A sysctl holding numbers that root may change (no effect beyond what reads show). */
function tunable(k: Kernel, key: string, initial: string): Sysctl {
  return {
    read: () => `${tuned.get(k)?.get(key) ?? initial}\n`,
    write: (_k, v) => {
      const s = v.trim();
      if (!/^-?\d+(\s+-?\d+)*$/.test(s)) return -E.EINVAL;
      let m = tuned.get(k);
      if (!m) tuned.set(k, m = new Map());
      m.set(key, s.replace(/\s+/g, "\t"));
      return 0;
    },
  };
}

function sysctls(k: Kernel): Map<string, Sysctl> {
  const ro = (v: string | (() => string)): Sysctl => ({
    read: () => (typeof v === "string" ? v : v()) + "\n",
  });
  const m = new Map<string, Sysctl>([
    ["kernel/hostname", {
      read: () => k.hostname + "\n",
      write: (_k, v) => {
        const s = v.replace(/\n$/, "");
        if (s.length > 64) return -E.EINVAL;
        k.hostname = s;
        return 0;
      },
    }],
    ["kernel/domainname", {
      read: () => k.domainname + "\n",
      write: (_k, v) => {
        const s = v.replace(/\n$/, "");
        if (s.length > 64) return -E.EINVAL;
        k.domainname = s;
        return 0;
      },
    }],
    ["kernel/osrelease", ro(KERNEL_RELEASE)],
    ["kernel/ostype", ro("Linux")],
    ["kernel/version", ro(KERNEL_VERSION)],
    ["kernel/pid_max", tunable(k, "kernel/pid_max", "4194304")],
    ["kernel/threads-max", tunable(k, "kernel/threads-max", "127072")],
    ["kernel/ngroups_max", ro("65536")],
    ["kernel/cap_last_cap", ro("40")],
    ["kernel/overflowuid", ro("65534")],
    ["kernel/overflowgid", ro("65534")],
    ["kernel/randomize_va_space", tunable(k, "kernel/randomize_va_space", "2")],
    ["kernel/core_pattern", ro("core")],
    ["kernel/core_uses_pid", ro("0")],
    ["kernel/printk", ro("4\t4\t1\t7")],
    ["kernel/panic", ro("0")],
    ["kernel/tainted", ro("0")],
    ["kernel/kptr_restrict", ro("1")],
    ["kernel/dmesg_restrict", ro("1")],
    ["kernel/perf_event_paranoid", ro("2")],
    ["kernel/sched_child_runs_first", ro("0")],
    ["kernel/shmmax", ro("18446744073692774399")],
    ["kernel/shmall", ro("18446744073692774399")],
    ["kernel/shmmni", ro("4096")],
    ["kernel/msgmax", ro("8192")],
    ["kernel/msgmnb", ro("16384")],
    ["kernel/msgmni", ro("32000")],
    ["kernel/sem", ro("32000\t1024000000\t500\t32000")],
    ["kernel/unprivileged_bpf_disabled", ro("2")],
    [
      "kernel/seccomp/actions_avail",
      ro("kill_process kill_thread trap errno user_notif trace log allow"),
    ],
    [
      "kernel/random/boot_id",
      ro(() => {
        let id = bootIds.get(k);
        if (!id) bootIds.set(k, id = randomUuid());
        return id;
      }),
    ],
    ["kernel/random/uuid", ro(randomUuid)],
    ["kernel/random/entropy_avail", ro("256")],
    ["kernel/random/poolsize", ro("256")],
    ["kernel/random/urandom_min_reseed_secs", ro("60")],
    ["kernel/random/write_wakeup_threshold", ro("256")],
    ["kernel/pty/max", ro("4096")],
    ["kernel/pty/reserve", ro("1024")],
    ["kernel/pty/nr", ro(() => String(ptyTable(k).made))],
    ["kernel/keys/maxkeys", ro("200")],
    ["kernel/keys/maxbytes", ro("20000")],
    ["kernel/yama/ptrace_scope", ro("1")],
    ["vm/overcommit_memory", tunable(k, "vm/overcommit_memory", "0")],
    ["vm/overcommit_ratio", tunable(k, "vm/overcommit_ratio", "50")],
    ["vm/overcommit_kbytes", tunable(k, "vm/overcommit_kbytes", "0")],
    ["vm/max_map_count", tunable(k, "vm/max_map_count", "65530")],
    ["vm/mmap_min_addr", ro("65536")],
    ["vm/swappiness", tunable(k, "vm/swappiness", "60")],
    ["vm/dirty_ratio", tunable(k, "vm/dirty_ratio", "20")],
    ["vm/dirty_background_ratio", tunable(k, "vm/dirty_background_ratio", "10")],
    ["vm/nr_hugepages", ro("0")],
    ["vm/page-cluster", ro("3")],
    ["vm/min_free_kbytes", ro("67584")],
    ["vm/drop_caches", { read: () => "0\n", write: () => 0 }],
    ["fs/file-max", ro("9223372036854775807")],
    [
      "fs/file-nr",
      ro(() => {
        let n = 0;
        const seen = new Set<unknown>();
        for (const t of k.tasks.values()) {
          if (seen.has(t.fdTable) || t.fdTable.users <= 0) continue;
          seen.add(t.fdTable);
          n += t.fdTable.count();
        }
        return `${n}\t0\t9223372036854775807`;
      }),
    ],
    ["fs/nr_open", tunable(k, "fs/nr_open", "1048576")],
    ["fs/pipe-max-size", tunable(k, "fs/pipe-max-size", "1048576")],
    ["fs/pipe-user-pages-hard", ro("0")],
    ["fs/pipe-user-pages-soft", ro("16384")],
    ["fs/inotify/max_user_watches", tunable(k, "fs/inotify/max_user_watches", "8192")],
    ["fs/inotify/max_user_instances", tunable(k, "fs/inotify/max_user_instances", "128")],
    ["fs/inotify/max_queued_events", tunable(k, "fs/inotify/max_queued_events", "16384")],
    ["fs/lease-break-time", ro("45")],
    ["fs/leases-enable", ro("1")],
    ["fs/protected_hardlinks", ro("1")],
    ["fs/protected_symlinks", ro("1")],
    ["fs/protected_fifos", ro("1")],
    ["fs/protected_regular", ro("2")],
    ["fs/suid_dumpable", ro("0")],
    ["fs/aio-max-nr", ro("65536")],
    ["fs/aio-nr", ro("0")],
    ["fs/mount-max", ro("100000")],
    ["fs/overflowuid", ro("65534")],
    ["fs/overflowgid", ro("65534")],
    ["fs/mqueue/msg_max", ro("10")],
    ["fs/mqueue/msgsize_max", ro("8192")],
    ["fs/mqueue/queues_max", ro("256")],
  ]);
  for (const [p, s] of extraSysctls) m.set(p, s);
  return m;
}

/** /proc/sys as a tree of directories over the flat table. */
export function sysDir(fs: PseudoFS, k: Kernel): PseudoDir {
  const table = sysctls(k);
  const dirCache = new Map<string, PseudoDir>();
  const fileCache = new Map<string, Inode>();
  const mkdir = (prefix: string): PseudoDir => {
    let d = dirCache.get(prefix);
    if (d) return d;
    const names = (): string[] => {
      const out = new Set<string>();
      for (const key of table.keys()) {
        if (prefix && !key.startsWith(prefix + "/")) continue;
        const rest = prefix ? key.slice(prefix.length + 1) : key;
        out.add(rest.split("/")[0]);
      }
      return [...out].sort();
    };
    d = new PseudoDir(fs, 0o555, names, (name) => {
      const key = prefix ? `${prefix}/${name}` : name;
      const s = table.get(key);
      if (s) {
        let f = fileCache.get(key);
        if (!f) {
          f = new GenFile(fs, s.write ? 0o644 : 0o444, () => s.read(k), {
            write: s.write ? (v, t) => s.write!(k, v, t) : undefined,
          });
          fileCache.set(key, f);
        }
        return f;
      }
      for (const other of table.keys()) if (other.startsWith(key + "/")) return mkdir(key);
      return null;
    });
    dirCache.set(prefix, d);
    return d;
  };
  return mkdir("");
}

/** The system-wide files at the top of /proc. */
export function systemFiles(
  fs: PseudoFS,
  k: Kernel,
  fsTypes: () => string[],
): Record<string, Inode> {
  // The host's answers are read now, while the host's /proc is surely reachable (a sandbox
  // process may give up its view of the host later).
  cpuinfo();
  hostMemTotal();
  const g = (f: () => string, mode = 0o444) => new GenFile(fs, mode, f);
  return {
    cpuinfo: g(cpuinfo),
    meminfo: g(() => meminfo(k)),
    stat: g(() => statText(k)),
    uptime: g(() => uptimeText(k)),
    loadavg: g(() => loadavgText(k)),
    version: g(() =>
      `Linux version ${KERNEL_RELEASE} (cordon@cordon) (cordon) ${KERNEL_VERSION}\n`
    ),
    filesystems: g(() => filesystemsText(fsTypes())),
    cmdline: g(() => `BOOT_IMAGE=/vmlinuz-${KERNEL_RELEASE} console=hvc0\n`),
    devices: g(() => DEVICES),
    swaps: g(() => "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"),
    consoles: g(() => ptyTable(k).console ? "pts/0                -W- (EC  p  )  136:0\n" : ""),
    modules: g(() => ""),
    partitions: g(() => "major minor  #blocks  name\n\n"),
    diskstats: g(() => ""),
    vmstat: g(() =>
      "nr_free_pages 0\npgpgin 0\npgpgout 0\npswpin 0\npswpout 0\npgfault 0\npgmajfault 0\n"
    ),
    interrupts: g(() => ""),
    sys: sysDir(fs, k),
  };
}
