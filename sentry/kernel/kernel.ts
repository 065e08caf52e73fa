// The kernel: the sentry's one loop, the pid namespace, and the life cycle of tasks.
//
// Everything happens on one JS thread: the loop waits (platform.wait) for the next event
// (a guest thread trapped, a host fd became ready, a timer is due), handles it to
// completion or parks the task, and waits again. Guest threads keep running in parallel on
// host CPUs while the sentry handles someone else's syscall.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import {
  Mechanism,
  Op,
  Platform,
  Reg,
  SlotEvent,
  TOKEN_STUB_EXIT,
  WAIT_FDS,
} from "../../ffi/platform.ts";
import { host } from "../../ffi/host.ts";
import { MemoryFile } from "../mm/memfile.ts";
import type { MM } from "../mm/mm.ts";
import { TimerQueue, type Timer } from "./timers.ts";
import { BLOCK, NO_RETURN, Task, TaskState, type ThreadGroup } from "./task.ts";
import { Signals } from "./signals.ts";
import { Futexes } from "./futex.ts";
import { Vdso } from "./vdso.ts";
import type { SyscallTable } from "../syscalls/table.ts";
import { WaitQueue } from "../util/waitqueue.ts";
import type { MountNamespace } from "../vfs/mount.ts";
import type { FileDescription } from "../vfs/file.ts";

export interface KernelOptions {
  mechanism: Mechanism;
  /** Size of the memory file (address space for all guest memory). */
  memorySize: number;
  /** Sandbox-wide memory limit in bytes (Infinity: none). */
  memoryLimit: number;
  hostname: string;
  /** strace-like log of every syscall, to this writer. */
  strace: ((line: string) => void) | null;
  /** Debug log (unsupported syscalls, odd events). */
  debug: ((line: string) => void) | null;
}

export const KERNEL_RELEASE = "6.1.0-cordon";
export const KERNEL_VERSION = "#1 SMP PREEMPT_DYNAMIC cordon";

export type FdCallback = (events: number) => void;

export class Kernel {
  readonly platform: Platform;
  readonly memfile: MemoryFile;
  readonly timers = new TimerQueue();
  readonly signals: Signals;
  readonly futexes: Futexes;
  syscalls!: SyscallTable;
  mounts!: MountNamespace;
  hostname: string;
  domainname = "(none)";
  readonly tasks = new Map<number, Task>();
  readonly groups = new Map<number, ThreadGroup>();
  readonly bootNs: number;
  readonly bootRealtimeNs: number;
  private readonly slotTasks = new Map<number, Task>();
  private readonly stubMMs = new Map<number, MM>();
  private runnable: Task[] = [];
  /** Tasks whose new stub was already up when they got it (from the pool): started after
   * the current event. */
  private startable: Task[] = [];
  /** Stubs created ahead of need (trap mechanism): fork and execve take one instead of
   * waiting for a stub to start. Ready ones are parked in their slot 0. */
  private readonly stubPool: number[] = [];
  private readonly spawning = new Set<number>();
  private static readonly POOL_SIZE = 2;
  private nextPid = 1;
  private readonly fdCallbacks = new Map<number, FdCallback>();
  private nextToken = 1;
  init: ThreadGroup | null = null;
  /** Set when the sandbox is over: init's wait status. */
  finished: number | null = null;
  /** Notified when any process changes state (for wait4 of any child). */
  readonly anyChild = new WaitQueue();
  readonly unsupported = new Map<number, number>();
  readonly strace: ((line: string) => void) | null;
  readonly debug: ((line: string) => void) | null;
  /** Hooks for subsystems that track open files (record locks, inotify...). */
  fileClosed: ((t: Task, f: FileDescription) => void) | null = null;
  fcntlExtra: ((t: Task, f: FileDescription, cmd: number, arg: number) => number) | null = null;
  /** Run when a process has exited (all its threads), before its parent hears of it: a
   * session leader's exit releases its controlling terminal. */
  readonly exitHooks: Array<(tg: ThreadGroup) => void> = [];
  /** The task whose syscall is being handled (Linux's `current`): what /proc/self, /dev/tty
   * and terminal job control refer to. Set by the syscall dispatcher. */
  current: Task | null = null;
  /** Events handled, for diagnostics. */
  eventCount = 0;
  private readonly nowFn: (realtime: number) => number;
  readonly vdso: Vdso;

