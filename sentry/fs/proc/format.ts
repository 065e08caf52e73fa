// The text of /proc's per-process files, in Linux's exact formats (fs/proc/array.c,
// task_mmu.c, base.c, proc_namespace.c): ps, top, htop and psutil parse them field by field.
// Values the sentry cannot know exactly (CPU times, page faults) come from the host's view
// of the stub threads and stay consistent with each other.
import * as L from "../../abi/linux.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import { type Task, TaskState, type ThreadGroup } from "../../kernel/task.ts";
import { controllingTty } from "../../kernel/tty/jobs.ts";
import { Terminal } from "../../kernel/tty/terminal.ts";
import type { MM, Vma } from "../../mm/mm.ts";
import { AnonMemory } from "../../mm/objects.ts";
import { CHUNK_PAGES } from "../../mm/memfile.ts";
import {
  MNT_NODEV,
  MNT_NOEXEC,
  MNT_NOSUID,
  type Mount,
  pathString,
  type VfsPath,
} from "../../vfs/mount.ts";

export const HZ = 100;
const PAGE = 4096;
const U64_MAX = "18446744073709551615";

/** Host CPUs the guest runs on. */
export function cpuCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** CPU time and faults of a process's stub (thread: one host thread of it), in ticks. */
export interface HostUsage {
  utime: number;
  stime: number;
  minflt: number;
  majflt: number;
  processor: number;
}

/** Reads the host's /proc/<stub>/stat (the sentry's own host view; never a guest path). */
export function hostUsage(k: Kernel, mm: MM, hostTid = 0): HostUsage {
  const none = { utime: 0, stime: 0, minflt: 0, majflt: 0, processor: 0 };
  if (mm.stubKilled || mm.stub < 0) return none;
  const pid = k.platform.stubPid(mm.stub);
  if (pid <= 0) return none;
  try {
    const s = Deno.readTextFileSync(
      hostTid ? `/proc/${pid}/task/${hostTid}/stat` : `/proc/${pid}/stat`,
    );
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return {
      utime: +f[11] || 0,
      stime: +f[12] || 0,
      minflt: +f[7] || 0,
      majflt: +f[9] || 0,
      processor: +f[36] || 0,
    };
  } catch {
    return none;
  }
}

/** The thread to show for a process: its leader, or any thread still alive. */
export function mainTask(tg: ThreadGroup): Task | undefined {
  const l = tg.tasks[0];
  if (l && l.state !== TaskState.Dead) return l;
  return tg.tasks.find((t) => t.state !== TaskState.Dead) ?? l;
}

export function stateOf(tg: ThreadGroup, t: Task | undefined): string {
  if (tg.zombie) return "Z (zombie)";
  if (!t || t.state === TaskState.Dead) return "X (dead)";
  if (t.state === TaskState.Stopped || tg.stopped) return "T (stopped)";
  if (t.state === TaskState.Blocked) return "S (sleeping)";
  return "R (running)";
}

function sigsetBig(s: bigint): bigint {
  return s & 0xffffffffffffffffn;
}

function hex16(s: bigint): string {
  return sigsetBig(s).toString(16).padStart(16, "0");
}

function sigDisposition(tg: ThreadGroup): { ignored: bigint; caught: bigint } {
  let ignored = 0n, caught = 0n;
  const acts = tg.sighand.actions;
  for (let sig = 1; sig <= L.NSIG && sig < acts.length; sig++) {
    const h = acts[sig].handler;
    const bit = 1n << BigInt(sig - 1);
    if (h === L.SIG_IGN) ignored |= bit;
    else if (h !== L.SIG_DFL) caught |= bit;
  }
  return { ignored, caught };
}

export interface MemUse {
  /** Pages. */
  size: number;
  resident: number;
  anon: number;
  file: number;
  shmem: number;
  text: number;
  data: number;
  stack: number;
  lib: number;
  locked: number;
}

/** Page counts of an address space: sizes from the VMAs, residency from the pages the
 * sentry has handed out (anonymous memory counts by 64 KiB chunk). */
