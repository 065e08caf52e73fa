// Signals: handlers, masks, sending, waiting, alternate stacks, sigreturn.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { Reg } from "../../ffi/platform.ts";
import { CAP_KILL } from "../kernel/creds.ts";
import { decodeSigInfo, encodeSigInfo, sigBit, type SigInfo, type SigSet, UNBLOCKABLE } from "../kernel/siginfo.ts";
import { BLOCK, NO_RETURN, type Task, type ThreadGroup } from "../kernel/task.ts";
import type { SyscallDef } from "./table.ts";
import { readTimespec } from "./util.ts";

function readSigSet(t: Task, addr: number, size: number): SigSet | number {
  if (size !== 8) return -E.EINVAL;
  const b = t.mm.copyIn(addr, 8);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  return BigInt(dv.getUint32(0, true)) | (BigInt(dv.getUint32(4, true)) << 32n);
}

function writeSigSet(t: Task, addr: number, set: SigSet): number {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, Number(set & 0xffffffffn), true);
  dv.setUint32(4, Number(set >> 32n), true);
  return t.mm.copyOut(addr, b);
}

function sysRtSigaction(t: Task): number {
  const sig = t.argInt(0), actAddr = t.arg(1), oldAddr = t.arg(2), size = t.arg(3);
  if (size !== 8) return -E.EINVAL;
  if (sig < 1 || sig > L.NSIG) return -E.EINVAL;
  const acts = t.tg.sighand.actions;
  const old = acts[sig];
  let next = null;
  if (actAddr) {
    if (sig === L.SIGKILL || sig === L.SIGSTOP) return -E.EINVAL;
    const b = t.mm.copyIn(actAddr, 32);
    if (typeof b === "number") return b;
    const dv = new DataView(b.buffer);
    const u64 = (o: number) => dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 4294967296;
    next = {
      handler: u64(0),
      flags: dv.getUint32(8, true),
      restorer: u64(16),
      mask: (BigInt(dv.getUint32(24, true)) | (BigInt(dv.getUint32(28, true)) << 32n)) & ~UNBLOCKABLE,
    };
  }
  if (oldAddr) {
    const b = new Uint8Array(32);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, old.handler >>> 0, true);
    dv.setUint32(4, Math.floor(old.handler / 4294967296), true);
    dv.setUint32(8, old.flags >>> 0, true);
    dv.setUint32(16, old.restorer >>> 0, true);
    dv.setUint32(20, Math.floor(old.restorer / 4294967296), true);
    dv.setUint32(24, Number(old.mask & 0xffffffffn), true);
    dv.setUint32(28, Number(old.mask >> 32n), true);
    const rc = t.mm.copyOut(oldAddr, b);
    if (rc < 0) return rc;
  }
  if (next) {
    acts[sig] = next;
    // Setting SIG_IGN (or SIG_DFL for a signal ignored by default) discards it (POSIX).
    const ignoredNow = next.handler === L.SIG_IGN ||
      (next.handler === L.SIG_DFL && (sig === L.SIGCHLD || sig === L.SIGURG || sig === L.SIGWINCH));
    if (ignoredNow) {
      t.tg.shared.discard(sig);
      for (const o of t.tg.tasks) o.pending.discard(sig);
    }
  }
  return 0;
}

function sysRtSigprocmask(t: Task): number {
  const how = t.argInt(0), setAddr = t.arg(1), oldAddr = t.arg(2), size = t.arg(3);
  if (size !== 8) return -E.EINVAL;
  const old = t.sigMask;
  if (setAddr) {
    const set = readSigSet(t, setAddr, 8);
    if (typeof set === "number") return set;
    switch (how) {
      case L.SIG_BLOCK:
        t.sigMask = (old | set) & ~UNBLOCKABLE;
        break;
      case L.SIG_UNBLOCK:
        t.sigMask = old & ~set;
        break;
      case L.SIG_SETMASK:
        t.sigMask = set & ~UNBLOCKABLE;
        break;
      default:
        return -E.EINVAL;
    }
  }
  if (oldAddr) {
    const rc = writeSigSet(t, oldAddr, old);
    if (rc < 0) return rc;
  }
  return 0;
}

function sysRtSigpending(t: Task): number {
  if (t.arg(1) !== 8) return -E.EINVAL;
  return writeSigSet(t, t.arg(0), (t.pending.set | t.tg.shared.set) & t.sigMask);
}

function sysRtSigsuspend(t: Task): number {
  if (t.sysState === undefined) {
    const set = readSigSet(t, t.arg(0), t.arg(1));
    if (typeof set === "number") return set;
    t.savedSigMask = t.sigMask;
    t.sigMask = set & ~UNBLOCKABLE;
    t.sysState = true;
  }
  const r = t.block([]);
  if (r === BLOCK) return BLOCK;
  return -E.ERESTARTNOHAND;
}

