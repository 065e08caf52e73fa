/*
 * The ptrace mechanism: the reference the trap mechanism is tested against.
 *
 * The sentry's JS thread (which must be the thread that attached: ptrace requests from any
 * other thread fail with ESRCH) drives each stub thread with PTRACE_SYSEMU. Stops become
 * the same slot events the trap mechanism posts, with the registers copied into the slot,
 * so the sentry cannot tell the two apart. Ops (mmap, munmap, mprotect, clone, exit) are
 * injected as syscalls at stub_syscall_insn.
 *
 * A waiter thread blocks in waitid(WNOWAIT) and rings the doorbell, so the sentry still has
 * one wait point (epoll) for stubs, host fds and timers; the JS thread then collects the
 * stops itself with waitpid.
 */
#include "platform.h"

#include <elf.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define SB_KICK_SIGNAL SIGUSR1
#define STUB_READY_TRAP_SYM "stub_ready_trap"

/* Addresses in the stub image, found from its symbol table at start-up. */
static uint64_t addr_ready_trap, addr_syscall_insn, addr_clone_thread, addr_text_end;

/* tid -> slot id (+1), open addressing. */
#define TID_MAP_SIZE 16384
static struct {
  uint32_t tid;
  uint32_t slot_plus1;
} tid_map[TID_MAP_SIZE];

/* Events collected by waitpid, waiting to be handed to the sentry. */
#define QUEUE_SIZE 8192
static uint32_t queue[QUEUE_SIZE];
static uint32_t q_head, q_tail;

static pthread_t waiter;
static uint32_t consumed_gen, children_gen;

static long futex(uint32_t *word, int op, uint32_t val) {
  return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* ---- symbol lookup in the embedded stub image --------------------------------------- */

extern const uint8_t sb_stub_image[], sb_stub_image_end[];

uint64_t sb_stub_symbol(const char *name) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)sb_stub_image;
  const Elf64_Shdr *sh = (const Elf64_Shdr *)(sb_stub_image + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_SYMTAB) continue;
    const Elf64_Sym *syms = (const Elf64_Sym *)(sb_stub_image + sh[i].sh_offset);
    const char *strs = (const char *)(sb_stub_image + sh[sh[i].sh_link].sh_offset);
    size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
    for (size_t j = 0; j < n; j++)
      if (strcmp(strs + syms[j].st_name, name) == 0) return syms[j].st_value;
  }
  return 0;
}

/* ---- tid map ------------------------------------------------------------------------ */

static void tid_put(uint32_t tid, uint32_t slot) {
  uint32_t h = (tid * 2654435761u) % TID_MAP_SIZE;
  for (uint32_t i = 0; i < TID_MAP_SIZE; i++, h = (h + 1) % TID_MAP_SIZE) {
    if (tid_map[h].tid == 0 || tid_map[h].tid == tid) {
      tid_map[h].tid = tid;
      tid_map[h].slot_plus1 = slot + 1;
      return;
    }
  }
}

static int tid_get(uint32_t tid) {
  uint32_t h = (tid * 2654435761u) % TID_MAP_SIZE;
  for (uint32_t i = 0; i < TID_MAP_SIZE; i++, h = (h + 1) % TID_MAP_SIZE) {
    if (tid_map[h].tid == tid) return (int)tid_map[h].slot_plus1 - 1;
    if (tid_map[h].tid == 0) return -1;
  }
  return -1;
}

/* Removal keeps probe chains intact by re-inserting the entries that follow. */
static void tid_del(uint32_t tid) {
  uint32_t h = (tid * 2654435761u) % TID_MAP_SIZE;
  for (uint32_t i = 0; i < TID_MAP_SIZE; i++, h = (h + 1) % TID_MAP_SIZE) {
    if (tid_map[h].tid == 0) return;
    if (tid_map[h].tid == tid) break;
  }
  if (tid_map[h].tid != tid) return;
  tid_map[h].tid = 0;
  for (uint32_t j = (h + 1) % TID_MAP_SIZE; tid_map[j].tid; j = (j + 1) % TID_MAP_SIZE) {
    uint32_t t = tid_map[j].tid, s = tid_map[j].slot_plus1;
    tid_map[j].tid = 0;
    tid_put(t, s - 1);
  }
}

