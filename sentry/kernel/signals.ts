// Signals: sending (kill, tgkill, faults, SIGCHLD), choosing a thread, default actions, job
// control, and delivery through x86-64 signal frames built on the guest's stack exactly as
// Linux builds them (arch/x86/kernel/signal_64.c), so that glibc, musl and debuggers can
// read and unwind them.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { NUM_REGS, Reg } from "../../ffi/platform.ts";
import type { Kernel } from "./kernel.ts";
import { NO_RETURN, type Task, TaskState, type ThreadGroup } from "./task.ts";
import { WaitQueue } from "../util/waitqueue.ts";
import {
  DefaultAction,
  defaultAction,
  encodeSigInfo,
  lowestSignal,
  sigBit,
  signalName,
  type SigInfo,
  type SigSet,
  UNBLOCKABLE,
} from "./siginfo.ts";

const RT_SIGFRAME_SIZE = 8 + 304 + 128; // pretcode, ucontext, siginfo
const UC_OFF = 8;
const MCTX_OFF = UC_OFF + 40;
const SIGMASK_OFF = UC_OFF + 296;
const INFO_OFF = 8 + 304;
const UC_FP_XSTATE = 1, UC_SIGCONTEXT_SS = 2, UC_STRICT_RESTORE_SS = 4;
const FP_XSTATE_MAGIC1 = 0x46505853, FP_XSTATE_MAGIC2 = 0x46505845;
// Flags a guest may set through sigreturn (FIX_EFLAGS).
const FIX_EFLAGS = 0x40dd5 | 0x10000 | 0x4000 | 0x40000;

/** sigcontext order: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags. */
const MCTX_REGS = [
  Reg.R8, Reg.R9, Reg.R10, Reg.R11, Reg.R12, Reg.R13, Reg.R14, Reg.R15, Reg.RDI, Reg.RSI,
  Reg.RBP, Reg.RBX, Reg.RDX, Reg.RAX, Reg.RCX, Reg.RSP, Reg.RIP, Reg.EFLAGS,
];

const QUEUED_KEY = "signals.queued";

/** A wait queue notified (POLLIN) whenever a signal is queued for tg or one of its threads:
 * what signalfd waits on. Created on first use. */
export function signalQueuedQueue(tg: ThreadGroup): WaitQueue {
  let q = tg.ext.get(QUEUED_KEY) as WaitQueue | undefined;
  if (!q) {
    q = new WaitQueue();
    tg.ext.set(QUEUED_KEY, q);
  }
  return q;
}

function notifyQueued(tg: ThreadGroup): void {
  (tg.ext.get(QUEUED_KEY) as WaitQueue | undefined)?.notify(L.POLLIN);
}

export class Signals {
  /** The restart code of the syscall that returned -ERESTART*, per task. */
  private restartCodes = new WeakMap<Task, number>();

  constructor(private readonly k: Kernel) {}

  // ---- queries -----------------------------------------------------------------------

  /** Whether t has a signal it does not block pending (what interrupts a blocking call). */
  hasDeliverable(t: Task): boolean {
    if (t.pending.empty && t.tg.shared.empty) return false;
    const pend = t.pending.set | t.tg.shared.set;
    return (pend & ~t.sigMask) !== 0n;
  }

  private ignored(tg: ThreadGroup, sig: number): boolean {
    const act = tg.sighand.actions[sig];
    if (act.handler === L.SIG_IGN) return true;
    return act.handler === L.SIG_DFL && defaultAction(sig) === DefaultAction.Ignore;
  }

  // ---- sending -----------------------------------------------------------------------

  /** A process-directed signal (kill). */
  sendToGroup(tg: ThreadGroup, info: SigInfo): number {
    if (tg.zombie || tg.reaped) return 0;
    const sig = info.signo;
    if (sig === 0) return 0;
    if (!this.prepare(tg, sig)) return 0;
    if (this.ignored(tg, sig) && !tg.tasks.every((t) => (t.sigMask & sigBit(sig)) !== 0n)) return 0;
    if (!tg.shared.add(info)) return 0;
    notifyQueued(tg);
    // Wake a thread that can take it: the leader first, then anyone.
    const bit = sigBit(sig);
    const live = tg.tasks.filter((t) => t.state !== TaskState.Dead);
    const target = live.find((t) => (t.sigWaitSet & bit) !== 0n) ??
      live.find((t) => (t.sigMask & bit) === 0n);
    if (target) this.kick(target);
    return 0;
  }

