// Host calls of the OCI runtime (ffi/lib/oci.c), with small wrappers that turn strings and
// fd lists into the buffers the C side takes. Every call returns a value >= 0 or -errno.
// Loaded on first use: the CLI's light commands (state, list) never pay for dlopen.
import { bindLazily } from "./locate.ts";

const symbols = {
  sb_oci_fork_sandbox: {
    parameters: ["buffer", "i32", "i32", "i32", "i32", "buffer"],
    result: "i32",
  },
  sb_oci_join_cgroups: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_oci_unshare: { parameters: ["i32"], result: "i32" },
  sb_oci_kill: { parameters: ["i32", "i32"], result: "i32" },
  sb_oci_waitpid: { parameters: ["i32", "i32"], result: "i32" },
  sb_oci_pidfd_open: { parameters: ["i32"], result: "i32" },
  sb_oci_poll: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sb_oci_setsid: { parameters: [], result: "i32" },
  sb_oci_getpid: { parameters: [], result: "i32" },
  sb_oci_catch_signals: { parameters: ["f64"], result: "i32" },
  sb_oci_read_signals: { parameters: ["buffer", "i32"], result: "i32" },
  sb_oci_wait_forwarding: { parameters: ["i32"], result: "i32" },
  sb_oci_listen: { parameters: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  sb_oci_connect: { parameters: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  sb_oci_accept: { parameters: ["i32"], result: "i32" },
  sb_oci_socketpair: { parameters: ["buffer"], result: "i32" },
  sb_oci_send: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  sb_oci_recv: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32", "buffer", "i32"],
    result: "i32",
  },
  sb_oci_openpty: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  sb_oci_send_console: { parameters: ["buffer", "i32"], result: "i32" },
  sb_oci_set_ctty: { parameters: ["i32"], result: "i32" },
  sb_oci_write_file_at: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  sb_oci_open_dir: { parameters: ["buffer"], result: "i32" },
  sb_oci_open_ns: { parameters: ["buffer"], result: "i32" },
  sb_oci_close: { parameters: ["i32"], result: "i32" },
  sb_oci_fork_waiter: { parameters: ["i32"], result: "i32" },
  sb_oci_make_mounts_private: { parameters: [], result: "i32" },
  sb_oci_mount_root_tmpfs: { parameters: ["buffer"], result: "i32" },
  sb_oci_bind_into: { parameters: ["buffer", "buffer", "i32"], result: "i32" },
  sb_oci_mkdir: { parameters: ["buffer", "i32"], result: "i32" },
  sb_oci_pivot: { parameters: ["buffer"], result: "i32" },
  sb_oci_drop_caps: { parameters: ["i32", "i32"], result: "i32" },
  sb_oci_no_new_privs: { parameters: [], result: "i32" },
  sb_oci_get_caps: { parameters: ["buffer"], result: "i32" },
  sb_oci_syscall_allowlist: { parameters: ["buffer", "i32"], result: "i32" },
  sb_oci_install_seccomp: { parameters: ["i32"], result: "i32" },
  sb_oci_trim_memory: { parameters: [], result: "i32" },
  sb_oci_exit: { parameters: ["i32"], result: "void" },
  sb_oci_memfd_from: { parameters: ["buffer", "i32"], result: "i32" },
  sb_oci_read_all: { parameters: ["i32", "buffer", "i32"], result: "i32" },
} as const;

type Symbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

let bound: Symbols | null = null;

/** The raw symbols, each bound on first use. */
export function oci(): Symbols {
  return bound ??= bindLazily(symbols);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A NUL-terminated UTF-8 string. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const b = encoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Several strings, each NUL-terminated, in one buffer. */
function cstrs(list: string[]): Uint8Array<ArrayBuffer> {
  const parts = list.map((s) => encoder.encode(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0) + 1);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length + 1;
  }
  return out;
}

function i32s(list: number[]): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new Int32Array(list.length ? list : [0]).buffer);
}

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

/** The steps of sb_oci_fork_sandbox, by the number it reports. */
export const FORK_STEPS = [
  "",
  "setsid",
  "joining the network namespace",
  "making the namespaces",
  "arranging fds",
  "fork",
];

export interface ForkRequest {
  /** Child fd i is fds[i] (-1: closed); every other fd is replaced by /dev/null. */
  fds: number[];
  nsFlags: number;
  netnsFd: number;
  newSession: boolean;
}

/**
 * Forks the sandbox process (see sb_oci_fork_sandbox for its preconditions: V8 must run
 * --single-threaded). Returns the child's pid in the parent and 0 in the child, or
 * { errno, step } when it could not be made.
 */
export function forkSandbox(r: ForkRequest): number | { errno: number; step: string } {
  const step = new Int32Array(1);
  const rc = oci().sb_oci_fork_sandbox(
    i32s(r.fds),
    r.fds.length,
    r.nsFlags,
    r.netnsFd,
    r.newSession ? 1 : 0,
    new Uint8Array(step.buffer),
  );
  if (rc < 0) return { errno: -rc, step: FORK_STEPS[step[0]] ?? "fork" };
  return rc;
}

