/*
 * The platform, sentry side: the memory and control files, the master stub, stub
 * processes, the sentry's single wait point, and replies to stopped threads.
 *
 * Everything here runs on the sentry's JS thread through synchronous FFI calls; nothing
 * is thread-safe and nothing needs to be (ptrace.c's waiter thread only touches its own
 * state and the doorbell).
 */
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <cpuid.h>

#define SB_KICK_SIGNAL SIGUSR1
#define DOORBELL_TOKEN 0xffffffffull

struct sb_platform sb_g = {.memfd = -1, .ctrlfd = -1, .doorbell = -1, .epfd = -1, .imagefd = -1};
static struct sb_wait_result wait_result;
static int initialised;

extern const uint8_t sb_stub_image[], sb_stub_image_end[];

/* Spinning (TSC ticks). A round trip costs ~2 us when both sides spin and 15-50 us when a
 * side sleeps in futex or epoll (waking an idle vCPU is slow here), so both sides spin
 * briefly, but only while there are CPUs to spare: a spinner sharing a CPU with the thread
 * it waits for only delays it. in_flight counts threads resumed and not yet heard from,
 * i.e. guest threads that want a CPU. spin_success is a moving average (x256) of how often
 * the sentry's spin found an event; when spinning rarely pays, the sentry spins less. */
static uint64_t spin_max_ticks, stub_spin_ticks;
static int32_t in_flight, ncpu = 1;
static int last_resumed = -1;
static uint32_t spin_success = 256;

/* Slots whose events were collected but not yet handed out, and a bit per slot id saying
 * "handed to the sentry, not yet resumed": the notification bits are guest-writable, so a
 * slot may be announced twice, or not at all (then the safety scan finds it). */
#define PENDING_MAX 8192
static uint32_t pending[PENDING_MAX];
static uint32_t pending_head, pending_tail;
static uint64_t reported[(SB_MAX_STUBS * SB_MAX_THREADS) / 64];
static uint16_t max_slot_used[SB_MAX_STUBS];
static uint64_t last_scan_ns;

/* A bit per slot id: resumed, not yet heard from (counted in in_flight). */
static uint64_t flying[(SB_MAX_STUBS * SB_MAX_THREADS) / 64];

static void set_flying(uint32_t id, int on) {
  uint64_t bit = 1ull << (id % 64);
  int was = (flying[id / 64] & bit) != 0;
  if (on && !was) flying[id / 64] |= bit, in_flight++;
  if (!on && was) flying[id / 64] &= ~bit, in_flight--;
}

static int is_reported(uint32_t id) { return (reported[id / 64] >> (id % 64)) & 1; }
static void set_reported(uint32_t id) { reported[id / 64] |= 1ull << (id % 64); }
static void clear_reported(uint32_t id) { reported[id / 64] &= ~(1ull << (id % 64)); }
static void forget_slots(uint32_t stub);


static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts) {
  return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t calibrate_tsc(void) {
  uint64_t t0 = now_ns(), c0 = __rdtsc();
  while (now_ns() - t0 < 2000000) {
  }
  uint64_t t1 = now_ns(), c1 = __rdtsc();
  uint64_t per_us = (c1 - c0) * 1000 / (t1 - t0);
  return per_us ? per_us : 1000;
}

static uint32_t xstate_size(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d) || b < 576) return 4096;
  return b;
}

/* ---- the master stub ------------------------------------------------------------ */

struct spawn_args {
  int imagefd;
};

