// Signals beyond the basics: alternate stacks, fault signals with their siginfo (SIGSEGV,
// SIGBUS-free: SIGFPE, SIGILL, SIGTRAP) recovered with siglongjmp, sigsuspend, sigtimedwait,
// queued real-time signals with values, SIGCHLD's siginfo, alarm and pause, SA_NODEFER,
// nested handlers, and FPU state preserved across a handler that uses the FPU itself.
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static sigjmp_buf jump;
static volatile int fault_sig, fault_code;
static volatile uintptr_t fault_addr;
static volatile int on_altstack;
static char *alt_base;
static size_t alt_size;

static void fault_handler(int sig, siginfo_t *info, void *ctx) {
  (void)ctx;
  fault_sig = sig;
  fault_code = info->si_code;
  fault_addr = (uintptr_t)info->si_addr;
  char probe;
  on_altstack = &probe >= alt_base && &probe < alt_base + alt_size;
  siglongjmp(jump, 1);
}

static volatile int rt_values[8], rt_count;
static void rt_handler(int sig, siginfo_t *info, void *ctx) {
  (void)sig;
  (void)ctx;
  if (rt_count < 8) rt_values[rt_count++] = info->si_value.sival_int;
}

static volatile int depth, max_depth;
static void nodefer_handler(int sig) {
  depth++;
  if (depth > max_depth) max_depth = depth;
  if (depth < 3) raise(sig);
  depth--;
}

static volatile double fpu_in_handler;
static void fpu_handler(int sig) {
  (void)sig;
  volatile double x = 3.25;
  for (int i = 0; i < 10; i++) x = x * 1.5 - 0.5;
  fpu_in_handler = x;
}

static volatile int alarm_hits;
static void alarm_handler(int sig) {
  (void)sig;
  alarm_hits++;
}

static void install(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

int main(void) {
  alt_size = 64 * 1024;
  alt_base = malloc(alt_size);
  stack_t ss = {.ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0};
  SHOW_CALL("sigaltstack", sigaltstack(&ss, NULL));
  stack_t small = {.ss_sp = alt_base, .ss_size = 100, .ss_flags = 0};
  SHOW_CALL("sigaltstack too small", sigaltstack(&small, NULL));
  install(SIGSEGV, fault_handler, SA_ONSTACK);
  install(SIGFPE, fault_handler, 0);
  install(SIGILL, fault_handler, 0);
  install(SIGTRAP, fault_handler, 0);

  if (!sigsetjmp(jump, 1)) *(volatile int *)16 = 1;
  SHOW_INT("null write: signal", fault_sig);
  SHOW_BOOL("si_code is SEGV_MAPERR", fault_code == SEGV_MAPERR);
  SHOW_BOOL("si_addr is the address", fault_addr == 16);
  SHOW_BOOL("handler ran on the alternate stack", on_altstack);

  char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!sigsetjmp(jump, 1)) ro[100] = 1;
  SHOW_INT("write to read-only: signal", fault_sig);
  SHOW_BOOL("si_code is SEGV_ACCERR", fault_code == SEGV_ACCERR);
  SHOW_BOOL("si_addr is the address", fault_addr == (uintptr_t)ro + 100);

  volatile int zero = 0;
  if (!sigsetjmp(jump, 1)) zero = 10 / zero;
  SHOW_INT("divide by zero: signal", fault_sig);
  SHOW_BOOL("si_code is FPE_INTDIV", fault_code == FPE_INTDIV);

  if (!sigsetjmp(jump, 1)) __asm__ volatile("ud2");
  SHOW_INT("ud2: signal", fault_sig);
  SHOW_BOOL("si_code is ILL_ILLOPN", fault_code == ILL_ILLOPN);

  if (!sigsetjmp(jump, 1)) __asm__ volatile("int3");
  SHOW_INT("int3: signal", fault_sig);

  // Blocked signals wait; sigsuspend takes them with a temporary mask.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = alarm_handler;
  sigaction(SIGUSR1, &sa, NULL);
  kill(getpid(), SIGUSR1);
  sigset_t pending;
  sigpending(&pending);
  SHOW_BOOL("blocked SIGUSR1 is pending", sigismember(&pending, SIGUSR1));
  sigset_t none;
  sigemptyset(&none);
  SHOW_CALL("sigsuspend", sigsuspend(&none));
  SHOW_INT("handler ran during sigsuspend", alarm_hits);
  sigset_t after;
  sigprocmask(SIG_SETMASK, NULL, &after);
  SHOW_BOOL("mask restored after sigsuspend", sigismember(&after, SIGUSR1));

  // sigtimedwait: takes a blocked pending signal, or times out.
  kill(getpid(), SIGUSR1);
  siginfo_t info;
  SHOW_CALL("sigtimedwait takes it", sigtimedwait(&block, &info, NULL));
  SHOW_BOOL("sigtimedwait's siginfo", info.si_signo == SIGUSR1 && info.si_code == SI_USER);
  struct timespec short_wait = {0, 10 * 1000 * 1000};
  SHOW_CALL("sigtimedwait times out", sigtimedwait(&block, &info, &short_wait));
  sigprocmask(SIG_SETMASK, &old, NULL);

  // Real-time signals queue, in order, with their values.
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN + 1);
  sigprocmask(SIG_BLOCK, &rt, NULL);
  install(SIGRTMIN + 1, rt_handler, 0);
  for (int i = 1; i <= 3; i++) sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = i * 10});
  sigprocmask(SIG_UNBLOCK, &rt, NULL);
  printf("queued rt signals: %d [%d %d %d]\n", rt_count, rt_values[0], rt_values[1], rt_values[2]);

  // SA_NODEFER lets a handler be interrupted by its own signal.
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = nodefer_handler;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGUSR2, &sa, NULL);
  raise(SIGUSR2);
  SHOW_INT("nested depth with SA_NODEFER", max_depth);

  // The FPU state of the interrupted code survives a handler that uses the FPU.
  signal(SIGUSR2, fpu_handler);
  volatile double keep = 1.0 / 3.0;
  raise(SIGUSR2);
  SHOW_BOOL("interrupted FPU value intact", keep == 1.0 / 3.0);
  SHOW_BOOL("handler computed with the FPU", fpu_in_handler > 100);

  // SIGCHLD carries the child's exit status.
  install(SIGCHLD, rt_handler, 0);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) _exit(9);
  siginfo_t ci;
  sigwaitinfo(&chld, &ci);
  SHOW_BOOL("SIGCHLD si_pid is the child", ci.si_pid == pid);
  SHOW_BOOL("SIGCHLD si_code CLD_EXITED", ci.si_code == CLD_EXITED);
  SHOW_INT("SIGCHLD si_status", ci.si_status);
  waitpid(pid, NULL, 0);

  // alarm + pause.
  alarm_hits = 0;
  signal(SIGALRM, alarm_handler);
  SHOW_INT("alarm returns the previous one", alarm(1));
  SHOW_BOOL("alarm remaining is about one second", alarm(1) == 1);
  SHOW_CALL("pause until the alarm", pause());
  SHOW_INT("alarm handler ran", alarm_hits);

  // A signal whose default action is to terminate: the parent sees WTERMSIG.
  FLUSH();
  pid = fork();
  if (pid == 0) {
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  SHOW_BOOL("child killed by a signal", WIFSIGNALED(status));
  SHOW_INT("terminating signal", WTERMSIG(status));
  return 0;
}
