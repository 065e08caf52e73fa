// Every syscall family, assembled into the table (table.ts).
import { fsSyscalls } from "./sys_fs.ts";
import { fsmetaSyscalls } from "./sys_fsmeta.ts";
import { inotifySyscalls } from "./sys_inotify.ts";
import { lockSyscalls } from "./sys_locks.ts";
import { memfdSyscalls } from "./sys_memfd.ts";
import { xattrSyscalls } from "./sys_xattr.ts";
import { futexSyscalls } from "./sys_futex.ts";
import { miscSyscalls } from "./sys_misc.ts";
import { mmSyscalls } from "./sys_mm.ts";
import { epollSyscalls } from "./sys_epoll.ts";
import { eventfdSyscalls } from "./sys_eventfd.ts";
import { pipeSyscalls } from "./sys_pipe.ts";
import { pollSyscalls } from "./sys_poll.ts";
import { processSyscalls } from "./sys_process.ts";
import { signalfdSyscalls } from "./sys_signalfd.ts";
import { socketSyscalls } from "./sys_socket.ts";
import { spliceSyscalls } from "./sys_splice.ts";
import { signalSyscalls } from "./sys_signal.ts";
import { timeSyscalls } from "./sys_time.ts";
import { timerfdSyscalls } from "./sys_timerfd.ts";
import { type SyscallDef, SyscallTable } from "./table.ts";
// Socket families that register themselves in the socket layer (unix/ comes with sys_socket).
import "../socket/inet/inet.ts";
import "../socket/netlink/netlink.ts";

export const FAMILIES: SyscallDef[][] = [
  processSyscalls,
  mmSyscalls,
  signalSyscalls,
  timeSyscalls,
  futexSyscalls,
  fsSyscalls,
  fsmetaSyscalls,
  xattrSyscalls,
  lockSyscalls,
  inotifySyscalls,
  memfdSyscalls,
  miscSyscalls,
  pipeSyscalls,
  pollSyscalls,
  epollSyscalls,
  eventfdSyscalls,
  timerfdSyscalls,
  signalfdSyscalls,
  socketSyscalls,
  spliceSyscalls,
];

export function buildSyscallTable(): SyscallTable {
  return new SyscallTable(FAMILIES);
}