/* Runs in a CLONE_VM|CLONE_VFORK child: raw syscalls only, no allocation. */
static int spawn_master_child(void *p) {
  struct spawn_args *a = p;
  sigset_t none;
  sigemptyset(&none);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
  /* Move everything above the fixed numbers first, so no dup2 clobbers another source. */
  int mem = (int)syscall(SYS_fcntl, sb_g.memfd, F_DUPFD, 64);
  int bell = (int)syscall(SYS_fcntl, sb_g.doorbell, F_DUPFD, 64);
  int ctrl = (int)syscall(SYS_fcntl, sb_g.ctrlfd, F_DUPFD, 64);
  int image = (int)syscall(SYS_fcntl, a->imagefd, F_DUPFD, 64);
  if (mem < 0 || bell < 0 || ctrl < 0 || image < 0) syscall(SYS_exit, 127);
  if (syscall(SYS_dup2, mem, SB_FD_MEM) < 0 || syscall(SYS_dup2, bell, SB_FD_DOORBELL) < 0 ||
      syscall(SYS_dup2, ctrl, SB_FD_CTRL) < 0 ||
      syscall(SYS_dup3, image, SB_FD_CTRL + 1, O_CLOEXEC) < 0)
    syscall(SYS_exit, 127);
  syscall(SYS_close_range, SB_FD_CTRL + 2, ~0u, 0);
  syscall(SYS_personality, ADDR_NO_RANDOMIZE);
  char *argv[] = {"cordon-stub", NULL};
  char *envp[] = {NULL};
  syscall(SYS_execveat, SB_FD_CTRL + 1, "", argv, envp, AT_EMPTY_PATH);
  syscall(SYS_exit, 127);
  return 127;
}

static int spawn_master(void) {
  sb_g.imagefd = memfd_create("cordon-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (sb_g.imagefd < 0) return -errno;
  size_t len = (size_t)(sb_stub_image_end - sb_stub_image);
  if (write(sb_g.imagefd, sb_stub_image, len) != (ssize_t)len) return -EIO;
  fcntl(sb_g.imagefd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);

  sb_g.master = (struct sb_master *)(sb_g.ctrl + SB_CTRL_MASTER_OFF);
  memset(sb_g.master, 0, sizeof *sb_g.master);
  size_t stack_size = 64 * 1024;
  char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED) return -errno;
  struct spawn_args a = {.imagefd = sb_g.imagefd};
  pid_t pid = clone(spawn_master_child, stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
  int err = errno;
  munmap(stack, stack_size);
  if (pid < 0) return -err;
  /* The vfork child either exec'd (we run again) or exited with 127. */
  int status;
  if (waitpid(pid, &status, WNOHANG) == pid) return -ENOEXEC;
  sb_g.master_pid = pid;
  return 0;
}

/* ---- init ---------------------------------------------------------------------- */

int sb_init(int mechanism, double mem_size) {
  if (initialised) return -EALREADY;
  sb_g.mechanism = mechanism;
  sb_g.sentry_pid = getpid();
  sb_g.mem_size = (uint64_t)mem_size;
  sb_g.xstate_size = xstate_size();
  sb_g.tsc_per_us = calibrate_tsc();
  /* Spin budgets (microseconds), overridable for measurements. */
  const char *env = getenv("CORDON_SPIN_US");
  uint64_t spin_us = env ? strtoull(env, NULL, 10) : 30;
  env = getenv("CORDON_STUB_SPIN_US");
  uint64_t stub_spin_us = env ? strtoull(env, NULL, 10) : 30;
  spin_max_ticks = spin_us * sb_g.tsc_per_us;
  stub_spin_ticks = stub_spin_us * sb_g.tsc_per_us;
  ncpu = (int32_t)sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1) ncpu = 1;
  /* Experimental: keep the sentry's thread on one CPU so guest threads get the others. */
  env = getenv("CORDON_PIN_SENTRY");
  if (env && *env && ncpu > 1) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(atoi(env), &set);
    sched_setaffinity(0, sizeof set, &set);
  }

  sb_g.memfd = memfd_create("cordon-memory", MFD_CLOEXEC);
  if (sb_g.memfd < 0 || ftruncate(sb_g.memfd, (off_t)sb_g.mem_size) < 0) return -errno;
  sb_g.mem = mmap(NULL, sb_g.mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                  sb_g.memfd, 0);
  if (sb_g.mem == MAP_FAILED) return -errno;

  sb_g.ctrlfd = memfd_create("cordon-control", MFD_CLOEXEC);
  if (sb_g.ctrlfd < 0 || ftruncate(sb_g.ctrlfd, (off_t)SB_CTRL_SIZE) < 0) return -errno;
  sb_g.ctrl = mmap(NULL, SB_CTRL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   sb_g.ctrlfd, 0);
  if (sb_g.ctrl == MAP_FAILED) return -errno;

  sb_g.doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  sb_g.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (sb_g.doorbell < 0 || sb_g.epfd < 0) return -errno;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = DOORBELL_TOKEN};
  if (epoll_ctl(sb_g.epfd, EPOLL_CTL_ADD, sb_g.doorbell, &ev) < 0) return -errno;

  if (mechanism == SB_MECH_PTRACE) {
    int rc = sb_ptrace_start();
    if (rc < 0) return rc;
  }
  int rc = spawn_master();
  if (rc < 0) return rc;
  initialised = 1;
  return 0;
}

