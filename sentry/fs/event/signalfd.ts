// signalfd: reading takes pending signals of the mask (the reading thread's own first, then
// its process's) as struct signalfd_siginfo records, instead of delivering them.
//
// Whose signals: Linux uses the thread that reads or polls. The syscall dispatcher records
// that thread as kernel.current; outside a syscall (or if that thread belongs to another
// process than the one the file last served), the file falls back to the thread that made
// it. The file is woken through the per-process "signal queued" wait queue (signals.ts).
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { SigInfo, SigSet } from "../../kernel/siginfo.ts";
import { signalQueuedQueue } from "../../kernel/signals.ts";
import { type Task, TaskState, type ThreadGroup } from "../../kernel/task.ts";
import type { Waiter, WaitQueue } from "../../util/waitqueue.ts";
import { FileDescription } from "../../vfs/file.ts";
import type { Stat } from "../../vfs/inode.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { anonStat } from "./anon.ts";

const SIGINFO_SIZE = 128;

export class SignalFile extends FileDescription implements Waiter {
  /** Processes whose "signal queued" queue this file listens to. */
  private readonly watched = new Set<ThreadGroup>();

  constructor(private readonly creator: Task, public mask: SigSet, flags: number) {
    super(flags, null, null);
    this.watch(creator.tg);
  }

  private watch(tg: ThreadGroup): void {
    if (this.watched.has(tg)) return;
    this.watched.add(tg);
    signalQueuedQueue(tg).add(this, ~0);
  }

  /** A signal was queued for a watched process. */
  notify(_mask: number): void {
    this.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
  }

  /** The thread whose signals this file reads now. */
  private target(): Task {
    const cur = (this.creator.kernel as { current?: Task | null }).current;
    const t = cur && cur.state !== TaskState.Dead ? cur : this.creator;
    this.watch(t.tg);
    return t;
  }

  private pendingIn(t: Task): SigSet {
    return (t.pending.set | t.tg.shared.set) & this.mask;
  }

  override read(io: UserIO, _off: number): number {
    if (io.total < SIGINFO_SIZE) return -E.EINVAL;
    const t = this.target();
    const max = Math.floor(io.total / SIGINFO_SIZE);
    let n = 0;
    while (n < max) {
      const info = this.take(t);
      if (!info) break;
      const rc = io.copyOut(encodeSignalfdInfo(info), n * SIGINFO_SIZE);
      if (rc < 0) return n > 0 ? n * SIGINFO_SIZE : rc;
      n++;
    }
    return n === 0 ? -E.EAGAIN : n * SIGINFO_SIZE;
  }

  /** Dequeues the lowest pending signal of the mask (thread-private ones first). */
  private take(t: Task): SigInfo | undefined {
    const own = t.pending.set & this.mask;
    if (own !== 0n) return t.pending.take(lowest(own));
    const shared = t.tg.shared.set & this.mask;
    if (shared !== 0n) return t.tg.shared.take(lowest(shared));
    return undefined;
  }

  override write(): number {
    return -E.EINVAL;
  }

  override readiness(mask: number): number {
    return this.pendingIn(this.target()) !== 0n ? mask & (L.POLLIN | L.POLLRDNORM) : 0;
  }

  /** Linux's noop_llseek: the offset stays 0. */
  override seek(): number {
    return 0;
  }

  override stat(): Stat | number {
    return anonStat();
  }

  get procName(): string {
    return "anon_inode:[signalfd]";
  }

  protected override release(): void {
    for (const tg of this.watched) (signalQueuedQueue(tg) as WaitQueue).remove(this);
    this.watched.clear();
  }
}

function lowest(set: SigSet): number {
  let sig = 1;
  while ((set & 1n) === 0n) {
    set >>= 1n;
    sig++;
  }
  return sig;
}

/** struct signalfd_siginfo (128 bytes). */
export function encodeSignalfdInfo(info: SigInfo): Uint8Array {
  const b = new Uint8Array(SIGINFO_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, info.signo, true); // ssi_signo
  dv.setInt32(4, info.errno, true); // ssi_errno
  dv.setInt32(8, info.code, true); // ssi_code
  dv.setUint32(12, (info.pid ?? 0) >>> 0, true); // ssi_pid
  dv.setUint32(16, (info.uid ?? 0) >>> 0, true); // ssi_uid
  dv.setInt32(20, info.fd ?? 0, true); // ssi_fd
  dv.setUint32(24, (info.timerId ?? 0) >>> 0, true); // ssi_tid
  dv.setUint32(28, (info.band ?? 0) >>> 0, true); // ssi_band
  dv.setUint32(32, (info.overrun ?? 0) >>> 0, true); // ssi_overrun
  dv.setInt32(40, info.status ?? 0, true); // ssi_status
  const value = info.value ?? 0;
  dv.setInt32(44, value | 0, true); // ssi_int
  dv.setUint32(48, value >>> 0, true); // ssi_ptr
  dv.setUint32(52, Math.floor(value / 4294967296) >>> 0, true);
  dv.setUint32(56, (info.utime ?? 0) >>> 0, true); // ssi_utime
  dv.setUint32(64, (info.stime ?? 0) >>> 0, true); // ssi_stime
  const addr = info.addr ?? 0;
  dv.setUint32(72, addr >>> 0, true); // ssi_addr
  dv.setUint32(76, Math.floor(addr / 4294967296) >>> 0, true);
  if (info.syscall !== undefined) {
    dv.setInt32(84, info.syscall, true); // ssi_syscall
    dv.setUint32(96, (info.arch ?? 0) >>> 0, true); // ssi_arch
  }
  return b;
}
