// signalfd, signalfd4 (the files: fs/event/signalfd.ts).
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import { UNBLOCKABLE } from "../kernel/siginfo.ts";
import type { Task } from "../kernel/task.ts";
import { SignalFile } from "../fs/event/signalfd.ts";
import type { SyscallDef } from "./table.ts";
import { readSigSet } from "./sys_poll.ts";

function signalfd4(t: Task, fd: number, maskAddr: number, size: number, flags: number): number {
  if (flags & ~(L.O_CLOEXEC | L.O_NONBLOCK)) return -E.EINVAL;
  const set = readSigSet(t, maskAddr, size);
  if (typeof set === "number") return set;
  const mask = set & ~UNBLOCKABLE;
  if (fd !== -1) {
    const f = t.fdTable.get(fd);
    if (!f) return -E.EBADF;
    if (!(f instanceof SignalFile)) return -E.EINVAL;
    f.mask = mask;
    return fd;
  }
  const f = new SignalFile(t, mask, L.O_RDWR | (flags & L.O_NONBLOCK));
  const nfd = t.fdTable.install(f, (flags & L.O_CLOEXEC) !== 0);
  if (nfd < 0) f.decRef();
  return nfd;
}

export const signalfdSyscalls: SyscallDef[] = [
  { nr: Sys.signalfd, fn: (t) => signalfd4(t, t.argInt(0), t.arg(1), t.arg(2), 0), args: "fpu" },
  {
    nr: Sys.signalfd4,
    fn: (t) => signalfd4(t, t.argInt(0), t.arg(1), t.arg(2), t.argInt(3)),
    args: "fpux",
  },
];
