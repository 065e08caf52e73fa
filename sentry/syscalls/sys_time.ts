// Time: clocks, sleeps, interval timers, POSIX timers, sysinfo.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Timer } from "../kernel/timers.ts";
import { BLOCK, type Task, TaskState, type ThreadGroup } from "../kernel/task.ts";
import { cpuTimeNs } from "./sys_process.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { encodeTimespec, encodeTimeval, readTimespec, writeTimespec } from "./util.ts";

/** The time of clock clk for t, in ns; -EINVAL for an unknown clock. */
export function clockNow(t: Task, clk: number): number {
  const k = t.kernel;
  switch (clk) {
    case L.CLOCK_REALTIME:
    case L.CLOCK_REALTIME_COARSE:
    case L.CLOCK_REALTIME_ALARM:
    case 11: // CLOCK_TAI
      return k.realtimeNs();
    case L.CLOCK_MONOTONIC:
    case L.CLOCK_MONOTONIC_RAW:
    case L.CLOCK_MONOTONIC_COARSE:
    case L.CLOCK_BOOTTIME:
    case L.CLOCK_BOOTTIME_ALARM:
      return k.nowNs();
    case L.CLOCK_PROCESS_CPUTIME_ID:
      return cpuTimeNs(t, false);
    case L.CLOCK_THREAD_CPUTIME_ID:
      return cpuTimeNs(t, true);
  }
  if (clk < 0) {
    // A CPU clock of another process or thread: ~pid << 3 | (thread ? 4 : 0) | kind.
    const pid = ~(clk >> 3);
    const target = k.tasks.get(pid);
    if (!target || (clk & 3) === 3) return -E.EINVAL;
    return cpuTimeNs(target, (clk & 4) !== 0);
  }
  return -E.EINVAL;
}

/** A deadline on the monotonic clock for an absolute time on clock clk. */
function toMonotonic(t: Task, clk: number, abs: number): number {
  const now = clockNow(t, clk);
  return t.kernel.nowNs() + Math.max(0, abs - now);
}

function sysClockGettime(t: Task): number {
  const ns = clockNow(t, t.argInt(0));
  if (ns < 0) return ns;
  return writeTimespec(t, t.arg(1), ns);
}

function sysClockGetres(t: Task): number {
  const clk = t.argInt(0);
  if (clockNow(t, clk) < 0) return -E.EINVAL;
  if (!t.arg(1)) return 0;
  const coarse = clk === L.CLOCK_REALTIME_COARSE || clk === L.CLOCK_MONOTONIC_COARSE;
  return writeTimespec(t, t.arg(1), coarse ? 4000000 : 1);
}

function sysGettimeofday(t: Task): number {
  if (t.arg(0)) {
    const rc = t.mm.copyOut(t.arg(0), encodeTimeval(t.kernel.realtimeNs()));
    if (rc < 0) return rc;
  }
  if (t.arg(1)) return t.mm.zero(t.arg(1), 8);
  return 0;
}

function sysTime(t: Task): number {
  const s = Math.floor(t.kernel.realtimeNs() / 1e9);
  if (t.arg(0)) {
    const rc = t.mm.writeU64(t.arg(0), s);
    if (rc < 0) return rc;
  }
  return s;
}

interface Sleep {
  deadline: number;
  clk: number;
  abs: boolean;
  rem: number;
}

/** Sleeps until st.deadline (monotonic). A signal interrupts it with the remaining time,
 * and a restart (no handler ran) continues to the same deadline. */
function sleepUntil(t: Task, st: Sleep): number {
  t.sysState = st;
  const r = t.block([], st.deadline);
  if (r === BLOCK) return BLOCK;
  if (r === -E.ETIMEDOUT) return 0;
  if (r === -E.ERESTARTSYS || r === -E.EINTR) {
    if (st.abs) return -E.ERESTARTNOHAND;
    if (st.rem) {
      const left = Math.max(0, st.deadline - t.kernel.nowNs());
      const rc = writeTimespec(t, st.rem, left);
      if (rc < 0) return rc;
    }
    t.restartFn = (tt) => sleepUntil(tt, st);
    return -E.ERESTART_RESTARTBLOCK;
  }
  return r;
}