void *sb_mem_base(void) { return sb_g.mem; }
void *sb_ctrl_base(void) { return sb_g.ctrl; }
void *sb_wait_result_ptr(void) { return &wait_result; }
int sb_xstate_size(void) { return (int)sb_g.xstate_size; }
int sb_mechanism(void) { return sb_g.mechanism; }
double sb_tsc_per_us(void) { return (double)sb_g.tsc_per_us; }

/* ---- stubs ----------------------------------------------------------------------- */

/* Waits until the master has finished request `req`. */
static int master_wait(uint32_t req) {
  struct sb_master *m = sb_g.master;
  uint64_t deadline = now_ns() + 5000000000ull;
  for (;;) {
    uint32_t done = __atomic_load_n(&m->done_seq, __ATOMIC_ACQUIRE);
    if (done == req) return 0;
    if (now_ns() > deadline) return -ETIMEDOUT;
    struct timespec ts = {0, 10000000};
    futex(&m->done_seq, FUTEX_WAIT, done, &ts);
  }
}

/* Asks the master to fork a stub for region stub_index; returns the request number. The
 * master reads one request at a time, so the previous one must be done first. */
static int master_post(uint32_t stub_index, int ptrace_mode, uint32_t *req_out) {
  struct sb_master *m = sb_g.master;
  int rc = master_wait(__atomic_load_n(&m->req_seq, __ATOMIC_ACQUIRE));
  if (rc < 0) return rc;
  m->stub_index = stub_index;
  m->ptrace_mode = (uint32_t)ptrace_mode;
  m->sentry_pid = (uint64_t)sb_g.sentry_pid;
  *req_out = __atomic_add_fetch(&m->req_seq, 1, __ATOMIC_ACQ_REL);
  futex(&m->req_seq, FUTEX_WAKE, 1, NULL);
  return 0;
}

static int master_request(uint32_t stub_index, int ptrace_mode, long *result) {
  uint32_t req;
  int rc = master_post(stub_index, ptrace_mode, &req);
  if (rc < 0) return rc;
  rc = master_wait(req);
  if (rc < 0) return rc;
  *result = (long)sb_g.master->result;
  return 0;
}

/* A free stub index with a fresh control region, or -EAGAIN. */
static int claim_stub_index(int ptrace_mode) {
  int idx = -1;
  for (int i = 0; i < SB_MAX_STUBS; i++)
    if (!sb_g.stubs[i].alive && !sb_g.stubs[i].spawning && sb_g.stubs[i].pidfd == 0) {
      idx = i;
      break;
    }
  if (idx < 0) return -EAGAIN;
  uint8_t *region = sb_g.ctrl + SB_STUB_REGION_OFF(idx);
  memset(region, 0, SB_PAGE);
  forget_slots((uint32_t)idx);
  struct sb_region_header *h = (struct sb_region_header *)region;
  h->stub_index = (uint32_t)idx;
  h->ptrace_mode = (uint32_t)ptrace_mode;
  h->sentry_pid = (uint64_t)sb_g.sentry_pid;
  return idx;
}

