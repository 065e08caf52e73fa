/*
 * The stub: the only host code that runs in a guest's address space.
 *
 * One process is the master: libsandbox execs it once, it drops everything the exec gave it
 * (stack, vDSO) and then forks a fresh stub for every guest address space the sentry asks
 * for. A stub maps its control region and the notification page, closes the control file, installs
 * its signal handlers and a seccomp filter, and from then on every guest thread of that
 * address space is a host thread of the stub.
 *
 * Trap mechanism: a guest syscall is trapped by seccomp (SIGSYS); faults arrive as SIGSEGV
 * and friends. The handler runs on the thread's slot, whose signal stack is shared with the
 * sentry, copies the registers into the slot, posts the event (sb_notify), waits for the
 * sentry's reply, performs the requested ops (mmap/munmap/mprotect/clone/exit) and goes back
 * to guest code: straight from the slot (xrstor, iretq; see fast_return), or, when the frame
 * does not pass its checks, by copying the registers into the signal frame and returning
 * through rt_sigreturn, which costs about 1 us more on these machines.
 *
 * Ptrace mechanism: the same stub, without handlers or traps; the sentry drives it with
 * PTRACE_SYSEMU and injects the ops as syscalls at stub_syscall_insn.
 *
 * Rules for this file: no libc, no TLS, no stack protector; every syscall is issued from
 * this image, whose address range is the only one seccomp lets syscalls through from.
 */
#include <stddef.h>
#include <stdint.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <asm/unistd_64.h>

#include "sandbox.h"

/* Everything is local to the image: address symbols PC-relatively (the image sits above 4 GiB). */
#pragma GCC visibility push(hidden)

#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGSYS 31
#define SB_KICK_SIGNAL SIGUSR1

#define SA_SIGINFO 0x4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000
#define SIG_IGN_HANDLER ((void *)1)
#define SS_ONSTACK 1
#define SYS_SECCOMP 1

#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_FIXED 0x10
#define PR_SET_PDEATHSIG 1
#define PR_SET_NO_NEW_PRIVS 38
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_PARENT 0x8000
#define CLONE_THREAD 0x10000
#define CLONE_SYSVSEM 0x40000
#define SB_THREAD_CLONE_FLAGS \
  (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)
#define AT_HWCAP2 26
#define HWCAP2_FSGSBASE 2
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define ENOMEM 12

struct k_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};

struct k_stack {
  void *ss_sp;
  int32_t ss_flags;
  uint64_t ss_size;
};

struct k_sigcontext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;
  uint64_t reserved1[8];
};

struct k_ucontext {
  uint64_t uc_flags;
  uint64_t uc_link;
  struct k_stack uc_stack;
  struct k_sigcontext mc;
  uint64_t uc_sigmask;
};

struct k_siginfo {
  int32_t si_signo;
  int32_t si_errno;
  int32_t si_code;
  int32_t pad;
  union {
    struct {
      uint64_t addr;
    } fault;
    struct {
      uint64_t call_addr;
      int32_t syscall;
      uint32_t arch;
    } sys;
  };
};

/* Linker-provided bounds of the image (stub.ld). */
extern char __stub_text_start[], __stub_text_end[], __stub_end[];

/* Assembly pieces (bottom of this file). */
extern void stub_restorer(void);
extern void stub_ready_trap(void);
extern void stub_syscall_insn(void);
extern long stub_clone_thread(unsigned long flags, void *stack, uint32_t idx);
extern void __attribute__((noreturn)) stub_exit_thread(uint32_t *state);

static int have_fsgsbase;