  /** A thread-directed signal (tgkill, faults, timers of a thread). */
  sendToTask(t: Task, info: SigInfo): number {
    const tg = t.tg;
    if (t.state === TaskState.Dead) return 0;
    const sig = info.signo;
    if (sig === 0) return 0;
    if (!this.prepare(tg, sig)) return 0;
    if (this.ignored(tg, sig) && (t.sigMask & sigBit(sig)) === 0n) return 0;
    if (!t.pending.add(info)) return 0;
    notifyQueued(tg);
    if ((t.sigMask & sigBit(sig)) === 0n || (t.sigWaitSet & sigBit(sig)) !== 0n) this.kick(t);
    return 0;
  }

  /** What sending sig does right away, before it is queued: SIGKILL kills, SIGCONT
   * continues and discards stops, stop signals discard SIGCONT. Returns false when the
   * signal needs no queueing. */
  private prepare(tg: ThreadGroup, sig: number): boolean {
    if (sig === L.SIGKILL) {
      this.killGroup(tg, L.SIGKILL);
      return false;
    }
    if (sig === L.SIGCONT) {
      for (const s of [L.SIGSTOP, L.SIGTSTP, L.SIGTTIN, L.SIGTTOU]) {
        tg.shared.discard(s);
        for (const t of tg.tasks) t.pending.discard(s);
      }
      this.continueGroup(tg);
    } else if (defaultAction(sig) === DefaultAction.Stop) {
      tg.shared.discard(L.SIGCONT);
      for (const t of tg.tasks) t.pending.discard(L.SIGCONT);
    }
    return true;
  }

  /** Makes t notice its pending signals: wake it if parked, interrupt it if running. */
  private kick(t: Task): void {
    switch (t.state) {
      case TaskState.Blocked:
        t.interrupted = true;
        this.k.wake(t);
        break;
      case TaskState.Running:
        this.k.platform.interrupt(t.slotId);
        break;
    }
  }

  /** Kills the whole process with signal sig (wait status: the signal). */
  killGroup(tg: ThreadGroup, sig: number, core = false): void {
    if (tg.stopped) tg.stopped = false;
    this.k.exitGroup(tg, sig | (core ? 0x80 : 0));
  }

  /** SIGCHLD (or the child's exit signal) to the parent of an exited child. */
  sendChild(parent: ThreadGroup, child: ThreadGroup): void {
    const st = child.exitStatus;
    const killed = (st & 0x7f) !== 0;
    this.sendToGroup(parent, {
      signo: child.exitSignal,
      errno: 0,
      code: killed ? ((st & 0x80) ? L.CLD_DUMPED : L.CLD_KILLED) : L.CLD_EXITED,
      pid: child.tgid,
      uid: child.leader?.creds.ruid ?? 0,
      status: killed ? st & 0x7f : (st >> 8) & 0xff,
    });
  }

  /** A synchronous signal from the CPU (SIGILL, SIGFPE, SIGTRAP) for t. */
  syncSignal(t: Task): void {
    const slot = t.slot;
    this.forceSignal(t, { signo: slot.signo, errno: 0, code: slot.sigCode, addr: slot.sigAddr });
  }

  /** A fault the guest cannot survive unless it handles it (SIGSEGV, SIGBUS). */
  forceFault(t: Task, sig: number, code: number, addr: number): void {
    this.forceSignal(t, { signo: sig, errno: 0, code, addr });
  }

  /** Linux's force_sig: the signal cannot be blocked or ignored. */
  forceSignal(t: Task, info: SigInfo): void {
    const sig = info.signo;
    const acts = t.tg.sighand.actions;
    const bit = sigBit(sig);
    if ((t.sigMask & bit) !== 0n || acts[sig].handler === L.SIG_IGN) {
      acts[sig] = { ...acts[sig], handler: L.SIG_DFL };
      t.sigMask &= ~bit;
    }
    t.pending.add(info);
  }