  constructor(readonly opts: KernelOptions) {
    this.platform = new Platform(opts.mechanism, opts.memorySize);
    this.memfile = new MemoryFile(this.platform);
    this.memfile.limit = opts.memoryLimit;
    this.hostname = opts.hostname;
    this.nowFn = this.platform.sym.sb_now_ns;
    this.vdso = new Vdso(this.platform, this.memfile);
    this.signals = new Signals(this);
    this.futexes = new Futexes(this);
    this.strace = opts.strace;
    this.debug = opts.debug;
    this.bootNs = this.nowNs();
    this.bootRealtimeNs = this.realtimeNs();
  }

  /** The sandbox's CLOCK_MONOTONIC: the same line its guests read through the vDSO. */
  nowNs(): number {
    return this.nowFn(0);
  }

  realtimeNs(): number {
    return this.nowFn(1);
  }

  allocPid(): number {
    for (let i = 0; i < 4194304; i++) {
      const pid = this.nextPid;
      this.nextPid = this.nextPid >= 4194303 ? 2 : this.nextPid + 1;
      if (!this.tasks.has(pid) && !this.groups.has(pid) && !this.isPgidInUse(pid)) return pid;
    }
    return -E.EAGAIN;
  }

  private isPgidInUse(pid: number): boolean {
    // A pid may not be reused while it names a process group or session.
    for (const g of this.groups.values()) if (g.pgid === pid || g.sid === pid) return true;
    return false;
  }

  log(line: string): void {
    this.debug?.(line);
  }

  /** Internal errors caught so far (each ended the guest process that hit it). */
  bugs = 0;

  /** Records a sentry bug: an exception while serving a guest. */
  bug(where: string, e: unknown): void {
    this.bugs++;
    const text = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
    this.log(`sentry bug in ${where}: ${text}`);
    if (!this.debug) {
      const enc = new TextEncoder();
      Deno.stderr.writeSync(enc.encode(`cordon: internal error in ${where} (guest process killed): ${e instanceof Error ? e.message : e}\n`));
    }
  }

  // ---- slots and stubs ---------------------------------------------------------------

  bindSlot(t: Task, slotId: number): void {
    if (t.slotId >= 0 && this.slotTasks.get(t.slotId) === t) this.slotTasks.delete(t.slotId);
    t.slotId = slotId;
    t.slot = this.platform.slot(slotId);
    this.slotTasks.set(slotId, t);
  }

  unbindSlot(t: Task): void {
    if (this.slotTasks.get(t.slotId) === t) this.slotTasks.delete(t.slotId);
  }

  registerStub(mm: MM): void {
    this.stubMMs.set(mm.stub, mm);
  }

  /** A stub for a new address space: from the pool when one is ready (ready: true: its
   * slot 0 already reported; start the task with startWhenReady), else created now (its
   * slot 0 reports Ready later). Returns -errno on failure. */
  newStub(): { stub: number; ready: boolean } | number {
    const pooled = this.stubPool.pop();
    this.refillStubPool();
    if (pooled !== undefined) return { stub: pooled, ready: true };
    const stub = this.platform.createStub();
    return stub < 0 ? stub : { stub, ready: false };
  }

  /** Tops the stub pool up (trap mechanism only). */
  refillStubPool(): void {
    if (this.opts.mechanism !== Mechanism.Trap) return;
    while (this.stubPool.length + this.spawning.size < Kernel.POOL_SIZE) {
      const s = this.platform.spawnStub();
      if (s < 0) return;
      this.spawning.add(s);
    }
  }

  /** Starts t, bound to a pooled stub that is already up, once the current event is done. */
  startWhenReady(t: Task): void {
    this.startable.push(t);
  }

  // ---- host fds ----------------------------------------------------------------------