/* ---- raw syscalls ------------------------------------------------------------------ */

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static void __attribute__((noreturn)) die(int code) {
  for (;;) sys1(__NR_exit_group, code);
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

static void futex_wait(uint32_t *word, uint32_t val) {
  sys6(__NR_futex, (long)word, FUTEX_WAIT, val, 0, 0, 0);
}

static void futex_wake(uint32_t *word) { sys6(__NR_futex, (long)word, FUTEX_WAKE, 1, 0, 0, 0); }

static void *memset_(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}
/* The compiler may emit calls to memset/memcpy for struct copies. */
void *memset(void *dst, int c, size_t n) { return memset_(dst, c, n); }
void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

/* ---- slots and notification ------------------------------------------------------------ */

static struct sb_region_header *region(void) { return (void *)SB_STUB_CTRL; }

static struct sb_slot *slot_at(uint32_t idx) {
  return (void *)(SB_STUB_CTRL + (uint64_t)(idx + 1) * SB_SLOT_SIZE);
}

static struct sb_notify *notify(void) { return (void *)SB_STUB_NOTIFY; }

/* Publishes the slot's event to the sentry and waits for the reply.
 * Precondition: the slot's event fields are filled in. */
static void post_and_wait(struct sb_slot *slot, uint32_t idx) {
  struct sb_notify *n = notify();
  uint32_t stub = region()->stub_index;
  slot->seq++;
  __atomic_store_n(&slot->state, SB_POSTED, __ATOMIC_RELEASE);
  __atomic_fetch_or(&region()->thread_bits[idx / 64], 1ull << (idx % 64), __ATOMIC_RELEASE);
  __atomic_fetch_or(&n->stub_bits[stub / 64], 1ull << (stub % 64), __ATOMIC_RELEASE);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(&n->sentry_sleeping, __ATOMIC_RELAXED)) {
    uint64_t one = 1;
    sys3(__NR_write, SB_FD_DOORBELL, &one, 8);
  }
  /* Spin a little: a short syscall is answered in a microsecond or two, far less than a
   * futex sleep and wake-up costs. The sentry sets the budget, in TSC ticks. Spinning on the
   * CPU the sentry needs would only delay the answer: then sleep at once. */
  uint32_t cpu = sb_current_cpu();
  slot->cpu = cpu;
  uint64_t budget = slot->spin_ticks;
  if (__atomic_load_n(&n->sentry_cpu, __ATOMIC_RELAXED) == cpu) budget = 0;
  if (budget) {
    uint64_t start = rdtsc();
    while (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) == SB_POSTED) {
      if (rdtsc() - start > budget) break;
      cpu_relax();
    }
  }
  while (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) == SB_POSTED) {
    __atomic_store_n(&slot->sleeping, 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) == SB_POSTED)
      futex_wait(&slot->state, SB_POSTED);
    __atomic_store_n(&slot->sleeping, 0, __ATOMIC_RELAXED);
  }
}

/* Performs the ops the sentry queued. Returns 0, or posts an OPFAIL event and returns 1
 * (the caller then waits for a new reply). */
static int run_ops(struct sb_slot *slot) {
  uint32_t n = slot->nops;
  if (n > SB_MAX_OPS) n = SB_MAX_OPS;
  for (uint32_t i = 0; i < n; i++) {
    struct sb_op op = slot->ops[i];
    long rc = 0;
    switch (op.kind) {
      case SB_OP_MMAP:
        rc = sys6(__NR_mmap, op.addr, op.len, op.prot, MAP_SHARED | MAP_FIXED, SB_FD_MEM, op.off);
        if (rc >= 0 && (uint64_t)rc != op.addr) rc = -ENOMEM;
        break;
      case SB_OP_MUNMAP:
        rc = sys2(__NR_munmap, op.addr, op.len);
        break;
      case SB_OP_MPROTECT:
        rc = sys3(__NR_mprotect, op.addr, op.len, op.prot);
        break;
      case SB_OP_CLONE_THREAD: {
        uint32_t idx = (uint32_t)op.off;
        if (idx >= SB_MAX_THREADS) {
          rc = -22;
          break;
        }
        struct sb_slot *child = slot_at(idx);
        /* The new thread starts on the spare page of its slot's control part; its
         * signal stack (the rest of the slot) must not be in use when it traps. */
        void *stack = (char *)child + SB_SLOT_CTRL_SIZE;
        rc = stub_clone_thread(SB_THREAD_CLONE_FLAGS, stack, idx);
        break;
      }
      case SB_OP_EXIT_THREAD:
        slot->nops = 0;
        stub_exit_thread(&slot->state);
      case SB_OP_REPOST:
        slot->nops = 0;
        slot->event = SB_EV_INTERRUPT;
        return 1;
      default:
        rc = -22;
    }
    if (rc < 0) {
      slot->op_failed_index = i;
      slot->op_errno = -rc;
      slot->nops = 0;
      slot->event = SB_EV_OPFAIL;
      return 1;
    }
  }
  slot->nops = 0;
  return 0;
}

