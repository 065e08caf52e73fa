// Processes and threads: clone/fork/vfork, execve, exit, wait, ids, sessions and groups,
// credentials, rlimits, prctl, arch_prctl, uname, scheduling.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { Op, Reg } from "../../ffi/platform.ts";
import { CAP_SETGID, CAP_SETUID, CAP_SYS_RESOURCE } from "../kernel/creds.ts";
import { KERNEL_RELEASE, KERNEL_VERSION } from "../kernel/kernel.ts";
import { BLOCK, NO_RETURN, Task, TaskState, ThreadGroup } from "../kernel/task.ts";
import { execve } from "../loader/exec.ts";
import { WaitQueue } from "../util/waitqueue.ts";
import { MM } from "../mm/mm.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { readPath, readStringArray } from "./util.ts";
import { bytesToBinary } from "../util/bytes.ts";

const NAMESPACE_FLAGS = L.CLONE_NEWNS | L.CLONE_NEWUTS | L.CLONE_NEWIPC | L.CLONE_NEWUSER |
  L.CLONE_NEWPID | L.CLONE_NEWNET | L.CLONE_NEWCGROUP;

interface CloneArgs {
  flags: number;
  /** High bits of clone3's flags (CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP). */
  flagsHi: number;
  exitSignal: number;
  stack: number;
  parentTid: number;
  childTid: number;
  tls: number;
  pidfd: number;
}

interface VforkWait {
  child: number;
}

export function doClone(t: Task, a: CloneArgs): number {
  const st = t.sysState as VforkWait | undefined;
  if (st) return waitVfork(t, st);
  const f = a.flags;
  const k = t.kernel;
  if ((f & L.CLONE_THREAD) && !(f & L.CLONE_SIGHAND)) return -E.EINVAL;
  if ((f & L.CLONE_SIGHAND) && !(f & L.CLONE_VM)) return -E.EINVAL;
  if ((f & L.CLONE_FS) && (f & L.CLONE_NEWNS)) return -E.EINVAL;
  if ((f & L.CLONE_THREAD) && (f & (L.CLONE_NEWUSER | L.CLONE_NEWPID))) return -E.EINVAL;
  if ((f & L.CLONE_PARENT) && t.tg === k.init) return -E.EINVAL;
  if (a.exitSignal > L.NSIG) return -E.EINVAL;
  if (f & NAMESPACE_FLAGS) return -E.EPERM;
  if (f & L.CLONE_PIDFD) return -E.EINVAL;
  // As Linux: a signal that reached the parent before the fork is handled first and the
  // fork restarted, so a signal sent to a process group (^Z, ^C) never misses a child made
  // while it was on its way.
  if (!(f & L.CLONE_THREAD) && k.signals.hasDeliverable(t)) return -E.ERESTARTNOINTR;
  if (!(f & L.CLONE_THREAD)) {
    let procs = 0;
    for (const g of k.groups.values()) if (!g.zombie) procs++;
    if (procs >= Math.min(t.rlimit(L.RLIMIT_NPROC).cur, 4000)) return -E.EAGAIN;
  }
  const tid = k.allocPid();
  if (tid < 0) return tid;

  // Address space: shared (threads, vfork) or copied (fork) into a new stub.
  let mm: MM;
  let slotIdx: number;
  let stubReady = false;
  if (f & L.CLONE_VM) {
    mm = t.mm;
    slotIdx = mm.allocSlot();
    if (slotIdx < 0) return slotIdx;
    mm.users++;
    k.platform.prepareSlot(mm.stub, slotIdx);
    mm.queueOp(Op.CloneThread, 0, 0, 0, slotIdx);
  } else {
    const got = k.newStub();
    if (typeof got === "number") return got === -E.EAGAIN ? -E.EAGAIN : -E.ENOMEM;
    const stub = got.stub;
    stubReady = got.ready;
    const child = t.mm.fork(stub);
    if (typeof child === "number") {
      k.platform.killStub(stub);
      return child;
    }
    mm = child;
    k.registerStub(mm);
    mm.takeFirstSlot();
    slotIdx = 0;
  }

  const fdTable = f & L.CLONE_FILES ? t.fdTable : t.fdTable.fork();
  if (f & L.CLONE_FILES) fdTable.users++;
  const fs = f & L.CLONE_FS ? t.fs : { ...t.fs, users: 0 };
  fs.users++;

  let tg: ThreadGroup;
  if (f & L.CLONE_THREAD) {
    tg = t.tg;
  } else {
    const sighand = f & L.CLONE_SIGHAND ? t.tg.sighand : t.tg.sighand.clone();
    if (f & L.CLONE_SIGHAND) sighand.users++;
    if (a.flagsHi & 1 /* CLONE_CLEAR_SIGHAND */) {
      sighand.actions = sighand.actions.map((x) =>
        x.handler === L.SIG_IGN ? x : { handler: L.SIG_DFL, flags: 0, restorer: 0, mask: 0n }
      );
    }
    tg = new ThreadGroup(tid, k, sighand, t.tg.rlimits.map((r) => ({ ...r })));
    tg.pgid = t.tg.pgid;
    tg.sid = t.tg.sid;
    tg.exitSignal = a.exitSignal;
    tg.parent = f & L.CLONE_PARENT ? t.tg.parent : t.tg;
    tg.parent?.children.add(tg);
    tg.startNs = k.nowNs();
    tg.comm = t.tg.comm;
    k.groups.set(tid, tg);
  }
  const child = new Task(tid, k, tg, mm, fdTable, fs, t.creds.clone());
  child.sigMask = t.sigMask;
  child.comm = t.comm;
  if (!(f & L.CLONE_VM) || (f & L.CLONE_VFORK)) child.altStack = { ...t.altStack };
  tg.tasks.push(child);
  tg.live++;
  k.tasks.set(tid, child);

  // Registers: the parent's, returning 0, on the new stack and TLS if given.
  const regs = new Uint32Array(t.slot.regWords());
  const set = (r: Reg, v: number) => {
    regs[2 * r] = v >>> 0;
    regs[2 * r + 1] = Math.floor(v / 4294967296) >>> 0;
  };
  set(Reg.RAX, 0);
  if (a.stack) set(Reg.RSP, a.stack);
  if (f & L.CLONE_SETTLS) set(Reg.FS_BASE, a.tls);
  child.startRegs = regs;
  if (k.platform.fpLoad(t.slotId) > 0) {
    const off = t.slot.fpstateOffset;
    child.startFp = t.slot.bytes.slice(off, off + k.platform.xstateSize);
  }
  if (f & L.CLONE_PARENT_SETTID) t.mm.writeU32(a.parentTid, tid);
  if (f & L.CLONE_CHILD_SETTID) mm.writeU32(a.childTid, tid);
  if (f & L.CLONE_CHILD_CLEARTID) child.clearChildTid = a.childTid;
  k.bindSlot(child, mm.stub * 1024 + slotIdx);
  child.state = TaskState.Starting;
  if (stubReady) k.startWhenReady(child);

  if (f & L.CLONE_VFORK) {
    tg.vforkParent = t;
    t.vforkDone = false;
    const w: VforkWait = { child: tid };
    const r = t.block([], Infinity, false);
    if (r !== BLOCK) return tid;
    t.sysState = w;
    return BLOCK;
  }
  return tid;
}

