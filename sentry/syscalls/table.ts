// The syscall table: one declarative list of every syscall the sentry implements, built from
// the families (one file each: sys_*.ts). Anything not listed returns ENOSYS, is counted
// and logged once. With --strace every call is printed, strace(1) style.
import { E, ERRNO_NAMES } from "../abi/errno.ts";
import { SYSCALL_NAMES } from "../abi/sysno.ts";
import { BLOCK, NO_RETURN, type Task } from "../kernel/task.ts";
import type { SyscallPolicy } from "../kernel/syscall_policy.ts";
import { Reg } from "../../ffi/platform.ts";
import * as L from "../abi/linux.ts";
import { binaryToText } from "../util/bytes.ts";

export const enum Support {
  /** Implemented as Linux specifies. */
  Full = "full",
  /** Implemented; some flags or cases return EINVAL/ENOSYS (see note). */
  Partial = "partial",
  /** Accepted and answered plausibly, without the effect (see note). */
  Stub = "stub",
}

export type Handler = (t: Task) => number;

export interface SyscallDef {
  nr: number;
  fn: Handler;
  status?: Support;
  note?: string;
  /** Argument kinds for strace: d int, u unsigned, x hex, p pointer, s string, f fd,
   * o octal. */
  args?: string;
}

const MAX_NR = 512;
const AUDIT_ARCH_X86_64 = 0xc000003e;

export class SyscallTable {
  private readonly handlers: Array<Handler | undefined> = new Array(MAX_NR);
  private readonly defs: Array<SyscallDef | undefined> = new Array(MAX_NR);
  private readonly warned = new Set<number>();

  constructor(families: SyscallDef[][]) {
    for (const fam of families) {
      for (const d of fam) {
        if (this.defs[d.nr]) throw new Error(`syscall ${SYSCALL_NAMES[d.nr]} defined twice`);
        this.defs[d.nr] = d;
        this.handlers[d.nr] = d.fn;
      }
    }
  }

  definition(nr: number): SyscallDef | undefined {
    return nr >= 0 && nr < MAX_NR ? this.defs[nr] : undefined;
  }

  /** All definitions, by number (for the README's compatibility table). */
  all(): SyscallDef[] {
    return this.defs.filter((d): d is SyscallDef => d !== undefined);
  }

  /** Runs the handler of t's current syscall (t.sysno). May be called again for the same
   * call after the task was parked (BLOCK). */
  dispatch(t: Task): number {
    const nr = t.sysno;
    t.kernel.current = t;
    const fn = nr >= 0 && nr < MAX_NR ? this.handlers[nr] : undefined;
    let r: number;
    const policy = t.creds.syscallPolicy;
    const refused = policy === null ? undefined : this.applyPolicy(t, nr, policy);
    if (refused !== undefined) {
      r = refused;
    } else if (fn === undefined) {
      r = this.unsupported(t, nr);
    } else {
      try {
        r = fn(t);
      } catch (e) {
        // A sentry bug. Like a kernel oops, it ends the process that hit it, never the
        // sentry; the log says where.
        t.kernel.bug(`${SYSCALL_NAMES[nr] ?? nr}`, e);
        t.kernel.signals.killGroup(t.tg, 9);
        if (t.state !== 5 /* Dead */) t.kernel.exitTask(t);
        return BLOCK;
      }
    }
    const strace = t.kernel.strace;
    if (strace !== null && r !== BLOCK) strace(this.format(t, nr, r));
    return r;
  }

  /** The container's seccomp profile on this call: undefined lets it through, a number is
   * its result instead (an errno, BLOCK once the process is killed, or the syscall number
   * left in rax when SIGSYS is raised, as Linux's SECCOMP_RET_TRAP leaves it). */
  private applyPolicy(t: Task, nr: number, policy: SyscallPolicy): number | undefined {
    const verdict = policy.decide(nr, t);
    switch (verdict.kind) {
      case "allow":
        if (verdict.log) t.kernel.log(`seccomp: ${SYSCALL_NAMES[nr] ?? nr} allowed (SCMP_ACT_LOG)`);
        return undefined;
      case "errno":
        return -verdict.errno;
      case "kill":
        t.kernel.log(`seccomp: ${SYSCALL_NAMES[nr] ?? nr} kills process ${t.tg.tgid}`);
        t.kernel.signals.killGroup(t.tg, L.SIGSYS, true);
        if (t.state !== 5 /* Dead */) t.kernel.exitTask(t);
        return BLOCK;
      case "trap":
        t.kernel.signals.forceSignal(t, {
          signo: L.SIGSYS,
          errno: verdict.data,
          code: L.SYS_SECCOMP,
          addr: t.slot.reg(Reg.RIP),
          syscall: nr,
          arch: AUDIT_ARCH_X86_64,
        });
        return nr;
    }
  }

  private unsupported(t: Task, nr: number): number {
    t.kernel.noteUnsupported(nr);
    if (!this.warned.has(nr)) {
      this.warned.add(nr);
      t.kernel.log(`unsupported syscall ${SYSCALL_NAMES[nr] ?? nr} (${nr}): ENOSYS`);
    }
    return -E.ENOSYS;
  }

  private format(t: Task, nr: number, r: number): string {
    const name = SYSCALL_NAMES[nr] ?? `syscall_${nr}`;
    const kinds = this.defs[nr]?.args ?? "";
    const parts: string[] = [];
    for (let i = 0; i < kinds.length; i++) parts.push(formatArg(t, i, kinds[i]));
    let res: string;
    if (r === NO_RETURN) res = "?";
    else if (r < 0 && r >= -4095) res = `-1 ${ERRNO_NAMES[-r] ?? "E" + -r} (errno ${-r})`;
    else if (r > 0xffff) res = "0x" + r.toString(16);
    else res = String(r);
    return `[pid ${t.tid}] ${name}(${parts.join(", ")}) = ${res}`;
  }
}

function formatArg(t: Task, i: number, kind: string): string {
  switch (kind) {
    case "d":
    case "f":
      return String(t.argInt(i));
    case "u":
      return String(t.arg(i));
    case "o":
      return "0" + t.argU32(i).toString(8);
    case "s": {
      const addr = t.arg(i);
      if (addr === 0) return "NULL";
      const s = t.mm.readCString(addr, 256);
      if (typeof s === "number") return "0x" + addr.toString(16);
      return JSON.stringify(binaryToText(s));
    }
    case "p":
      return t.arg(i) === 0 ? "NULL" : "0x" + t.arg(i).toString(16);
    default:
      return "0x" + t.arg(i).toString(16);
  }
}