  // ---- job control -------------------------------------------------------------------

  private stopGroup(tg: ThreadGroup, sig: number): void {
    if (tg.stopped || tg.exiting) return;
    tg.stopped = true;
    tg.stopSignal = sig;
    tg.reportStop = true;
    tg.reportContinue = false;
    for (const t of tg.tasks) if (t.state === TaskState.Running) this.k.platform.interrupt(t.slotId);
    const parent = tg.parent;
    if (parent) {
      const act = parent.sighand.actions[L.SIGCHLD];
      if (!(act.flags & L.SA_NOCLDSTOP)) {
        this.sendToGroup(parent, {
          signo: L.SIGCHLD, errno: 0, code: L.CLD_STOPPED, pid: tg.tgid, status: sig,
          uid: tg.leader?.creds.ruid ?? 0,
        });
      }
      parent.childWaiters?.notify(~0);
    }
    this.k.anyChild.notify(~0);
  }

  private continueGroup(tg: ThreadGroup): void {
    if (!tg.stopped) return;
    tg.stopped = false;
    tg.reportStop = false;
    tg.reportContinue = true;
    for (const t of tg.tasks) {
      if (t.state === TaskState.Stopped) {
        t.state = TaskState.InKernel;
        this.k.returnToUser(t);
      }
    }
    const parent = tg.parent;
    if (parent) {
      const act = parent.sighand.actions[L.SIGCHLD];
      if (!(act.flags & L.SA_NOCLDSTOP)) {
        this.sendToGroup(parent, {
          signo: L.SIGCHLD, errno: 0, code: L.CLD_CONTINUED, pid: tg.tgid, status: L.SIGCONT,
          uid: tg.leader?.creds.ruid ?? 0,
        });
      }
      parent.childWaiters?.notify(~0);
    }
    this.k.anyChild.notify(~0);
  }

  // ---- delivery ----------------------------------------------------------------------

  /** Records that the syscall returned -ERESTART*; deliverPending decides between a restart
   * and EINTR, as Linux's signal code does. */
  setRestart(t: Task, code: number): void {
    this.restartCodes.set(t, code);
    t.setReturn(-E.EINTR);
  }

  private applyRestart(t: Task, handlerRuns: boolean, restartFlag: boolean): void {
    const code = this.restartCodes.get(t);
    if (code === undefined) return;
    this.restartCodes.delete(t);
    const slot = t.slot;
    let restart: boolean;
    switch (-code) {
      case E.ERESTARTNOINTR:
        restart = true;
        break;
      case E.ERESTARTSYS:
        restart = !handlerRuns || restartFlag;
        break;
      default: // ERESTARTNOHAND, ERESTART_RESTARTBLOCK
        restart = !handlerRuns;
    }
    if (!restart) {
      slot.setReg(Reg.RAX, -E.EINTR);
      return;
    }
    const nr = -code === E.ERESTART_RESTARTBLOCK ? Sys.restart_syscall : t.sysno;
    slot.setReg(Reg.RAX, nr);
    slot.setReg(Reg.RIP, slot.reg(Reg.RIP) - 2);
  }

  /** Takes the next deliverable signal of t (thread-private first), or null. */
  private dequeue(t: Task): SigInfo | null {
    const mask = ~t.sigMask | UNBLOCKABLE;
    let sig = lowestSignal(t.pending.set & mask);
    // Synchronous faults first (Linux: SYNCHRONOUS_MASK).
    const sync = t.pending.set & mask &
      (sigBit(L.SIGSEGV) | sigBit(L.SIGBUS) | sigBit(L.SIGILL) | sigBit(L.SIGTRAP) |
        sigBit(L.SIGFPE) | sigBit(L.SIGSYS));
    if (sync !== 0n) sig = lowestSignal(sync);
    if (sig) return t.pending.take(sig) ?? null;
    sig = lowestSignal(t.tg.shared.set & mask);
    if (sig) return t.tg.shared.take(sig) ?? null;
    return null;
  }