export function memUse(mm: MM): MemUse {
  const u: MemUse = {
    size: 0,
    resident: 0,
    anon: 0,
    file: 0,
    shmem: 0,
    text: 0,
    data: 0,
    stack: 0,
    lib: 0,
    locked: 0,
  };
  for (const v of mm.vmas) {
    const pages = (v.end - v.start) / PAGE;
    u.size += pages;
    if (v.locked) u.locked += pages;
    const isFile = v.obj !== null && !(v.obj instanceof AnonMemory);
    if (v.growsDown || v.name === "[stack]") u.stack += pages;
    else if (!v.shared && (v.prot & L.PROT_WRITE || !isFile)) u.data += pages;
    if (isFile && (v.prot & L.PROT_EXEC)) {
      if (v.name === mm.exePath) u.text += pages;
      else u.lib += pages;
    }
    const anon = countPresent(v.anon, v.anonPg, pages);
    u.anon += anon;
    if (v.obj instanceof AnonMemory) u.shmem += countPresent(v.obj, v.objPg, pages);
    else if (v.obj && pages <= 16384) {
      let n = 0;
      for (let p = 0; p < pages; p++) if (v.obj.peekPage(v.objPg + p) >= 0) n++;
      u.file += Math.max(0, n - anon);
    }
  }
  u.resident = u.anon + u.file + u.shmem;
  return u;
}

function countPresent(m: AnonMemory | null, firstPg: number, pages: number): number {
  if (!m) return 0;
  let n = 0;
  const last = firstPg + pages;
  for (const c of m.chunks.keys()) {
    const lo = Math.max(firstPg, c * CHUNK_PAGES), hi = Math.min(last, (c + 1) * CHUNK_PAGES);
    if (hi > lo) n += hi - lo;
  }
  return n;
}

function ticks(ns: number): number {
  return Math.floor(ns / (1e9 / HZ));
}

/** /proc/[pid]/stat and /proc/[pid]/task/[tid]/stat (do_task_stat). */
export function statLine(k: Kernel, tg: ThreadGroup, t: Task | undefined, whole: boolean): string {
  const mm = t?.mm;
  const live = !tg.zombie && mm && !mm.stubKilled;
  const usage = live && mm ? hostUsage(k, mm, whole ? 0 : t!.slot?.hostTid ?? 0) : null;
  const tty = controllingTty(tg);
  const ttyNr = tty instanceof Terminal ? tty.rdev : 0;
  const tpgid = tty ? (tty.pgrp || -1) : -1;
  const { ignored, caught } = sigDisposition(tg);
  const pending = sigsetBig((t?.pending.set ?? 0n) | tg.shared.set);
  const blocked = sigsetBig(t?.sigMask ?? 0n);
  const mu = live && mm ? memUse(mm) : null;
  const rss = tg.rlimits[L.RLIMIT_RSS];
  const startTicks = ticks(tg.startNs - k.bootNs);
  const comm = whole ? tg.comm : (t?.comm ?? tg.comm);
  const utime = usage ? usage.utime : ticks(tg.userNs);
  const stime = usage ? usage.stime : ticks(tg.sysNs);
  const exe = live && mm ? codeRange(mm) : { start: 0, end: 0, dataStart: 0, dataEnd: 0 };
  const f = [
    whole ? tg.tgid : (t?.tid ?? tg.tgid),
    `(${comm})`,
    stateOf(tg, t)[0],
    tg.parent?.tgid ?? 0,
    tg.pgid,
    tg.sid,
    ttyNr,
    tpgid,
    0x400000, // PF_RANDOMIZE
    usage?.minflt ?? 0,
    0,
    usage?.majflt ?? 0,
    0,
    utime,
    stime,
    ticks(tg.childUserNs),
    ticks(tg.childSysNs),
    20,
    0,
    tg.tasks.filter((x) => x.state !== TaskState.Dead).length || 1,
    0,
    startTicks,
    mu ? mu.size * PAGE : 0,
    mu ? mu.resident : 0,
    rss.cur >= L.RLIM_INFINITY ? U64_MAX : rss.cur,
    exe.start,
    exe.end,
    live && mm ? mm.stackTop : 0,
    0,
    0,
    pending.toString(),
    blocked.toString(),
    sigsetBig(ignored).toString(),
    sigsetBig(caught).toString(),
    0,
    0,
    0,
    tg.exitSignal,
    usage?.processor ?? 0,
    0,
    0,
    0,
    0,
    0,
    live && mm ? exe.dataStart : 0,
    live && mm ? exe.dataEnd : 0,
    live && mm ? mm.brkStart : 0,
    live && mm ? mm.argStart : 0,
    live && mm ? mm.argEnd : 0,
    live && mm ? mm.envStart : 0,
    live && mm ? mm.envEnd : 0,
    tg.zombie ? tg.exitStatus : 0,
  ];
  return f.join(" ") + "\n";
}

