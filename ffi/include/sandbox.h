/*
 * The layout shared by the stub (which runs guest code) and libsandbox (which runs in the
 * sentry). Both sides see the same bytes through two shared memfds:
 *
 *   memory file   all guest memory; the sentry maps it whole, stubs map ranges of it at
 *                 guest addresses on the sentry's request (fd STUB_FD_MEM in every stub).
 *   control file  the notification page (shared by every stub) and one control region per
 *                 stub (its thread slots). Stubs map their own region and the notification
 *                 page at start-up and then close the file, so a stub can never reach another
 *                 stub's slots.
 *
 * Guest addresses stay below GUEST_ADDR_LIMIT; everything above belongs to the platform and
 * the sentry refuses guest mappings there.
 *
 * Nothing here may be trusted by the sentry without checking: a guest can write every byte
 * of its own slots and of the notification page (they are mapped in its address space).
 */
#ifndef CORDON_SANDBOX_H
#define CORDON_SANDBOX_H

#include <stdint.h>

#define SB_PAGE 4096ull

/* Guest-visible address space: [SB_GUEST_MIN, SB_GUEST_ADDR_LIMIT). */
#define SB_GUEST_ADDR_LIMIT 0x7fff00000000ull

/* Platform-reserved addresses inside every stub. */
#define SB_STUB_IMAGE 0x7fff00000000ull   /* stub text/data/bss, linked here (stub.ld) */
#define SB_STUB_IMAGE_MAX (1ull << 20)
#define SB_STUB_NOTIFY 0x7fff40000000ull  /* the notification page */
#define SB_STUB_MASTER 0x7fff60000000ull  /* master stub's request page (master only) */
#define SB_STUB_CTRL 0x7fff80000000ull    /* this stub's control region */

/* Fixed file descriptors inside a stub. */
#define SB_FD_MEM 3      /* memory file */
#define SB_FD_DOORBELL 4 /* eventfd that wakes the sentry when it sleeps */
#define SB_FD_CTRL 5     /* control file (master only; children close it) */

/* Thread slots: one per guest thread. A slot is SB_SLOT_SIZE aligned in the stub so a
 * handler can find its slot from the alternate signal stack it runs on. */
#define SB_SLOT_SIZE (64 * 1024ull)
#define SB_SLOT_CTRL_SIZE (8 * 1024ull) /* control part; the rest is the signal stack */
#define SB_MAX_THREADS 1024             /* per stub (= per guest address space) */
#define SB_REGION_SIZE ((SB_MAX_THREADS + 1) * SB_SLOT_SIZE) /* header + slots */
#define SB_MAX_STUBS 4096

/* Control file layout. */
#define SB_CTRL_NOTIFY_OFF 0ull
#define SB_CTRL_MASTER_OFF (1ull << 20)
#define SB_CTRL_REGIONS_OFF (2ull << 20)
#define SB_CTRL_SIZE (SB_CTRL_REGIONS_OFF + (uint64_t)SB_MAX_STUBS * SB_REGION_SIZE)

/* Global slot id = stub index * SB_MAX_THREADS + thread index. */
#define SB_SLOT_ID(stub, idx) ((stub) * SB_MAX_THREADS + (idx))

/* Slot states (futex word). */
enum sb_slot_state {
  SB_RUNNING = 0, /* the thread runs guest code, or is on its way back to it */
  SB_POSTED = 1,  /* an event is posted; the thread waits for the sentry */
  SB_REPLIED = 2, /* the sentry answered; the thread performs the ops and resumes */
  SB_DEAD = 3,    /* the host thread has exited (or is about to, off its stack) */
};

/* Events a slot posts. */
enum sb_event {
  SB_EV_NONE = 0,
  SB_EV_SYSCALL = 1,   /* a guest syscall: regs.orig_rax and the argument registers */
  SB_EV_FAULT = 2,     /* SIGSEGV/SIGBUS on guest memory: sig.addr, sig.err (page fault code) */
  SB_EV_SIGNAL = 3,    /* another synchronous signal: SIGILL, SIGFPE, SIGTRAP (sig.*) */
  SB_EV_INTERRUPT = 4, /* the sentry asked the thread to stop (sb_interrupt) */
  SB_EV_READY = 5,     /* a new thread is ready to be given guest registers */
  SB_EV_OPFAIL = 6,    /* an op failed: op_failed_index, op_errno */
  SB_EV_FOREIGN = 7,   /* a 32-bit or x32 syscall (int 0x80, sysenter): never executed */
};

/* Ops the sentry asks a stopped thread to perform on its own address space before it
 * resumes. */
enum sb_op_kind {
  SB_OP_MMAP = 1,         /* map memory file [off, off+len) at addr with prot, shared, fixed */
  SB_OP_MUNMAP = 2,       /* unmap [addr, addr+len) */
  SB_OP_MPROTECT = 3,     /* change protections of [addr, addr+len) */
  SB_OP_CLONE_THREAD = 4, /* start a host thread in slot index `off` of this stub */
  SB_OP_EXIT_THREAD = 5,  /* this host thread exits (the op list ends here) */
  SB_OP_REPOST = 6,       /* post SB_EV_INTERRUPT instead of resuming: more ops follow */
};

#define SB_MAX_OPS 64

struct sb_op {
  uint32_t kind;
  uint32_t prot;
  uint64_t addr;
  uint64_t len;
  uint64_t off;
};

