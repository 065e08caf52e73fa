// Odds and ends: getrandom, and calls that are deliberately unsupported (listed so the
// compatibility table says so).
import { E } from "../abi/errno.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import type { SyscallDef } from "./table.ts";

const GRND_NONBLOCK = 1, GRND_RANDOM = 2, GRND_INSECURE = 4;

function sysGetrandom(t: Task): number {
  const addr = t.arg(0), len = t.arg(1), flags = t.argU32(2);
  if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) return -E.EINVAL;
  if ((flags & GRND_RANDOM) && (flags & GRND_INSECURE)) return -E.EINVAL;
  const n = Math.min(len, 33554431);
  const buf = new Uint8Array(Math.min(n, 65536));
  let done = 0;
  while (done < n) {
    const k = Math.min(buf.length, n - done);
    crypto.getRandomValues(buf.subarray(0, k));
    const rc = t.mm.copyOut(addr + done, buf.subarray(0, k));
    if (rc < 0) return done > 0 ? done : rc;
    done += k;
  }
  return done;
}

export const miscSyscalls: SyscallDef[] = [
  { nr: Sys.getrandom, fn: sysGetrandom, args: "pux" },
];