/* ---- the waiter thread -------------------------------------------------------------- */

static void *waiter_main(void *arg) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  for (;;) {
    uint32_t gen = __atomic_load_n(&consumed_gen, __ATOMIC_ACQUIRE);
    uint32_t cgen = __atomic_load_n(&children_gen, __ATOMIC_ACQUIRE);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WNOWAIT | __WALL) < 0) {
      if (errno == ECHILD) futex(&children_gen, FUTEX_WAIT_PRIVATE, cgen);
      continue;
    }
    uint64_t one = 1;
    if (write(sb_g.doorbell, &one, 8) < 0) {
    }
    futex(&consumed_gen, FUTEX_WAIT_PRIVATE, gen);
  }
  return NULL;
}

int sb_ptrace_start(void) {
  addr_ready_trap = sb_stub_symbol(STUB_READY_TRAP_SYM);
  addr_syscall_insn = sb_stub_symbol("stub_syscall_insn");
  addr_clone_thread = sb_stub_symbol("stub_clone_thread");
  addr_text_end = sb_stub_symbol("__stub_text_end");
  if (!addr_ready_trap || !addr_syscall_insn || !addr_clone_thread) return -ENOEXEC;
  if (pthread_create(&waiter, NULL, waiter_main, NULL) != 0) return -EAGAIN;
  return 0;
}

/* ---- attaching ------------------------------------------------------------------------ */

int sb_ptrace_attach(uint32_t stub) {
  pid_t pid = sb_g.stubs[stub].pid;
  long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE;
  if (ptrace(PTRACE_SEIZE, pid, 0, opts) < 0) return -errno;
  tid_put((uint32_t)pid, SB_SLOT_ID(stub, 0));
  __atomic_add_fetch(&children_gen, 1, __ATOMIC_RELEASE);
  futex(&children_gen, FUTEX_WAKE_PRIVATE, 1);
  return 0;
}

void sb_ptrace_forget_stub(uint32_t stub) {
  for (uint32_t i = 0; i < TID_MAP_SIZE; i++)
    if (tid_map[i].tid && (tid_map[i].slot_plus1 - 1) / SB_MAX_THREADS == stub)
      tid_map[i].slot_plus1 = 0xffffffffu; /* tombstone: keeps chains, maps to nothing */
}

/* ---- collecting stops ----------------------------------------------------------------- */

static void enqueue(uint32_t id) {
  if (q_tail - q_head < QUEUE_SIZE) queue[q_tail++ % QUEUE_SIZE] = id;
}

static int get_regs(pid_t tid, struct sb_regs *r) {
  /* struct sb_regs has user_regs_struct's layout. */
  return ptrace(PTRACE_GETREGS, tid, 0, r) < 0 ? -errno : 0;
}