  /** Watches a host fd (epoll events, EPOLLONESHOT to get one report); cb runs in the loop. */
  watchFd(fd: number, events: number, cb: FdCallback, token = 0): number {
    if (!token) token = this.nextToken++;
    this.fdCallbacks.set(token, cb);
    const rc = this.platform.watchFd(fd, events, token);
    if (rc < 0) {
      this.fdCallbacks.delete(token);
      return rc;
    }
    return token;
  }

  unwatchFd(fd: number, token: number): void {
    this.platform.unwatchFd(fd);
    this.fdCallbacks.delete(token);
  }

  // ---- the loop ----------------------------------------------------------------------

  /** Resamples the clock once a second, so the TSC's measured rate keeps sharpening. */
  private tickClock(): void {
    this.platform.sym.sb_clock_update();
    this.timers.add(this.nowNs() + 1e9, () => this.tickClock());
  }

  /** Runs until the sandbox's init has exited; returns its wait status. */
  run(): number {
    const p = this.platform;
    this.tickClock();
    // With a debug log, the loop wakes up now and then to report tasks that are stuck.
    const watchdogNs = this.debug ? 5e9 : Infinity;
    let lastEvent = this.nowNs();
    while (this.finished === null) {
      let timeout = -1;
      if (this.runnable.length) timeout = 0;
      else if (this.timers.size) timeout = Math.max(0, this.timers.next() - this.nowNs());
      if (watchdogNs !== Infinity && (timeout < 0 || timeout > watchdogNs)) timeout = watchdogNs;
      const r = p.wait(timeout);
      if (watchdogNs !== Infinity) {
        const now = this.nowNs();
        if (r >= 0 || r === WAIT_FDS) lastEvent = now;
        else if (now - lastEvent >= watchdogNs) {
          this.dumpTasks(`no event for ${((now - lastEvent) / 1e9).toFixed(1)} s`);
          lastEvent = now;
        }
      }
      this.eventCount++;
      try {
        if (r >= 0) this.handleSlot(r);
        else if (r === WAIT_FDS) this.handleFds();
        if (this.timers.size) this.timers.fire(this.nowNs());
        this.runWakeups();
        if (this.memfile.hasPendingFrees) this.memfile.flush();
      } catch (e) {
        this.recover(r, e);
      }
    }
    return this.finished;
  }

  /** An exception escaped an event handler: log it, and end the task involved if any. */
  private recover(event: number, e: unknown): void {
    const t = event >= 0 ? this.slotTasks.get(event) : undefined;
    this.bug(t ? `event of task ${t.tid}` : "event loop", e);
    if (t && t.state !== TaskState.Dead) {
      try {
        this.signals.killGroup(t.tg, L.SIGKILL);
        if ((t.state as TaskState) !== TaskState.Dead) this.exitTask(t);
      } catch (e2) {
        this.log(`recovery failed: ${e2}`);
      }
    }
  }

  private handleFds(): void {
    const p = this.platform;
    const n = p.fdCount();
    for (let i = 0; i < n; i++) {
      const token = p.fdToken(i), events = p.fdEvents(i);
      if (token & TOKEN_STUB_EXIT) {
        this.stubExited(token & ~TOKEN_STUB_EXIT);
        continue;
      }
      this.fdCallbacks.get(token)?.(events);
    }
  }

