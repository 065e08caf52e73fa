// Futexes: wait queues keyed by a guest memory word. Private futexes are keyed by address
// space and address; shared ones by the memory-file offset of the word, so processes that
// share memory (MAP_SHARED) meet on the same key.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import type { Kernel } from "./kernel.ts";
import { type Task, TaskState, type ThreadGroup } from "./task.ts";

interface FutexWaiter {
  task: Task;
  key: string;
  bitset: number;
  woken: boolean;
  deadline: number;
}

let nextMmId = 1;
const mmIds = new WeakMap<object, number>();

export class Futexes {
  private queues = new Map<string, FutexWaiter[]>();

  constructor(private readonly k: Kernel) {}

  /** The key of the futex word at addr, or -EFAULT. */
  key(t: Task, addr: number, priv: boolean): string | number {
    if (addr % 4 !== 0) return -E.EINVAL;
    const v = t.mm.find(addr);
    if (!v) return -E.EFAULT;
    if (!priv && v.shared) {
      const off = t.mm.translate(addr, false);
      if (off < 0) return off;
      return `s${off}`;
    }
    let id = mmIds.get(t.mm);
    if (!id) mmIds.set(t.mm, id = nextMmId++);
    return `p${id}:${addr}`;
  }

  /** FUTEX_WAIT(_BITSET): blocks while *addr == val, until deadlineNs. Called again on each
   * retry; the waiter record (with its deadline) lives in t.sysState. */
  wait(t: Task, addr: number, val: number, deadlineNs: number, bitset: number, priv: boolean): number {
    const st = t.sysState as FutexWaiter | undefined;
    if (st) {
      if (st.woken) return 0;
      if (t.timedOut) {
        this.remove(st);
        return -E.ETIMEDOUT;
      }
      const r = t.block([], st.deadline);
      if (r < 0 && r !== -100000) this.remove(st);
      return r;
    }
    if (bitset === 0) return -E.EINVAL;
    const key = this.key(t, addr, priv);
    if (typeof key === "number") return key;
    const cur = t.mm.readU32(addr);
    if (cur < 0) return cur;
    if (cur !== (val >>> 0)) return -E.EAGAIN;
    const w: FutexWaiter = { task: t, key, bitset, woken: false, deadline: deadlineNs };
    const r = t.block([], deadlineNs);
    if (r < 0 && r !== -100000) return r;
    t.sysState = w;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, q = []);
    q.push(w);
    return r;
  }

  private remove(w: FutexWaiter): void {
    const q = this.queues.get(w.key);
    if (!q) return;
    const i = q.indexOf(w);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.queues.delete(w.key);
  }

  /** Wakes up to n waiters on the word whose bitset intersects. Returns how many. */
  wake(t: Task, addr: number, n: number, bitset: number, priv: boolean): number {
    const key = this.key(t, addr, priv);
    if (typeof key === "number") return key;
    return this.wakeKey(key, n, bitset);
  }

  private wakeKey(key: string, n: number, bitset: number): number {
    const q = this.queues.get(key);
    if (!q) return 0;
    let woken = 0;
    for (let i = 0; i < q.length && woken < n;) {
      const w = q[i];
      if ((w.bitset & bitset) === 0) {
        i++;
        continue;
      }
      q.splice(i, 1);
      w.woken = true;
      if (w.task.state === TaskState.Blocked) this.k.wake(w.task);
      woken++;
    }
    if (q.length === 0) this.queues.delete(key);
    return woken;
  }

  /** FUTEX_REQUEUE / FUTEX_CMP_REQUEUE. */
  requeue(t: Task, addr: number, addr2: number, nwake: number, nmove: number, cmp: number | null, priv: boolean): number {
    const key = this.key(t, addr, priv);
    if (typeof key === "number") return key;
    const key2 = this.key(t, addr2, priv);
    if (typeof key2 === "number") return key2;
    if (cmp !== null) {
      const cur = t.mm.readU32(addr);
      if (cur < 0) return cur;
      if (cur !== (cmp >>> 0)) return -E.EAGAIN;
    }
    const woken = this.wakeKey(key, nwake, ~0);
    const q = this.queues.get(key);
    let moved = 0;
    if (q && key !== key2) {
      let q2 = this.queues.get(key2);
      while (q.length && moved < nmove) {
        const w = q.shift()!;
        w.key = key2;
        if (!q2) this.queues.set(key2, q2 = []);
        q2.push(w);
        moved++;
      }
      if (q.length === 0) this.queues.delete(key);
    }
    return woken + moved;
  }

  /** FUTEX_WAKE_OP: *addr2 = op(*addr2, oparg); wake addr; wake addr2 if cmp(old) holds. */
  wakeOp(t: Task, addr: number, addr2: number, n: number, n2: number, encoded: number, priv: boolean): number {
    const op = (encoded >>> 28) & 0xf, cmp = (encoded >>> 24) & 0xf;
    let oparg = (encoded << 8) >> 20, cmparg = (encoded << 20) >> 20;
    if (op & 8) oparg = 1 << (oparg & 31);
    const old = t.mm.readU32(addr2);
    if (old < 0) return old;
    let nv: number;
    switch (op & 7) {
      case 0: nv = oparg; break; // SET
      case 1: nv = old + oparg; break; // ADD
      case 2: nv = old | oparg; break; // OR
      case 3: nv = old & ~oparg; break; // ANDN
      case 4: nv = old ^ oparg; break; // XOR
      default: return -E.ENOSYS;
    }
    const rc = t.mm.writeU32(addr2, nv >>> 0);
    if (rc < 0) return rc;
    let woken = this.wake(t, addr, n, ~0, priv);
    if (woken < 0) return woken;
    const o = old | 0;
    cmparg = cmparg | 0;
    let hit: boolean;
    switch (cmp) {
      case 0: hit = o === cmparg; break;
      case 1: hit = o !== cmparg; break;
      case 2: hit = o < cmparg; break;
      case 3: hit = o <= cmparg; break;
      case 4: hit = o > cmparg; break;
      case 5: hit = o >= cmparg; break;
      default: return -E.ENOSYS;
    }
    if (hit) {
      const w2 = this.wake(t, addr2, n2, ~0, priv);
      if (w2 > 0) woken += w2;
    }
    return woken;
  }

  /** A thread exits: walk its robust list, marking held locks OWNER_DIED and waking one
   * waiter each (set_robust_list(2)). */
  exitRobustList(t: Task): void {
    const head = t.robustList;
    if (!head || t.mm.stubKilled) return;
    const mm = t.mm;
    const futexOffset = mm.readU64(head + 8);
    if (futexOffset < 0) return;
    const offset = futexOffset >= 2 ** 63 ? futexOffset - 2 ** 64 : futexOffset;
    const handle = (entry: number) => {
      const addr = entry + offset;
      const v = mm.readU32(addr);
      if (v < 0) return;
      if ((v & L.FUTEX_TID_MASK) !== t.tid) return;
      const nv = ((v & L.FUTEX_WAITERS) | L.FUTEX_OWNER_DIED) >>> 0;
      mm.writeU32(addr, nv);
      if (v & L.FUTEX_WAITERS) this.wake(t, addr, 1, ~0, false);
    };
    let entry = mm.readU64(head);
    for (let n = 0; n < 2048 && entry > 0 && entry !== head; n++) {
      const next = mm.readU64(entry & ~1);
      handle(entry & ~1);
      if (next < 0) break;
      entry = next;
    }
    const pending = mm.readU64(head + 16);
    if (pending > 0) handle(pending & ~1);
  }

  /** Drops the futex wait of a task that is going away. */
  cancel(t: Task): void {
    const st = t.sysState as FutexWaiter | undefined;
    if (st && typeof st === "object" && "bitset" in st && st.task === t) this.remove(st);
  }

  forgetGroup(_tg: ThreadGroup): void {
    // Waiters of dead tasks were removed when their tasks were unparked.
  }
}
