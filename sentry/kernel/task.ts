// Tasks (guest threads) and thread groups (guest processes).
//
// A task runs on a thread slot of the stub that hosts its address space. While it runs guest
// code the sentry does not touch it; when it traps (syscall, fault, interrupt) the slot holds
// its registers and the task is the sentry's until it is resumed.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Reg, type Slot } from "../../ffi/platform.ts";
import type { MM } from "../mm/mm.ts";
import type { FdTable } from "../vfs/fdtable.ts";
import type { FsContext } from "../vfs/resolve.ts";
import type { Waiter, WaitQueue } from "../util/waitqueue.ts";
import type { Creds } from "./creds.ts";
import type { Kernel } from "./kernel.ts";
import { DEFAULT_SIGACTION, type SigAction, type SigInfo, type SigSet } from "./siginfo.ts";

/** A syscall handler's result meaning "the task is parked; run the handler again when it is
 * woken". */
export const BLOCK = -100000;
/** A handler's result meaning "registers are already set; do not touch rax". */
export const NO_RETURN = -100001;

export const enum TaskState {
  /** Running guest code, or on its way back to it. */
  Running,
  /** Stopped in the sentry: handling a syscall or fault. */
  InKernel,
  /** Parked in a syscall until a wait queue, timer or signal wakes it. */
  Blocked,
  /** Waiting for its new stub thread to report ready (new thread, fork child, execve). */
  Starting,
  /** Stopped by a job-control signal. */
  Stopped,
  /** Exited. */
  Dead,
}

export interface RLimit {
  cur: number;
  max: number;
}

/** Signal handlers, shared by threads (and by processes with CLONE_SIGHAND). */
export class SigHand {
  actions: SigAction[] = Array.from({ length: L.NSIG + 1 }, () => DEFAULT_SIGACTION);
  users = 1;

  clone(): SigHand {
    const h = new SigHand();
    h.actions = this.actions.slice();
    return h;
  }
}

export class PendingSignals {
  set: SigSet = 0n;
  /** siginfo per pending signal; standard signals keep one, real-time ones queue. The
   * queue's length doubles as a cheap "anything pending?" test on the syscall path. */
  queue: SigInfo[] = [];

  get empty(): boolean {
    return this.queue.length === 0;
  }

  add(info: SigInfo): boolean {
    const bit = 1n << BigInt(info.signo - 1);
    if (info.signo < L.SIGRTMIN && (this.set & bit) !== 0n) return false;
    this.set |= bit;
    this.queue.push(info);
    return true;
  }

  /** Takes one pending instance of sig (or undefined). */
  take(sig: number): SigInfo | undefined {
    const i = this.queue.findIndex((q) => q.signo === sig);
    if (i < 0) return undefined;
    const [info] = this.queue.splice(i, 1);
    if (!this.queue.some((q) => q.signo === sig)) this.set &= ~(1n << BigInt(sig - 1));
    return info;
  }

  discard(sig: number): void {
    if (this.queue.length === 0) return;
    this.queue = this.queue.filter((q) => q.signo !== sig);
    this.set &= ~(1n << BigInt(sig - 1));
  }
}

/** A process: the tasks sharing a thread group id. */
export class ThreadGroup {
  readonly tasks: Task[] = [];
  readonly children = new Set<ThreadGroup>();
  parent: ThreadGroup | null = null;
  pgid: number;
  sid: number;
  sighand: SigHand;
  readonly shared = new PendingSignals();
  rlimits: RLimit[];
  /** Set once the process is exiting (exit_group, fatal signal, exec by another thread). */
  exiting = false;
  /** Wait status for wait4 once a zombie; the process is reaped when it is collected. */
  exitStatus = 0;
  zombie = false;
  reaped = false;
  /** Job control: stopped, and whether the parent has yet to see the stop/continue. */
  stopped = false;
  stopSignal = 0;
  reportStop = false;
  reportContinue = false;
  subreaper = false;
  /** Exit signal sent to the parent (SIGCHLD, or what clone said). */
  exitSignal: number = L.SIGCHLD;
  /** vfork: the parent task waiting until this child execs or exits. */
  vforkParent: Task | null = null;
  /** Resource usage of the process and of its reaped children (nanoseconds). */
  userNs = 0;
  sysNs = 0;
  childUserNs = 0;
  childSysNs = 0;
  startNs = 0;
  /** Notified on state changes of this process's children (wait4/waitid). */
  childWaiters: WaitQueue | null = null;
  /** itimers and POSIX timers (owned by time syscalls). */
  timers: Map<number, unknown> = new Map();
  itimerReal: unknown = null;
  /** Number of live tasks. */
  live = 0;
  comm = "";
  /** Process-wide data other subsystems attach (keyed by subsystem). */
  readonly ext = new Map<string, unknown>();