static inline uint64_t read_fs_base(void) {
  uint64_t v;
  if (have_fsgsbase) {
    __asm__ volatile("rdfsbase %0" : "=r"(v));
  } else {
    sys2(__NR_arch_prctl, ARCH_GET_FS, &v);
  }
  return v;
}

static inline uint64_t read_gs_base(void) {
  uint64_t v;
  if (have_fsgsbase) {
    __asm__ volatile("rdgsbase %0" : "=r"(v));
  } else {
    sys2(__NR_arch_prctl, ARCH_GET_GS, &v);
  }
  return v;
}

static inline void write_fs_gs_base(uint64_t fs, uint64_t gs) {
  if (have_fsgsbase) {
    __asm__ volatile("wrfsbase %0" ::"r"(fs));
    __asm__ volatile("wrgsbase %0" ::"r"(gs));
  } else {
    sys2(__NR_arch_prctl, ARCH_SET_FS, fs);
    sys2(__NR_arch_prctl, ARCH_SET_GS, gs);
  }
}

static void save_regs(struct sb_regs *r, const struct k_sigcontext *mc) {
  r->r8 = mc->r8, r->r9 = mc->r9, r->r10 = mc->r10, r->r11 = mc->r11;
  r->r12 = mc->r12, r->r13 = mc->r13, r->r14 = mc->r14, r->r15 = mc->r15;
  r->rdi = mc->rdi, r->rsi = mc->rsi, r->rbp = mc->rbp, r->rbx = mc->rbx;
  r->rdx = mc->rdx, r->rax = mc->rax, r->rcx = mc->rcx, r->rsp = mc->rsp;
  r->rip = mc->rip, r->eflags = mc->eflags;
  r->cs = mc->cs, r->ss = mc->ss;
}

static void load_regs(struct k_sigcontext *mc, const struct sb_regs *r) {
  mc->r8 = r->r8, mc->r9 = r->r9, mc->r10 = r->r10, mc->r11 = r->r11;
  mc->r12 = r->r12, mc->r13 = r->r13, mc->r14 = r->r14, mc->r15 = r->r15;
  mc->rdi = r->rdi, mc->rsi = r->rsi, mc->rbp = r->rbp, mc->rbx = r->rbx;
  mc->rdx = r->rdx, mc->rax = r->rax, mc->rcx = r->rcx, mc->rsp = r->rsp;
  mc->rip = r->rip, mc->eflags = r->eflags;
  /* cs and ss stay what the kernel saved: a guest never chooses its segments. */
}

extern void stub_fast_return(uint64_t *area, void *xsave) __attribute__((noreturn));
extern char stub_fast_return_end[];

/* True when ip is in stub_fast_return: a signal there interrupts a guest thread whose
 * registers are in slot->fast_return (and whose FPU state is already loaded). */
static int in_fast_return(uint64_t ip) {
  return ip >= (uint64_t)stub_fast_return && ip < (uint64_t)stub_fast_return_end;
}

/* The guest registers a return in progress holds (the inverse of fast_return's layout). */
static void regs_from_fast_return(struct sb_regs *r, const uint64_t *a) {
  r->r15 = a[0], r->r14 = a[1], r->r13 = a[2], r->r12 = a[3], r->rbp = a[4], r->rbx = a[5];
  r->r11 = a[6], r->r10 = a[7], r->r9 = a[8], r->r8 = a[9], r->rax = a[10], r->rcx = a[11];
  r->rdx = a[12], r->rsi = a[13], r->rdi = a[14];
  r->rip = a[15], r->cs = a[16], r->eflags = a[17], r->rsp = a[18], r->ss = a[19];
}

/* Flags a guest may set, as Linux's rt_sigreturn allows (CF PF AF ZF SF TF DF OF RF AC). */
#define GUEST_EFLAGS 0x50dd5ull
#define FP_XSTATE_MAGIC1 0x46505853u

static int canonical(uint64_t a) { return a < 0x0000800000000000ull || a >= 0xffff800000000000ull; }

/* True when the xsave area at fp (in the slot at base) is what XRSTOR accepts without a
 * fault: the kernel's own extended frame, standard form, no unknown features, a valid MXCSR.
 * Anything else (a frame a guest handed to rt_sigreturn without the extended part, say)
 * returns through the kernel, which checks it its own way. */
