// Guest buffers of a read/write-family syscall: a list of (address, length) ranges in a
// guest address space. Files copy to and from them, or (host files, pipes of host fds) get
// the ranges as memory-file offsets and let the host move the bytes directly.
import { E } from "../abi/errno.ts";
import type { MM } from "../mm/mm.ts";

export class UserIO {
  readonly total: number;

  /** iov: flat [addr0, len0, addr1, len1, ...]. */
  constructor(readonly mm: MM, readonly iov: number[]) {
    let t = 0;
    for (let i = 1; i < iov.length; i += 2) t += iov[i];
    this.total = t;
  }

  static single(mm: MM, addr: number, len: number): UserIO {
    return new UserIO(mm, [addr, len]);
  }

  /** Copies data into the guest ranges starting `at` bytes into them. Returns the bytes
   * copied (short if a range faults after some bytes), or -EFAULT if none. */
  copyOut(data: Uint8Array, at = 0): number {
    let done = 0;
    this.walk(at, data.length, (addr, n) => {
      const rc = this.mm.copyOut(addr, data.subarray(done, done + n));
      if (rc < 0) return false;
      done += n;
      return true;
    });
    return done === 0 && data.length > 0 ? -E.EFAULT : done;
  }

  /** Reads n bytes from the guest ranges starting `at` bytes into them (short on a fault
   * after some bytes), or -EFAULT. */
  copyIn(n: number, at = 0): Uint8Array | number {
    const out = new Uint8Array(Math.min(n, this.total - at));
    let done = 0;
    this.walk(at, out.length, (addr, len) => {
      const b = this.mm.copyIn(addr, len);
      if (typeof b === "number") return false;
      out.set(b, done);
      done += len;
      return true;
    });
    if (done === 0 && out.length > 0) return -E.EFAULT;
    return done === out.length ? out : out.subarray(0, done);
  }

  /** The ranges [at, at+n) as memory-file (offset, length) pairs, for host I/O; stops at the
   * first fault (returns the pairs before it; -EFAULT if none). Writes (the guest receives
   * data) break copy-on-write first. */
  memRanges(write: boolean, at: number, n: number): Float64Array | number {
    const pairs: number[] = [];
    let fault = false;
    this.walk(at, n, (addr, len) => {
      const rc = this.mm.forEachRange(addr, len, write, (off, m) => {
        const k = pairs.length;
        if (k >= 2 && pairs[k - 2] + pairs[k - 1] === off) pairs[k - 1] += m;
        else pairs.push(off, m);
      });
      if (rc < 0) {
        fault = true;
        return false;
      }
      return true;
    });
    if (pairs.length === 0 && (fault || n > 0)) return n === 0 ? new Float64Array(0) : -E.EFAULT;
    return new Float64Array(pairs);
  }

  private walk(at: number, n: number, fn: (addr: number, len: number) => boolean): void {
    const iov = this.iov;
    for (let i = 0; i < iov.length && n > 0; i += 2) {
      let addr = iov[i], len = iov[i + 1];
      if (at >= len) {
        at -= len;
        continue;
      }
      addr += at;
      len -= at;
      at = 0;
      const k = Math.min(len, n);
      if (k > 0 && !fn(addr, k)) return;
      n -= k;
    }
  }
}

/** A buffer in the memory file that the sentry owns (sendfile, copy_file_range, copy-up):
 * files read into and write from it exactly as they do with guest buffers. */
export class KernelIO extends UserIO {
  /** off: memory-file offset of the buffer; len: its size. */
  constructor(readonly mem: Uint8Array, readonly off: number, len: number) {
    super(null as unknown as MM, [0, len]);
  }

  override copyOut(data: Uint8Array, at = 0): number {
    const n = Math.min(data.length, this.total - at);
    this.mem.set(data.subarray(0, n), this.off + at);
    return n;
  }

  override copyIn(n: number, at = 0): Uint8Array | number {
    const k = Math.min(n, this.total - at);
    return this.mem.slice(this.off + at, this.off + at + k);
  }

  override memRanges(_write: boolean, at: number, n: number): Float64Array | number {
    const k = Math.max(0, Math.min(n, this.total - at));
    return k === 0 ? new Float64Array(0) : new Float64Array([this.off + at, k]);
  }
}
