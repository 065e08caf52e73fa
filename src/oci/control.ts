// The control protocol between CLI commands and a running sandbox process: one
// SOCK_SEQPACKET connection per request on ROOT/ID/ctl.sock, one JSON message each way,
// file descriptors (stdio of an exec'd process) attached with SCM_RIGHTS.
//
//   {"op":"start"}                              -> {"ok":true} | {"error":"..."}
//   {"op":"kill","signal":N,"all":bool}         -> {"ok":true}
//   {"op":"exec","process":{...}} + fds         -> {"ok":true,"pid":N}, later
//                                                  {"op":"exit","status":W,"exitCode":C}
//   {"op":"signal","signal":N} (exec connection)   forwarded to the exec'd process
//   {"op":"ps"}                                 -> {"ok":true,"processes":[...]}
//   {"op":"pause"} / {"op":"resume"}            -> {"ok":true}
//   {"op":"update","memoryLimit":N|null}        -> {"ok":true}
//   {"op":"stats"}                              -> {"ok":true,"stats":{...}}
//
// Messages are at most MAX_MESSAGE bytes. The sandbox side lives in sandbox_process.ts.
import * as ffi from "../../ffi/oci.ts";
import { errnoName, OciError } from "./errors.ts";

export const CONTROL_SOCKET = "ctl.sock";

export interface Reply {
  ok?: boolean;
  error?: string;
  [k: string]: unknown;
}

/** Connects to a container's control socket. */
export function connectControl(dir: string): number {
  const dirFd = ffi.openDir(dir);
  if (dirFd < 0) throw new OciError(`cannot open ${dir}: ${errnoName(dirFd)}`);
  const fd = ffi.connect(`${dir}/${CONTROL_SOCKET}`, dirFd, CONTROL_SOCKET);
  ffi.close(dirFd);
  if (fd < 0) {
    throw new OciError(
      `cannot reach the sandbox process (${errnoName(fd)}): the container is not running`,
    );
  }
  return fd;
}

/** Sends one request on fd and reads the reply (timeoutMs < 0: no limit). */
export function exchange(
  fd: number,
  request: object,
  fds: number[] = [],
  timeoutMs = 30_000,
): Reply {
  const sent = ffi.sendMessage(fd, JSON.stringify(request), fds);
  if (sent < 0) throw new OciError(`sending to the sandbox process failed: ${errnoName(sent)}`);
  const got = ffi.recvMessage(fd, timeoutMs);
  if (typeof got === "number") {
    throw new OciError(`no answer from the sandbox process: ${errnoName(got)}`);
  }
  if (got.text === "") {
    throw new OciError("the sandbox process closed the connection (it may have exited)");
  }
  let reply: Reply;
  try {
    reply = JSON.parse(got.text);
  } catch {
    throw new OciError("the sandbox process sent a malformed reply");
  }
  for (const extra of got.fds) ffi.close(extra);
  return reply;
}

/** One request on a fresh connection; throws the sandbox's error if it refused. */
export function request(dir: string, req: object, fds: number[] = [], timeoutMs = 30_000): Reply {
  const fd = connectControl(dir);
  try {
    const reply = exchange(fd, req, fds, timeoutMs);
    if (reply.error !== undefined) throw new OciError(String(reply.error));
    return reply;
  } finally {
    ffi.close(fd);
  }
}