/** Where the executable's text and data are mapped (start_code/end_code, start_data). */
function codeRange(mm: MM): { start: number; end: number; dataStart: number; dataEnd: number } {
  let start = 0, end = 0, dataStart = 0, dataEnd = 0;
  for (const v of mm.vmas) {
    if (v.name !== mm.exePath || !v.obj) continue;
    if (v.prot & L.PROT_EXEC) {
      if (!start) start = v.start;
      end = v.end;
    } else if (v.prot & L.PROT_WRITE) {
      if (!dataStart) dataStart = v.start;
      dataEnd = v.end;
    }
  }
  return { start, end, dataStart, dataEnd };
}

/** /proc/[pid]/statm. */
export function statmLine(mm: MM | null): string {
  if (!mm || mm.stubKilled) return "0 0 0 0 0 0 0\n";
  const u = memUse(mm);
  return `${u.size} ${u.resident} ${u.file + u.shmem} ${u.text} 0 ${u.data + u.stack} 0\n`;
}

function kb(label: string, pages: number): string {
  return `${label}\t${String(pages * 4).padStart(8)} kB\n`;
}

/** /proc/[pid]/status. */
export function statusText(
  _k: Kernel,
  tg: ThreadGroup,
  t: Task | undefined,
  whole: boolean,
  umask: number,
): string {
  const c = t?.creds;
  const tid = whole ? tg.tgid : (t?.tid ?? tg.tgid);
  const { ignored, caught } = sigDisposition(tg);
  const live = tg.tasks.filter((x) => x.state !== TaskState.Dead).length;
  let s = `Name:\t${whole ? tg.comm : (t?.comm ?? tg.comm)}\n`;
  s += `Umask:\t${umask.toString(8).padStart(4, "0")}\n`;
  s += `State:\t${stateOf(tg, t)}\n`;
  s += `Tgid:\t${tg.tgid}\nNgid:\t0\nPid:\t${tid}\nPPid:\t${tg.parent?.tgid ?? 0}\nTracerPid:\t0\n`;
  if (c) {
    s += `Uid:\t${c.ruid}\t${c.euid}\t${c.suid}\t${c.fsuid}\n`;
    s += `Gid:\t${c.rgid}\t${c.egid}\t${c.sgid}\t${c.fsgid}\n`;
  }
  const nfds = t && t.fdTable.users > 0 ? t.fdTable.fds() : [];
  const fdSize = Math.max(64, 2 ** Math.ceil(Math.log2((nfds.at(-1) ?? 0) + 1)));
  s += `FDSize:\t${fdSize}\n`;
  s += `Groups:\t${(c?.groups ?? []).join(" ")} \n`;
  s += `NStgid:\t${tg.tgid}\nNSpid:\t${tid}\nNSpgid:\t${tg.pgid}\nNSsid:\t${tg.sid}\n`;
  const mm = t?.mm;
  if (!tg.zombie && mm && !mm.stubKilled) {
    const u = memUse(mm);
    s += kb("VmPeak:", u.size) + kb("VmSize:", u.size) + kb("VmLck:", u.locked) + kb("VmPin:", 0);
    s += kb("VmHWM:", u.resident) + kb("VmRSS:", u.resident) + kb("RssAnon:", u.anon);
    s += kb("RssFile:", u.file) + kb("RssShmem:", u.shmem) + kb("VmData:", u.data);
    s += kb("VmStk:", u.stack) + kb("VmExe:", u.text) + kb("VmLib:", u.lib);
    s += kb("VmPTE:", Math.ceil(u.size / 512 / 64)) + kb("VmSwap:", 0);
    s += `HugetlbPages:\t${"0".padStart(8)} kB\n`;
    s += `CoreDumping:\t0\nTHP_enabled:\t1\n`;
  }
  s += `Threads:\t${live || 1}\n`;
  const pendingCount = tg.shared.queue.length + (t?.pending.queue.length ?? 0);
  s += `SigQ:\t${pendingCount}/${tg.rlimits[L.RLIMIT_SIGPENDING].cur}\n`;
  s += `SigPnd:\t${hex16(t?.pending.set ?? 0n)}\nShdPnd:\t${hex16(tg.shared.set)}\n`;
  s += `SigBlk:\t${hex16(t?.sigMask ?? 0n)}\nSigIgn:\t${hex16(ignored)}\nSigCgt:\t${
    hex16(caught)
  }\n`;
  if (c) {
    s += `CapInh:\t${hex16(c.inheritable)}\nCapPrm:\t${hex16(c.permitted)}\nCapEff:\t${
      hex16(c.effective)
    }\n`;
    s += `CapBnd:\t${hex16(c.bounding)}\nCapAmb:\t${hex16(c.ambient)}\n`;
    s += `NoNewPrivs:\t${c.noNewPrivs ? 1 : 0}\n`;
  }
  // The container's profile shows as one filter in filter mode (2), as runc's does.
  const filtered = c?.syscallPolicy ? 1 : 0;
  s += `Seccomp:\t${2 * filtered}\nSeccomp_filters:\t${filtered}\n`;
  s +=
    `Speculation_Store_Bypass:\tthread vulnerable\nSpeculationIndirectBranch:\tconditional enabled\n`;
  const n = cpuCount();
  s += `Cpus_allowed:\t${((1n << BigInt(n)) - 1n).toString(16)}\nCpus_allowed_list:\t${
    n > 1 ? `0-${n - 1}` : "0"
  }\n`;
  s += `Mems_allowed:\t00000001\nMems_allowed_list:\t0\n`;
  s += `voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n`;
  return s;
}

