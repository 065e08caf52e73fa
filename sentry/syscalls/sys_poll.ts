// Readiness: poll, ppoll, select, pselect6. Each call scans the files' readiness(); when
// nothing is ready it parks the task on every file's wait queue and scans again when woken
// (the handler runs from the start; the deadline survives in t.sysState).
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { type SigSet, UNBLOCKABLE } from "../kernel/siginfo.ts";
import { BLOCK, type Task } from "../kernel/task.ts";
import type { WaitQueue } from "../util/waitqueue.ts";
import { pollFile, waitMask } from "../fs/event/readiness.ts";
import type { SyscallDef } from "./table.ts";
import { encodeTimespec, encodeTimeval } from "./util.ts";

const POLLIN_SET = L.POLLRDNORM | L.POLLRDBAND | L.POLLIN | L.POLLHUP | L.POLLERR;
const POLLOUT_SET = L.POLLWRBAND | L.POLLWRNORM | L.POLLOUT | L.POLLERR;
const POLLEX_SET = L.POLLPRI;

// ---- timeouts and temporary signal masks ------------------------------------------------

/** Reads a sigset_t of `size` bytes (must be 8). */
export function readSigSet(t: Task, addr: number, size: number): SigSet | number {
  if (size !== 8) return -E.EINVAL;
  const b = t.mm.copyIn(addr, 8);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  return BigInt(dv.getUint32(0, true)) | (BigInt(dv.getUint32(4, true)) << 32n);
}

/** ppoll, pselect6, epoll_pwait: run with `set` as the signal mask until the call ends;
 * the old mask comes back when it returns, or once a signal's handler frame is set up
 * (signals.ts uses t.savedSigMask as the frame's mask). */
export function setTempSigMask(t: Task, set: SigSet): void {
  t.savedSigMask = t.sigMask;
  t.sigMask = set & ~UNBLOCKABLE;
}

/** Ends a call that set a temporary mask: unless it was interrupted (and a signal is to be
 * delivered with the temporary mask in force), the old mask is back at once. */
export function finishTempSigMask(t: Task, r: number): number {
  if (t.savedSigMask !== null && r !== -E.ERESTARTNOHAND && r !== -E.EINTR) {
    t.sigMask = t.savedSigMask;
    t.savedSigMask = null;
  }
  return r;
}

/** Reads a struct timespec timeout (relative) and returns the deadline, or -errno. */
function deadlineFromTimespec(t: Task, addr: number): number {
  const b = t.mm.copyIn(addr, 16);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const sec = dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
  const nsec = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
  if (sec < 0 || nsec < 0 || nsec >= 1e9) return -E.EINVAL;
  return t.kernel.nowNs() + Math.min(sec * 1e9 + nsec, Number.MAX_SAFE_INTEGER / 2);
}

function deadlineFromTimeval(t: Task, addr: number): number {
  const b = t.mm.copyIn(addr, 16);
  if (typeof b === "number") return b;
  const dv = new DataView(b.buffer);
  const sec = dv.getInt32(4, true) * 4294967296 + dv.getUint32(0, true);
  const usec = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
  if (sec < 0 || usec < 0) return -E.EINVAL;
  // Linux accepts tv_usec >= 1000000 in select and carries it into seconds.
  return t.kernel.nowNs() + Math.min(sec * 1e9 + usec * 1000, Number.MAX_SAFE_INTEGER / 2);
}

/** Parks t on the queues until the deadline. */
function park(t: Task, queues: Array<[WaitQueue, number]>, deadline: number): number {
  return t.block(queues, deadline);
}

// ---- poll, ppoll --------------------------------------------------------------------------

interface PollCall {
  fds: number;
  nfds: number;
  deadline: number;
  /** ppoll: where to write the time left (0: nowhere; poll restarts with a restart block). */
  timeoutAddr: number;
  ppoll: boolean;
}