function waitVfork(t: Task, st: VforkWait): number {
  if (t.vforkDone) return st.child;
  return t.block([], Infinity, false);
}

function sysClone(t: Task): number {
  const flags = t.argU32(0);
  return doClone(t, {
    flags: flags & ~0xff,
    flagsHi: 0,
    exitSignal: flags & 0xff,
    stack: t.arg(1),
    parentTid: t.arg(2),
    childTid: t.arg(3),
    tls: t.arg(4),
    pidfd: 0,
  });
}

function sysClone3(t: Task): number {
  const addr = t.arg(0), size = t.arg(1);
  if (size < 64 || size > 4096) return -E.EINVAL;
  const b = t.mm.copyIn(addr, Math.min(size, 88));
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const u64 = (o: number) => dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 4294967296;
  const flagsLo = dv.getUint32(0, true), flagsHi = dv.getUint32(4, true);
  if (flagsHi & ~3) return -E.EINVAL;
  const stack = u64(40), stackSize = u64(48);
  if (b.length >= 88 && (u64(64) || u64(72))) return -E.EINVAL; // set_tid
  const exitSignal = u64(32);
  if (exitSignal > L.NSIG) return -E.EINVAL;
  if (flagsLo & 0xff) return -E.EINVAL;
  return doClone(t, {
    flags: flagsLo,
    flagsHi,
    exitSignal,
    stack: stack ? stack + stackSize : 0,
    parentTid: u64(24),
    childTid: u64(16),
    tls: u64(56),
    pidfd: u64(8),
  });
}

function sysFork(t: Task): number {
  return doClone(t, { flags: 0, flagsHi: 0, exitSignal: L.SIGCHLD, stack: 0, parentTid: 0, childTid: 0, tls: 0, pidfd: 0 });
}

function sysVfork(t: Task): number {
  return doClone(t, {
    flags: L.CLONE_VM | L.CLONE_VFORK,
    flagsHi: 0,
    exitSignal: L.SIGCHLD,
    stack: 0,
    parentTid: 0,
    childTid: 0,
    tls: 0,
    pidfd: 0,
  });
}

function sysExecve(t: Task): number {
  return execveCommon(t, L.AT_FDCWD, t.arg(0), t.arg(1), t.arg(2), 0);
}

function sysExecveat(t: Task): number {
  return execveCommon(t, t.argInt(0), t.arg(1), t.arg(2), t.arg(3), t.argInt(4));
}

function execveCommon(t: Task, dirfd: number, pathAddr: number, argvAddr: number, envAddr: number, flags: number): number {
  if (flags & ~(L.AT_EMPTY_PATH | L.AT_SYMLINK_NOFOLLOW)) return -E.EINVAL;
  const path = readPath(t, pathAddr, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof path === "number") return path;
  const argv = readStringArray(t, argvAddr);
  if (typeof argv === "number") return argv;
  const envp = readStringArray(t, envAddr);
  if (typeof envp === "number") return envp;
  return execve(t, dirfd, path, argv, envp, flags);
}