static int xsave_restorable(const uint8_t *fp, uint64_t base) {
  uint64_t at = (uint64_t)fp;
  if (at & 63 || at < base + SB_SLOT_CTRL_SIZE || at + 576 > base + SB_SLOT_SIZE) return 0;
  const uint32_t *sw = (const uint32_t *)(fp + 464);
  uint64_t xfeatures = *(const uint64_t *)(fp + 472);
  uint32_t xstate_size = sw[4];
  if (sw[0] != FP_XSTATE_MAGIC1 || xstate_size < 576 || at + xstate_size > base + SB_SLOT_SIZE)
    return 0;
  const uint64_t *header = (const uint64_t *)(fp + 512);
  if (header[0] & ~xfeatures) return 0;
  for (int i = 1; i < 8; i++)
    if (header[i]) return 0;
  uint32_t mxcsr = *(const uint32_t *)(fp + 24), mask = *(const uint32_t *)(fp + 28);
  if (mxcsr & ~(mask ? mask : 0xffbfu)) return 0;
  return 1;
}

/* Returns to guest code with slot->regs and the xsave area of the signal frame, without
 * rt_sigreturn, when everything checks (see xsave_restorable); otherwise returns, and the
 * caller goes back through the kernel. */
static void fast_return(struct sb_slot *slot, uint64_t base, const struct k_ucontext *uc) {
  const struct sb_regs *r = &slot->regs;
  uint8_t *fp = slot->fpstate_off ? (uint8_t *)(base + slot->fpstate_off) : 0;
  if (!fp || !canonical(r->rip) || !canonical(r->rsp) || !xsave_restorable(fp, base)) return;
  uint64_t *a = slot->fast_return;
  a[0] = r->r15, a[1] = r->r14, a[2] = r->r13, a[3] = r->r12, a[4] = r->rbp, a[5] = r->rbx;
  a[6] = r->r11, a[7] = r->r10, a[8] = r->r9, a[9] = r->r8, a[10] = r->rax, a[11] = r->rcx;
  a[12] = r->rdx, a[13] = r->rsi, a[14] = r->rdi;
  /* cs and ss stay what the kernel saved: a guest never chooses its segments. */
  a[15] = r->rip, a[16] = uc->mc.cs, a[17] = (r->eflags & GUEST_EFLAGS) | 0x202;
  a[18] = r->rsp, a[19] = uc->mc.ss, a[20] = 0;
  __atomic_store_n(&slot->state, SB_RUNNING, __ATOMIC_RELEASE);
  stub_fast_return(a, fp);
}

static int in_stub_text(uint64_t ip) {
  return ip >= (uint64_t)__stub_text_start && ip < (uint64_t)__stub_text_end;
}

/* The one signal handler. Runs on the thread's slot (its alternate signal stack) with every
 * signal blocked. */
