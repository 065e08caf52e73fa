// A container's seccomp profile (OCI linux.seccomp), enforced by the sentry on the guest's
// syscalls. The guest's syscalls never reach the host kernel, so runc's way (a BPF filter
// installed in the container's process) has nothing to filter here; the dispatcher asks the
// policy instead, before the handler runs (syscalls/table.ts).
//
// Semantics, as runc's libseccomp profiles behave for the profiles engines write:
// - a syscall's rules are tried in the profile's order; the first whose argument conditions
//   all hold decides; none: the default action;
// - names the x86-64 table does not know are ignored (libseccomp skips them too);
// - the policy is inherited by every child and kept across execve, like a seccomp filter
//   (it lives in the task's credentials, which fork copies and exec keeps).
import { SYSCALL_NAMES } from "../abi/sysno.ts";

export type PolicyVerdict =
  | { kind: "allow"; log: boolean }
  | { kind: "errno"; errno: number }
  | { kind: "kill" } // the process ends as if killed by SIGSYS (with a core)
  | { kind: "trap"; data: number }; // SIGSYS (SYS_SECCOMP) to the thread, call not made

export const enum Cmp {
  NE,
  LT,
  LE,
  EQ,
  GE,
  GT,
  MASKED_EQ,
}

export interface ArgCondition {
  index: number; // 0..5
  op: Cmp;
  value: bigint;
  valueTwo: bigint;
}

export interface PolicyRule {
  verdict: PolicyVerdict;
  args: ArgCondition[];
}

/** One OCI profile entry, as config.ts parses it. */
export interface ProfileEntry {
  names: string[];
  action: string;
  errnoRet: number | null;
  args: Array<{ index: number; value: bigint; valueTwo: bigint; op: string }>;
}

/** Where decide() reads a call's arguments (a Task), each as a 64-bit unsigned value. */
export interface SyscallArgs {
  argBig(i: number): bigint;
}

export interface Profile {
  defaultAction: string;
  defaultErrnoRet: number | null;
  syscalls: ProfileEntry[];
}

const EPERM = 1, ENOSYS = 38;

const OPS: Record<string, Cmp> = {
  SCMP_CMP_NE: Cmp.NE,
  SCMP_CMP_LT: Cmp.LT,
  SCMP_CMP_LE: Cmp.LE,
  SCMP_CMP_EQ: Cmp.EQ,
  SCMP_CMP_GE: Cmp.GE,
  SCMP_CMP_GT: Cmp.GT,
  SCMP_CMP_MASKED_EQ: Cmp.MASKED_EQ,
};

/**
 * What an action means here. KILL and KILL_THREAD end the whole process, as KILL_PROCESS
 * does (the sentry does not end one thread alone). TRACE and NOTIFY answer ENOSYS: no tracer
 * or listener can attach to a sandbox, and that is Linux's answer when none is attached.
 */
function verdictOf(action: string, errnoRet: number | null): PolicyVerdict {
  switch (action) {
    case "SCMP_ACT_ALLOW":
      return { kind: "allow", log: false };
    case "SCMP_ACT_LOG":
      return { kind: "allow", log: true };
    case "SCMP_ACT_ERRNO":
      return { kind: "errno", errno: errnoRet ?? EPERM };
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD":
    case "SCMP_ACT_KILL_PROCESS":
      return { kind: "kill" };
    case "SCMP_ACT_TRAP":
      return { kind: "trap", data: errnoRet ?? 0 };
    case "SCMP_ACT_TRACE":
    case "SCMP_ACT_NOTIFY":
      return { kind: "errno", errno: ENOSYS };
    default:
      throw new Error(`unknown seccomp action ${action}`);
  }
}

const NUMBERS = new Map<string, number>(
  Object.entries(SYSCALL_NAMES).map(([nr, name]) => [name as string, Number(nr)]),
);

export class SyscallPolicy {
  private readonly rules = new Map<number, PolicyRule[]>();
  readonly defaultVerdict: PolicyVerdict;

  /** Throws Error on an action or operator it does not know (config.ts checks first). */
  constructor(profile: Profile) {
    this.defaultVerdict = verdictOf(profile.defaultAction, profile.defaultErrnoRet);
    for (const entry of profile.syscalls) {
      const verdict = verdictOf(entry.action, entry.errnoRet);
      const args = entry.args.map((a) => {
        const op = OPS[a.op];
        if (op === undefined) throw new Error(`unknown seccomp operator ${a.op}`);
        return { index: a.index, op, value: a.value, valueTwo: a.valueTwo };
      });
      for (const name of entry.names) {
        const nr = NUMBERS.get(name);
        if (nr === undefined) continue;
        let list = this.rules.get(nr);
        if (!list) this.rules.set(nr, list = []);
        list.push({ verdict, args });
      }
    }
  }

  /** The verdict on syscall nr with these arguments. Runs on every guest syscall of a
   * container with a profile: allocates nothing unless a rule tests an argument. */
  decide(nr: number, args: SyscallArgs): PolicyVerdict {
    const list = this.rules.get(nr);
    if (list) {
      for (const rule of list) {
        if (rule.args.every((c) => holds(c, args.argBig(c.index)))) return rule.verdict;
      }
    }
    return this.defaultVerdict;
  }
}

function holds(c: ArgCondition, v: bigint): boolean {
  switch (c.op) {
    case Cmp.NE:
      return v !== c.value;
    case Cmp.LT:
      return v < c.value;
    case Cmp.LE:
      return v <= c.value;
    case Cmp.EQ:
      return v === c.value;
    case Cmp.GE:
      return v >= c.value;
    case Cmp.GT:
      return v > c.value;
    case Cmp.MASKED_EQ:
      return (v & c.value) === c.valueTwo;
  }
}
