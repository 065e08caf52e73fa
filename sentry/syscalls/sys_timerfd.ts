// timerfd_create, timerfd_settime, timerfd_gettime (the timers: fs/event/timerfd.ts).
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import { TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET, TimerFile } from "../fs/event/timerfd.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { encodeTimespec } from "./util.ts";

const CAP_WAKE_ALARM = 35;

function sysTimerfdCreate(t: Task): number {
  const clock = t.argInt(0), flags = t.argInt(1);
  if (flags & ~(L.O_CLOEXEC | L.O_NONBLOCK)) return -E.EINVAL;
  switch (clock) {
    case L.CLOCK_REALTIME:
    case L.CLOCK_MONOTONIC:
    case L.CLOCK_BOOTTIME:
      break;
    case L.CLOCK_REALTIME_ALARM:
    case L.CLOCK_BOOTTIME_ALARM:
      if (!t.creds.hasCap(CAP_WAKE_ALARM)) return -E.EPERM;
      break;
    default:
      return -E.EINVAL;
  }
  const f = new TimerFile(t.kernel, clock, L.O_RDWR | (flags & L.O_NONBLOCK));
  const fd = t.fdTable.install(f, (flags & L.O_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

function timerArg(t: Task, i: number): TimerFile | number {
  const f = t.fdTable.get(t.argInt(i));
  if (!f) return -E.EBADF;
  return f instanceof TimerFile ? f : -E.EINVAL;
}

function writeItimerspec(t: Task, addr: number, value: number, interval: number): number {
  const b = new Uint8Array(32);
  b.set(encodeTimespec(interval), 0);
  b.set(encodeTimespec(value), 16);
  return t.mm.copyOut(addr, b);
}

/** A timespec from b at off: ns, or -EINVAL when out of range. */
function timespecAt(dv: DataView, off: number): number {
  const sec = dv.getInt32(off + 4, true) * 4294967296 + dv.getUint32(off, true);
  const nsec = dv.getInt32(off + 12, true) * 4294967296 + dv.getUint32(off + 8, true);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  return Math.min(sec * 1e9 + nsec, Number.MAX_SAFE_INTEGER / 2);
}

function sysTimerfdSettime(t: Task): number {
  const f = timerArg(t, 0);
  if (typeof f === "number") return f;
  const flags = t.argInt(1);
  if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)) return -E.EINVAL;
  const b = t.mm.copyIn(t.arg(2), 32);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const interval = timespecAt(dv, 0), value = timespecAt(dv, 16);
  if (interval < 0 || value < 0) return -E.EINVAL;
  if (t.arg(3)) {
    const [left, period] = f.get();
    const rc = writeItimerspec(t, t.arg(3), left, period);
    if (rc < 0) return rc;
  }
  f.set(value, interval, (flags & TFD_TIMER_ABSTIME) !== 0);
  return 0;
}

function sysTimerfdGettime(t: Task): number {
  const f = timerArg(t, 0);
  if (typeof f === "number") return f;
  const [left, period] = f.get();
  return writeItimerspec(t, t.arg(1), left, period);
}

export const timerfdSyscalls: SyscallDef[] = [
  { nr: Sys.timerfd_create, fn: sysTimerfdCreate, args: "dx" },
  {
    nr: Sys.timerfd_settime,
    fn: sysTimerfdSettime,
    status: Support.Partial,
    note: "TFD_TIMER_CANCEL_ON_SET never cancels (the sandbox cannot set the clock)",
    args: "fxpp",
  },
  { nr: Sys.timerfd_gettime, fn: sysTimerfdGettime, args: "fp" },
];