static void handler(int sig, struct k_siginfo *si, struct k_ucontext *uc) {
  uint64_t sp = (uint64_t)__builtin_frame_address(0);
  uint64_t base = sp & ~(SB_SLOT_SIZE - 1);
  /* The handler must be on a slot's signal stack, entered from outside it: a guest that
   * points its stack into our slots only gets its own process killed. */
  if (base < SB_STUB_CTRL + SB_SLOT_SIZE || base >= SB_STUB_CTRL + SB_REGION_SIZE ||
      (uc->uc_stack.ss_flags & SS_ONSTACK) ||
      (uint64_t)uc->uc_stack.ss_sp != base + SB_SLOT_CTRL_SIZE)
    die(128 + SIGSYS);
  struct sb_slot *slot = (struct sb_slot *)base;
  uint32_t idx = (uint32_t)((base - SB_STUB_CTRL) / SB_SLOT_SIZE) - 1;
  uint64_t ip = uc->mc.rip;
  uint32_t event;

  slot->syscall_arch = 0;
  slot->regs.orig_rax = (uint64_t)-1;
  switch (sig) {
    case SIGSYS:
      if (si->si_code != SYS_SECCOMP) return; /* not from seccomp: ignore */
      slot->syscall_arch = si->sys.arch;
      slot->regs.orig_rax = (uint64_t)(int64_t)si->sys.syscall;
      event = si->sys.arch == AUDIT_ARCH_X86_64 && si->sys.syscall >= 0 &&
                      si->sys.syscall < 0x40000000
                  ? SB_EV_SYSCALL
                  : SB_EV_FOREIGN;
      break;
    case SB_KICK_SIGNAL:
      /* Not in guest code: nothing to interrupt, except on the way back to it. */
      if (in_stub_text(ip) && !in_fast_return(ip)) return;
      event = SB_EV_INTERRUPT;
      break;
    case SIGILL:
      if (ip == (uint64_t)stub_ready_trap) {
        event = SB_EV_READY;
        break;
      }
      /* fall through */
    default:
      if (in_stub_text(ip)) die(128 + sig); /* a fault in our own code */
      event = (sig == SIGSEGV || sig == SIGBUS) ? SB_EV_FAULT : SB_EV_SIGNAL;
      slot->sig.addr = si->fault.addr;
      break;
  }
  slot->sig.signo = sig;
  slot->sig.code = si->si_code;
  slot->sig.trapno = uc->mc.trapno;
  slot->sig.err = uc->mc.err;
  if (in_fast_return(ip))
    regs_from_fast_return(&slot->regs, slot->fast_return);
  else
    save_regs(&slot->regs, &uc->mc);
  slot->regs.fs_base = read_fs_base();
  slot->regs.gs_base = read_gs_base();
  uint64_t fp = uc->mc.fpstate;
  slot->fpstate_off = (fp > base && fp < base + SB_SLOT_SIZE) ? fp - base : 0;
  slot->event = event;

  do {
    post_and_wait(slot, idx);
  } while (run_ops(slot));

  if (slot->fs_dirty) {
    slot->fs_dirty = 0;
    write_fs_gs_base(slot->regs.fs_base, slot->regs.gs_base);
  }
  fast_return(slot, base, uc);
  load_regs(&uc->mc, &slot->regs);
  /* A guest never blocks host signals: rt_sigreturn restores an empty mask. */
  uc->uc_sigmask = 0;
  __atomic_store_n(&slot->state, SB_RUNNING, __ATOMIC_RELEASE);
}

/* ---- start-up ------------------------------------------------------------------------ */

static void install_handlers(void) {
  static const int sigs[] = {SIGSYS, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SB_KICK_SIGNAL};
  struct k_sigaction sa = {
      .handler = (void *)handler,
      .flags = SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
      .restorer = (void *)stub_restorer,
      .mask = ~0ull,
  };
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (sys4(__NR_rt_sigaction, sigs[i], &sa, 0, 8) < 0) die(120);
}

/* Ignores every other catchable signal: signals the host sends to a stub (a terminal's ^C,
 * SIGPIPE) are never the guest's; the guest's signals are the sentry's business. */
static void ignore_other_signals(void) {
  struct k_sigaction ign = {.handler = SIG_IGN_HANDLER, .flags = SA_RESTORER,
                            .restorer = (void *)stub_restorer};
  for (int s = 1; s <= 64; s++) {
    if (s == SIGKILL || s == 19 /* SIGSTOP */) continue;
    sys4(__NR_rt_sigaction, s, &ign, 0, 8);
  }
}

/* A tiny assembler for the filter: jumps name absolute instruction indices (labels below),
 * converted to BPF's relative offsets when the program is built. */
enum { L_ALLOW = 1000, L_KILL, L_TRAP, L_MMAP, L_WRITE, L_CLONE };
struct insn {
  uint16_t code;
  uint32_t k;
  uint16_t jt, jf; /* absolute targets (labels or indices); 0 = next */
  uint16_t label;  /* this instruction's label, or 0 */
};
#define LD(off) {BPF_LD | BPF_W | BPF_ABS, (off), 0, 0, 0}
#define JEQ(v, t, f) {BPF_JMP | BPF_JEQ | BPF_K, (v), (t), (f), 0}
#define JGE(v, t, f) {BPF_JMP | BPF_JGE | BPF_K, (v), (t), (f), 0}
#define RET(v) {BPF_RET | BPF_K, (v), 0, 0, 0}
#define LABEL(l, i) {i.code, i.k, i.jt, i.jf, l}
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)

/* Every syscall from outside the stub's text traps to the handler. From inside the text
 * only the calls the stub makes are allowed, with the arguments it uses; anything else
 * kills the stub. A guest that jumps into the text can thus issue only these. */