function doPoll(t: Task, c: PollCall): number {
  t.sysState = c;
  const { nfds } = c;
  const buf = nfds === 0 ? new Uint8Array(0) : t.mm.copyIn(c.fds, nfds * 8);
  if (typeof buf === "number") return buf;
  const dv = new DataView(buf.buffer);
  let ready = 0;
  const queues: Array<[WaitQueue, number]> = [];
  for (let i = 0; i < nfds; i++) {
    const fd = dv.getInt32(i * 8, true);
    const events = dv.getUint16(i * 8 + 4, true);
    let revents = 0;
    if (fd >= 0) {
      const f = t.fdTable.get(fd);
      if (!f) revents = L.POLLNVAL;
      else {
        revents = pollFile(f, events);
        if (revents === 0) queues.push([f.waitQueue, waitMask(events)]);
      }
    }
    dv.setUint16(i * 8 + 6, revents, true);
    if (revents) ready++;
  }
  if (ready === 0) {
    const r = park(t, t.kernel.nowNs() < c.deadline ? queues : [], c.deadline);
    if (r === BLOCK) return BLOCK;
    if (r === -E.ERESTARTSYS || r === -E.EINTR) return interrupted(t, c);
    // Timed out: every revents is 0 (already in buf).
  }
  if (nfds > 0) {
    const rc = t.mm.copyOut(c.fds, buf);
    if (rc < 0) return rc;
  }
  if (c.ppoll && c.timeoutAddr) writeLeft(t, c.timeoutAddr, c.deadline, false);
  return ready;
}

function interrupted(t: Task, c: PollCall): number {
  if (c.ppoll) {
    if (c.timeoutAddr) writeLeft(t, c.timeoutAddr, c.deadline, false);
    return -E.ERESTARTNOHAND;
  }
  // poll: restarted (when no handler runs) with the time that was left.
  t.restartFn = (tt) => doPoll(tt, c);
  return -E.ERESTART_RESTARTBLOCK;
}

function writeLeft(t: Task, addr: number, deadline: number, timeval: boolean): void {
  if (deadline === Infinity) return;
  const left = Math.max(0, deadline - t.kernel.nowNs());
  t.mm.copyOut(addr, timeval ? encodeTimeval(left) : encodeTimespec(left));
}

function checkNfds(t: Task, nfds: number): number {
  if (nfds < 0 || nfds > t.rlimit(L.RLIMIT_NOFILE).cur || nfds > 1 << 20) return -E.EINVAL;
  return 0;
}

function sysPoll(t: Task): number {
  const st = t.sysState as PollCall | undefined;
  if (st) return doPoll(t, st);
  const nfds = t.arg(1);
  if (checkNfds(t, nfds) < 0) return -E.EINVAL;
  const ms = t.argInt(2);
  const deadline = ms < 0 ? Infinity : t.kernel.nowNs() + ms * 1e6;
  return doPoll(t, { fds: t.arg(0), nfds, deadline, timeoutAddr: 0, ppoll: false });
}

function sysPpoll(t: Task): number {
  let st = t.sysState as PollCall | undefined;
  if (!st) {
    const nfds = t.arg(1);
    if (checkNfds(t, nfds) < 0) return -E.EINVAL;
    const tsAddr = t.arg(2);
    let deadline = Infinity;
    if (tsAddr) {
      deadline = deadlineFromTimespec(t, tsAddr);
      if (deadline < 0) return deadline;
    }
    if (t.arg(3)) {
      const set = readSigSet(t, t.arg(3), t.arg(4));
      if (typeof set === "number") return set;
      setTempSigMask(t, set);
    }
    st = { fds: t.arg(0), nfds, deadline, timeoutAddr: tsAddr, ppoll: true };
  }
  const r = doPoll(t, st);
  return r === BLOCK ? r : finishTempSigMask(t, r);
}

// ---- select, pselect6 ---------------------------------------------------------------------

interface SelectCall {
  nfds: number;
  sets: [number, number, number];
  deadline: number;
  timeoutAddr: number;
  timeval: boolean;
}

function readFdSet(t: Task, addr: number, bytes: number): Uint8Array | null | number {
  if (!addr) return null;
  return t.mm.copyIn(addr, bytes);
}