function sysExit(t: Task): number {
  t.exitCode = t.argInt(0) & 0xff;
  if (t.tg.live === 1) t.tg.exitStatus = t.exitCode << 8;
  t.kernel.exitTask(t);
  return BLOCK;
}

function sysExitGroup(t: Task): number {
  const k = t.kernel;
  k.exitGroup(t.tg, (t.argInt(0) & 0xff) << 8);
  if (t.state !== TaskState.Dead) k.exitTask(t);
  return BLOCK;
}

// ---- wait ---------------------------------------------------------------------------

interface WaitResult {
  pid: number;
  status: number;
  code: number;
  sigStatus: number;
  uid: number;
}

function waitQueueOf(tg: ThreadGroup): WaitQueue {
  if (!tg.childWaiters) tg.childWaiters = new WaitQueue();
  return tg.childWaiters;
}

/** Finds a child state change matching (kind, id) and options; consumes it unless
 * WNOWAIT. Returns null when nothing is ready, -ECHILD when nothing matches. */
function findWaitable(t: Task, kind: number, id: number, options: number): WaitResult | null | number {
  const tg = t.tg;
  let matched = false;
  for (const c of tg.children) {
    if (kind === L.P_PID && c.tgid !== id) continue;
    if (kind === L.P_PGID && c.pgid !== id) continue;
    // __WCLONE selects children whose exit signal is not SIGCHLD; __WALL selects all.
    if (!(options & L.WALL)) {
      const isClone = c.exitSignal !== L.SIGCHLD;
      if (!!(options & L.WCLONE) !== isClone) continue;
    }
    matched = true;
    const uid = c.leader?.creds.ruid ?? 0;
    if (c.zombie && (options & L.WEXITED)) {
      const st = c.exitStatus;
      const killed = (st & 0x7f) !== 0;
      const r: WaitResult = {
        pid: c.tgid,
        status: st,
        code: killed ? (st & 0x80 ? L.CLD_DUMPED : L.CLD_KILLED) : L.CLD_EXITED,
        sigStatus: killed ? st & 0x7f : (st >> 8) & 0xff,
        uid,
      };
      if (!(options & L.WNOWAIT)) t.kernel.reap(c);
      return r;
    }
    if (c.stopped && c.reportStop && (options & L.WSTOPPED)) {
      if (!(options & L.WNOWAIT)) c.reportStop = false;
      return { pid: c.tgid, status: (c.stopSignal << 8) | 0x7f, code: L.CLD_STOPPED, sigStatus: c.stopSignal, uid };
    }
    if (c.reportContinue && (options & L.WCONTINUED)) {
      if (!(options & L.WNOWAIT)) c.reportContinue = false;
      return { pid: c.tgid, status: 0xffff, code: L.CLD_CONTINUED, sigStatus: L.SIGCONT, uid };
    }
  }
  return matched ? null : -E.ECHILD;
}

function sysWait4(t: Task): number {
  const pid = t.argInt(0), statusAddr = t.arg(1), options = t.argInt(2), rusage = t.arg(3);
  if (options & ~(L.WNOHANG | L.WUNTRACED | L.WCONTINUED | L.WNOTHREAD | L.WALL | L.WCLONE)) {
    return -E.EINVAL;
  }
  let kind = L.P_ALL, id = 0;
  if (pid > 0) kind = L.P_PID, id = pid;
  else if (pid === 0) kind = L.P_PGID, id = t.tg.pgid;
  else if (pid < -1) kind = L.P_PGID, id = -pid;
  const r = findWaitable(t, kind, id, options | L.WEXITED);
  if (typeof r === "number") return r;
  if (r === null) {
    if (options & L.WNOHANG) return 0;
    return t.block([[waitQueueOf(t.tg), ~0]]);
  }
  if (statusAddr) {
    const rc = t.mm.writeU32(statusAddr, r.status);
    if (rc < 0) return rc;
  }
  if (rusage) {
    const rc = t.mm.zero(rusage, 144);
    if (rc < 0) return rc;
  }
  return r.pid;
}

function sysWaitid(t: Task): number {
  const idtype = t.argInt(0), id = t.argInt(1), infop = t.arg(2), options = t.argInt(3);
  if (options & ~(L.WNOHANG | L.WEXITED | L.WSTOPPED | L.WCONTINUED | L.WNOWAIT | L.WNOTHREAD | L.WALL | L.WCLONE)) {
    return -E.EINVAL;
  }
  if (!(options & (L.WEXITED | L.WSTOPPED | L.WCONTINUED))) return -E.EINVAL;
  let kind = idtype, wid = id;
  if (idtype === L.P_PGID && id === 0) wid = t.tg.pgid;
  if (idtype !== L.P_ALL && idtype !== L.P_PID && idtype !== L.P_PGID) return -E.EINVAL;
  if (idtype === L.P_ALL) kind = L.P_ALL;
  const r = findWaitable(t, kind, wid, options);
  if (typeof r === "number") return r;
  if (r === null) {
    if (options & L.WNOHANG) {
      if (infop) return t.mm.zero(infop, 128);
      return 0;
    }
    return t.block([[waitQueueOf(t.tg), ~0]]);
  }
  if (infop) {
    const b = new Uint8Array(128);
    const dv = new DataView(b.buffer);
    dv.setInt32(0, L.SIGCHLD, true);
    dv.setInt32(8, r.code, true);
    dv.setInt32(16, r.pid, true);
    dv.setUint32(20, r.uid, true);
    dv.setInt32(24, r.sigStatus, true);
    const rc = t.mm.copyOut(infop, b);
    if (rc < 0) return rc;
  }
  return 0;
}