  /** Delivers t's pending signals before it returns to guest code: default actions, or
   * handler frames (nested, like Linux, when several are deliverable). */
  deliverPending(t: Task): void {
    let handlerRan = false;
    for (let guard = 0; guard < 64; guard++) {
      if (t.pending.empty && t.tg.shared.empty) break;
      const info = this.dequeue(t);
      if (!info) break;
      const sig = info.signo;
      const act = t.tg.sighand.actions[sig];
      this.k.strace?.(
        `[pid ${t.tid}] --- ${signalName(sig)} {si_code=${info.code}` +
          (info.addr !== undefined ? `, si_addr=0x${info.addr.toString(16)}` : "") +
          (info.pid !== undefined ? `, si_pid=${info.pid}` : "") + "} ---",
      );
      if (act.handler === L.SIG_IGN) continue;
      if (act.handler === L.SIG_DFL) {
        switch (defaultAction(sig)) {
          case DefaultAction.Ignore:
          case DefaultAction.Continue:
            continue;
          case DefaultAction.Stop:
            // Orphaned process groups ignore terminal stops (POSIX).
            if (sig !== L.SIGSTOP && this.orphanedPgrp(t.tg)) continue;
            this.applyRestart(t, false, false);
            this.stopGroup(t.tg, sig);
            t.state = TaskState.Stopped;
            return;
          case DefaultAction.Core:
            this.killGroup(t.tg, sig, false);
            if (t.state !== TaskState.Dead) this.k.exitTask(t);
            return;
          default:
            this.killGroup(t.tg, sig);
            if (t.state !== TaskState.Dead) this.k.exitTask(t);
            return;
        }
      }
      if (!handlerRan) this.applyRestart(t, true, (act.flags & L.SA_RESTART) !== 0);
      handlerRan = true;
      if (!this.setupFrame(t, info, act)) {
        // The frame could not be written: the guest dies of SIGSEGV, as on Linux.
        this.killGroup(t.tg, L.SIGSEGV, true);
        if (t.state !== TaskState.Dead) this.k.exitTask(t);
        return;
      }
      if (act.flags & L.SA_RESETHAND) {
        t.tg.sighand.actions[sig] = { handler: L.SIG_DFL, flags: 0, restorer: 0, mask: 0n };
      }
    }
    if (!handlerRan) this.applyRestart(t, false, false);
    if (t.savedSigMask !== null && !handlerRan) {
      t.sigMask = t.savedSigMask;
      t.savedSigMask = null;
    }
  }

  private orphanedPgrp(tg: ThreadGroup): boolean {
    // A group is orphaned when no member has a parent in another group of the same session.
    for (const g of this.k.groups.values()) {
      if (g.pgid !== tg.pgid || g.zombie) continue;
      const p = g.parent;
      if (p && p.pgid !== g.pgid && p.sid === g.sid) return false;
    }
    return true;
  }