/* Starts creating a stub without waiting (trap mechanism only): its slot 0 posts
 * SB_EV_READY when it is up, and the stub is registered then (see collect_notified).
 * Returns the stub index or -errno. */
int sb_stub_spawn(void) {
  if (!initialised || sb_g.mechanism != SB_MECH_TRAP) return -EINVAL;
  int idx = claim_stub_index(0);
  if (idx < 0) return idx;
  uint32_t req;
  int rc = master_post((uint32_t)idx, 0, &req);
  if (rc < 0) return rc;
  sb_g.stubs[idx].spawning = 1;
  return idx;
}

/* A spawned stub reported in: its slot 0 holds its pid (its first thread's tid). */
static int finish_spawn(uint32_t idx) {
  struct sb_slot *s0 = sb_slot_ptr(SB_SLOT_ID(idx, 0));
  pid_t pid = (pid_t)__atomic_load_n(&s0->host_tid, __ATOMIC_ACQUIRE);
  if (pid <= 0) return -EINVAL;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return -errno;
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SB_TOKEN_STUB_EXIT | idx};
  epoll_ctl(sb_g.epfd, EPOLL_CTL_ADD, pidfd, &ev);
  sb_g.stubs[idx] = (struct sb_stub_rec){.pid = pid, .pidfd = pidfd, .alive = 1};
  return 0;
}

/* Creates a stub: a fresh guest address space whose thread slot 0 will post SB_EV_READY.
 * Returns the stub index or -errno. */
int sb_stub_create(void) {
  if (!initialised) return -EINVAL;
  int ptrace_mode = sb_g.mechanism == SB_MECH_PTRACE;
  int idx = claim_stub_index(ptrace_mode);
  if (idx < 0) return idx;
  struct sb_region_header *h = (struct sb_region_header *)(sb_g.ctrl + SB_STUB_REGION_OFF(idx));

  long pid;
  int rc = master_request((uint32_t)idx, ptrace_mode, &pid);
  if (rc < 0) return rc;
  if (pid < 0) return (int)pid;
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (pidfd < 0) {
    int err = errno;
    kill((pid_t)pid, SIGKILL);
    return -err;
  }
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SB_TOKEN_STUB_EXIT | (uint32_t)idx};
  epoll_ctl(sb_g.epfd, EPOLL_CTL_ADD, pidfd, &ev);
  sb_g.stubs[idx] = (struct sb_stub_rec){.pid = (pid_t)pid, .pidfd = pidfd, .alive = 1,
                                         .ptrace = (uint8_t)ptrace_mode};
  if (ptrace_mode) {
    rc = sb_ptrace_attach((uint32_t)idx);
    if (rc < 0) {
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      return rc;
    }
    __atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
    futex(&h->ready, FUTEX_WAKE, 1, NULL);
  }
  return idx;
}

int sb_stub_pid(int idx) {
  if (idx < 0 || idx >= SB_MAX_STUBS || !sb_g.stubs[idx].pidfd) return -EINVAL;
  return sb_g.stubs[idx].pid;
}

int sb_stub_kill(int idx) {
  if (idx < 0 || idx >= SB_MAX_STUBS || !sb_g.stubs[idx].pidfd) return -EINVAL;
  if (syscall(SYS_pidfd_send_signal, sb_g.stubs[idx].pidfd, SIGKILL, NULL, 0) < 0) return -errno;
  return 0;
}

/* Collects an exited stub and frees its index and control region. Returns its wait status
 * (as waitpid encodes it), -EAGAIN if it has not exited yet. */