/* The CPU the caller runs on, without a syscall (Linux keeps it in TSC_AUX). */
static inline uint32_t sb_current_cpu(void) {
  uint32_t lo, hi, aux;
  __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
  (void)lo, (void)hi;
  return aux & 0xfff;
}

/* Register order of struct user_regs_struct (ptrace), so both mechanisms share one layout. */
struct sb_regs {
  uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
  uint64_t rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
  uint64_t fs_base, gs_base, ds, es, fs, gs;
};

struct sb_siginfo_lite {
  int32_t signo;
  int32_t code;
  uint64_t addr;   /* si_addr for faults */
  uint64_t trapno;
  uint64_t err;    /* page fault error code: bit 1 write, bit 4 instruction fetch */
};

/* The control part of a thread slot. The signal stack follows it up to SB_SLOT_SIZE. */
struct sb_slot {
  uint32_t state;      /* enum sb_slot_state; futex */
  uint32_t event;      /* enum sb_event */
  uint32_t sleeping;   /* the stub thread sleeps in futex wait on `state` */
  uint32_t host_tid;
  uint64_t seq;        /* events posted so far by this slot */
  struct sb_siginfo_lite sig;
  uint32_t syscall_arch; /* AUDIT_ARCH_* of a SYSCALL or FOREIGN event */
  uint32_t fs_dirty;     /* sentry set regs.fs_base/gs_base: apply them before resuming */
  uint64_t fpstate_off;  /* offset of the xsave area within the slot (0: none) */
  uint64_t fpstate_size;
  struct sb_regs regs;
  /* sentry -> stub */
  uint32_t nops;
  uint32_t op_failed_index;
  int64_t op_errno;
  uint32_t spin_ticks;   /* how long (TSC ticks) the stub spins for a reply before sleeping */
  uint32_t cpu;          /* the CPU the stub thread posted its last event from */
  struct sb_op ops[SB_MAX_OPS];
  /* stub only: the registers of a return to guest code without rt_sigreturn (stub.c,
   * fast_return): 15 general registers, an iretq frame, then a zero signal mask. */
  uint64_t fast_return[21] __attribute__((aligned(16)));
};
_Static_assert(sizeof(struct sb_slot) <= SB_SLOT_CTRL_SIZE, "slot control part");

/* ffi/platform.ts reads and writes slots at these offsets. */
_Static_assert(__builtin_offsetof(struct sb_slot, seq) == 16, "slot layout");
_Static_assert(__builtin_offsetof(struct sb_slot, sig) == 24, "slot layout");
_Static_assert(__builtin_offsetof(struct sb_slot, syscall_arch) == 56, "slot layout");
_Static_assert(__builtin_offsetof(struct sb_slot, fpstate_off) == 64, "slot layout");
_Static_assert(__builtin_offsetof(struct sb_slot, regs) == 80, "slot layout");
_Static_assert(__builtin_offsetof(struct sb_slot, nops) == 296, "slot layout");
_Static_assert(__builtin_offsetof(struct sb_slot, op_errno) == 304, "slot layout");
_Static_assert(__builtin_offsetof(struct sb_slot, ops) == 320, "slot layout");
_Static_assert(sizeof(struct sb_op) == 32, "op layout");
_Static_assert(sizeof(struct sb_slot) <= SB_PAGE, "a slot's control part leaves a page for a new thread's stack");

/* Header page of a stub's control region. */
struct sb_region_header {
  /* Bit i set: slot i posted an event (set after its state became SB_POSTED). */
  uint64_t thread_bits[SB_MAX_THREADS / 64];
  uint32_t stub_index;
  uint32_t ptrace_mode;  /* 1: the sentry ptraces this stub; no handlers, no seccomp traps */
  uint32_t ready;        /* ptrace mode: set by the sentry once attached */
  uint32_t pad;
  uint64_t sentry_pid;
};

/* How a stub thread tells the sentry it posted an event: it sets its bit in its region's
 * thread_bits, then its stub's bit here, then rings the doorbell if the sentry sleeps.
 * Setting a bit is one atomic instruction, so a producer preempted halfway never leaves a
 * hole that the sentry would have to wait for. */
struct sb_notify {
  uint32_t sentry_sleeping; /* the sentry is (about to be) in epoll_wait: ring the doorbell */
  uint32_t sentry_cpu;      /* the CPU the sentry last ran on: spinning there is useless */
  uint32_t pad[14];
  uint64_t stub_bits[SB_MAX_STUBS / 64];
};

/* The master stub's request page: the sentry asks it to fork new stubs. */
struct sb_master {
  uint32_t req_seq;     /* futex: bumped by the sentry for each request */
  uint32_t done_seq;    /* futex: set to req_seq by the master when done */
  uint32_t stub_index;  /* request: which control region the new stub takes */
  uint32_t ptrace_mode;
  int64_t result;       /* pid of the new stub, or -errno */
  uint64_t sentry_pid;
};

#define SB_STUB_REGION_OFF(idx) (SB_CTRL_REGIONS_OFF + (uint64_t)(idx) * SB_REGION_SIZE)
#define SB_SLOT_OFF(idx, t) (SB_STUB_REGION_OFF(idx) + (uint64_t)((t) + 1) * SB_SLOT_SIZE)

#endif