function sysNanosleep(t: Task): number {
  const st = t.sysState as Sleep | undefined;
  if (st) return sleepUntil(t, st);
  const ns = readTimespec(t, t.arg(0));
  if (ns < 0) return ns;
  return sleepUntil(t, { deadline: t.kernel.nowNs() + ns, clk: L.CLOCK_MONOTONIC, abs: false, rem: t.arg(1) });
}

function sysClockNanosleep(t: Task): number {
  const st = t.sysState as Sleep | undefined;
  if (st) return sleepUntil(t, st);
  const clk = t.argInt(0), flags = t.argInt(1);
  if (clk === L.CLOCK_THREAD_CPUTIME_ID) return -E.EINVAL;
  if (clockNow(t, clk) < 0) return -E.EINVAL;
  const ns = readTimespec(t, t.arg(2));
  if (ns < 0) return ns;
  const abs = (flags & L.TIMER_ABSTIME) !== 0;
  const deadline = abs ? toMonotonic(t, clk, ns) : t.kernel.nowNs() + ns;
  return sleepUntil(t, { deadline, clk, abs, rem: abs ? 0 : t.arg(3) });
}

// ---- interval timers -------------------------------------------------------------------

/** A timer that sends a signal (itimers, alarm, POSIX timers). */
class SignalTimer {
  timer: Timer | null = null;
  /** Next expiry (monotonic ns), 0 when disarmed; interval in ns. */
  expiry = 0;
  interval = 0;
  overrun = 0;
  pendingOverrun = 0;

  constructor(
    readonly tg: ThreadGroup,
    readonly fire: (self: SignalTimer) => void,
  ) {}

  arm(expiry: number, interval: number): void {
    const k = this.tg.kernel;
    k.timers.cancel(this.timer);
    this.timer = null;
    this.expiry = expiry;
    this.interval = interval;
    this.overrun = 0;
    if (expiry > 0) this.schedule();
  }

  private schedule(): void {
    const k = this.tg.kernel;
    this.timer = k.timers.add(this.expiry, () => {
      this.timer = null;
      if (this.tg.zombie) return;
      const now = k.nowNs();
      if (this.interval > 0) {
        let next = this.expiry + this.interval;
        if (next <= now) {
          const missed = Math.floor((now - this.expiry) / this.interval);
          this.overrun += missed;
          next = this.expiry + (missed + 1) * this.interval;
        }
        this.expiry = next;
        this.schedule();
      } else {
        this.expiry = 0;
      }
      this.fire(this);
    });
  }

  remaining(): number {
    return this.expiry ? Math.max(1, this.expiry - this.tg.kernel.nowNs()) : 0;
  }
}

function itimer(tg: ThreadGroup, which: number): SignalTimer {
  const key = `itimer${which}`;
  let it = tg.ext.get(key) as SignalTimer | undefined;
  if (!it) {
    const sig = which === L.ITIMER_REAL ? L.SIGALRM : which === L.ITIMER_VIRTUAL ? L.SIGVTALRM : L.SIGPROF;
    it = new SignalTimer(tg, () => {
      tg.kernel.signals.sendToGroup(tg, { signo: sig, errno: 0, code: L.SI_KERNEL });
    });
    tg.ext.set(key, it);
  }
  return it;
}

function encodeItimerval(interval: number, value: number): Uint8Array {
  const b = new Uint8Array(32);
  b.set(encodeTimeval(interval), 0);
  b.set(encodeTimeval(value), 16);
  return b;
}

function readTimeval(t: Task, addr: number): number {
  const b = t.mm.copyIn(addr, 16);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const sec = dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
  const usec = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
  if (sec < 0 || usec < 0 || usec >= 1e6) return -E.EINVAL;
  return sec * 1e9 + usec * 1000;
}

function sysGetitimer(t: Task): number {
  const which = t.argInt(0);
  if (which < 0 || which > 2) return -E.EINVAL;
  const it = itimer(t.tg, which);
  return t.mm.copyOut(t.arg(1), encodeItimerval(it.interval, it.remaining()));
}