// ---- ids ----------------------------------------------------------------------------

function findGroup(t: Task, pid: number): ThreadGroup | null {
  if (pid === 0) return t.tg;
  const g = t.kernel.groups.get(pid);
  return g && !g.reaped ? g : null;
}

function sysSetpgid(t: Task): number {
  const pid = t.argInt(0), pgid = t.argInt(1);
  if (pgid < 0) return -E.EINVAL;
  const target = findGroup(t, pid);
  if (!target) return -E.ESRCH;
  if (target !== t.tg && target.parent !== t.tg) return -E.ESRCH;
  if (target.sid === target.tgid) return -E.EPERM; // a session leader
  if (target.sid !== t.tg.sid) return -E.EPERM;
  const newPg = pgid === 0 ? target.tgid : pgid;
  if (newPg !== target.tgid) {
    let ok = false;
    for (const g of t.kernel.groups.values()) if (g.pgid === newPg && g.sid === t.tg.sid && !g.zombie) ok = true;
    if (!ok) return -E.EPERM;
  }
  target.pgid = newPg;
  return 0;
}

function sysGetpgid(t: Task): number {
  const g = findGroup(t, t.argInt(0));
  return g ? g.pgid : -E.ESRCH;
}

function sysGetsid(t: Task): number {
  const g = findGroup(t, t.argInt(0));
  return g ? g.sid : -E.ESRCH;
}

function sysSetsid(t: Task): number {
  const tg = t.tg;
  for (const g of t.kernel.groups.values()) if (g.pgid === tg.tgid && g !== tg) return -E.EPERM;
  if (tg.pgid === tg.tgid) return -E.EPERM;
  tg.sid = tg.pgid = tg.tgid;
  return tg.sid;
}

function sysGetppid(t: Task): number {
  const p = t.tg.parent;
  return p && !p.reaped ? p.tgid : 0;
}

function idsArg(v: number): number {
  return v === -1 ? -1 : v >>> 0;
}

function setIds(t: Task, which: "uid" | "gid", r: number, e: number, s: number): number {
  const c = t.creds;
  const cap = which === "uid" ? CAP_SETUID : CAP_SETGID;
  const cur = which === "uid" ? [c.ruid, c.euid, c.suid] : [c.rgid, c.egid, c.sgid];
  const privileged = c.hasCap(cap);
  for (const v of [r, e, s]) {
    if (v !== -1 && !privileged && !cur.includes(v)) return -E.EPERM;
  }
  const n = t.creds.clone();
  if (which === "uid") {
    const [or, oe, os] = cur;
    if (r !== -1) n.ruid = r;
    if (e !== -1) n.euid = e;
    if (s !== -1) n.suid = s;
    n.fsuid = n.euid;
    n.fixCapsAfterSetuid(or, oe, os);
  } else {
    if (r !== -1) n.rgid = r;
    if (e !== -1) n.egid = e;
    if (s !== -1) n.sgid = s;
    n.fsgid = n.egid;
  }
  // Credentials are per process here (threads share them, as glibc's setxid makes them).
  for (const o of t.tg.tasks) o.creds = n;
  return 0;
}

function sysSetuid(t: Task): number {
  const uid = idsArg(t.argInt(0));
  if (uid === -1) return -E.EINVAL;
  if (t.creds.hasCap(CAP_SETUID)) return setIds(t, "uid", uid, uid, uid);
  return setIds(t, "uid", -1, uid, -1);
}

function sysSetgid(t: Task): number {
  const gid = idsArg(t.argInt(0));
  if (gid === -1) return -E.EINVAL;
  if (t.creds.hasCap(CAP_SETGID)) return setIds(t, "gid", gid, gid, gid);
  return setIds(t, "gid", -1, gid, -1);
}

function writeIds(t: Task, a: number[], vals: number[]): number {
  for (let i = 0; i < 3; i++) {
    const rc = t.mm.writeU32(a[i], vals[i]);
    if (rc < 0) return rc;
  }
  return 0;
}

function sysGetgroups(t: Task): number {
  const size = t.argInt(0), addr = t.arg(1);
  const g = t.creds.groups;
  if (size < 0) return -E.EINVAL;
  if (size === 0) return g.length;
  if (size < g.length) return -E.EINVAL;
  const b = new Uint8Array(g.length * 4);
  const dv = new DataView(b.buffer);
  g.forEach((v, i) => dv.setUint32(i * 4, v, true));
  const rc = t.mm.copyOut(addr, b);
  return rc < 0 ? rc : g.length;
}