const LIMITS: Array<[string, string]> = [
  ["Max cpu time", "seconds"],
  ["Max file size", "bytes"],
  ["Max data size", "bytes"],
  ["Max stack size", "bytes"],
  ["Max core file size", "bytes"],
  ["Max resident set", "bytes"],
  ["Max processes", "processes"],
  ["Max open files", "files"],
  ["Max locked memory", "bytes"],
  ["Max address space", "bytes"],
  ["Max file locks", "locks"],
  ["Max pending signals", "signals"],
  ["Max msgqueue size", "bytes"],
  ["Max nice priority", ""],
  ["Max realtime priority", ""],
  ["Max realtime timeout", "us"],
];

/** /proc/[pid]/limits. */
export function limitsText(tg: ThreadGroup): string {
  let s = `${"Limit".padEnd(25)} ${"Soft Limit".padEnd(20)} ${"Hard Limit".padEnd(20)} ${
    "Units".padEnd(10)
  }\n`;
  LIMITS.forEach(([name, unit], i) => {
    const r = tg.rlimits[i];
    const v = (x: number) => (x >= L.RLIM_INFINITY ? "unlimited" : String(x)).padEnd(20);
    s += `${name.padEnd(25)} ${v(r.cur)} ${v(r.max)} ${unit ? unit.padEnd(10) : ""}\n`;
  });
  return s;
}