/* Turns one waitpid result into a slot event (queued), or resumes stops we do not report. */
static void handle_stop(pid_t tid, int status) {
  int id = tid_get((uint32_t)tid);
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    if (id >= 0) __atomic_store_n(&sb_slot_ptr((uint32_t)id)->state, SB_DEAD, __ATOMIC_RELEASE);
    if (id >= 0 && id % SB_MAX_THREADS == 0) {
      struct sb_stub_rec *st = &sb_g.stubs[id / SB_MAX_THREADS];
      if (st->pid == tid) {
        st->collected = 1;
        st->collected_status = status;
      }
    }
    tid_del((uint32_t)tid);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  if (id < 0 || (uint32_t)id >= SB_MAX_STUBS * SB_MAX_THREADS) {
    /* Not ours (or a tombstone): let it go. */
    ptrace(PTRACE_CONT, tid, 0, 0);
    return;
  }
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  if (event == PTRACE_EVENT_STOP) {
    /* A new thread's first stop (or a group stop): run it on to its ready trap. */
    ptrace(PTRACE_CONT, tid, 0, 0);
    return;
  }
  if (event != 0) {
    ptrace(PTRACE_CONT, tid, 0, 0);
    return;
  }
  s->host_tid = (uint32_t)tid;
  if (get_regs(tid, &s->regs) < 0) return;
  s->syscall_arch = 0;
  s->sig = (struct sb_siginfo_lite){0};
  if (sig == (SIGTRAP | 0x80)) {
    struct __ptrace_syscall_info info;
    memset(&info, 0, sizeof info);
    ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof info, &info);
    s->syscall_arch = info.arch;
    if (info.arch == 0xc000003e /* AUDIT_ARCH_X86_64 */ && info.entry.nr < 0x40000000) {
      s->event = SB_EV_SYSCALL;
      s->regs.orig_rax = info.entry.nr;
    } else {
      s->event = SB_EV_FOREIGN;
      s->regs.orig_rax = info.entry.nr;
    }
  } else {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    ptrace(PTRACE_GETSIGINFO, tid, 0, &si);
    s->sig.signo = sig;
    s->sig.code = si.si_code;
    s->regs.orig_rax = (uint64_t)-1;
    int in_stub = s->regs.rip >= SB_STUB_IMAGE && s->regs.rip < addr_text_end;
    if (sig == SIGILL && s->regs.rip == addr_ready_trap) {
      s->event = SB_EV_READY;
    } else if (sig == SB_KICK_SIGNAL) {
      if (in_stub) {
        ptrace(PTRACE_CONT, tid, 0, 0);
        return;
      }
      s->event = SB_EV_INTERRUPT;
    } else if (sig == SIGSYS) {
      /* Only if something let guest code run under PTRACE_CONT: seccomp caught it. */
      s->event = SB_EV_SYSCALL;
      s->regs.orig_rax = (uint64_t)(int64_t)si.si_syscall;
      s->syscall_arch = si.si_arch;
      if (si.si_arch != 0xc000003e) s->event = SB_EV_FOREIGN;
    } else if (sig == SIGSEGV || sig == SIGBUS) {
      s->event = SB_EV_FAULT;
      s->sig.addr = (uint64_t)si.si_addr;
      /* ptrace does not report the page fault error code: the sentry infers the access. */
      s->sig.err = 0;
      s->sig.trapno = 14;
    } else if (sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) {
      s->event = SB_EV_SIGNAL;
      s->sig.addr = (uint64_t)si.si_addr;
    } else {
      /* Signals the host sent a stub are not the guest's. */
      ptrace(PTRACE_CONT, tid, 0, 0);
      return;
    }
  }
  s->seq++;
  __atomic_store_n(&s->state, SB_POSTED, __ATOMIC_RELEASE);
  enqueue((uint32_t)id);
}

static int collect(void) {
  int found = 0;
  for (;;) {
    int status;
    pid_t tid = waitpid(-1, &status, WNOHANG | __WALL);
    if (tid <= 0) break;
    found = 1;
    handle_stop(tid, status);
  }
  __atomic_add_fetch(&consumed_gen, 1, __ATOMIC_RELEASE);
  futex(&consumed_gen, FUTEX_WAKE_PRIVATE, 1);
  return found;
}

int sb_ptrace_next_event(void) {
  if (q_head == q_tail) collect();
  while (q_head != q_tail) {
    uint32_t id = queue[q_head++ % QUEUE_SIZE];
    if (__atomic_load_n(&sb_slot_ptr(id)->state, __ATOMIC_ACQUIRE) == SB_POSTED) return (int)id;
  }
  return -1;
}

/* ---- injecting ops and resuming --------------------------------------------------------- */

/* Waits for `tid` to stop again after we continued it; handles other threads' stops that
 * arrive meanwhile. Returns the wait status or -errno. */
static int wait_tid(pid_t tid) {
  for (;;) {
    int status;
    pid_t got = waitpid(tid, &status, __WALL);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    return status;
  }
}

/* Runs one syscall in the stopped thread `tid` and returns its result. The thread's guest
 * registers are in the slot and are restored by the caller. */