int sb_stub_reap(int idx) {
  if (idx < 0 || idx >= SB_MAX_STUBS || !sb_g.stubs[idx].pidfd) return -EINVAL;
  struct sb_stub_rec *s = &sb_g.stubs[idx];
  int status;
  if (s->collected) {
    status = s->collected_status;
  } else {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PIDFD, (id_t)s->pidfd, &si, WEXITED | WNOHANG | __WALL) < 0) return -errno;
    if (si.si_pid == 0) return -EAGAIN;
    status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : (si.si_status & 0x7f);
  }
  epoll_ctl(sb_g.epfd, EPOLL_CTL_DEL, s->pidfd, NULL);
  close(s->pidfd);
  if (s->ptrace) sb_ptrace_forget_stub((uint32_t)idx);
  forget_slots((uint32_t)idx);
  fallocate(sb_g.ctrlfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
            (off_t)SB_STUB_REGION_OFF(idx), (off_t)SB_REGION_SIZE);
  *s = (struct sb_stub_rec){0};
  return status;
}

/* Readies slot `idx` of stub `stub` for a new thread (SB_OP_CLONE_THREAD). The slot must be
 * unused or SB_DEAD. */
int sb_slot_prepare(int stub, int idx) {
  if (stub < 0 || stub >= SB_MAX_STUBS || idx < 0 || idx >= SB_MAX_THREADS) return -EINVAL;
  memset(sb_g.ctrl + SB_SLOT_OFF(stub, idx), 0, SB_SLOT_CTRL_SIZE);
  clear_reported(SB_SLOT_ID(stub, idx));
  if (idx > max_slot_used[stub]) max_slot_used[stub] = (uint16_t)idx;
  return 0;
}

/* ---- the wait point -------------------------------------------------------------- */

static void push_pending(uint32_t id) {
  if (pending_tail - pending_head < PENDING_MAX) pending[pending_tail++ % PENDING_MAX] = id;
}

/* Moves announced slots from the notification bitmaps into `pending`. */
static void collect_notified(void) {
  struct sb_notify *n = (struct sb_notify *)(sb_g.ctrl + SB_CTRL_NOTIFY_OFF);
  for (uint32_t w = 0; w < SB_MAX_STUBS / 64; w++) {
    if (!__atomic_load_n(&n->stub_bits[w], __ATOMIC_RELAXED)) continue;
    uint64_t stubs = __atomic_exchange_n(&n->stub_bits[w], 0, __ATOMIC_ACQ_REL);
    while (stubs) {
      uint32_t stub = w * 64 + (uint32_t)__builtin_ctzll(stubs);
      stubs &= stubs - 1;
      if (sb_g.stubs[stub].spawning && finish_spawn(stub) < 0) continue;
      if (!sb_g.stubs[stub].alive) continue;
      struct sb_region_header *h = (struct sb_region_header *)(sb_g.ctrl + SB_STUB_REGION_OFF(stub));
      for (uint32_t k = 0; k < SB_MAX_THREADS / 64; k++) {
        if (!__atomic_load_n(&h->thread_bits[k], __ATOMIC_RELAXED)) continue;
        uint64_t threads = __atomic_exchange_n(&h->thread_bits[k], 0, __ATOMIC_ACQ_REL);
        while (threads) {
          uint32_t idx = k * 64 + (uint32_t)__builtin_ctzll(threads);
          threads &= threads - 1;
          push_pending(SB_SLOT_ID(stub, idx));
        }
      }
    }
  }
}

/* The safety net: finds posted slots that nobody announced (a guest may clear the shared
 * notification bits). Runs rarely, when the sentry has been idle. */
static void scan_slots(void) {
  for (uint32_t stub = 0; stub < SB_MAX_STUBS; stub++) {
    if (!sb_g.stubs[stub].alive) continue;
    for (uint32_t idx = 0; idx <= max_slot_used[stub]; idx++) {
      uint32_t id = SB_SLOT_ID(stub, idx);
      if (!is_reported(id) && __atomic_load_n(&sb_slot_ptr(id)->state, __ATOMIC_ACQUIRE) == SB_POSTED)
        push_pending(id);
    }
  }
  last_scan_ns = now_ns();
}

