// The seccomp profile matcher (sentry/kernel/syscall_policy.ts) alone: rule order, argument
// operators on 64-bit values, the actions' meanings and the default.
import { type SyscallArgs, SyscallPolicy } from "../../sentry/kernel/syscall_policy.ts";
import { assertEquals } from "./fs_helpers.ts";

const MKDIR = 83, CLONE = 56, WRITE = 1, READ = 0;

function args(...values: bigint[]): SyscallArgs {
  return { argBig: (i) => values[i] ?? 0n };
}

Deno.test("syscall policy: first matching rule decides, in profile order; else the default", () => {
  const p = new SyscallPolicy({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 38,
    syscalls: [
      {
        names: ["write"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: 9,
        args: [{ index: 0, value: 5n, valueTwo: 0n, op: "SCMP_CMP_EQ" }],
      },
      { names: ["write", "read"], action: "SCMP_ACT_ALLOW", errnoRet: null, args: [] },
      { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: null, args: [] },
    ],
  });
  assertEquals(JSON.stringify(p.decide(WRITE, args(5n))), '{"kind":"errno","errno":9}', "fd 5");
  assertEquals(p.decide(WRITE, args(1n)).kind, "allow", "fd 1");
  assertEquals(p.decide(READ, args(5n)).kind, "allow", "read");
  assertEquals(JSON.stringify(p.decide(MKDIR, args())), '{"kind":"errno","errno":1}', "EPERM");
  assertEquals(JSON.stringify(p.decide(CLONE, args())), '{"kind":"errno","errno":38}', "default");
});

Deno.test("syscall policy: operators compare unsigned 64-bit values; MASKED_EQ masks first", () => {
  const NEWNS = 0x20000n, NEWUSER = 0x10000000n;
  const p = new SyscallPolicy({
    defaultAction: "SCMP_ACT_ALLOW",
    defaultErrnoRet: null,
    syscalls: [{
      names: ["clone"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: 1,
      args: [{ index: 0, value: NEWNS | NEWUSER, valueTwo: 0n, op: "SCMP_CMP_MASKED_EQ" }],
    }],
  });
  // The rule holds (denies) only when neither flag is set: (flags & mask) == 0.
  assertEquals(p.decide(CLONE, args(0x11n)).kind, "errno", "plain fork");
  assertEquals(p.decide(CLONE, args(NEWUSER | 0x11n)).kind, "allow", "with CLONE_NEWUSER");
  const q = new SyscallPolicy({
    defaultAction: "SCMP_ACT_ALLOW",
    defaultErrnoRet: null,
    syscalls: [{
      names: ["write"],
      action: "SCMP_ACT_KILL",
      errnoRet: null,
      args: [{ index: 2, value: 1n << 40n, valueTwo: 0n, op: "SCMP_CMP_GT" }],
    }],
  });
  assertEquals(q.decide(WRITE, args(1n, 0n, (1n << 40n) + 1n)).kind, "kill", "above 2^40");
  assertEquals(q.decide(WRITE, args(1n, 0n, 1n << 40n)).kind, "allow", "equal");
  assertEquals(q.decide(WRITE, args(1n, 0n, 0xffffffffffffffffn)).kind, "kill", "-1 is huge");
});

Deno.test("syscall policy: TRACE and NOTIFY answer ENOSYS (nothing can attach); LOG allows", () => {
  const p = new SyscallPolicy({
    defaultAction: "SCMP_ACT_LOG",
    defaultErrnoRet: null,
    syscalls: [
      { names: ["read"], action: "SCMP_ACT_TRACE", errnoRet: null, args: [] },
      { names: ["write"], action: "SCMP_ACT_NOTIFY", errnoRet: null, args: [] },
      { names: ["not_a_syscall"], action: "SCMP_ACT_KILL", errnoRet: null, args: [] },
    ],
  });
  assertEquals(JSON.stringify(p.decide(READ, args())), '{"kind":"errno","errno":38}', "TRACE");
  assertEquals(JSON.stringify(p.decide(WRITE, args())), '{"kind":"errno","errno":38}', "NOTIFY");
  assertEquals(JSON.stringify(p.decide(MKDIR, args())), '{"kind":"allow","log":true}', "LOG");
});
