// epoll: epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2
// (the instances themselves: fs/event/epoll.ts).
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { BLOCK, type Task } from "../kernel/task.ts";
import { EPOLL_CTL_DEL, EpollFile, EPOLLIN, type ReadyEvent } from "../fs/event/epoll.ts";
import type { SyscallDef } from "./table.ts";
import { finishTempSigMask, readSigSet, setTempSigMask } from "./sys_poll.ts";

const EPOLL_EVENT_SIZE = 12;

function create(t: Task, flags: number): number {
  if (flags & ~L.O_CLOEXEC) return -E.EINVAL;
  const ep = new EpollFile(L.O_RDWR);
  const fd = t.fdTable.install(ep, (flags & L.O_CLOEXEC) !== 0);
  if (fd < 0) ep.decRef();
  return fd;
}

function sysEpollCtl(t: Task): number {
  const ep = t.fdTable.get(t.argInt(0));
  const op = t.argInt(1), fd = t.argInt(2), addr = t.arg(3);
  if (!ep) return -E.EBADF;
  const file = t.fdTable.get(fd);
  if (!file) return -E.EBADF;
  if (!(ep instanceof EpollFile)) return -E.EINVAL;
  let events = 0, lo = 0, hi = 0;
  if (op !== EPOLL_CTL_DEL) {
    const b = t.mm.copyIn(addr, EPOLL_EVENT_SIZE);
    if (typeof b === "number") return b;
    const dv = new DataView(b.buffer);
    events = dv.getUint32(0, true);
    lo = dv.getUint32(4, true);
    hi = dv.getUint32(8, true);
  }
  return ep.ctl(op, fd, file, events, lo, hi);
}

interface WaitCall {
  ep: EpollFile;
  addr: number;
  max: number;
  deadline: number;
}

function doWait(t: Task, c: WaitCall): number {
  t.sysState = c;
  const out: ReadyEvent[] = [];
  c.ep.collect(c.max, out);
  if (out.length === 0) {
    const r = t.block([[c.ep.waitQueue, EPOLLIN]], c.deadline);
    if (r === BLOCK) return BLOCK;
    if (r === -E.ETIMEDOUT) return 0;
    // epoll_wait is never restarted after a signal.
    return r === -E.ERESTARTSYS ? -E.EINTR : r;
  }
  const b = new Uint8Array(out.length * EPOLL_EVENT_SIZE);
  const dv = new DataView(b.buffer);
  out.forEach((e, i) => {
    dv.setUint32(i * EPOLL_EVENT_SIZE, e.events >>> 0, true);
    dv.setUint32(i * EPOLL_EVENT_SIZE + 4, e.dataLo, true);
    dv.setUint32(i * EPOLL_EVENT_SIZE + 8, e.dataHi, true);
  });
  const rc = t.mm.copyOut(c.addr, b);
  return rc < 0 ? rc : out.length;
}

/** Validates the common arguments; returns the call or -errno. */
function startWait(t: Task, deadline: number): WaitCall | number {
  const f = t.fdTable.get(t.argInt(0));
  const addr = t.arg(1), max = t.argInt(2);
  if (max <= 0 || max > 0x7fffffff / EPOLL_EVENT_SIZE) return -E.EINVAL;
  if (!f) return -E.EBADF;
  if (!(f instanceof EpollFile)) return -E.EINVAL;
  return { ep: f, addr, max, deadline };
}

function msDeadline(t: Task, ms: number): number {
  return ms < 0 ? Infinity : t.kernel.nowNs() + ms * 1e6;
}

function sysEpollWait(t: Task): number {
  const st = t.sysState as WaitCall | undefined;
  if (st) return doWait(t, st);
  const c = startWait(t, msDeadline(t, t.argInt(3)));
  return typeof c === "number" ? c : doWait(t, c);
}

function pwait(t: Task, deadline: () => number, maskArg: number): number {
  let st = t.sysState as WaitCall | undefined;
  if (!st) {
    const d = deadline();
    if (d < 0) return d;
    const c = startWait(t, d);
    if (typeof c === "number") return c;
    if (t.arg(maskArg)) {
      const set = readSigSet(t, t.arg(maskArg), t.arg(maskArg + 1));
      if (typeof set === "number") return set;
      setTempSigMask(t, set);
    }
    st = c;
  }
  const r = doWait(t, st);
  return r === BLOCK ? r : finishTempSigMask(t, r);
}

function timespecDeadline(t: Task, addr: number): number {
  if (!addr) return Infinity;
  const b = t.mm.copyIn(addr, 16);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const sec = dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
  const nsec = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  return t.kernel.nowNs() + Math.min(sec * 1e9 + nsec, Number.MAX_SAFE_INTEGER / 2);
}

export const epollSyscalls: SyscallDef[] = [
  { nr: Sys.epoll_create, fn: (t) => (t.argInt(0) <= 0 ? -E.EINVAL : create(t, 0)), args: "d" },
  { nr: Sys.epoll_create1, fn: (t) => create(t, t.argInt(0)), args: "x" },
  { nr: Sys.epoll_ctl, fn: sysEpollCtl, args: "fdfp" },
  { nr: Sys.epoll_wait, fn: sysEpollWait, args: "fpdd" },
  { nr: Sys.epoll_pwait, fn: (t) => pwait(t, () => msDeadline(t, t.argInt(3)), 4), args: "fpddpu" },
  {
    nr: Sys.epoll_pwait2,
    fn: (t) => pwait(t, () => timespecDeadline(t, t.arg(3)), 4),
    args: "fpdppu",
  },
];