  private handleSlot(id: number): void {
    const t = this.slotTasks.get(id);
    if (!t) {
      const stub = Math.floor(id / 1024);
      if (id % 1024 === 0 && this.spawning.delete(stub)) {
        // A pooled stub is up: it waits in its slot 0 until a fork or execve takes it.
        this.stubPool.push(stub);
        return;
      }
      this.log(`event from unknown slot ${id}`);
      return;
    }
    const slot = t.slot;
    if (t.opsFlushing) {
      // The stub performed host ops for a task that stays in the kernel and reported back.
      this.flushDone(t);
      return;
    }
    switch (slot.event) {
      case SlotEvent.Syscall:
        t.state = TaskState.InKernel;
        this.syscall(t);
        return;
      case SlotEvent.Fault:
        t.state = TaskState.InKernel;
        this.fault(t);
        return;
      case SlotEvent.Signal:
        t.state = TaskState.InKernel;
        this.signals.syncSignal(t);
        this.returnToUser(t);
        return;
      case SlotEvent.Interrupt:
        t.state = TaskState.InKernel;
        this.returnToUser(t);
        return;
      case SlotEvent.Ready:
        this.startTask(t);
        return;
      case SlotEvent.Foreign:
        t.state = TaskState.InKernel;
        this.log(`${t.tid}: foreign syscall (arch ${slot.syscallArch.toString(16)}) refused`);
        t.setReturn(-E.ENOSYS);
        this.returnToUser(t);
        return;
      case SlotEvent.OpFail:
        t.state = TaskState.InKernel;
        this.log(`${t.tid}: host op ${slot.opFailedIndex} failed: errno ${slot.opErrno}`);
        this.signals.killGroup(t.tg, L.SIGKILL);
        return;
      default:
        this.log(`${t.tid}: unexpected event ${slot.event}`);
    }
  }

  private syscall(t: Task): void {
    t.sysno = t.slot.regLo(Reg.ORIG_RAX) | 0;
    this.finishSyscall(t, this.syscalls.dispatch(t));
  }

  /** Completes a syscall with result r (or leaves the task parked for BLOCK). */
  finishSyscall(t: Task, r: number): void {
    if (r === BLOCK) return;
    t.sysState = undefined;
    if (t.heldFiles) t.releaseHeldFiles();
    t.timedOut = false;
    t.interrupted = false;
    if (r !== NO_RETURN) {
      if (r <= -E.ERESTARTSYS && r >= -E.ERESTART_RESTARTBLOCK) this.signals.setRestart(t, r);
      else t.setReturn(r);
    }
    this.returnToUser(t);
  }

  private fault(t: Task): void {
    const slot = t.slot;
    const addr = slot.sigAddr;
    const err = this.platform.mechanism === Mechanism.Ptrace ? -1 : slot.sigErr;
    const r = t.mm.fault(addr, err);
    if (r.signal !== 0) this.signals.forceFault(t, r.signal, r.code, addr);
    this.returnToUser(t);
  }

  /** Back to guest code: exit if asked to, deliver pending signals, flush host ops,
   * resume. */
  returnToUser(t: Task): void {
    if (t.killRequested) {
      this.exitTask(t);
      return;
    }
    if ((t.tg.stopped || this.frozen) && !t.killRequested) {
      t.state = TaskState.Stopped;
      return;
    }
    this.signals.deliverPending(t);
    if (t.state === TaskState.Dead || t.state === TaskState.Stopped) return;
    if (t.killRequested) {
      this.exitTask(t);
      return;
    }
    this.resumeTask(t);
  }

  /** The container is paused (OCI `pause`): no guest thread runs until thaw(). */
  frozen = false;