function sysPause(t: Task): number {
  const r = t.block([]);
  return r === BLOCK ? BLOCK : -E.ERESTARTNOHAND;
}

interface TimedWait {
  deadline: number;
  set: SigSet;
}

function sysRtSigtimedwait(t: Task): number {
  let st = t.sysState as TimedWait | undefined;
  if (!st) {
    const set = readSigSet(t, t.arg(0), t.arg(3));
    if (typeof set === "number") return set;
    let deadline = Infinity;
    if (t.arg(2)) {
      const ns = readTimespec(t, t.arg(2));
      if (ns < 0) return ns;
      deadline = t.kernel.nowNs() + ns;
    }
    st = { deadline, set: set & ~UNBLOCKABLE };
    t.sysState = st;
  }
  // A signal of the set that is pending is taken right away, blocked or not.
  for (const q of [t.pending, t.tg.shared]) {
    const hit = q.set & st.set;
    if (hit !== 0n) {
      let sig = 1;
      while (!((hit >> BigInt(sig - 1)) & 1n)) sig++;
      const info = q.take(sig)!;
      if (t.arg(1)) {
        const rc = t.mm.copyOut(t.arg(1), encodeSigInfo(info));
        if (rc < 0) return rc;
      }
      return sig;
    }
  }
  t.sigWaitSet = 0n;
  if (t.timedOut || t.kernel.nowNs() >= st.deadline) return -E.EAGAIN;
  // Signals of the set (usually blocked) wake the wait; others interrupt it.
  const r = t.block([], st.deadline);
  if (r === BLOCK) {
    t.sigWaitSet = st.set;
    return BLOCK;
  }
  if (r === -E.ETIMEDOUT) return -E.EAGAIN;
  if (r === -E.ERESTARTSYS) return -E.EINTR;
  return r;
}

// ---- sending -------------------------------------------------------------------------

function mayKill(t: Task, target: ThreadGroup, sig: number): boolean {
  if (t.creds.hasCap(CAP_KILL)) return true;
  const c = t.creds, tc = target.leader?.creds;
  if (!tc) return true;
  if (sig === L.SIGCONT && target.sid === t.tg.sid) return true;
  return c.ruid === tc.ruid || c.ruid === tc.suid || c.euid === tc.ruid || c.euid === tc.suid;
}

/** Linux protects a pid namespace's init: a signal from inside the namespace is dropped when
 * init neither handles nor blocks it (SIGKILL and SIGSTOP included). A blocked signal is
 * kept (init may take it with sigwaitinfo or a signalfd). */
function initIgnores(t: Task, g: ThreadGroup, sig: number): boolean {
  if (g !== t.kernel.init || g === t.tg || sig === 0) return false;
  if (g.sighand.actions[sig]?.handler !== L.SIG_DFL) return false;
  if (sig === L.SIGKILL || sig === L.SIGSTOP) return true;
  const bit = sigBit(sig);
  return !g.tasks.some((x) => (x.sigMask & bit) !== 0n);
}

function userInfo(t: Task, sig: number, code = L.SI_USER): SigInfo {
  return { signo: sig, errno: 0, code, pid: t.tg.tgid, uid: t.creds.ruid };
}

function sysKill(t: Task): number {
  const pid = t.argInt(0), sig = t.argInt(1);
  if (sig < 0 || sig > L.NSIG) return -E.EINVAL;
  const k = t.kernel;
  const targets: ThreadGroup[] = [];
  if (pid > 0) {
    const g = k.tasks.get(pid)?.tg;
    if (!g || g.zombie) return g?.zombie ? 0 : -E.ESRCH;
    targets.push(g);
  } else {
    const pg = pid === 0 ? t.tg.pgid : pid < -1 ? -pid : -1;
    for (const g of k.groups.values()) {
      if (g.zombie) continue;
      if (pid === -1) {
        if (g === k.init || g === t.tg) continue;
      } else if (g.pgid !== pg) continue;
      targets.push(g);
    }
    if (targets.length === 0) return -E.ESRCH;
  }
  let sent = 0, denied = 0;
  for (const g of targets) {
    if (initIgnores(t, g, sig)) {
      sent++;
      continue;
    }
    if (!mayKill(t, g, sig)) {
      denied++;
      continue;
    }
    k.signals.sendToGroup(g, userInfo(t, sig));
    sent++;
  }
  return sent > 0 ? 0 : denied ? -E.EPERM : -E.ESRCH;
}

function sysTgkill(t: Task, tgid: number, tid: number, sig: number): number {
  if (sig < 0 || sig > L.NSIG || tid <= 0 || (tgid !== -1 && tgid <= 0)) return -E.EINVAL;
  const target = t.kernel.tasks.get(tid);
  if (!target || (tgid !== -1 && target.tg.tgid !== tgid) || target.tg.zombie) return -E.ESRCH;
  if (!mayKill(t, target.tg, sig)) return -E.EPERM;
  if (initIgnores(t, target.tg, sig)) return 0;
  if (sig === 0) return 0;
  const info = userInfo(t, sig, L.SI_TKILL);
  if (sig === L.SIGKILL || sig === L.SIGSTOP || sig === L.SIGCONT) return t.kernel.signals.sendToGroup(target.tg, info);
  return t.kernel.signals.sendToTask(target, info);
}

