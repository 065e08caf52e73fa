// Syscall fuzzer, run inside the sandbox: children issue random system calls with hostile
// arguments (bad pointers, huge sizes, random flags, pointers into a scratch area), and the
// parent checks after each batch that the kernel still answers. The sentry must survive all
// of it and stay responsive; what each call returns does not matter.
//
// usage: fuzz SEED BATCHES CALLS_PER_BATCH
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t state;
static uint64_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

static char *scratch;
#define SCRATCH (1 << 20)

static uint64_t arg(void) {
  switch (rnd() % 12) {
  case 0: return 0;
  case 1: return rnd() % 16;
  case 2: return (uint64_t)-1;
  case 3: return rnd();
  case 4: return (uint64_t)(scratch + rnd() % SCRATCH);        // a valid pointer
  case 5: return (uint64_t)(scratch + SCRATCH - rnd() % 64);   // straddling the end
  case 6: return 0x7fff00000000ull + rnd() % 0x100000000ull;   // the platform's area
  case 7: return 0xffffffffff600000ull;                        // vsyscall page
  case 8: return 1ull << (rnd() % 64);
  case 9: return rnd() % 4096;
  case 10: return (uint64_t)-(int64_t)(rnd() % 4096);          // like -errno
  default: return rnd() & 0xffffffff;
  }
}

// Calls that would only end or freeze the fuzzer itself, or flood the sandbox.
static int skipped(long nr) {
  switch (nr) {
  case SYS_exit: case SYS_exit_group: case SYS_rt_sigreturn: case SYS_pause:
  case SYS_rt_sigsuspend: case SYS_vfork: case SYS_fork: case SYS_clone: case SYS_clone3:
  case SYS_execve: case SYS_execveat: case SYS_kill: case SYS_tkill: case SYS_tgkill:
  case SYS_reboot: case SYS_setsid: case SYS_ptrace: case SYS_wait4: case SYS_waitid:
  case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_select: case SYS_pselect6:
  case SYS_poll: case SYS_ppoll: case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
  case SYS_rt_sigtimedwait: case SYS_futex: case SYS_read: case SYS_readv: case SYS_recvfrom:
  case SYS_recvmsg: case SYS_recvmmsg: case SYS_accept: case SYS_accept4: case SYS_msgrcv:
  case SYS_semop: case SYS_semtimedop: case SYS_mq_timedreceive: case SYS_flock: case SYS_fcntl:
  case SYS_connect: case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg: case SYS_write:
  case SYS_writev: case SYS_pwrite64: case SYS_pwritev: case SYS_pwritev2: case SYS_splice:
  case SYS_tee: case SYS_vmsplice: case SYS_sendfile: case SYS_rt_sigaction:
  case SYS_rt_sigprocmask: case SYS_sigaltstack: case SYS_munmap: case SYS_mremap:
  case SYS_brk: case SYS_mprotect: case SYS_madvise: case SYS_arch_prctl: case SYS_prctl:
  case SYS_set_robust_list: case SYS_set_tid_address: case SYS_seccomp: case SYS_setrlimit:
  case SYS_prlimit64: case SYS_close: case SYS_close_range: case SYS_dup2: case SYS_dup3:
  case SYS_alarm: case SYS_setitimer: case SYS_timer_settime: case SYS_timerfd_settime:
  case SYS_restart_syscall: case SYS_rseq: case SYS_shutdown: case SYS_pidfd_send_signal:
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  uint64_t seed = strtoull(argv[1], NULL, 0);
  int batches = atoi(argv[2]), calls = atoi(argv[3]);
  scratch = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int crashed = 0, finished = 0;
  for (int b = 0; b < batches; b++) {
    fflush(stdout);
    pid_t p = fork();
    if (p < 0) {
      printf("fork failed in batch %d\n", b);
      return 1;
    }
    if (p == 0) {
      state = seed * 2654435761u + (uint64_t)b * 97 + 1;
      alarm(5);
      // Calls that block forever are skipped; a stray one is ended by the alarm.
      for (int i = 0; i < calls; i++) {
        long nr = (long)(rnd() % 450);
        if (skipped(nr)) continue;
        syscall(nr, arg(), arg(), arg(), arg(), arg(), arg());
      }
      _exit(0);
    }
    int st;
    if (waitpid(p, &st, 0) != p) {
      printf("waitpid failed in batch %d\n", b);
      return 1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) finished++;
    else crashed++;
    if (argc > 4) printf("batch %d: status %#x\n", b, st);
    // The kernel still answers.
    if (syscall(SYS_getpid) != getpid()) {
      printf("getpid went wrong after batch %d\n", b);
      return 1;
    }
  }
  printf("fuzz: %d batches, %d finished, %d ended by a signal; kernel alive\n", batches, finished, crashed);
  return 0;
}