  /**
   * Stops every guest thread, as the cgroup freezer does under runc: a running thread is
   * interrupted, and each stops (TaskState.Stopped, as for job control) the next time it
   * would return to guest code, so a syscall in progress still completes. SIGKILL still ends
   * a frozen process (exitGroup takes stopped tasks too); SIGCONT does not thaw it.
   */
  freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    for (const t of this.tasks.values()) {
      if (t.state === TaskState.Running) this.platform.interrupt(t.slotId);
    }
  }

  /** Undoes freeze(): the threads it stopped go back to guest code (those a job-control stop
   * holds stay stopped). */
  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    for (const t of [...this.tasks.values()]) {
      if (t.state === TaskState.Stopped && !t.tg.stopped) {
        t.state = TaskState.InKernel;
        this.returnToUser(t);
      }
    }
  }

  /** Has t's stub thread perform the pending host ops of its address space now, while the
   * task stays in the kernel (it is about to block: a vfork parent must create its child
   * thread first). The stub reports back when done (flushDone). */
  flushOps(t: Task): void {
    if (t.opsFlushing || t.mm.stubKilled || !t.mm.pendingOps.length) return;
    const ops = t.mm.pendingOps;
    const slot = t.slot;
    const n = Math.min(ops.length / 5, 63);
    for (let i = 0; i < n; i++) {
      const k = i * 5;
      slot.addOp(ops[k], ops[k + 1], ops[k + 2], ops[k + 3], ops[k + 4]);
    }
    ops.splice(0, n * 5);
    slot.addOp(Op.Repost, 0, 0, 0, 0);
    t.opsFlushing = true;
    this.platform.resume(t.slotId);
  }

  private flushDone(t: Task): void {
    t.opsFlushing = false;
    if (t.state === TaskState.Dead) {
      t.slot.clearOps();
      t.slot.addOp(Op.ExitThread, 0, 0, 0, 0);
      this.platform.resume(t.slotId);
      return;
    }
    if (t.mm.pendingOps.length) {
      this.flushOps(t);
      return;
    }
    if (t.resumeWanted) {
      t.resumeWanted = false;
      this.resumeTask(t);
    }
  }

  /** Lets t run guest code. Precondition: t is stopped in its slot (InKernel). */
  resumeTask(t: Task): void {
    if (t.opsFlushing) {
      t.resumeWanted = true;
      return;
    }
    const ops = t.mm.pendingOps;
    const slot = t.slot;
    if (ops.length) {
      const n = Math.min(ops.length / 5, 63);
      for (let i = 0; i < n; i++) {
        const k = i * 5;
        slot.addOp(ops[k], ops[k + 1], ops[k + 2], ops[k + 3], ops[k + 4]);
      }
      ops.splice(0, n * 5);
      if (ops.length) {
        // More ops than a slot holds: the stub reports back after this batch.
        slot.addOp(Op.Repost, 0, 0, 0, 0);
        t.state = TaskState.Running;
        this.platform.resume(t.slotId);
        return;
      }
    }
    t.state = TaskState.Running;
    this.platform.resume(t.slotId);
  }

  /** A task whose stub thread reported ready: give it its registers and start it. */
  private startTask(t: Task): void {
    t.state = TaskState.InKernel;
    const slot = t.slot;
    if (t.startRegs) {
      slot.regWords().set(t.startRegs);
      t.startRegs = null;
    }
    slot.markFsDirty();
    if (t.startFp) {
      const n = this.platform.fpLoad(t.slotId);
      if (n > 0) {
        const off = slot.fpstateOffset;
        slot.bytes.set(t.startFp.subarray(0, Math.min(n, t.startFp.length)), off);
        this.platform.fpStore(t.slotId);
      }
      t.startFp = null;
    }
    this.returnToUser(t);
  }

  // ---- parking and waking ------------------------------------------------------------

  parkTask(t: Task, deadlineNs: number, _interruptible: boolean): void {
    t.state = TaskState.Blocked;
    t.interrupted = false;
    t.timedOut = false;
    if (deadlineNs !== Infinity) {
      t.wakeTimer = this.timers.add(deadlineNs, () => {
        t.timedOut = true;
        this.wake(t);
      });
    }
  }

  /** Makes a blocked task retry its syscall soon. */
  wake(t: Task): void {
    if (t.state !== TaskState.Blocked) return;
    t.unpark();
    this.timers.cancel(t.wakeTimer as Timer | null);
    t.wakeTimer = null;
    t.state = TaskState.InKernel;
    this.runnable.push(t);
  }

  private runWakeups(): void {
    while (this.startable.length) {
      const t = this.startable.shift()!;
      if (t.state === TaskState.Starting) this.startTask(t);
    }
    while (this.runnable.length) {
      const batch = this.runnable;
      this.runnable = [];
      for (const t of batch) {
        if (t.state !== TaskState.InKernel) continue;
        if (t.killRequested) {
          this.exitTask(t);
          continue;
        }
        this.finishSyscall(t, this.syscalls.dispatch(t));
      }
    }
  }

  /** Queues a task to run its handler again (used by job control: SIGCONT). */
  requeue(t: Task): void {
    this.runnable.push(t);
  }

  // ---- exits ---------------------------------------------------------------------------

  /** Ends one task. Precondition: t is stopped (not running guest code) or its stub is
   * gone. */
  exitTask(t: Task): void {
    if (t.state === TaskState.Dead) return;
    const tg = t.tg;
    const stubAlive = !t.mm.stubKilled;
    if (t.clearChildTid && stubAlive && t.mm.users > 1) {
      if (t.mm.writeU32(t.clearChildTid, 0) === 0) this.futexes.wake(t, t.clearChildTid, 1, ~0, false);
    }
    this.futexes.exitRobustList(t);
    this.futexes.cancel(t);
    t.releaseHeldFiles();
    const wasStarting = t.state === TaskState.Starting;
    t.unpark();
    this.timers.cancel(t.wakeTimer as Timer | null);
    t.state = TaskState.Dead;
    this.unbindSlot(t);
    if (stubAlive && !wasStarting && t.slotId >= 0 && !t.opsFlushing) {
      t.slot.clearOps();
      t.slot.addOp(Op.ExitThread, 0, 0, 0, 0);
      this.platform.resume(t.slotId);
      t.mm.releaseSlot(t.slotId);
    }
    tg.live--;
    this.releaseTaskResources(t);
    if (!t.isLeader()) {
      this.tasks.delete(t.tid);
      const i = tg.tasks.indexOf(t);
      if (i >= 0) tg.tasks.splice(i, 1);
    }
    if (tg.live === 0) this.finishProcessExit(tg);
  }

  private releaseTaskResources(t: Task): void {
    if (--t.mm.users === 0) this.dropMM(t.mm);
    if (--t.fdTable.users === 0) t.fdTable.closeAll();
    t.fs.users--;
  }

  /** Frees an address space nobody uses any more and kills its stub. */
  dropMM(mm: MM): void {
    if (!mm.stubKilled) {
      mm.stubKilled = true;
      this.platform.killStub(mm.stub);
    }
    mm.destroy();
  }

  /** exit_group or a fatal signal: ends every task of tg with wait status `status`. */
  exitGroup(tg: ThreadGroup, status: number): void {
    if (tg.exiting) return;
    tg.exiting = true;
    tg.exitStatus = status;
    const mm = tg.tasks[0]?.mm;
    // When only this process uses the address space, killing the stub ends every thread
    // at once; otherwise (vfork) each thread is told to exit.
    const exclusive = mm && tg.tasks.every((t) => t.mm === mm) && mm.users === tg.live;
    if (exclusive && !mm.stubKilled) {
      mm.stubKilled = true;
      this.platform.killStub(mm.stub);
    }
    for (const t of tg.tasks.slice()) {
      t.killRequested = true;
      if (t.state === TaskState.Dead) continue;
      if (exclusive) {
        this.exitTask(t);
      } else if (t.state === TaskState.Running) {
        this.platform.interrupt(t.slotId);
      } else if (t.state === TaskState.Blocked || t.state === TaskState.Stopped) {
        t.unpark();
        this.exitTask(t);
      }
      // InKernel: the caller finishes it; Starting: exits when its slot reports ready.
    }
  }

  private finishProcessExit(tg: ThreadGroup): void {
    tg.zombie = true;
    tg.exiting = true;
    for (const hook of this.exitHooks) hook(tg);
    this.futexes.forgetGroup(tg);
    // Orphans go to the nearest subreaper ancestor, else to init.
    if (tg.children.size) {
      let heir: ThreadGroup | null = tg.parent;
      while (heir && !heir.subreaper) heir = heir.parent;
      if (!heir || heir.zombie) heir = this.init && this.init !== tg ? this.init : null;
      for (const c of tg.children) {
        c.parent = heir;
        if (heir) heir.children.add(c);
        for (const ct of c.tasks) {
          if (ct.pdeathSig) this.signals.sendToTask(ct, { signo: ct.pdeathSig, errno: 0, code: L.SI_USER });
        }
        if (c.zombie) {
          if (heir) heir.childWaiters?.notify(~0);
          else this.reap(c);
        }
      }
      tg.children.clear();
      this.anyChild.notify(~0);
    }
    const vp = tg.vforkParent;
    if (vp) {
      tg.vforkParent = null;
      vp.vforkDone = true;
      if (vp.state === TaskState.Blocked) this.wake(vp);
    }
    if (tg === this.init) {
      this.sandboxOver(tg.exitStatus);
      return;
    }
    const parent = tg.parent;
    if (!parent) {
      this.reap(tg);
      return;
    }
    const act = parent.sighand.actions[L.SIGCHLD];
    const autoreap = tg.exitSignal === L.SIGCHLD &&
      (act.handler === L.SIG_IGN || (act.flags & L.SA_NOCLDWAIT) !== 0);
    if (tg.exitSignal > 0) this.signals.sendChild(parent, tg);
    if (autoreap) this.reap(tg);
    parent.childWaiters?.notify(~0);
    this.anyChild.notify(~0);
  }

  /** Removes a dead process for good (wait4 collected it). */
  reap(tg: ThreadGroup): void {
    if (tg.reaped) return;
    tg.reaped = true;
    tg.parent?.children.delete(tg);
    if (tg.parent) {
      tg.parent.childUserNs += tg.userNs + tg.childUserNs;
      tg.parent.childSysNs += tg.sysNs + tg.childSysNs;
    }
    for (const t of tg.tasks) this.tasks.delete(t.tid);
    this.groups.delete(tg.tgid);
  }

  /** init exited: every other process dies, and the sandbox is over. */
  private sandboxOver(status: number): void {
    for (const stub of [...this.stubPool, ...this.spawning]) this.platform.killStub(stub);
    this.stubPool.length = 0;
    this.spawning.clear();
    for (const g of this.groups.values()) {
      if (g !== this.init && !g.zombie) this.exitGroup(g, L.SIGKILL);
    }
    for (const mm of this.stubMMs.values()) {
      if (!mm.stubKilled) {
        mm.stubKilled = true;
        this.platform.killStub(mm.stub);
      }
    }
    this.finished = status;
  }

  private stubExited(stub: number): void {
    const status = this.platform.reapStub(stub);
    const mm = this.stubMMs.get(stub);
    this.stubMMs.delete(stub);
    if (!mm) return;
    if (mm.stubKilled) return;
    // The stub died without being asked to: the guest broke it (unmapped our pages, a
    // forged frame...). Every task on it dies as if by SIGKILL (SIGSYS if seccomp did it).
    mm.stubKilled = true;
    const sig = (status & 0x7f) === L.SIGSYS ? L.SIGSYS : L.SIGKILL;
    this.log(`stub ${stub} died (wait status ${status.toString(16)}): killing its tasks`);
    for (const t of [...this.slotTasks.values()]) {
      if (t.mm === mm && t.state !== TaskState.Dead) this.exitGroup(t.tg, sig);
    }
  }

  // ---- slot bookkeeping ------------------------------------------------------------------

  taskForSlot(id: number): Task | undefined {
    return this.slotTasks.get(id);
  }

  /** Called by handlers that need another thread's event ignored (debugging aid). */
  noteUnsupported(nr: number): void {
    this.unsupported.set(nr, (this.unsupported.get(nr) ?? 0) + 1);
  }

  /** Writes every task's state to the debug log. */
  dumpTasks(why: string): void {
    const names = ["running", "in-kernel", "blocked", "starting", "stopped", "dead"];
    this.log(`task dump (${why}):`);
    for (const t of this.tasks.values()) {
      const slot = t.slotId >= 0 ? this.platform.slot(t.slotId) : null;
      this.log(
        `  tid ${t.tid} pid ${t.tg.tgid} ${names[t.state]} sys ${t.sysno} slot ${t.slotId}` +
          ` slot-state ${slot?.state ?? "-"} event ${slot?.event ?? "-"} queues ${t.waitingOn.length}` +
          ` flushing ${t.opsFlushing} pending ${t.pending.queue.length}/${t.tg.shared.queue.length}`,
      );
    }
  }

  /** Sanity check used by tests: no task is left running guest code. */
  get runningCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.state === TaskState.Running) n++;
    return n;
  }
}

export { BLOCK, NO_RETURN };