function sysRtSigqueueinfo(t: Task, tgid: number, tid: number | null): number {
  const sig = t.argInt(tid === null ? 1 : 2);
  const b = t.mm.copyIn(t.arg(tid === null ? 2 : 3), 128);
  if (typeof b === "number") return b;
  if (sig < 1 || sig > L.NSIG) return -E.EINVAL;
  const info = decodeSigInfo(b);
  info.signo = sig;
  // Only the kernel may claim kernel si_codes (and SI_TKILL) for another process.
  if ((info.code >= 0 || info.code === L.SI_TKILL) && tgid !== t.tg.tgid) return -E.EPERM;
  if (tid === null) {
    const g = t.kernel.tasks.get(tgid)?.tg;
    if (!g) return -E.ESRCH;
    return t.kernel.signals.sendToGroup(g, info);
  }
  const target = t.kernel.tasks.get(tid);
  if (!target || target.tg.tgid !== tgid) return -E.ESRCH;
  return t.kernel.signals.sendToTask(target, info);
}

function sysSigaltstack(t: Task): number {
  const ssAddr = t.arg(0), oldAddr = t.arg(1);
  const rsp = t.slot.reg(Reg.RSP);
  const a = t.altStack;
  const onStack = a.flags !== L.SS_DISABLE && rsp > a.sp && rsp <= a.sp + a.size;
  if (oldAddr) {
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, a.sp >>> 0, true);
    dv.setUint32(4, Math.floor(a.sp / 4294967296), true);
    dv.setInt32(8, a.flags === L.SS_DISABLE ? L.SS_DISABLE : (onStack ? L.SS_ONSTACK : 0) | (a.flags & L.SS_AUTODISARM), true);
    dv.setUint32(16, a.size >>> 0, true);
    const rc = t.mm.copyOut(oldAddr, b);
    if (rc < 0) return rc;
  }
  if (ssAddr) {
    const b = t.mm.copyIn(ssAddr, 24);
    if (typeof b === "number") return b;
    const dv = new DataView(b.buffer);
    const sp = dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296;
    const flags = dv.getInt32(8, true);
    const size = dv.getUint32(16, true) + dv.getUint32(20, true) * 4294967296;
    if (onStack) return -E.EPERM;
    const mode = flags & ~L.SS_AUTODISARM;
    if (mode !== 0 && mode !== L.SS_DISABLE && mode !== L.SS_ONSTACK) return -E.EINVAL;
    if (mode === L.SS_DISABLE) {
      t.altStack = { sp: 0, size: 0, flags: L.SS_DISABLE };
    } else {
      if (size < L.MINSIGSTKSZ) return -E.ENOMEM;
      t.altStack = { sp, size, flags: flags & L.SS_AUTODISARM };
    }
  }
  return 0;
}

function sysRestartSyscall(t: Task): number {
  const fn = t.restartFn;
  if (!fn) return -E.EINTR;
  return fn(t);
}

export const signalSyscalls: SyscallDef[] = [
  { nr: Sys.rt_sigaction, fn: sysRtSigaction, args: "dppu" },
  { nr: Sys.rt_sigprocmask, fn: sysRtSigprocmask, args: "dppu" },
  { nr: Sys.rt_sigreturn, fn: (t) => t.kernel.signals.sigreturn(t) },
  { nr: Sys.rt_sigpending, fn: sysRtSigpending, args: "pu" },
  { nr: Sys.rt_sigsuspend, fn: sysRtSigsuspend, args: "pu" },
  { nr: Sys.rt_sigtimedwait, fn: sysRtSigtimedwait, args: "pppu" },
  { nr: Sys.rt_sigqueueinfo, fn: (t) => sysRtSigqueueinfo(t, t.argInt(0), null), args: "ddp" },
  { nr: Sys.rt_tgsigqueueinfo, fn: (t) => sysRtSigqueueinfo(t, t.argInt(0), t.argInt(1)), args: "dddp" },
  { nr: Sys.kill, fn: sysKill, args: "dd" },
  { nr: Sys.tkill, fn: (t) => sysTgkill(t, -1, t.argInt(0), t.argInt(1)), args: "dd" },
  { nr: Sys.tgkill, fn: (t) => sysTgkill(t, t.argInt(0), t.argInt(1), t.argInt(2)), args: "ddd" },
  { nr: Sys.sigaltstack, fn: sysSigaltstack, args: "pp" },
  { nr: Sys.pause, fn: sysPause },
  { nr: Sys.restart_syscall, fn: sysRestartSyscall },
];

export { NO_RETURN, sigBit };