/** Moves process pid into the cgroups of these cgroup.procs files; 0 or -errno. */
export function joinCgroups(pid: number, procs: string[]): number {
  return oci().sb_oci_join_cgroups(pid, cstrs(procs), procs.length);
}

export function listen(path: string, dirFd: number, name: string, stream = false): number {
  return oci().sb_oci_listen(cstr(path), dirFd, cstr(name), stream ? 1 : 0);
}

export function connect(path: string, dirFd = -1, name = "", stream = false): number {
  return oci().sb_oci_connect(cstr(path), dirFd, cstr(name), stream ? 1 : 0);
}

export function socketpair(): [number, number] | number {
  const out = new Int32Array(2);
  const rc = oci().sb_oci_socketpair(new Uint8Array(out.buffer));
  return rc < 0 ? rc : [out[0], out[1]];
}

/** Sends one message (JSON text) with fds attached. */
export function sendMessage(fd: number, text: string, fds: number[] = []): number {
  const b = encoder.encode(text);
  return oci().sb_oci_send(fd, b, b.length, i32s(fds), fds.length);
}

export const MAX_MESSAGE = 256 * 1024;
const recvBuf = new Uint8Array(MAX_MESSAGE);

/** Receives one message: its text ("" when the peer closed) and fds, or -errno. */
export function recvMessage(
  fd: number,
  timeoutMs: number,
  maxFds = 8,
): { text: string; fds: number[] } | number {
  const fdsOut = new Int32Array(Math.max(1, maxFds));
  const nOut = new Int32Array(1);
  const n = oci().sb_oci_recv(
    fd,
    recvBuf,
    recvBuf.length,
    new Uint8Array(fdsOut.buffer),
    maxFds,
    new Uint8Array(nOut.buffer),
    timeoutMs,
  );
  if (n < 0) return n;
  return {
    text: decoder.decode(recvBuf.subarray(0, n)),
    fds: Array.from(fdsOut.subarray(0, nOut[0])),
  };
}

export function openpty(rows: number, cols: number): [number, number] | number {
  const out = new Int32Array(2);
  const rc = oci().sb_oci_openpty(new Uint8Array(out.buffer), rows, cols);
  return rc < 0 ? rc : [out[0], out[1]];
}

export function sendConsole(socketPath: string, master: number): number {
  return oci().sb_oci_send_console(cstr(socketPath), master);
}

export function writeFileAt(dirFd: number, name: string, text: string): number {
  const b = encoder.encode(text);
  return oci().sb_oci_write_file_at(dirFd, cstr(name), b, b.length);
}

/** A sealed memfd holding text. */
export function memfdFrom(text: string): number {
  const b = encoder.encode(text);
  return oci().sb_oci_memfd_from(b, b.length);
}

/** The whole content of a file (at most maxBytes) as text, or -errno. */
export function readAll(fd: number, maxBytes: number): string | number {
  for (const size of [Math.min(maxBytes, 1 << 20), maxBytes]) {
    const buf = new Uint8Array(size);
    const n = oci().sb_oci_read_all(fd, buf, size);
    if (n === -27 /* EFBIG */ && size < maxBytes) continue;
    return n < 0 ? n : decoder.decode(buf.subarray(0, n));
  }
  return -27;
}

export function openDir(path: string): number {
  return oci().sb_oci_open_dir(cstr(path));
}

/** Opens any file read-only (close-on-exec): a namespace, a library. */
export function openReadOnly(path: string): number {
  return oci().sb_oci_open_ns(cstr(path));
}

export function close(fd: number): number {
  return oci().sb_oci_close(fd);
}

export function kill(pid: number, sig: number): number {
  return oci().sb_oci_kill(pid, sig);
}

/** Signals as a bit mask (bit n: signal n) for catchSignals. */
export function signalMask(signals: number[]): number {
  return signals.reduce((m, s) => m + 2 ** s, 0);
}

export function catchSignals(signals: number[]): number {
  return oci().sb_oci_catch_signals(signalMask(signals));
}

const sigBuf = new Uint8Array(64);
/** Signals caught since the last call (see catchSignals). */
export function readSignals(): number[] {
  const n = oci().sb_oci_read_signals(sigBuf, sigBuf.length);
  return n > 0 ? Array.from(sigBuf.subarray(0, n)) : [];
}

/** Capability sets of this process: effective, permitted, bounding. */
export function getCaps(): { effective: bigint; permitted: bigint; bounding: bigint } | number {
  const out = new Int32Array(6);
  const rc = oci().sb_oci_get_caps(new Uint8Array(out.buffer));
  if (rc < 0) return rc;
  const u = new Uint32Array(out.buffer);
  const join = (lo: number, hi: number) => (BigInt(u[hi]) << 32n) | BigInt(u[lo]);
  return { effective: join(0, 1), permitted: join(2, 3), bounding: join(4, 5) };
}

/** The host syscall numbers the sentry's seccomp filter allows outright. */
export function syscallAllowlist(): number[] {
  const out = new Int32Array(512);
  const n = oci().sb_oci_syscall_allowlist(new Uint8Array(out.buffer), 512);
  return Array.from(out.subarray(0, Math.min(n, 512)));
}
