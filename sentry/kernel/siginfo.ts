// Signal numbers, sets and siginfo as the guest sees them.
import * as L from "../abi/linux.ts";

/** A signal set: bit (sig - 1) of a 64-bit bigint. */
export type SigSet = bigint;

export const sigBit = (sig: number): SigSet => 1n << BigInt(sig - 1);
export const UNBLOCKABLE = sigBit(L.SIGKILL) | sigBit(L.SIGSTOP);
export const ALL_SIGNALS: SigSet = (1n << 64n) - 1n;

/** Lowest signal in set, or 0. */
export function lowestSignal(set: SigSet): number {
  if (set === 0n) return 0;
  const lo = Number(set & 0xffffffffn);
  if (lo !== 0) return 31 - Math.clz32(lo & -lo) + 1;
  const hi = Number((set >> 32n) & 0xffffffffn);
  return 31 - Math.clz32(hi & -hi) + 33;
}

export const enum DefaultAction {
  Terminate,
  Core,
  Stop,
  Ignore,
  Continue,
}

export function defaultAction(sig: number): DefaultAction {
  switch (sig) {
    case L.SIGCHLD:
    case L.SIGURG:
    case L.SIGWINCH:
      return DefaultAction.Ignore;
    case L.SIGCONT:
      return DefaultAction.Continue;
    case L.SIGSTOP:
    case L.SIGTSTP:
    case L.SIGTTIN:
    case L.SIGTTOU:
      return DefaultAction.Stop;
    case L.SIGQUIT:
    case L.SIGILL:
    case L.SIGTRAP:
    case L.SIGABRT:
    case L.SIGBUS:
    case L.SIGFPE:
    case L.SIGSEGV:
    case L.SIGXCPU:
    case L.SIGXFSZ:
    case L.SIGSYS:
      return DefaultAction.Core;
    default:
      return DefaultAction.Terminate;
  }
}

export const SIGNAL_NAMES = [
  "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
  "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
  "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
  "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
];

export function signalName(sig: number): string {
  return SIGNAL_NAMES[sig] ?? `SIGRT${sig - 32}`;
}

/** struct siginfo (128 bytes). Fields beyond signo/errno/code depend on the kind. */
export interface SigInfo {
  signo: number;
  errno: number;
  code: number;
  /** kill/sigqueue/SIGCHLD: sender pid and uid. */
  pid?: number;
  uid?: number;
  /** SIGCHLD: exit status or signal; utime/stime in clock ticks. */
  status?: number;
  utime?: number;
  stime?: number;
  /** Faults: address; SIGSYS: call address. */
  addr?: number;
  /** sigqueue/timers: sigval (pointer-sized). */
  value?: number;
  /** POSIX timers: timer id and overrun. */
  timerId?: number;
  overrun?: number;
  /** SIGSYS: syscall number and arch. */
  syscall?: number;
  arch?: number;
  /** SIGIO/SIGPOLL: band and fd. */
  band?: number;
  fd?: number;
}

export const SIGINFO_SIZE = 128;

/** Serialises a siginfo the way the kernel lays it out for x86-64. */
export function encodeSigInfo(info: SigInfo): Uint8Array {
  const b = new Uint8Array(SIGINFO_SIZE);
  const dv = new DataView(b.buffer);
  dv.setInt32(0, info.signo, true);
  dv.setInt32(4, info.errno, true);
  dv.setInt32(8, info.code, true);
  const setU64 = (off: number, v: number) => {
    dv.setUint32(off, v >>> 0, true);
    dv.setUint32(off + 4, Math.floor(v / 4294967296) >>> 0, true);
  };
  const sig = info.signo;
  if (info.timerId !== undefined) {
    dv.setInt32(16, info.timerId, true);
    dv.setInt32(20, info.overrun ?? 0, true);
    setU64(24, info.value ?? 0);
  } else if (sig === L.SIGCHLD && info.code > 0) {
    dv.setInt32(16, info.pid ?? 0, true);
    dv.setUint32(20, info.uid ?? 0, true);
    dv.setInt32(24, info.status ?? 0, true);
    setU64(32, info.utime ?? 0);
    setU64(40, info.stime ?? 0);
  } else if (info.code > 0 && info.code < 0x80 &&
    (sig === L.SIGSEGV || sig === L.SIGBUS || sig === L.SIGILL || sig === L.SIGFPE ||
      sig === L.SIGTRAP)) {
    setU64(16, info.addr ?? 0);
  } else if (sig === L.SIGSYS && info.code === L.SYS_SECCOMP) {
    setU64(16, info.addr ?? 0);
    dv.setInt32(24, info.syscall ?? 0, true);
    dv.setUint32(28, info.arch ?? 0, true);
  } else if (sig === L.SIGIO && info.code > 0) {
    setU64(16, info.band ?? 0);
    dv.setInt32(24, info.fd ?? 0, true);
  } else {
    dv.setInt32(16, info.pid ?? 0, true);
    dv.setUint32(20, info.uid ?? 0, true);
    setU64(24, info.value ?? 0);
  }
  return b;
}

/** Reads a siginfo a guest supplied (rt_sigqueueinfo). */
export function decodeSigInfo(b: Uint8Array): SigInfo {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    signo: dv.getInt32(0, true),
    errno: dv.getInt32(4, true),
    code: dv.getInt32(8, true),
    pid: dv.getInt32(16, true),
    uid: dv.getUint32(20, true),
    value: dv.getUint32(24, true) + dv.getUint32(28, true) * 4294967296,
  };
}

export interface SigAction {
  handler: number;
  flags: number;
  restorer: number;
  mask: SigSet;
}

export const DEFAULT_SIGACTION: SigAction = { handler: L.SIG_DFL, flags: 0, restorer: 0, mask: 0n };
