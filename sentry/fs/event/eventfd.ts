// eventfd: a 64-bit counter. Writes add to it (blocking before it would overflow), reads
// take all of it, or one unit in semaphore mode (blocking while it is zero).
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { FileDescription } from "../../vfs/file.ts";
import type { Stat } from "../../vfs/inode.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { anonStat } from "./anon.ts";

export const EFD_SEMAPHORE = 1;
const MAX_COUNT = 0xfffffffffffffffen;

export class EventFile extends FileDescription {
  constructor(public count: bigint, flags: number, readonly semaphore: boolean) {
    super(flags, null, null);
  }

  override read(io: UserIO, _off: number): number {
    if (io.total < 8) return -E.EINVAL;
    if (this.count === 0n) return -E.EAGAIN;
    const value = this.semaphore ? 1n : this.count;
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, value, true);
    const rc = io.copyOut(b);
    if (rc < 0) return rc;
    this.count -= value;
    this.waitQueue.notify(L.POLLOUT | L.POLLWRNORM);
    return 8;
  }

  override write(io: UserIO, _off: number): number {
    if (io.total < 8) return -E.EINVAL;
    const b = io.copyIn(8);
    if (typeof b === "number") return b;
    if (b.length < 8) return -E.EFAULT;
    const value = new DataView(b.buffer, b.byteOffset).getBigUint64(0, true);
    if (value === 0xffffffffffffffffn) return -E.EINVAL;
    if (value > MAX_COUNT - this.count) return -E.EAGAIN;
    this.count += value;
    if (value > 0n) this.waitQueue.notify(L.POLLIN | L.POLLRDNORM);
    return 8;
  }

  override readiness(mask: number): number {
    let r = 0;
    if (this.count > 0n) r |= L.POLLIN;
    if (this.count < MAX_COUNT) r |= L.POLLOUT;
    return r & mask;
  }

  /** Linux's noop_llseek: the offset stays 0. */
  override seek(): number {
    return 0;
  }

  override stat(): Stat | number {
    return anonStat();
  }

  get procName(): string {
    return "anon_inode:[eventfd]";
  }
}