static void install_seccomp(void) {
  const uint32_t ip_lo = offsetof(struct seccomp_data, instruction_pointer);
  const uint32_t nr = offsetof(struct seccomp_data, nr);
  const struct insn code[] = {
      LD(offsetof(struct seccomp_data, arch)),
      JEQ(AUDIT_ARCH_X86_64, 0, L_TRAP),
      LD(ip_lo + 4),
      JEQ((uint32_t)(SB_STUB_IMAGE >> 32), 0, L_TRAP),
      LD(ip_lo),
      JGE((uint32_t)(uint64_t)__stub_text_start, 0, L_TRAP),
      JGE((uint32_t)(uint64_t)__stub_text_end, L_TRAP, 0),
      LD(nr),
      JEQ(__NR_rt_sigreturn, L_ALLOW, 0),
      JEQ(__NR_futex, L_ALLOW, 0),
      JEQ(__NR_munmap, L_ALLOW, 0),
      JEQ(__NR_mprotect, L_ALLOW, 0),
      JEQ(__NR_exit, L_ALLOW, 0),
      JEQ(__NR_exit_group, L_ALLOW, 0),
      JEQ(__NR_gettid, L_ALLOW, 0),
      JEQ(__NR_rt_sigprocmask, L_ALLOW, 0),
      JEQ(__NR_sigaltstack, L_ALLOW, 0),
      JEQ(__NR_arch_prctl, L_ALLOW, 0),
      JEQ(__NR_mmap, L_MMAP, 0),
      JEQ(__NR_write, L_WRITE, 0),
      JEQ(__NR_clone, L_CLONE, 0),
      RET(SECCOMP_RET_KILL_PROCESS),
      /* mmap: only the memory file, shared and fixed */
      LABEL(L_MMAP, ((struct insn)LD(ARG_LO(4)))),
      JEQ(SB_FD_MEM, 0, L_KILL),
      LD(ARG_LO(3)),
      JEQ(MAP_SHARED | MAP_FIXED, 0, L_KILL),
      LD(ARG_HI(3)),
      JEQ(0, L_ALLOW, L_KILL),
      /* write: only the doorbell */
      LABEL(L_WRITE, ((struct insn)LD(ARG_LO(0)))),
      JEQ(SB_FD_DOORBELL, 0, L_KILL),
      LD(ARG_HI(0)),
      JEQ(0, L_ALLOW, L_KILL),
      /* clone: only threads of this stub */
      LABEL(L_CLONE, ((struct insn)LD(ARG_LO(0)))),
      JEQ(SB_THREAD_CLONE_FLAGS, 0, L_KILL),
      LD(ARG_HI(0)),
      JEQ(0, L_ALLOW, L_KILL),
      LABEL(L_ALLOW, ((struct insn)RET(SECCOMP_RET_ALLOW))),
      LABEL(L_KILL, ((struct insn)RET(SECCOMP_RET_KILL_PROCESS))),
      LABEL(L_TRAP, ((struct insn)RET(SECCOMP_RET_TRAP))),
  };
  enum { N = sizeof code / sizeof code[0] };
  struct sock_filter prog[N];
  for (int i = 0; i < N; i++) {
    int t[2] = {code[i].jt, code[i].jf};
    for (int j = 0; j < 2; j++) {
      int target = i + 1;
      if (t[j] >= 1000) {
        for (int k = 0; k < N; k++)
          if (code[k].label == t[j]) target = k;
      } else if (t[j]) {
        target = t[j];
      }
      if (target <= i) die(118); /* BPF only jumps forward */
      t[j] = target - i - 1;
    }
    prog[i] = (struct sock_filter){code[i].code, (uint8_t)t[0], (uint8_t)t[1], code[i].k};
  }
  struct sock_fprog fp = {.len = N, .filter = prog};
  if (sys3(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0) < 0) die(121);
  if (sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0) die(122);
}

/* Parks the calling thread in its slot: it traps once (stub_ready_trap) so that the
 * kernel builds a real signal frame, which the sentry then fills with guest registers. */
