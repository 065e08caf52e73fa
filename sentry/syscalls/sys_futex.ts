// futex(2), set_robust_list(2), get_robust_list(2).
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";
import { readTimespec } from "./util.ts";

/** The absolute monotonic deadline of a futex wait: FUTEX_WAIT takes a relative timeout,
 * FUTEX_WAIT_BITSET an absolute one (on CLOCK_REALTIME with FUTEX_CLOCK_REALTIME). */
function deadlineOf(t: Task, addr: number, absolute: boolean, realtime: boolean): number {
  if (!addr) return Infinity;
  const ns = readTimespec(t, addr);
  if (ns < 0) return ns;
  const k = t.kernel;
  if (!absolute) return k.nowNs() + ns;
  if (realtime) return k.nowNs() + Math.max(0, ns - k.realtimeNs());
  return ns;
}

function sysFutex(t: Task): number {
  const addr = t.arg(0), opArg = t.argInt(1), val = t.argU32(2);
  const priv = (opArg & L.FUTEX_PRIVATE_FLAG) !== 0;
  const realtime = (opArg & L.FUTEX_CLOCK_REALTIME) !== 0;
  const op = opArg & L.FUTEX_CMD_MASK;
  const f = t.kernel.futexes;
  if (realtime && op !== L.FUTEX_WAIT_BITSET && op !== L.FUTEX_WAIT && op !== L.FUTEX_WAIT_REQUEUE_PI && op !== L.FUTEX_LOCK_PI2) {
    return -E.ENOSYS;
  }
  switch (op) {
    case L.FUTEX_WAIT:
    case L.FUTEX_WAIT_BITSET: {
      let deadline = Infinity;
      if (t.sysState === undefined) {
        deadline = deadlineOf(t, t.arg(3), op === L.FUTEX_WAIT_BITSET, realtime);
        if (deadline < 0) return deadline;
      }
      const bitset = op === L.FUTEX_WAIT_BITSET ? t.argU32(5) : L.FUTEX_BITSET_MATCH_ANY;
      const r = f.wait(t, addr, val, deadline, bitset, priv);
      return r === -E.ERESTARTSYS ? -E.EINTR : r;
    }
    case L.FUTEX_WAKE:
      return f.wake(t, addr, val, L.FUTEX_BITSET_MATCH_ANY, priv);
    case L.FUTEX_WAKE_BITSET: {
      const bitset = t.argU32(5);
      if (bitset === 0) return -E.EINVAL;
      return f.wake(t, addr, val, bitset, priv);
    }
    case L.FUTEX_REQUEUE:
      return f.requeue(t, addr, t.arg(4), val, t.argU32(3), null, priv);
    case L.FUTEX_CMP_REQUEUE:
      return f.requeue(t, addr, t.arg(4), val, t.argU32(3), t.argU32(5), priv);
    case L.FUTEX_WAKE_OP:
      return f.wakeOp(t, addr, t.arg(4), val, t.argU32(3), t.argU32(5), priv);
    default:
      return -E.ENOSYS;
  }
}

function sysSetRobustList(t: Task): number {
  if (t.arg(1) !== 24) return -E.EINVAL;
  t.robustList = t.arg(0);
  t.robustListLen = 24;
  return 0;
}

function sysGetRobustList(t: Task): number {
  const pid = t.argInt(0);
  const target = pid === 0 ? t : t.kernel.tasks.get(pid);
  if (!target) return -E.ESRCH;
  let rc = t.mm.writeU64(t.arg(1), target.robustList);
  if (rc < 0) return rc;
  rc = t.mm.writeU64(t.arg(2), 24);
  return rc;
}

export const futexSyscalls: SyscallDef[] = [
  { nr: Sys.futex, fn: sysFutex, status: Support.Partial, note: "no priority-inheritance ops (ENOSYS)", args: "pxuppu" },
  { nr: Sys.set_robust_list, fn: sysSetRobustList, args: "pu" },
  { nr: Sys.get_robust_list, fn: sysGetRobustList, args: "dpp" },
];
