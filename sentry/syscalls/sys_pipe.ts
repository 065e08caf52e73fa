// Pipes: pipe, pipe2. (Reads and writes go through the file syscalls; F_GETPIPE_SZ and
// F_SETPIPE_SZ through fcntl to PipeFile.fcntl; FIFOs through open, see fs/pipe/fifo.ts.)
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import { Pipe, PipeFile } from "../fs/pipe/pipe.ts";
// Sets the VFS hook that opens FIFOs.
import "../fs/pipe/fifo.ts";
import type { SyscallDef } from "./table.ts";

/** Makes a pipe and installs its ends; returns [readFd, writeFd] or -errno. */
export function newPipeFds(t: Task, flags: number): [number, number] | number {
  if (flags & ~(L.O_CLOEXEC | L.O_NONBLOCK | L.O_DIRECT)) return -E.EINVAL;
  const p = Pipe.create(t.kernel, { uid: t.creds.fsuid, gid: t.creds.fsgid });
  if (typeof p === "number") return p;
  if (flags & L.O_DIRECT) p.packets = [];
  // As Linux: O_DIRECT shows on the write end only.
  const reader = new PipeFile(p, L.O_RDONLY | (flags & L.O_NONBLOCK));
  const writer = new PipeFile(p, L.O_WRONLY | (flags & (L.O_NONBLOCK | L.O_DIRECT)));
  const cloexec = (flags & L.O_CLOEXEC) !== 0;
  const rfd = t.fdTable.install(reader, cloexec);
  if (rfd < 0) {
    reader.decRef();
    writer.decRef();
    return rfd;
  }
  const wfd = t.fdTable.install(writer, cloexec);
  if (wfd < 0) {
    t.fdTable.remove(rfd)?.decRef();
    writer.decRef();
    return wfd;
  }
  return [rfd, wfd];
}

function pipe2(t: Task, addr: number, flags: number): number {
  const fds = newPipeFds(t, flags);
  if (typeof fds === "number") return fds;
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, fds[0], true);
  dv.setInt32(4, fds[1], true);
  const rc = t.mm.copyOut(addr, b);
  if (rc < 0) {
    t.fdTable.remove(fds[0])?.decRef();
    t.fdTable.remove(fds[1])?.decRef();
    return rc;
  }
  return 0;
}

export const pipeSyscalls: SyscallDef[] = [
  { nr: Sys.pipe, fn: (t) => pipe2(t, t.arg(0), 0), args: "p" },
  { nr: Sys.pipe2, fn: (t) => pipe2(t, t.arg(0), t.argInt(1)), args: "px" },
];