function sysSetitimer(t: Task): number {
  const which = t.argInt(0), newAddr = t.arg(1), oldAddr = t.arg(2);
  if (which < 0 || which > 2) return -E.EINVAL;
  const it = itimer(t.tg, which);
  if (oldAddr) {
    const rc = t.mm.copyOut(oldAddr, encodeItimerval(it.interval, it.remaining()));
    if (rc < 0) return rc;
  }
  if (!newAddr) return 0;
  const interval = readTimeval(t, newAddr);
  if (interval < 0) return interval;
  const value = readTimeval(t, newAddr + 16);
  if (value < 0) return value;
  it.arm(value ? t.kernel.nowNs() + value : 0, value ? interval : 0);
  return 0;
}

function sysAlarm(t: Task): number {
  const it = itimer(t.tg, L.ITIMER_REAL);
  const left = it.remaining();
  const secs = t.argU32(0);
  it.arm(secs ? t.kernel.nowNs() + secs * 1e9 : 0, 0);
  return left ? Math.max(1, Math.round(left / 1e9)) : 0;
}

// ---- POSIX timers ----------------------------------------------------------------------

const SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD_ID = 4;

interface PosixTimer {
  st: SignalTimer;
  clk: number;
}

function posixTimers(tg: ThreadGroup): Map<number, PosixTimer> {
  let m = tg.ext.get("posixTimers") as Map<number, PosixTimer> | undefined;
  if (!m) tg.ext.set("posixTimers", m = new Map());
  return m;
}

function sysTimerCreate(t: Task): number {
  const clk = t.argInt(0), evAddr = t.arg(1), idAddr = t.arg(2);
  if (clockNow(t, clk) < 0) return -E.EINVAL;
  let notify = SIGEV_SIGNAL, signo = L.SIGALRM, value = 0, tid = 0;
  const timers = posixTimers(t.tg);
  let id = 0;
  while (timers.has(id)) id++;
  if (evAddr) {
    const b = t.mm.copyIn(evAddr, 64);
    if (typeof b === "number") return b;
    const dv = new DataView(b.buffer);
    value = dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296;
    signo = dv.getInt32(8, true);
    notify = dv.getInt32(12, true);
    tid = dv.getInt32(16, true);
    if (notify !== SIGEV_NONE && (signo < 1 || signo > L.NSIG)) return -E.EINVAL;
    if (notify !== SIGEV_SIGNAL && notify !== SIGEV_NONE && notify !== SIGEV_THREAD_ID) return -E.EINVAL;
  } else {
    value = id;
  }
  const tg = t.tg;
  const target = notify === SIGEV_THREAD_ID ? t.kernel.tasks.get(tid) : null;
  if (notify === SIGEV_THREAD_ID && (!target || target.tg !== tg)) return -E.EINVAL;
  const st = new SignalTimer(tg, (self) => {
    if (notify === SIGEV_NONE) return;
    const info = { signo, errno: 0, code: L.SI_TIMER, timerId: id, overrun: self.overrun, value };
    self.pendingOverrun = self.overrun;
    self.overrun = 0;
    if (target && target.state !== TaskState.Dead) t.kernel.signals.sendToTask(target, info);
    else t.kernel.signals.sendToGroup(tg, info);
  });
  timers.set(id, { st, clk });
  const rc = t.mm.writeU32(idAddr, id);
  if (rc < 0) {
    timers.delete(id);
    return rc;
  }
  return 0;
}

function sysTimerSettime(t: Task): number {
  const id = t.argInt(0), flags = t.argInt(1), newAddr = t.arg(2), oldAddr = t.arg(3);
  const pt = posixTimers(t.tg).get(id);
  if (!pt) return -E.EINVAL;
  if (oldAddr) {
    const b = new Uint8Array(32);
    b.set(encodeTimespec(pt.st.interval), 0);
    b.set(encodeTimespec(pt.st.remaining()), 16);
    const rc = t.mm.copyOut(oldAddr, b);
    if (rc < 0) return rc;
  }
  const interval = readTimespec(t, newAddr);
  if (interval < 0) return interval;
  const value = readTimespec(t, newAddr + 16);
  if (value < 0) return value;
  if (value === 0) {
    pt.st.arm(0, 0);
    return 0;
  }
  const expiry = flags & L.TIMER_ABSTIME ? toMonotonic(t, pt.clk, value) : t.kernel.nowNs() + value;
  pt.st.arm(expiry, interval);
  return 0;
}

