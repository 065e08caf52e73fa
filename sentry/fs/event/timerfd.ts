// timerfd: a timer whose expirations are read as a count. Timers run on the kernel's
// timer queue (monotonic deadlines): CLOCK_REALTIME absolute times are converted when the
// timer is set, so a later change of the realtime clock does not move them, and
// TFD_TIMER_CANCEL_ON_SET is accepted but never cancels (the sandbox cannot set the clock).
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import type { Timer } from "../../kernel/timers.ts";
import { FileDescription, type IoctlContext } from "../../vfs/file.ts";
import type { Stat } from "../../vfs/inode.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { anonStat } from "./anon.ts";

export const TFD_TIMER_ABSTIME = 1;
export const TFD_TIMER_CANCEL_ON_SET = 2;
/** _IOW('T', 0, u64) */
const TFD_IOC_SET_TICKS = 0x40085400;

export class TimerFile extends FileDescription {
  /** Expirations not read yet. */
  ticks = 0n;
  /** Next expiry (monotonic ns; 0: disarmed) and period (0: one-shot). */
  private expiry = 0;
  private interval = 0;
  private timer: Timer | null = null;

  constructor(readonly kernel: Kernel, readonly clock: number, flags: number) {
    super(flags, null, null);
  }

  /** The current setting: [time to next expiry, interval] in ns (0, 0 when disarmed). */
  get(): [number, number] {
    if (this.expiry === 0) return [0, this.interval];
    return [Math.max(1, this.expiry - this.kernel.nowNs()), this.interval];
  }

  /** timerfd_settime with `value` (relative, or absolute on this timer's clock when
   * abs) and `interval`; value 0 disarms. */
  set(value: number, interval: number, abs: boolean): void {
    const k = this.kernel;
    k.timers.cancel(this.timer);
    this.timer = null;
    this.ticks = 0n;
    this.interval = interval;
    if (value === 0) {
      this.expiry = 0;
      return;
    }
    const now = k.nowNs();
    let expiry: number;
    if (!abs) expiry = now + value;
    else if (this.clock === L.CLOCK_REALTIME || this.clock === 8 /* REALTIME_ALARM */) {
      expiry = now + (value - k.realtimeNs());
    } else expiry = value;
    this.expiry = Math.max(expiry, 1);
    this.arm();
  }

  private arm(): void {
    this.timer = this.kernel.timers.add(this.expiry, () => this.fire());
  }

  private fire(): void {
    this.timer = null;
    const now = this.kernel.nowNs();
    let n = 1;
    if (this.interval > 0) {
      // Expirations missed while the sentry was busy count too.
      const late = Math.max(0, now - this.expiry);
      const missed = Math.floor(late / this.interval);
      n += missed;
      this.expiry += (missed + 1) * this.interval;
      this.arm();
    } else {
      this.expiry = 0;
    }
    this.ticks += BigInt(n);
    this.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
  }

  override read(io: UserIO, _off: number): number {
    if (io.total < 8) return -E.EINVAL;
    if (this.ticks === 0n) return -E.EAGAIN;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, this.ticks, true);
    const rc = io.copyOut(b);
    if (rc < 0) return rc;
    this.ticks = 0n;
    return 8;
  }

  override write(): number {
    return -E.EINVAL;
  }

  override readiness(mask: number): number {
    return this.ticks > 0n ? mask & (L.POLLIN | L.POLLRDNORM) : 0;
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    if (cmd !== TFD_IOC_SET_TICKS) return -E.ENOTTY;
    const b = ctx.mm.copyIn(arg, 8);
    if (typeof b === "number") return b;
    const v = new DataView(b.buffer).getBigUint64(0, true);
    if (v === 0n) return -E.EINVAL;
    this.ticks = v;
    this.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
    return 0;
  }

  /** Linux's noop_llseek: the offset stays 0. */
  override seek(): number {
    return 0;
  }

  override stat(): Stat | number {
    return anonStat();
  }

  get procName(): string {
    return "anon_inode:[timerfd]";
  }

  protected override release(): void {
    this.kernel.timers.cancel(this.timer);
    this.timer = null;
  }
}