/* A new stub in this index: no slot is in use or reported yet. */
static void forget_slots(uint32_t stub) {
  for (uint32_t idx = 0; idx <= max_slot_used[stub]; idx++) {
    clear_reported(SB_SLOT_ID(stub, idx));
    set_flying(SB_SLOT_ID(stub, idx), 0);
  }
  max_slot_used[stub] = 0;
  memset(sb_g.ctrl + SB_SLOT_OFF(stub, 0), 0, SB_SLOT_CTRL_SIZE);
}

static int pop_posted(void) {
  if (pending_head == pending_tail) collect_notified();
  while (pending_head != pending_tail) {
    uint32_t id = pending[pending_head++ % PENDING_MAX];
    uint32_t stub = id / SB_MAX_THREADS;
    if (stub >= SB_MAX_STUBS || !sb_g.stubs[stub].alive || is_reported(id)) continue;
    if (__atomic_load_n(&sb_slot_ptr(id)->state, __ATOMIC_ACQUIRE) != SB_POSTED) continue;
    set_reported(id);
    set_flying(id, 0);
    return (int)id;
  }
  return -1;
}

static int next_event(void) {
  if (sb_g.mechanism == SB_MECH_PTRACE) {
    int id = sb_ptrace_next_event();
    if (id >= 0) {
      set_reported((uint32_t)id);
      set_flying((uint32_t)id, 0);
    }
    return id;
  }
  return pop_posted();
}

/* Waits for the next event: returns a slot id (>= 0) whose thread posted an event, or
 * SB_WAIT_FDS (host fds ready or stubs exited: see sb_wait_result_ptr()), SB_WAIT_TIMEOUT,
 * or SB_WAIT_INTR. timeout_ns < 0 waits without limit. */
int sb_wait(double timeout_ns) {
  wait_result.nfds = 0;
  struct sb_notify *notify = (struct sb_notify *)(sb_g.ctrl + SB_CTRL_NOTIFY_OFF);
  uint32_t my_cpu = sb_current_cpu();
  __atomic_store_n(&notify->sentry_cpu, my_cpu, __ATOMIC_RELAXED);
  int id = next_event();
  if (id >= 0) return id;
  /* Spin only while some guest thread runs, a CPU is left for the sentry, and the thread
   * we last let go is not on our CPU (it could not run while we spin). */
  if (in_flight > 0 && in_flight < ncpu &&
      (last_resumed < 0 || sb_slot_ptr((uint32_t)last_resumed)->cpu != my_cpu)) {
    uint64_t budget = spin_success >= 64 ? spin_max_ticks : spin_max_ticks / 8;
    uint64_t start = __rdtsc();
    while (__rdtsc() - start < budget) {
      _mm_pause();
      if ((id = next_event()) >= 0) {
        spin_success += (256 - spin_success) / 8;
        return id;
      }
    }
    spin_success -= spin_success / 8;
  }
  uint64_t deadline = timeout_ns >= 0 ? now_ns() + (uint64_t)timeout_ns : UINT64_MAX;
  for (;;) {
    __atomic_store_n(&notify->sentry_sleeping, 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if ((id = next_event()) >= 0) {
      __atomic_store_n(&notify->sentry_sleeping, 0, __ATOMIC_RELAXED);
      return id;
    }
    /* Sleep at most SCAN_PERIOD at a time, so the safety scan gets its turn. */
    const uint64_t SCAN_PERIOD = 100000000ull;
    uint64_t now = now_ns();
    uint64_t left = deadline > now ? deadline - now : 0;
    if (left > SCAN_PERIOD) left = SCAN_PERIOD;
    struct timespec ts = {(time_t)(left / 1000000000ull), (long)(left % 1000000000ull)};
    struct epoll_event evs[SB_WAIT_MAX_FDS];
    uint64_t slept_at = __rdtsc();
    int n = (int)syscall(SYS_epoll_pwait2, sb_g.epfd, evs, SB_WAIT_MAX_FDS, &ts, NULL, 8);
    int err = errno;
    __atomic_store_n(&notify->sentry_sleeping, 0, __ATOMIC_RELAXED);
    if (n < 0) return err == EINTR ? SB_WAIT_INTR : -err;
    int doorbell = 0;
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == DOORBELL_TOKEN) {
        uint64_t v;
        while (read(sb_g.doorbell, &v, 8) == 8) {
        }
        doorbell = 1;
        continue;
      }
      uint32_t k = wait_result.nfds++;
      wait_result.tokens[k] = (uint32_t)evs[i].data.u64;
      wait_result.events[k] = evs[i].events;
    }
    if (doorbell && __rdtsc() - slept_at < spin_max_ticks) {
      /* Woken soon after falling asleep: spinning would have paid. */
      spin_success += (256 - spin_success) / 8;
    }
    if (wait_result.nfds) return SB_WAIT_FDS;
    if ((id = next_event()) >= 0) return id;
    if (n == 0 && now_ns() - last_scan_ns >= SCAN_PERIOD && sb_g.mechanism == SB_MECH_TRAP) {
      scan_slots();
      if ((id = next_event()) >= 0) return id;
    }
    if (n == 0 && now_ns() >= deadline) return SB_WAIT_TIMEOUT;
  }
}