static long inject(pid_t tid, long nr, long a, long b, long c, long d, long e, long f) {
  struct sb_regs r;
  if (get_regs(tid, &r) < 0) return -ESRCH;
  r.rip = addr_syscall_insn;
  r.rax = (uint64_t)nr;
  r.orig_rax = (uint64_t)-1;
  r.rdi = (uint64_t)a, r.rsi = (uint64_t)b, r.rdx = (uint64_t)c;
  r.r10 = (uint64_t)d, r.r8 = (uint64_t)e, r.r9 = (uint64_t)f;
  if (ptrace(PTRACE_SETREGS, tid, 0, &r) < 0) return -errno;
  if (ptrace(PTRACE_CONT, tid, 0, 0) < 0) return -errno;
  for (;;) {
    int st = wait_tid(tid);
    if (st < 0) return st;
    if (WIFEXITED(st) || WIFSIGNALED(st)) return -ESRCH;
    if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP && (st >> 16) == 0) break;
    /* Something else (a kick arriving meanwhile): suppress it and go on. */
    if (ptrace(PTRACE_CONT, tid, 0, 0) < 0) return -errno;
  }
  if (get_regs(tid, &r) < 0) return -ESRCH;
  return (long)r.rax;
}

/* Runs stub_clone_thread(flags, stack, idx) in the stopped thread of slot `self` and
 * registers the new thread for slot `idx` of the same stub. */
static long inject_clone(pid_t tid, uint32_t self, uint32_t stub, uint32_t idx) {
  struct sb_regs r;
  if (get_regs(tid, &r) < 0) return -ESRCH;
  /* A scratch stack at the top of our slot (its signal stack is unused under ptrace),
   * whose return address is the int3 after stub_syscall_insn. */
  uint8_t *self_slot = (uint8_t *)sb_slot_ptr(self);
  uint64_t self_va = SB_STUB_CTRL + (uint64_t)(self % SB_MAX_THREADS + 1) * SB_SLOT_SIZE;
  *(uint64_t *)(self_slot + SB_SLOT_SIZE - 64) = addr_syscall_insn + 2;
  r.rsp = self_va + SB_SLOT_SIZE - 64;
  r.rip = addr_clone_thread;
  r.orig_rax = (uint64_t)-1;
  r.rdi = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000;
  r.rsi = SB_STUB_CTRL + (uint64_t)(idx + 1) * SB_SLOT_SIZE + SB_SLOT_CTRL_SIZE;
  r.rdx = idx;
  if (ptrace(PTRACE_SETREGS, tid, 0, &r) < 0) return -errno;
  if (ptrace(PTRACE_CONT, tid, 0, 0) < 0) return -errno;
  long result = -EAGAIN;
  for (;;) {
    int st = wait_tid(tid);
    if (st < 0) return st;
    if (WIFEXITED(st) || WIFSIGNALED(st)) return -ESRCH;
    if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_CLONE) {
      unsigned long new_tid = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, 0, &new_tid);
      tid_put((uint32_t)new_tid, SB_SLOT_ID(stub, idx));
      result = (long)new_tid;
    } else if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP && (st >> 16) == 0) {
      break;
    }
    if (ptrace(PTRACE_CONT, tid, 0, 0) < 0) return -errno;
  }
  if (get_regs(tid, &r) < 0) return -ESRCH;
  return (long)r.rax < 0 ? (long)r.rax : result;
}

