// Host syscalls for the sentry (ffi/lib/hostcalls.c): every call returns a value >= 0 or
// -errno. Paths are binary strings (sentry/util/bytes.ts) relative to a directory fd.
import { bindLazily } from "./locate.ts";

const symbols = {
  sb_h_openat: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  sb_h_openat2_beneath: { parameters: ["i32", "buffer", "i32", "i32", "i32"], result: "i32" },
  sb_h_close: { parameters: ["i32"], result: "i32" },
  sb_h_dup: { parameters: ["i32"], result: "i32" },
  sb_h_fstatat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  sb_h_fstat: { parameters: ["i32", "buffer"], result: "i32" },
  sb_h_statx: { parameters: ["i32", "buffer", "i32", "i32", "buffer"], result: "i32" },
  sb_h_readlinkat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  sb_h_getdents64: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_h_lseek: { parameters: ["i32", "f64", "i32"], result: "f64" },
  sb_h_read: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_h_write: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_h_pread: { parameters: ["i32", "buffer", "i32", "f64"], result: "i32" },
  sb_h_pwrite: { parameters: ["i32", "buffer", "i32", "f64"], result: "i32" },
  sb_h_read_mem: { parameters: ["i32", "f64", "f64", "f64"], result: "f64" },
  sb_h_write_mem: { parameters: ["i32", "f64", "f64", "f64"], result: "f64" },
  sb_h_readv_mem: { parameters: ["i32", "buffer", "i32", "f64", "i32"], result: "f64" },
  sb_h_writev_mem: { parameters: ["i32", "buffer", "i32", "f64", "i32"], result: "f64" },
  sb_h_send_mem: { parameters: ["i32", "f64", "f64", "i32"], result: "f64" },
  sb_h_recv_mem: { parameters: ["i32", "f64", "f64", "i32"], result: "f64" },
  sb_h_mkdirat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_h_unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_h_renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  sb_h_symlinkat: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  sb_h_linkat: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  sb_h_mknodat: { parameters: ["i32", "buffer", "i32", "f64"], result: "i32" },
  sb_h_fchmodat: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  sb_h_fchmod: { parameters: ["i32", "i32"], result: "i32" },
  sb_h_fchownat: { parameters: ["i32", "buffer", "i32", "i32", "i32"], result: "i32" },
  sb_h_utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  sb_h_ftruncate: { parameters: ["i32", "f64"], result: "i32" },
  sb_h_fallocate: { parameters: ["i32", "i32", "f64", "f64"], result: "i32" },
  sb_h_fsync: { parameters: ["i32", "i32"], result: "i32" },
  sb_h_fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sb_h_ioctl: { parameters: ["i32", "u32", "buffer"], result: "i32" },
  sb_h_ioctl_int: { parameters: ["i32", "u32", "i32"], result: "i32" },
  sb_h_fstatfs: { parameters: ["i32", "buffer"], result: "i32" },
  sb_h_fgetxattr: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  sb_h_flistxattr: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_h_fsetxattr: { parameters: ["i32", "buffer", "buffer", "i32", "i32"], result: "i32" },
  sb_h_fremovexattr: { parameters: ["i32", "buffer"], result: "i32" },
  sb_h_fchmod_fd: { parameters: ["i32", "i32"], result: "i32" },
  sb_h_fdgetxattr: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  sb_h_fdsetxattr: { parameters: ["i32", "buffer", "buffer", "i32", "i32"], result: "i32" },
  sb_h_fdlistxattr: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_h_fdremovexattr: { parameters: ["i32", "buffer"], result: "i32" },
  sb_h_copy_file_range: { parameters: ["i32", "f64", "i32", "f64", "f64"], result: "f64" },
  sb_h_poll1: { parameters: ["i32", "i32"], result: "i32" },
  sb_h_reopen: { parameters: ["i32", "i32"], result: "i32" },
  sb_h_pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  sb_h_getrandom: { parameters: ["buffer", "i32"], result: "i32" },
  sb_h_clock_ns: { parameters: ["i32"], result: "f64" },
  sb_h_getpid: { parameters: [], result: "i32" },
  sb_h_getuid: { parameters: [], result: "i32" },
  sb_h_getgid: { parameters: [], result: "i32" },
  sb_h_isatty: { parameters: ["i32"], result: "i32" },
} as const;

type HostSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

let api: HostSymbols | null = null;

/** The host-call symbols, each bound on first use. */
export function host(): HostSymbols {
  return api ??= bindLazily(symbols);
}

/** struct stat (x86-64) field offsets, for buffers filled by sb_h_fstat(at). */
export const STAT_SIZE = 144;
export const enum StatOff {
  Dev = 0,
  Ino = 8,
  Nlink = 16,
  Mode = 24,
  Uid = 28,
  Gid = 32,
  Rdev = 40,
  Size = 48,
  Blksize = 56,
  Blocks = 64,
  Atime = 72,
  AtimeNs = 80,
  Mtime = 88,
  MtimeNs = 96,
  Ctime = 104,
  CtimeNs = 112,
}