  constructor(readonly tgid: number, readonly kernel: Kernel, sighand: SigHand, rlimits: RLimit[]) {
    this.pgid = tgid;
    this.sid = tgid;
    this.sighand = sighand;
    this.rlimits = rlimits;
  }

  get leader(): Task {
    return this.tasks[0];
  }

  get pid(): number {
    return this.tgid;
  }
}

let nextWaiterId = 1;

export class Task implements Waiter {
  readonly waiterId = nextWaiterId++;
  state = TaskState.Starting;
  slot!: Slot;
  slotId = -1;
  tg: ThreadGroup;
  mm: MM;
  fdTable: FdTable;
  fs: FsContext & { users: number };
  creds: Creds;
  sigMask: SigSet = 0n;
  readonly pending = new PendingSignals();
  /** sigsuspend/pselect/ppoll: the mask to restore once a signal has been delivered. */
  savedSigMask: SigSet | null = null;
  altStack = { sp: 0, size: 0, flags: L.SS_DISABLE };
  /** rt_sigtimedwait in progress: these signals wake the task even though it blocks them. */
  sigWaitSet: SigSet = 0n;
  clearChildTid = 0;
  robustList = 0;
  robustListLen = 0;
  comm = "";
  /** The syscall number being handled (for restarts and strace). */
  sysno = -1;
  /** Per-syscall state kept across retries of a blocked syscall (cleared when it ends). */
  sysState: unknown = undefined;
  /** restart_syscall(2): what to run when the guest restarts an interrupted sleep. */
  restartFn: ((t: Task) => number) | null = null;
  /** Files a syscall works on, by argument index, held from its first attempt to its end
   * (Linux's fget): a blocked call keeps using them even if another thread closes the fds
   * meanwhile. Sparse: index i holds argument i's file. */
  heldFiles: Array<import("../vfs/file.ts").FileDescription | undefined> | null = null;

  /** The open file of fd argument i for the current syscall (held until it ends). */
  fileArg(i: number): import("../vfs/file.ts").FileDescription | undefined {
    const held = this.heldFiles?.[i];
    if (held) return held;
    const f = this.fdTable.get(this.argInt(i));
    if (f) {
      f.incRef();
      (this.heldFiles ??= [])[i] = f;
    }
    return f;
  }

  /** Drops the held files (the syscall ended, or the task is going away). */
  releaseHeldFiles(): void {
    const held = this.heldFiles;
    if (!held) return;
    this.heldFiles = null;
    for (const f of held) f?.decRef();
  }

  /** Registers a starting task gets when its slot reports ready (a copy of the block). */
  startRegs: Uint32Array | null = null;
  /** xsave bytes a starting task gets (fork, clone copy the parent's FPU state). */
  startFp: Uint8Array | null = null;
  /** Set when its stub thread should exit at the next chance (exit of another thread). */
  killRequested = false;
  exitCode = 0;
  /** Wait queues this task is parked on, and its wake-up deadline timer. */
  waitingOn: WaitQueue[] = [];
  wakeTimer: unknown = null;
  /** Why the task woke: signal, timeout or an event. */
  interrupted = false;
  timedOut = false;
  /** The stub thread is performing host ops for the kernel (Kernel.flushOps); a resume
   * requested meanwhile waits for it to report back. */
  opsFlushing = false;
  resumeWanted = false;
  /** A vfork parent waits for this. */
  vforkDone = false;
  /** Thread CPU time, nanoseconds (approximate: time spent running between traps). */
  cpuNs = 0;
  lastResumeNs = 0;
  /** Parent death signal (prctl PR_SET_PDEATHSIG). */
  pdeathSig = 0;
  /** Data other subsystems attach per task. */
  readonly ext = new Map<string, unknown>();

