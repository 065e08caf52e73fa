// eventfd, eventfd2 (the counter: fs/event/eventfd.ts).
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import { EFD_SEMAPHORE, EventFile } from "../fs/event/eventfd.ts";
import type { SyscallDef } from "./table.ts";

function eventfd2(t: Task, initval: number, flags: number): number {
  if (flags & ~(L.O_CLOEXEC | L.O_NONBLOCK | EFD_SEMAPHORE)) return -E.EINVAL;
  const f = new EventFile(
    BigInt(initval),
    L.O_RDWR | (flags & L.O_NONBLOCK),
    (flags & EFD_SEMAPHORE) !== 0,
  );
  const fd = t.fdTable.install(f, (flags & L.O_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

export const eventfdSyscalls: SyscallDef[] = [
  { nr: Sys.eventfd, fn: (t) => eventfd2(t, t.argU32(0), 0), args: "u" },
  { nr: Sys.eventfd2, fn: (t) => eventfd2(t, t.argU32(0), t.argInt(1)), args: "ux" },
];