function sysSetgroups(t: Task): number {
  const size = t.argInt(0), addr = t.arg(1);
  if (size < 0 || size > 65536) return -E.EINVAL;
  if (!t.creds.hasCap(CAP_SETGID)) return -E.EPERM;
  const b = t.mm.copyIn(addr, size * 4);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const n = t.creds.clone();
  n.groups = Array.from({ length: size }, (_, i) => dv.getUint32(i * 4, true));
  for (const o of t.tg.tasks) o.creds = n;
  return 0;
}

// ---- limits, usage ------------------------------------------------------------------

const RLIM_INF_LO = 0xffffffff;

function encodeRlim(v: number): [number, number] {
  if (v >= L.RLIM_INFINITY) return [RLIM_INF_LO, 0xffffffff];
  return [v >>> 0, Math.floor(v / 4294967296) >>> 0];
}

function decodeRlim(dv: DataView, off: number): number {
  const lo = dv.getUint32(off, true), hi = dv.getUint32(off + 4, true);
  if (hi >= 0x7fffffff || (hi === 0xffffffff && lo === RLIM_INF_LO)) return L.RLIM_INFINITY;
  return hi * 4294967296 + lo;
}

function prlimit(t: Task, pid: number, res: number, newAddr: number, oldAddr: number): number {
  if (res < 0 || res >= L.RLIM_NLIMITS) return -E.EINVAL;
  const tg = pid === 0 ? t.tg : t.kernel.tasks.get(pid)?.tg;
  if (!tg) return -E.ESRCH;
  const cur = tg.rlimits[res];
  let next: { cur: number; max: number } | null = null;
  if (newAddr) {
    const b = t.mm.copyIn(newAddr, 16);
    if (typeof b === "number") return b;
    const dv = new DataView(b.buffer);
    next = { cur: decodeRlim(dv, 0), max: decodeRlim(dv, 8) };
    if (next.cur > next.max) return -E.EINVAL;
    if (next.max > cur.max && !t.creds.hasCap(CAP_SYS_RESOURCE)) return -E.EPERM;
    if (res === L.RLIMIT_NOFILE && next.max > 1048576) return -E.EPERM;
  }
  if (oldAddr) {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    const [a, bb] = encodeRlim(cur.cur), [c, d] = encodeRlim(cur.max);
    dv.setUint32(0, a, true);
    dv.setUint32(4, bb, true);
    dv.setUint32(8, c, true);
    dv.setUint32(12, d, true);
    const rc = t.mm.copyOut(oldAddr, b);
    if (rc < 0) return rc;
  }
  if (next) {
    tg.rlimits[res] = next;
    if (res === L.RLIMIT_NOFILE) for (const o of tg.tasks) o.fdTable.limit = next.cur;
    if (res === L.RLIMIT_STACK) for (const o of tg.tasks) o.mm.stackLimit = Math.min(next.cur, 1 << 30);
  }
  return 0;
}

function sysGetrusage(t: Task): number {
  const who = t.argInt(0), addr = t.arg(1);
  if (who !== L.RUSAGE_SELF && who !== L.RUSAGE_CHILDREN && who !== L.RUSAGE_THREAD) return -E.EINVAL;
  const b = new Uint8Array(144);
  const dv = new DataView(b.buffer);
  const ns = who === L.RUSAGE_CHILDREN ? t.tg.childUserNs : cpuTimeNs(t, who === L.RUSAGE_THREAD);
  dv.setUint32(0, Math.floor(ns / 1e9), true);
  dv.setUint32(8, Math.floor((ns % 1e9) / 1000), true);
  dv.setUint32(32, Math.floor(t.mm.totalBytes() / 1024 / 4), true); // maxrss (KiB), rough
  return t.mm.copyOut(addr, b);
}

/** CPU time of a task or its process, from the host's view of the stub threads. */
export function cpuTimeNs(t: Task, thread: boolean): number {
  const h = t.kernel;
  const pid = h.platform.stubPid(t.mm.stub);
  if (pid <= 0) return 0;
  try {
    if (thread) {
      const s = Deno.readTextFileSync(`/proc/${pid}/task/${t.slot.hostTid}/stat`);
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      return (Number(f[11]) + Number(f[12])) * 1e7;
    }
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 1e7;
  } catch {
    return 0;
  }
}

function sysTimes(t: Task): number {
  const addr = t.arg(0);
  const k = t.kernel;
  if (addr) {
    const b = new Uint8Array(32);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, Math.floor(cpuTimeNs(t, false) / 1e7), true);
    dv.setUint32(16, Math.floor(t.tg.childUserNs / 1e7), true);
    const rc = t.mm.copyOut(addr, b);
    if (rc < 0) return rc;
  }
  return Math.floor((k.nowNs() - k.bootNs) / 1e7) + 100;
}

// ---- misc ---------------------------------------------------------------------------