  /** Builds an rt_sigframe for info on t's stack and points t at the handler. Returns
   * false if the guest stack cannot take it. */
  private setupFrame(t: Task, info: SigInfo, act: { handler: number; flags: number; restorer: number; mask: SigSet }): boolean {
    const k = this.k;
    const slot = t.slot;
    const mm = t.mm;
    const rsp = slot.reg(Reg.RSP);
    const onAlt = this.onAltStack(t, rsp);
    let sp = rsp - 128; // the red zone
    if ((act.flags & L.SA_ONSTACK) && t.altStack.flags !== L.SS_DISABLE && !onAlt) {
      sp = t.altStack.sp + t.altStack.size;
    }
    // The FPU state first (64-byte aligned), then the frame (16-byte aligned, minus 8).
    const xsize = k.platform.xstateSize;
    const fpAddr = Math.floor((sp - (xsize + 4)) / 64) * 64;
    const frame = Math.floor((fpAddr - RT_SIGFRAME_SIZE) / 16) * 16 - 8;
    if (frame < 0x10000) return false;

    const fp = this.saveFpState(t, xsize);
    const buf = new Uint8Array(RT_SIGFRAME_SIZE);
    const dv = new DataView(buf.buffer);
    const set64 = (off: number, v: number) => {
      dv.setUint32(off, v >>> 0, true);
      dv.setUint32(off + 4, Math.floor(v / 4294967296) >>> 0, true);
    };
    set64(0, act.flags & L.SA_RESTORER ? act.restorer : 0);
    set64(UC_OFF, UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS);
    set64(UC_OFF + 16, t.altStack.sp);
    dv.setInt32(UC_OFF + 24, t.altStack.flags === L.SS_DISABLE ? L.SS_DISABLE : onAlt ? L.SS_ONSTACK : 0, true);
    set64(UC_OFF + 32, t.altStack.size);
    const words = slot.regWords();
    MCTX_REGS.forEach((r, i) => {
      dv.setUint32(MCTX_OFF + 8 * i, words[2 * r], true);
      dv.setUint32(MCTX_OFF + 8 * i + 4, words[2 * r + 1], true);
    });
    // cs, gs, fs, ss
    dv.setUint16(MCTX_OFF + 144, slot.regLo(Reg.CS), true);
    dv.setUint16(MCTX_OFF + 150, slot.regLo(Reg.SS), true);
    set64(MCTX_OFF + 152, info.code > 0 && info.addr !== undefined ? slot.sigErr : 0); // err
    set64(MCTX_OFF + 160, info.code > 0 && info.addr !== undefined ? 14 : 0); // trapno
    set64(MCTX_OFF + 168, Number(t.sigMask & 0xffffffffn)); // oldmask
    set64(MCTX_OFF + 176, info.addr ?? 0); // cr2
    set64(MCTX_OFF + 184, fp ? fpAddr : 0);
    const oldMask = t.savedSigMask ?? t.sigMask;
    t.savedSigMask = null;
    dv.setUint32(SIGMASK_OFF, Number(oldMask & 0xffffffffn), true);
    dv.setUint32(SIGMASK_OFF + 4, Number(oldMask >> 32n), true);
    buf.set(encodeSigInfo(info), INFO_OFF);

    if (mm.copyOut(frame, buf) < 0) return false;
    if (fp && mm.copyOut(fpAddr, fp) < 0) return false;

    // The handler starts with a clean FPU, the old mask plus sa_mask (plus the signal).
    this.resetFpState(t);
    let mask = t.sigMask | act.mask;
    if (!(act.flags & L.SA_NODEFER)) mask |= sigBit(info.signo);
    t.sigMask = mask & ~UNBLOCKABLE;
    if ((act.flags & L.SA_ONSTACK) && (t.altStack.flags & L.SS_AUTODISARM)) {
      t.altStack = { sp: 0, size: 0, flags: L.SS_DISABLE };
    }
    slot.setReg(Reg.RIP, act.handler);
    slot.setReg(Reg.RSP, frame);
    slot.setReg(Reg.RDI, info.signo);
    slot.setReg(Reg.RSI, frame + INFO_OFF);
    slot.setReg(Reg.RDX, frame + UC_OFF);
    slot.setReg(Reg.RAX, 0);
    slot.setReg(Reg.EFLAGS, slot.reg(Reg.EFLAGS) & ~(0x100 | 0x400 | 0x10000)); // TF, DF, RF
    return true;
  }

  private onAltStack(t: Task, sp: number): boolean {
    const a = t.altStack;
    return a.flags !== L.SS_DISABLE && sp > a.sp && sp <= a.sp + a.size;
  }

  /** The thread's current xsave area, with the signal-frame magic, as Linux writes it. */
  private saveFpState(t: Task, xsize: number): Uint8Array | null {
    const k = this.k;
    const n = k.platform.fpLoad(t.slotId);
    if (n <= 0) return null;
    const off = t.slot.fpstateOffset;
    const out = new Uint8Array(xsize + 4);
    out.set(t.slot.bytes.subarray(off, off + Math.min(n, xsize)));
    const dv = new DataView(out.buffer);
    const xfeatures = dv.getUint32(512, true) | 0x3;
    dv.setUint32(464, FP_XSTATE_MAGIC1, true);
    dv.setUint32(468, xsize + 4, true);
    dv.setUint32(472, xfeatures >>> 0, true);
    dv.setUint32(476, 0, true);
    dv.setUint32(480, xsize, true);
    dv.setUint32(xsize, FP_XSTATE_MAGIC2, true);
    return out;
  }