function sysTimerGettime(t: Task): number {
  const pt = posixTimers(t.tg).get(t.argInt(0));
  if (!pt) return -E.EINVAL;
  const b = new Uint8Array(32);
  b.set(encodeTimespec(pt.st.interval), 0);
  b.set(encodeTimespec(pt.st.remaining()), 16);
  return t.mm.copyOut(t.arg(1), b);
}

function sysTimerGetoverrun(t: Task): number {
  const pt = posixTimers(t.tg).get(t.argInt(0));
  if (!pt) return -E.EINVAL;
  return Math.min(pt.st.pendingOverrun, 0x7fffffff);
}

function sysTimerDelete(t: Task): number {
  const timers = posixTimers(t.tg);
  const pt = timers.get(t.argInt(0));
  if (!pt) return -E.EINVAL;
  pt.st.arm(0, 0);
  timers.delete(t.argInt(0));
  return 0;
}

function sysSysinfo(t: Task): number {
  const k = t.kernel;
  const b = new Uint8Array(112);
  const dv = new DataView(b.buffer);
  const set64 = (o: number, v: number) => {
    dv.setUint32(o, v >>> 0, true);
    dv.setUint32(o + 4, Math.floor(v / 4294967296) >>> 0, true);
  };
  set64(0, Math.floor((k.nowNs() - k.bootNs) / 1e9));
  const total = k.memfile.limit === Infinity ? hostMemTotal() : k.memfile.limit;
  const used = k.memfile.committedBytes();
  set64(32, total);
  set64(40, Math.max(0, total - used));
  let procs = 0;
  for (const g of k.groups.values()) if (!g.zombie) procs += g.live;
  dv.setUint16(80, procs, true);
  dv.setUint32(104, 1, true); // mem_unit
  return t.mm.copyOut(t.arg(0), b);
}

let memTotal = 0;
function hostMemTotal(): number {
  if (memTotal) return memTotal;
  try {
    const m = /MemTotal:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/meminfo"));
    memTotal = m ? Number(m[1]) * 1024 : 1 << 30;
  } catch {
    memTotal = 1 << 30;
  }
  return memTotal;
}

export const timeSyscalls: SyscallDef[] = [
  { nr: Sys.clock_gettime, fn: sysClockGettime, args: "dp" },
  { nr: Sys.clock_getres, fn: sysClockGetres, args: "dp" },
  { nr: Sys.gettimeofday, fn: sysGettimeofday, args: "pp" },
  { nr: Sys.time, fn: sysTime, args: "p" },
  { nr: Sys.nanosleep, fn: sysNanosleep, args: "pp" },
  { nr: Sys.clock_nanosleep, fn: sysClockNanosleep, args: "dxpp" },
  { nr: Sys.getitimer, fn: sysGetitimer, status: Support.Partial, note: "ITIMER_VIRTUAL/PROF count wall time", args: "dp" },
  { nr: Sys.setitimer, fn: sysSetitimer, status: Support.Partial, note: "ITIMER_VIRTUAL/PROF count wall time", args: "dpp" },
  { nr: Sys.alarm, fn: sysAlarm, args: "u" },
  { nr: Sys.timer_create, fn: sysTimerCreate, status: Support.Partial, note: "CPU-time clocks count wall time; no SIGEV_THREAD", args: "dpp" },
  { nr: Sys.timer_settime, fn: sysTimerSettime, args: "dxpp" },
  { nr: Sys.timer_gettime, fn: sysTimerGettime, args: "dp" },
  { nr: Sys.timer_getoverrun, fn: sysTimerGetoverrun, args: "d" },
  { nr: Sys.timer_delete, fn: sysTimerDelete, args: "d" },
  { nr: Sys.sysinfo, fn: sysSysinfo, args: "p" },
];