static int exits(const struct sb_slot *s) {
  for (uint32_t i = 0; i < s->nops && i < SB_MAX_OPS; i++)
    if (s->ops[i].kind == SB_OP_EXIT_THREAD) return 1;
  return 0;
}

/* Lets a stopped thread go on: it performs slot->ops, loads slot->regs and returns to guest
 * code (or, for SB_OP_EXIT_THREAD, exits). */
int sb_resume(int id) {
  if (id < 0 || (uint32_t)id >= SB_MAX_STUBS * SB_MAX_THREADS) return -EINVAL;
  if (sb_g.mechanism == SB_MECH_PTRACE) {
    clear_reported((uint32_t)id);
    set_flying((uint32_t)id, !exits(sb_slot_ptr((uint32_t)id)));
    return sb_ptrace_resume((uint32_t)id);
  }
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  clear_reported((uint32_t)id);
  last_resumed = id;
  /* The stub spins for its next reply only if it would not take a CPU from another thread. */
  s->spin_ticks = in_flight + 2 <= ncpu ? (uint32_t)stub_spin_ticks : 0;
  set_flying((uint32_t)id, !exits(s));
  __atomic_store_n(&s->state, SB_REPLIED, __ATOMIC_RELEASE);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(&s->sleeping, __ATOMIC_RELAXED)) futex(&s->state, FUTEX_WAKE, 1, NULL);
  return 0;
}

/* Asks a thread running guest code to stop and post SB_EV_INTERRUPT. Harmless if it is
 * already stopped (the kick is then ignored or reported as a spurious interrupt). */
int sb_interrupt(int id) {
  if (id < 0 || (uint32_t)id >= SB_MAX_STUBS * SB_MAX_THREADS) return -EINVAL;
  uint32_t stub = (uint32_t)id / SB_MAX_THREADS;
  if (!sb_g.stubs[stub].alive) return -ESRCH;
  uint32_t tid = sb_slot_ptr((uint32_t)id)->host_tid;
  if (!tid) return -ESRCH;
  if (syscall(SYS_tgkill, sb_g.stubs[stub].pid, tid, SB_KICK_SIGNAL) < 0) return -errno;
  return 0;
}