  constructor(
    readonly tid: number,
    readonly kernel: Kernel,
    tg: ThreadGroup,
    mm: MM,
    fdTable: FdTable,
    fs: FsContext & { users: number },
    creds: Creds,
  ) {
    this.tg = tg;
    this.mm = mm;
    this.fdTable = fdTable;
    this.fs = fs;
    this.creds = creds;
  }

  // ---- syscall arguments --------------------------------------------------------------

  /** Argument i as an unsigned number (exact below 2^53: addresses, sizes, counts). */
  arg(i: number): number {
    return this.slot.reg(ARG_REGS[i]);
  }
  /** Argument i as a C int (low 32 bits, signed). */
  argInt(i: number): number {
    return this.slot.regLo(ARG_REGS[i]) | 0;
  }
  /** Argument i as a C unsigned int. */
  argU32(i: number): number {
    return this.slot.regLo(ARG_REGS[i]);
  }
  /** Argument i as a signed 64-bit value (exact for |v| < 2^53). */
  argSigned(i: number): number {
    return this.slot.regSigned(ARG_REGS[i]);
  }
  argBig(i: number): bigint {
    return this.slot.regBig(ARG_REGS[i]);
  }

  setReturn(v: number): void {
    this.slot.setReg(Reg.RAX, v);
  }

  // ---- blocking -------------------------------------------------------------------------

  /** Called by a wait queue: the task should retry its syscall. */
  notify(_mask: number): void {
    if (this.state === TaskState.Blocked) this.kernel.wake(this);
  }

  /** Parks the task until one of `queues` is notified, the deadline (CLOCK_MONOTONIC ns)
   * passes, or (if interruptible) a signal arrives. Returns BLOCK, or -ERESTARTSYS when a
   * signal is already pending, or -ETIMEDOUT when the deadline has passed. The syscall
   * handler runs again from the start when the task wakes. */
  block(queues: Array<[WaitQueue, number]>, deadlineNs = Infinity, interruptible = true): number {
    if (interruptible && this.kernel.signals.hasDeliverable(this)) return -E.ERESTARTSYS;
    if (this.killRequested || this.tg.exiting) return -E.EINTR;
    if (deadlineNs !== Infinity && this.kernel.nowNs() >= deadlineNs) return -E.ETIMEDOUT;
    for (const [q, mask] of queues) {
      q.add(this, mask);
      this.waitingOn.push(q);
    }
    this.kernel.parkTask(this, deadlineNs, interruptible);
    // Host ops must not wait for the end of the block (a vfork child's thread, for one).
    if (this.mm.pendingOps.length) this.kernel.flushOps(this);
    return BLOCK;
  }

  /** Removes the task from the queues it was parked on. */
  unpark(): void {
    for (const q of this.waitingOn) q.remove(this);
    this.waitingOn.length = 0;
  }

  get pid(): number {
    return this.tg.tgid;
  }

  isLeader(): boolean {
    return this.tg.tgid === this.tid;
  }

  rlimit(r: number): RLimit {
    return this.tg.rlimits[r];
  }
}

export const ARG_REGS = [Reg.RDI, Reg.RSI, Reg.RDX, Reg.R10, Reg.R8, Reg.R9];

/** The default resource limits of a new sandbox (Linux's defaults, capped by the host's). */
export function defaultRlimits(): RLimit[] {
  const inf = L.RLIM_INFINITY;
  const r: RLimit[] = Array.from({ length: L.RLIM_NLIMITS }, () => ({ cur: inf, max: inf }));
  r[L.RLIMIT_STACK] = { cur: 8 * 1024 * 1024, max: inf };
  r[L.RLIMIT_CORE] = { cur: 0, max: inf };
  r[L.RLIMIT_NOFILE] = { cur: 1024, max: 1048576 };
  r[L.RLIMIT_NPROC] = { cur: 63536, max: 63536 };
  r[L.RLIMIT_MEMLOCK] = { cur: 8 * 1024 * 1024, max: 8 * 1024 * 1024 };
  r[L.RLIMIT_SIGPENDING] = { cur: 63536, max: 63536 };
  r[L.RLIMIT_MSGQUEUE] = { cur: 819200, max: 819200 };
  r[L.RLIMIT_NICE] = { cur: 0, max: 0 };
  r[L.RLIMIT_RTPRIO] = { cur: 0, max: 0 };
  r[L.RLIMIT_LOCKS] = { cur: inf, max: inf };
  return r;
}