  private resetFpState(t: Task): void {
    const k = this.k;
    if (k.platform.fpLoad(t.slotId) <= 0) return;
    const x = t.slot.bytes;
    const off = t.slot.fpstateOffset;
    const dv = new DataView(x.buffer, x.byteOffset + off, 576);
    dv.setUint16(0, 0x37f, true); // FCW
    dv.setUint32(24, 0x1f80, true); // MXCSR
    dv.setUint32(512, 0, true); // XSTATE_BV: every component in its initial state
    dv.setUint32(516, 0, true);
    k.platform.fpStore(t.slotId);
  }

  /** rt_sigreturn: restores what setupFrame saved. */
  sigreturn(t: Task): number {
    const slot = t.slot;
    const frame = slot.reg(Reg.RSP) - 8;
    const buf = t.mm.copyIn(frame, RT_SIGFRAME_SIZE);
    if (typeof buf === "number") {
      this.forceFault(t, L.SIGSEGV, L.SI_KERNEL, 0);
      return NO_RETURN;
    }
    const dv = new DataView(buf.buffer);
    const words = new Uint32Array(2 * NUM_REGS);
    words.set(slot.regWords());
    MCTX_REGS.forEach((r, i) => {
      words[2 * r] = dv.getUint32(MCTX_OFF + 8 * i, true);
      words[2 * r + 1] = dv.getUint32(MCTX_OFF + 8 * i + 4, true);
    });
    const oldFlags = slot.regLo(Reg.EFLAGS);
    words[2 * Reg.EFLAGS] = (oldFlags & ~FIX_EFLAGS) | (words[2 * Reg.EFLAGS] & FIX_EFLAGS);
    words[2 * Reg.EFLAGS + 1] = 0;
    slot.regWords().set(words);
    // orig_rax = -1: no syscall restart on the way out.
    slot.setReg(Reg.ORIG_RAX, -1);
    const mask = BigInt(dv.getUint32(SIGMASK_OFF, true)) |
      (BigInt(dv.getUint32(SIGMASK_OFF + 4, true)) << 32n);
    t.sigMask = mask & ~UNBLOCKABLE;
    // The alternate stack as saved (errors ignored, as Linux does).
    const ssSp = dv.getUint32(UC_OFF + 16, true) + dv.getUint32(UC_OFF + 20, true) * 4294967296;
    const ssFlags = dv.getInt32(UC_OFF + 24, true);
    const ssSize = dv.getUint32(UC_OFF + 32, true) + dv.getUint32(UC_OFF + 36, true) * 4294967296;
    if (!this.onAltStack(t, slot.reg(Reg.RSP))) {
      if (ssFlags === L.SS_DISABLE) t.altStack = { sp: 0, size: 0, flags: L.SS_DISABLE };
      else if (ssSize >= L.MINSIGSTKSZ) t.altStack = { sp: ssSp, size: ssSize, flags: ssFlags & L.SS_AUTODISARM };
    }
    const fpAddr = dv.getUint32(MCTX_OFF + 184, true) + dv.getUint32(MCTX_OFF + 188, true) * 4294967296;
    if (fpAddr === 0) {
      this.resetFpState(t);
    } else {
      const xsize = this.k.platform.xstateSize;
      const fp = t.mm.copyIn(fpAddr, xsize);
      if (typeof fp === "number") {
        this.forceFault(t, L.SIGSEGV, L.SI_KERNEL, 0);
        return NO_RETURN;
      }
      if (this.k.platform.fpLoad(t.slotId) > 0) {
        const off = t.slot.fpstateOffset;
        // Keep the host frame's software-reserved bytes (464-511): the kernel checks them.
        const x = t.slot.bytes;
        x.set(fp.subarray(0, 464), off);
        x.set(fp.subarray(512, xsize), off + 512);
        this.k.platform.fpStore(t.slotId);
      }
    }
    return NO_RETURN;
  }
}