void stub_thread_entry(uint32_t idx) {
  struct sb_slot *slot = slot_at(idx);
  slot->host_tid = (uint32_t)sys0(__NR_gettid);
  slot->spin_ticks = 0;
  if (!region()->ptrace_mode) {
    struct k_stack ss = {.ss_sp = (char *)slot + SB_SLOT_CTRL_SIZE, .ss_flags = 0,
                         .ss_size = SB_SLOT_SIZE - SB_SLOT_CTRL_SIZE};
    if (sys2(__NR_sigaltstack, &ss, 0) < 0) die(123);
    uint64_t none = 0;
    sys4(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &none, 0, 8);
  }
  stub_ready_trap();
  die(124); /* never reached: the sentry gives the thread guest registers */
}

/* A new stub, just forked by the master: make it a clean guest address space. */
static void __attribute__((noreturn)) child_start(uint32_t stub_index, uint32_t ptrace_mode,
                                                   uint64_t sentry_pid) {
  sys2(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL);
  if ((uint64_t)sys0(__NR_getppid) != sentry_pid) die(125);
  sys2(__NR_munmap, SB_STUB_MASTER, SB_PAGE);
  if (sys6(__NR_mmap, SB_STUB_NOTIFY, SB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
           SB_FD_CTRL, SB_CTRL_NOTIFY_OFF) < 0)
    die(126);
  if (sys6(__NR_mmap, SB_STUB_CTRL, SB_REGION_SIZE, PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_FIXED, SB_FD_CTRL, SB_STUB_REGION_OFF(stub_index)) < 0)
    die(127);
  sys1(__NR_close, SB_FD_CTRL);
  sys3(__NR_close_range, SB_FD_CTRL + 1, ~0u, 0);
  /* Under ptrace, guest syscalls stop before seccomp runs; the filter still guards
   * anything that would run under PTRACE_CONT. */
  if (!ptrace_mode) install_handlers();
  install_seccomp();
  if (ptrace_mode) {
    /* Wait for the sentry to attach; it then drives this thread directly. */
    while (!__atomic_load_n(&region()->ready, __ATOMIC_ACQUIRE))
      futex_wait(&region()->ready, 0);
  }
  stub_thread_entry(0);
  die(124);
}

static void __attribute__((noreturn)) master_loop(void) {
  struct sb_master *m = (void *)SB_STUB_MASTER;
  for (;;) {
    uint32_t req = __atomic_load_n(&m->req_seq, __ATOMIC_ACQUIRE);
    if (req == __atomic_load_n(&m->done_seq, __ATOMIC_ACQUIRE)) {
      futex_wait(&m->req_seq, req);
      continue;
    }
    uint32_t stub_index = m->stub_index, ptrace_mode = m->ptrace_mode;
    uint64_t sentry_pid = m->sentry_pid;
    long pid = sys6(__NR_clone, CLONE_PARENT, 0, 0, 0, 0, 0);
    if (pid == 0) child_start(stub_index, ptrace_mode, sentry_pid);
    m->result = pid;
    __atomic_store_n(&m->done_seq, req, __ATOMIC_RELEASE);
    futex_wake(&m->done_seq);
  }
}

/* Entry from _start, on the image's own stack, with the exec-time stack pointer. */
void __attribute__((noreturn)) stub_main(uint64_t *initial_sp) {
  /* argc, argv..., NULL, envp..., NULL, auxv pairs */
  uint64_t argc = initial_sp[0];
  uint64_t *p = initial_sp + 1 + argc + 1;
  while (*p) p++;
  for (p++; p[0]; p += 2)
    if (p[0] == AT_HWCAP2 && (p[1] & HWCAP2_FSGSBASE)) have_fsgsbase = 1;

  sys2(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL);
  /* Session of our own: the host terminal's signals are not for stubs. */
  sys0(__NR_setsid);
  ignore_other_signals();
  /* Drop everything but the image: the exec-time stack, the vDSO and vvar pages. */
  uint64_t end = ((uint64_t)__stub_end + SB_PAGE - 1) & ~(SB_PAGE - 1);
  sys2(__NR_munmap, 0, SB_STUB_IMAGE);
  sys2(__NR_munmap, end, 0x800000000000ull - end);
  if (sys6(__NR_mmap, SB_STUB_MASTER, SB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
           SB_FD_CTRL, SB_CTRL_MASTER_OFF) < 0)
    die(119);
  master_loop();
}