int sb_watch_fd(int fd, int events, int token) {
  struct epoll_event ev = {.events = (uint32_t)events, .data.u64 = (uint32_t)token};
  if (epoll_ctl(sb_g.epfd, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  if (errno != ENOENT) return -errno;
  if (epoll_ctl(sb_g.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return -errno;
  return 0;
}

int sb_unwatch_fd(int fd) {
  if (epoll_ctl(sb_g.epfd, EPOLL_CTL_DEL, fd, NULL) < 0) return -errno;
  return 0;
}

/* ---- FPU state ------------------------------------------------------------------- */

/* Makes slot->fpstate_off/fpstate_size describe the thread's xsave area (ptrace: fetched
 * into the slot; trap: the one in the signal frame). Returns its size or -errno. */
int sb_fpstate_load(int id) {
  if (id < 0 || (uint32_t)id >= SB_MAX_STUBS * SB_MAX_THREADS) return -EINVAL;
  if (sb_g.mechanism == SB_MECH_PTRACE) return sb_ptrace_fpstate_load((uint32_t)id);
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  if (!s->fpstate_off || s->fpstate_off + sb_g.xstate_size > SB_SLOT_SIZE) return -EFAULT;
  s->fpstate_size = sb_g.xstate_size;
  return (int)sb_g.xstate_size;
}

/* Makes the kernel accept an xsave area that a guest may have written: reserved bits
 * cleared, only enabled features, standard (not compacted) format. */
static void sanitize_xsave(uint8_t *x, uint32_t size) {
  uint32_t mxcsr_mask = *(uint32_t *)(x + 28);
  if (!mxcsr_mask) mxcsr_mask = 0xffbf;
  *(uint32_t *)(x + 24) &= mxcsr_mask;
  if (size < 576) return;
  unsigned a = 0, b = 0, c = 0, d = 0;
  __get_cpuid_count(0xd, 0, &a, &b, &c, &d);
  uint64_t xcr0 = ((uint64_t)d << 32) | a;
  *(uint64_t *)(x + 512) &= xcr0;       /* xstate_bv */
  memset(x + 520, 0, 56);               /* xcomp_bv and reserved */
}

/* Hands the (possibly edited) xsave area back to the thread. */
int sb_fpstate_store(int id) {
  if (id < 0 || (uint32_t)id >= SB_MAX_STUBS * SB_MAX_THREADS) return -EINVAL;
  struct sb_slot *s = sb_slot_ptr((uint32_t)id);
  if (!s->fpstate_off || s->fpstate_off + sb_g.xstate_size > SB_SLOT_SIZE) return -EFAULT;
  sanitize_xsave((uint8_t *)s + s->fpstate_off, sb_g.xstate_size);
  if (sb_g.mechanism == SB_MECH_PTRACE) return sb_ptrace_fpstate_store((uint32_t)id);
  return 0;
}

/* ---- memory file ----------------------------------------------------------------- */

int sb_mem_punch(double off, double len) {
  if (off < 0 || len <= 0 || off + len > (double)sb_g.mem_size) return -EINVAL;
  if (fallocate(sb_g.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
    return -errno;
  return 0;
}

int sb_mem_copy(double dst, double src, double len) {
  if (dst < 0 || src < 0 || len < 0 || dst + len > (double)sb_g.mem_size ||
      src + len > (double)sb_g.mem_size)
    return -EINVAL;
  memmove(sb_g.mem + (uint64_t)dst, sb_g.mem + (uint64_t)src, (size_t)len);
  return 0;
}

/* Bytes of the memory file the host has actually committed (for the sandbox memory limit). */
double sb_mem_committed(void) {
  struct stat st;
  if (fstat(sb_g.memfd, &st) < 0) return 0;
  return (double)st.st_blocks * 512.0;
}

/* Copies [src, src+len) to dst within the memory file, skipping holes (pages the host never
 * committed read as zero in both places), so copying a sparse range stays sparse. */
int sb_mem_copy_sparse(double dst, double src, double len) {
  if (dst < 0 || src < 0 || len < 0 || dst + len > (double)sb_g.mem_size ||
      src + len > (double)sb_g.mem_size)
    return -EINVAL;
  off_t s = (off_t)src, end = (off_t)(src + len), d = (off_t)dst;
  while (s < end) {
    off_t data = lseek(sb_g.memfd, s, SEEK_DATA);
    if (data < 0 || data >= end) break;
    off_t hole = lseek(sb_g.memfd, data, SEEK_HOLE);
    if (hole < 0 || hole > end) hole = end;
    memcpy(sb_g.mem + d + (data - s), sb_g.mem + data, (size_t)(hole - data));
    d += hole - s;
    s = hole;
  }
  return 0;
}
