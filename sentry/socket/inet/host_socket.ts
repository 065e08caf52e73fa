// Mode host: inet sockets as host sockets the sentry holds (written below).
import { E } from "../../abi/errno.ts";
import type { Task } from "../../kernel/task.ts";
import type { SocketFile } from "../socket.ts";

export function createHostSocket(
  _t: Task,
  _family: number,
  _type: number,
  _protocol: number,
  _flags: number,
): SocketFile | number {
  return -E.EAFNOSUPPORT;
}