function sysUname(t: Task): number {
  const k = t.kernel;
  const b = new Uint8Array(65 * 6);
  const put = (i: number, s: string) => {
    for (let j = 0; j < Math.min(s.length, 64); j++) b[i * 65 + j] = s.charCodeAt(j);
  };
  put(0, "Linux");
  put(1, k.hostname);
  put(2, KERNEL_RELEASE);
  put(3, KERNEL_VERSION);
  put(4, "x86_64");
  put(5, k.domainname);
  return t.mm.copyOut(t.arg(0), b);
}

function sysArchPrctl(t: Task): number {
  const code = t.argInt(0), addr = t.arg(1);
  const s = t.slot;
  switch (code) {
    case L.ARCH_SET_FS:
    case L.ARCH_SET_GS:
      if (addr >= 0x800000000000) return -E.EPERM;
      s.setReg(code === L.ARCH_SET_FS ? Reg.FS_BASE : Reg.GS_BASE, addr);
      s.markFsDirty();
      return 0;
    case L.ARCH_GET_FS:
      return t.mm.writeU64(addr, s.reg(Reg.FS_BASE));
    case L.ARCH_GET_GS:
      return t.mm.writeU64(addr, s.reg(Reg.GS_BASE));
    case L.ARCH_GET_CPUID:
      return 1;
    case L.ARCH_SET_CPUID:
      return -E.ENODEV;
    default:
      return -E.EINVAL;
  }
}

function sysPrctl(t: Task): number {
  const op = t.argInt(0), a2 = t.arg(1);
  switch (op) {
    case L.PR_SET_NAME: {
      const s = t.mm.readCString(a2, 4096);
      if (typeof s === "number" && s !== -E.ENAMETOOLONG) return s;
      const name = typeof s === "number" ? "" : s;
      t.comm = name.slice(0, 15);
      if (t.isLeader()) t.tg.comm = t.comm;
      return 0;
    }
    case L.PR_GET_NAME: {
      const b = new Uint8Array(16);
      for (let i = 0; i < t.comm.length && i < 15; i++) b[i] = t.comm.charCodeAt(i);
      return t.mm.copyOut(a2, b);
    }
    case L.PR_SET_PDEATHSIG:
      if (a2 > L.NSIG) return -E.EINVAL;
      t.pdeathSig = a2;
      return 0;
    case L.PR_GET_PDEATHSIG:
      return t.mm.writeU32(a2, t.pdeathSig);
    case L.PR_GET_DUMPABLE:
      return 1;
    case L.PR_SET_DUMPABLE:
      return a2 <= 1 ? 0 : -E.EINVAL;
    case L.PR_SET_NO_NEW_PRIVS:
      if (a2 !== 1) return -E.EINVAL;
      t.creds.noNewPrivs = true;
      return 0;
    case L.PR_GET_NO_NEW_PRIVS:
      return t.creds.noNewPrivs ? 1 : 0;
    case L.PR_SET_CHILD_SUBREAPER:
      t.tg.subreaper = a2 !== 0;
      return 0;
    case L.PR_GET_CHILD_SUBREAPER:
      return t.mm.writeU32(a2, t.tg.subreaper ? 1 : 0);
    case L.PR_SET_KEEPCAPS:
      if (a2 > 1) return -E.EINVAL;
      t.creds.keepCaps = a2 === 1;
      return 0;
    case L.PR_GET_KEEPCAPS:
      return t.creds.keepCaps ? 1 : 0;
    case L.PR_CAPBSET_READ:
      if (a2 > 40) return -E.EINVAL;
      return (t.creds.bounding >> BigInt(a2)) & 1n ? 1 : 0;
    case L.PR_CAPBSET_DROP:
      if (a2 > 40) return -E.EINVAL;
      if (!t.creds.hasCap(8)) return -E.EPERM;
      t.creds.bounding &= ~(1n << BigInt(a2));
      return 0;
    case L.PR_GET_SECCOMP:
      return t.creds.syscallPolicy ? 2 : 0; // SECCOMP_MODE_FILTER: the container's profile
    case L.PR_SET_SECCOMP:
      return -E.EINVAL;
    case L.PR_GET_TIMERSLACK:
      return 50000;
    case L.PR_SET_TIMERSLACK:
      return 0;
    case L.PR_GET_TID_ADDRESS:
      return t.mm.writeU64(a2, t.clearChildTid);
    case L.PR_SET_THP_DISABLE:
    case L.PR_GET_THP_DISABLE:
      return 0;
    case L.PR_SET_VMA:
      return 0;
    case L.PR_CAP_AMBIENT:
      return a2 === 1 /* IS_SET */ ? 0 : a2 === 4 /* CLEAR_ALL */ ? 0 : -E.EINVAL;
    default:
      return -E.EINVAL;
  }
}

// ---- capabilities --------------------------------------------------------------------

const CAP_V1 = 0x19980330, CAP_V2 = 0x20071026, CAP_V3 = 0x20080522;

/** Reads the header of capget/capset: the version (rewritten to v3 if unknown, as Linux
 * does) and the target pid. Returns [words, pid] or -errno. */