function doSelect(t: Task, c: SelectCall): number {
  t.sysState = c;
  const bytes = Math.ceil(c.nfds / 64) * 8;
  const ins: Array<Uint8Array | null> = [];
  for (const addr of c.sets) {
    const s = readFdSet(t, addr, bytes);
    if (typeof s === "number") return s;
    ins.push(s);
  }
  const outs = ins.map((s) => (s ? new Uint8Array(s.length) : null));
  const kinds = [POLLIN_SET, POLLOUT_SET, POLLEX_SET];
  let ready = 0;
  const queues: Array<[WaitQueue, number]> = [];
  for (let fd = 0; fd < c.nfds; fd++) {
    const byte = fd >> 3, bit = 1 << (fd & 7);
    let events = 0;
    for (let k = 0; k < 3; k++) if (ins[k] && (ins[k]![byte] & bit)) events |= kinds[k];
    if (events === 0) continue;
    const f = t.fdTable.get(fd);
    if (!f) return -E.EBADF;
    const r = pollFile(f, events);
    let any = false;
    for (let k = 0; k < 3; k++) {
      if (ins[k] && (ins[k]![byte] & bit) && (r & kinds[k])) {
        outs[k]![byte] |= bit;
        ready++;
        any = true;
      }
    }
    if (!any) queues.push([f.waitQueue, waitMask(events)]);
  }
  if (ready === 0) {
    const r = park(t, t.kernel.nowNs() < c.deadline ? queues : [], c.deadline);
    if (r === BLOCK) return BLOCK;
    if (r === -E.ERESTARTSYS || r === -E.EINTR) {
      if (c.timeoutAddr) writeLeft(t, c.timeoutAddr, c.deadline, c.timeval);
      return -E.ERESTARTNOHAND;
    }
  }
  for (let k = 0; k < 3; k++) {
    if (!outs[k]) continue;
    const rc = t.mm.copyOut(c.sets[k], outs[k]!);
    if (rc < 0) return rc;
  }
  if (c.timeoutAddr) writeLeft(t, c.timeoutAddr, c.deadline, c.timeval);
  return ready;
}

function startSelect(t: Task, timeval: boolean): SelectCall | number {
  const nfds = t.argInt(0);
  if (nfds < 0) return -E.EINVAL;
  const limit = t.rlimit(L.RLIMIT_NOFILE).cur;
  const tAddr = t.arg(4);
  let deadline = Infinity;
  if (tAddr) {
    deadline = timeval ? deadlineFromTimeval(t, tAddr) : deadlineFromTimespec(t, tAddr);
    if (deadline < 0) return deadline;
  }
  return {
    nfds: Math.min(nfds, Math.max(limit, 1024)),
    sets: [t.arg(1), t.arg(2), t.arg(3)],
    deadline,
    timeoutAddr: tAddr,
    timeval,
  };
}

function sysSelect(t: Task): number {
  let st = t.sysState as SelectCall | undefined;
  if (!st) {
    const c = startSelect(t, true);
    if (typeof c === "number") return c;
    st = c;
  }
  return doSelect(t, st);
}

function sysPselect6(t: Task): number {
  let st = t.sysState as SelectCall | undefined;
  if (!st) {
    const c = startSelect(t, false);
    if (typeof c === "number") return c;
    // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
    if (t.arg(5)) {
      const ssp = t.mm.readU64(t.arg(5));
      if (ssp < 0) return ssp;
      const len = t.mm.readU64(t.arg(5) + 8);
      if (len < 0) return len;
      if (ssp) {
        const set = readSigSet(t, ssp, len);
        if (typeof set === "number") return set;
        setTempSigMask(t, set);
      }
    }
    st = c;
  }
  const r = doSelect(t, st);
  return r === BLOCK ? r : finishTempSigMask(t, r);
}

export const pollSyscalls: SyscallDef[] = [
  { nr: Sys.poll, fn: sysPoll, args: "pud" },
  { nr: Sys.ppoll, fn: sysPpoll, args: "pupxu" },
  { nr: Sys.select, fn: sysSelect, args: "dpppp" },
  { nr: Sys.pselect6, fn: sysPselect6, args: "dppppp" },
];