int sb_ptrace_resume(uint32_t id) {
  struct sb_slot *s = sb_slot_ptr(id);
  pid_t tid = (pid_t)s->host_tid;
  uint32_t stub = id / SB_MAX_THREADS;
  if (!tid || !sb_g.stubs[stub].alive) return -ESRCH;
  uint32_t n = s->nops > SB_MAX_OPS ? SB_MAX_OPS : s->nops;
  for (uint32_t i = 0; i < n; i++) {
    struct sb_op op = s->ops[i];
    long rc;
    switch (op.kind) {
      case SB_OP_MMAP:
        rc = inject(tid, SYS_mmap, (long)op.addr, (long)op.len, op.prot, 0x11, SB_FD_MEM, (long)op.off);
        if (rc >= 0 && (uint64_t)rc != op.addr) rc = -ENOMEM;
        break;
      case SB_OP_MUNMAP:
        rc = inject(tid, SYS_munmap, (long)op.addr, (long)op.len, 0, 0, 0, 0);
        break;
      case SB_OP_MPROTECT:
        rc = inject(tid, SYS_mprotect, (long)op.addr, (long)op.len, op.prot, 0, 0, 0);
        break;
      case SB_OP_CLONE_THREAD:
        rc = op.off < SB_MAX_THREADS ? inject_clone(tid, id, stub, (uint32_t)op.off) : -EINVAL;
        break;
      case SB_OP_EXIT_THREAD: {
        s->nops = 0;
        struct sb_regs r;
        if (get_regs(tid, &r) < 0) return -ESRCH;
        r.rip = addr_syscall_insn, r.rax = SYS_exit, r.rdi = 0, r.orig_rax = (uint64_t)-1;
        ptrace(PTRACE_SETREGS, tid, 0, &r);
        /* Its exit is reported later, maybe after the slot went to a new thread: forget
         * the tid now so that report cannot touch the slot. */
        tid_del((uint32_t)tid);
        __atomic_store_n(&s->state, SB_DEAD, __ATOMIC_RELEASE);
        ptrace(PTRACE_CONT, tid, 0, 0);
        return 0;
      }
      case SB_OP_REPOST:
        s->nops = 0;
        s->event = SB_EV_INTERRUPT;
        s->seq++;
        __atomic_store_n(&s->state, SB_POSTED, __ATOMIC_RELEASE);
        enqueue(id);
        return 0;
      default:
        rc = -EINVAL;
    }
    if (rc < 0) {
      s->op_failed_index = i;
      s->op_errno = -rc;
      s->nops = 0;
      s->event = SB_EV_OPFAIL;
      s->seq++;
      __atomic_store_n(&s->state, SB_POSTED, __ATOMIC_RELEASE);
      enqueue(id);
      return 0;
    }
  }
  s->nops = 0;
  s->fs_dirty = 0;
  struct sb_regs r = s->regs;
  /* cs and ss stay the kernel's. */
  struct sb_regs cur;
  if (get_regs(tid, &cur) < 0) return -ESRCH;
  r.cs = cur.cs, r.ss = cur.ss, r.ds = cur.ds, r.es = cur.es, r.fs = cur.fs, r.gs = cur.gs;
  r.orig_rax = (uint64_t)-1;
  if (ptrace(PTRACE_SETREGS, tid, 0, &r) < 0) return -errno;
  __atomic_store_n(&s->state, SB_RUNNING, __ATOMIC_RELEASE);
  if (ptrace(PTRACE_SYSEMU, tid, 0, 0) < 0) return -errno;
  return 0;
}

/* ---- FPU state ---------------------------------------------------------------------- */

int sb_ptrace_fpstate_load(uint32_t id) {
  struct sb_slot *s = sb_slot_ptr(id);
  struct iovec iov = {(uint8_t *)s + SB_SLOT_CTRL_SIZE, sb_g.xstate_size};
  if (ptrace(PTRACE_GETREGSET, s->host_tid, NT_X86_XSTATE, &iov) < 0) return -errno;
  s->fpstate_off = SB_SLOT_CTRL_SIZE;
  s->fpstate_size = iov.iov_len;
  return (int)iov.iov_len;
}

int sb_ptrace_fpstate_store(uint32_t id) {
  struct sb_slot *s = sb_slot_ptr(id);
  struct iovec iov = {(uint8_t *)s + SB_SLOT_CTRL_SIZE, s->fpstate_size ? s->fpstate_size : sb_g.xstate_size};
  if (ptrace(PTRACE_SETREGSET, s->host_tid, NT_X86_XSTATE, &iov) < 0) return -errno;
  return 0;
}