function capHeader(t: Task, addr: number): [number, number] | number {
  const version = t.mm.readU32(addr);
  if (version < 0) return version;
  const pid = t.mm.readU32(addr + 4);
  if (pid < 0) return pid;
  if (version === CAP_V1) return [1, pid | 0];
  if (version === CAP_V2 || version === CAP_V3) return [2, pid | 0];
  const rc = t.mm.writeU32(addr, CAP_V3);
  return rc < 0 ? rc : -E.EINVAL;
}

function sysCapget(t: Task): number {
  const h = capHeader(t, t.arg(0));
  if (typeof h === "number") return h;
  const [words, pid] = h;
  const target = pid === 0 ? t : t.kernel.tasks.get(pid);
  if (!target) return -E.ESRCH;
  if (!t.arg(1)) return 0;
  const c = target.creds;
  const b = new Uint8Array(12 * words);
  const dv = new DataView(b.buffer);
  for (let w = 0; w < words; w++) {
    const shift = BigInt(32 * w);
    dv.setUint32(12 * w, Number((c.effective >> shift) & 0xffffffffn), true);
    dv.setUint32(12 * w + 4, Number((c.permitted >> shift) & 0xffffffffn), true);
    dv.setUint32(12 * w + 8, Number((c.inheritable >> shift) & 0xffffffffn), true);
  }
  return t.mm.copyOut(t.arg(1), b);
}

function sysCapset(t: Task): number {
  const h = capHeader(t, t.arg(0));
  if (typeof h === "number") return h;
  const [words, pid] = h;
  if (pid !== 0 && pid !== t.tid) return -E.EPERM;
  const b = t.mm.copyIn(t.arg(1), 12 * words);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  let eff = 0n, perm = 0n, inh = 0n;
  for (let w = 0; w < words; w++) {
    const shift = BigInt(32 * w);
    eff |= BigInt(dv.getUint32(12 * w, true)) << shift;
    perm |= BigInt(dv.getUint32(12 * w + 4, true)) << shift;
    inh |= BigInt(dv.getUint32(12 * w + 8, true)) << shift;
  }
  const c = t.creds;
  // capset(2): permitted may only shrink, effective must be within permitted, inheritable
  // within permitted | (inheritable & bounding) unless CAP_SETPCAP.
  if ((perm & ~c.permitted) !== 0n) return -E.EPERM;
  if ((eff & ~perm) !== 0n) return -E.EPERM;
  const allowedInh = c.hasCap(8) ? c.inheritable | c.bounding : c.inheritable | c.permitted;
  if ((inh & ~allowedInh) !== 0n) return -E.EPERM;
  const n = c.clone();
  n.effective = eff;
  n.permitted = perm;
  n.inheritable = inh;
  n.ambient &= perm & inh;
  t.creds = n;
  return 0;
}

function sysSchedAffinity(t: Task): number {
  const len = t.arg(1), addr = t.arg(2);
  if (len < 8 || len % 8) return -E.EINVAL;
  const n = Math.min(len, 128);
  const b = new Uint8Array(n);
  const cpus = navigator.hardwareConcurrency || 1;
  for (let i = 0; i < cpus && i < n * 8; i++) b[i >> 3] |= 1 << (i & 7);
  const rc = t.mm.copyOut(addr, b);
  return rc < 0 ? rc : n;
}

function sysGetcpu(t: Task): number {
  if (t.arg(0)) {
    const rc = t.mm.writeU32(t.arg(0), 0);
    if (rc < 0) return rc;
  }
  if (t.arg(1)) return t.mm.writeU32(t.arg(1), 0);
  return 0;
}

function sysSchedParam(t: Task): number {
  return t.mm.writeU32(t.arg(1), 0);
}

function sysUmask(t: Task): number {
  const old = t.fs.umask;
  t.fs.umask = t.argU32(0) & 0o777;
  return old;
}

function sysPersonality(t: Task): number {
  const p = t.argU32(0);
  const cur = (t.tg.ext.get("personality") as number | undefined) ?? 0;
  if (p !== 0xffffffff) t.tg.ext.set("personality", p);
  return cur;
}

function sysGetPriority(t: Task): number {
  return 20; // nice 0, as getpriority(2) encodes it
}