/** glibc's major()/minor() of a 64-bit dev_t. */
export function devMajor(dev: number): number {
  return Math.floor(dev / 256) & 0xfff | (Math.floor(dev / 2 ** 32) & ~0xfff);
}
export function devMinor(dev: number): number {
  return (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff & 0xfffff);
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** /proc/[pid]/maps (show_map_vma). */
export function mapsText(mm: MM | null): string {
  if (!mm || mm.stubKilled) return "";
  let s = "";
  for (const v of mm.vmas) s += mapsLine(v) + "\n";
  return s;
}

function mapsLine(v: Vma): string {
  const id = v.obj?.identity ?? null;
  const isFile = id !== null && v.obj !== null && !(v.obj instanceof AnonMemory);
  let line = `${hex(v.start, 8)}-${hex(v.end, 8)} ${v.prot & 1 ? "r" : "-"}${
    v.prot & 2 ? "w" : "-"
  }${v.prot & 4 ? "x" : "-"}${v.shared ? "s" : "p"}`;
  line += ` ${hex(isFile || v.obj instanceof AnonMemory ? v.objPg * PAGE : 0, 8)}`;
  line += ` ${hex(id ? devMajor(id.dev) : 0, 2)}:${hex(id ? devMinor(id.dev) : 0, 2)} ${
    id ? id.ino : 0
  } `;
  if (v.name) line = line.padEnd(73) + v.name;
  return line;
}

/** Resident pages of one VMA: its private (anonymous or written) pages, and the pages of
 * the object it maps that are in memory (counted for VMAs up to 64 MiB). */
function vmaResidency(v: Vma): { anon: number; file: number; shmem: number } {
  const pages = (v.end - v.start) / PAGE;
  const anon = countPresent(v.anon, v.anonPg, pages);
  if (v.obj instanceof AnonMemory) {
    return { anon, file: 0, shmem: countPresent(v.obj, v.objPg, pages) };
  }
  let file = 0;
  if (v.obj && pages <= 16384) {
    for (let p = 0; p < pages; p++) if (v.obj.peekPage(v.objPg + p) >= 0) file++;
    file = Math.max(0, file - anon);
  }
  return { anon, file, shmem: 0 };
}

function vmFlags(v: Vma): string {
  const f: string[] = [];
  if (v.prot & 1) f.push("rd");
  if (v.prot & 2) f.push("wr");
  if (v.prot & 4) f.push("ex");
  if (v.shared) f.push("sh");
  if (v.maxProt & 1) f.push("mr");
  if (v.maxProt & 2) f.push("mw");
  if (v.maxProt & 4) f.push("me");
  if (v.shared) f.push("ms");
  if (v.growsDown) f.push("gd");
  if (v.locked) f.push("lo");
  if (v.dontFork) f.push("dc");
  if (!v.shared && (v.prot & 2)) f.push("ac");
  f.push("sd");
  return f.map((x) => x + " ").join("");
}

interface SmapsCounts {
  size: number;
  rss: number;
  anon: number;
  file: number;
  shmem: number;
  sharedClean: number;
  privateClean: number;
  privateDirty: number;
  locked: number;
}

function smapsBody(c: SmapsCounts, rollup: boolean): string {
  const kbl = (label: string, pages: number) =>
    `${(label + ":").padEnd(16)}${String(pages * 4).padStart(8)} kB\n`;
  let s = "";
  if (!rollup) s += kbl("Size", c.size) + kbl("KernelPageSize", 1) + kbl("MMUPageSize", 1);
  s += kbl("Rss", c.rss) + kbl("Pss", c.rss) + kbl("Pss_Dirty", c.privateDirty);
  if (rollup) s += kbl("Pss_Anon", c.anon) + kbl("Pss_File", c.file) + kbl("Pss_Shmem", c.shmem);
  s += kbl("Shared_Clean", c.sharedClean) + kbl("Shared_Dirty", 0) +
    kbl("Private_Clean", c.privateClean);
  s += kbl("Private_Dirty", c.privateDirty) + kbl("Referenced", c.rss) + kbl("Anonymous", c.anon);
  s += kbl("LazyFree", 0) + kbl("AnonHugePages", 0) + kbl("ShmemPmdMapped", 0) +
    kbl("FilePmdMapped", 0);
  s += kbl("Shared_Hugetlb", 0) + kbl("Private_Hugetlb", 0) + kbl("Swap", 0) + kbl("SwapPss", 0);
  s += kbl("Locked", c.locked);
  return s;
}

/** /proc/[pid]/smaps (rollup false) and smaps_rollup. */
export function smapsText(mm: MM | null, rollup: boolean): string {
  if (!mm || mm.stubKilled) return "";
  const total: SmapsCounts = {
    size: 0,
    rss: 0,
    anon: 0,
    file: 0,
    shmem: 0,
    sharedClean: 0,
    privateClean: 0,
    privateDirty: 0,
    locked: 0,
  };
  let s = "";
  for (const v of mm.vmas) {
    const r = vmaResidency(v);
    const rss = r.anon + r.file + r.shmem;
    const c: SmapsCounts = {
      size: (v.end - v.start) / PAGE,
      rss,
      anon: r.anon,
      file: r.file,
      shmem: r.shmem,
      sharedClean: v.shared ? r.file : 0,
      privateClean: v.shared ? 0 : r.file,
      privateDirty: r.anon + r.shmem,
      locked: v.locked ? rss : 0,
    };
    for (const k of Object.keys(total) as Array<keyof SmapsCounts>) total[k] += c[k];
    if (!rollup) {
      s += mapsLine(v) + "\n" + smapsBody(c, false);
      s += `THPeligible:    0\nVmFlags: ${vmFlags(v)}\n`;
    }
  }
  if (!rollup) return s;
  const first = mm.vmas[0]?.start ?? 0, last = mm.vmas.at(-1)?.end ?? 0;
  const head = `${hex(first, 8)}-${hex(last, 8)} ---p 00000000 00:00 0 `.padEnd(73) + "[rollup]\n";
  return head + smapsBody(total, true);
}

/** Escapes a path for /proc/mounts (space, tab, newline, backslash as octal). */
export function mangle(p: string): string {
  return p.replace(/[ \t\n\\]/g, (c) => "\\" + c.charCodeAt(0).toString(8).padStart(3, "0"));
}

function mountFlags(m: Mount): string {
  let s = m.readonly ? "ro" : "rw";
  if (m.flags & MNT_NOSUID) s += ",nosuid";
  if (m.flags & MNT_NODEV) s += ",nodev";
  if (m.flags & MNT_NOEXEC) s += ",noexec";
  return s + ",relatime";
}

/** The mounts visible from root, with their mount points as seen from there. */
function visibleMounts(k: Kernel, root: VfsPath): Array<{ m: Mount; at: string }> {
  const out: Array<{ m: Mount; at: string }> = [];
  for (const m of k.mounts.all()) {
    const at = m.parent && m.mountpoint
      ? pathString({ mount: m.parent, dentry: m.mountpoint }, root)
      : pathString({ mount: m, dentry: m.root }, root);
    if (at === null) continue;
    out.push({ m, at });
  }
  return out;
}

/** /proc/[pid]/mounts. */
export function mountsText(k: Kernel, root: VfsPath): string {
  let s = "";
  for (const { m, at } of visibleMounts(k, root)) {
    const opts = mountFlags(m) + (m.options ? "," + m.options : "");
    s += `${mangle(m.fs.source)} ${mangle(at)} ${m.fs.type} ${opts} 0 0\n`;
  }
  return s;
}

/** /proc/[pid]/mountinfo. */
export function mountinfoText(k: Kernel, root: VfsPath): string {
  let s = "";
  for (const { m, at } of visibleMounts(k, root)) {
    const within = fsPath(m);
    const parent = m.parent ? m.parent.id : m.id;
    s += `${m.id} ${parent} ${devMajor(m.fs.dev)}:${devMinor(m.fs.dev)} ${mangle(within)} ${
      mangle(at)
    } ${mountFlags(m)} - ${m.fs.type} ${mangle(m.fs.source)} ${m.readonly ? "ro" : "rw"}${
      m.options ? "," + m.options : ""
    }\n`;
  }
  return s;
}

/** The path of a mount's root inside its filesystem (bind mounts of subdirectories). */
function fsPath(m: Mount): string {
  const parts: string[] = [];
  for (let d = m.root; d.parent; d = d.parent) parts.push(d.name);
  return "/" + parts.reverse().join("/");
}