export const processSyscalls: SyscallDef[] = [
  { nr: Sys.getpid, fn: (t) => t.tg.tgid },
  { nr: Sys.gettid, fn: (t) => t.tid },
  { nr: Sys.getppid, fn: sysGetppid },
  { nr: Sys.clone, fn: sysClone, status: Support.Partial, note: "no namespaces, no CLONE_PIDFD", args: "xppp" },
  { nr: Sys.clone3, fn: sysClone3, status: Support.Partial, note: "no set_tid, namespaces, pidfd", args: "pu" },
  { nr: Sys.fork, fn: sysFork },
  { nr: Sys.vfork, fn: sysVfork },
  { nr: Sys.execve, fn: sysExecve, args: "spp" },
  { nr: Sys.execveat, fn: sysExecveat, args: "dsppx" },
  { nr: Sys.exit, fn: sysExit, args: "d" },
  { nr: Sys.exit_group, fn: sysExitGroup, args: "d" },
  { nr: Sys.wait4, fn: sysWait4, args: "dpxp" },
  { nr: Sys.waitid, fn: sysWaitid, args: "ddpxp" },
  { nr: Sys.set_tid_address, fn: (t) => ((t.clearChildTid = t.arg(0)), t.tid), args: "p" },
  { nr: Sys.getuid, fn: (t) => t.creds.ruid },
  { nr: Sys.geteuid, fn: (t) => t.creds.euid },
  { nr: Sys.getgid, fn: (t) => t.creds.rgid },
  { nr: Sys.getegid, fn: (t) => t.creds.egid },
  { nr: Sys.getresuid, fn: (t) => writeIds(t, [t.arg(0), t.arg(1), t.arg(2)], [t.creds.ruid, t.creds.euid, t.creds.suid]) },
  { nr: Sys.getresgid, fn: (t) => writeIds(t, [t.arg(0), t.arg(1), t.arg(2)], [t.creds.rgid, t.creds.egid, t.creds.sgid]) },
  { nr: Sys.setuid, fn: sysSetuid, args: "d" },
  { nr: Sys.setgid, fn: sysSetgid, args: "d" },
  { nr: Sys.setreuid, fn: (t) => setIds(t, "uid", idsArg(t.argInt(0)), idsArg(t.argInt(1)), -1), args: "dd" },
  { nr: Sys.setregid, fn: (t) => setIds(t, "gid", idsArg(t.argInt(0)), idsArg(t.argInt(1)), -1), args: "dd" },
  { nr: Sys.setresuid, fn: (t) => setIds(t, "uid", idsArg(t.argInt(0)), idsArg(t.argInt(1)), idsArg(t.argInt(2))), args: "ddd" },
  { nr: Sys.setresgid, fn: (t) => setIds(t, "gid", idsArg(t.argInt(0)), idsArg(t.argInt(1)), idsArg(t.argInt(2))), args: "ddd" },
  { nr: Sys.setfsuid, fn: (t) => t.creds.fsuid },
  { nr: Sys.setfsgid, fn: (t) => t.creds.fsgid },
  { nr: Sys.capget, fn: sysCapget, args: "pp" },
  { nr: Sys.capset, fn: sysCapset, args: "pp" },
  { nr: Sys.getgroups, fn: sysGetgroups, args: "dp" },
  { nr: Sys.setgroups, fn: sysSetgroups, args: "dp" },
  { nr: Sys.setpgid, fn: sysSetpgid, args: "dd" },
  { nr: Sys.getpgid, fn: sysGetpgid, args: "d" },
  { nr: Sys.getpgrp, fn: (t) => t.tg.pgid },
  { nr: Sys.setsid, fn: sysSetsid },
  { nr: Sys.getsid, fn: sysGetsid, args: "d" },
  { nr: Sys.getrlimit, fn: (t) => prlimit(t, 0, t.argInt(0), 0, t.arg(1)), args: "dp" },
  { nr: Sys.setrlimit, fn: (t) => prlimit(t, 0, t.argInt(0), t.arg(1), 0), args: "dp" },
  { nr: Sys.prlimit64, fn: (t) => prlimit(t, t.argInt(0), t.argInt(1), t.arg(2), t.arg(3)), args: "ddpp" },
  { nr: Sys.getrusage, fn: sysGetrusage, args: "dp" },
  { nr: Sys.times, fn: sysTimes, args: "p" },
  { nr: Sys.uname, fn: sysUname, args: "p" },
  { nr: Sys.arch_prctl, fn: sysArchPrctl, args: "xp" },
  { nr: Sys.prctl, fn: sysPrctl, status: Support.Partial, note: "common options; seccomp filters refused", args: "dxxxx" },
  { nr: Sys.umask, fn: sysUmask, args: "o" },
  { nr: Sys.personality, fn: sysPersonality, status: Support.Stub, note: "recorded, no effect", args: "x" },
  { nr: Sys.sched_yield, fn: () => 0 },
  { nr: Sys.sched_getaffinity, fn: sysSchedAffinity, args: "dup" },
  { nr: Sys.sched_setaffinity, fn: () => 0, status: Support.Stub, note: "accepted, threads stay on all CPUs" },
  { nr: Sys.sched_getparam, fn: sysSchedParam },
  { nr: Sys.sched_setparam, fn: () => 0, status: Support.Stub },
  { nr: Sys.sched_getscheduler, fn: () => 0 },
  { nr: Sys.sched_setscheduler, fn: () => 0, status: Support.Stub },
  { nr: Sys.sched_get_priority_max, fn: (t) => (t.argInt(0) === 1 || t.argInt(0) === 2 ? 99 : 0) },
  { nr: Sys.sched_get_priority_min, fn: (t) => (t.argInt(0) === 1 || t.argInt(0) === 2 ? 1 : 0) },
  { nr: Sys.getpriority, fn: sysGetPriority },
  { nr: Sys.setpriority, fn: () => 0, status: Support.Stub },
  { nr: Sys.getcpu, fn: sysGetcpu },
];

export { NO_RETURN, bytesToBinary };
