// Signals within one process: handlers run with the right siginfo, blocked signals stay
// pending until unblocked, SA_RESETHAND, and the interrupted code resumes intact.
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conformance.h"

static volatile sig_atomic_t handled[65];
static volatile int last_signo, last_code;

static void count_handler(int signo) { handled[signo]++; }

static void info_handler(int signo, siginfo_t *info, void *context) {
  (void)context;
  handled[signo]++;
  last_signo = info->si_signo;
  last_code = info->si_code;
}

static const char *code_name(int code) {
  switch (code) {
  case SI_USER: return "SI_USER";
  case SI_TKILL: return "SI_TKILL";
  case SI_QUEUE: return "SI_QUEUE";
  default: return "other";
  }
}

int main(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = count_handler;
  sigemptyset(&action.sa_mask);
  SHOW_CALL("sigaction SIGUSR1", sigaction(SIGUSR1, &action, NULL));
  volatile double kept = 1.5; // live across the handler: the signal frame must restore it
  SHOW_CALL("raise SIGUSR1", raise(SIGUSR1));
  SHOW_INT("SIGUSR1 handled", handled[SIGUSR1]);
  SHOW_BOOL("state restored after handler", kept == 1.5);

  action.sa_handler = NULL;
  action.sa_sigaction = info_handler;
  action.sa_flags = SA_SIGINFO;
  SHOW_CALL("sigaction SIGUSR2 with SA_SIGINFO", sigaction(SIGUSR2, &action, NULL));
  SHOW_CALL("kill self SIGUSR2", kill(getpid(), SIGUSR2));
  printf("siginfo: signo %d, code %s\n", last_signo, code_name(last_code));
  SHOW_CALL("tgkill self SIGUSR2", syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2));
  printf("siginfo: signo %d, code %s\n", last_signo, code_name(last_code));

  sigset_t block, pending, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  SHOW_CALL("block SIGUSR1", sigprocmask(SIG_BLOCK, &block, &old));
  SHOW_CALL("raise blocked SIGUSR1", raise(SIGUSR1));
  SHOW_INT("SIGUSR1 handled while blocked", handled[SIGUSR1]);
  sigpending(&pending);
  SHOW_BOOL("SIGUSR1 pending", sigismember(&pending, SIGUSR1));
  SHOW_CALL("unblock SIGUSR1", sigprocmask(SIG_SETMASK, &old, NULL));
  SHOW_INT("SIGUSR1 handled after unblock", handled[SIGUSR1]);

  action.sa_handler = count_handler;
  action.sa_flags = SA_RESETHAND;
  SHOW_CALL("sigaction SIGHUP SA_RESETHAND", sigaction(SIGHUP, &action, NULL));
  raise(SIGHUP);
  struct sigaction now;
  sigaction(SIGHUP, NULL, &now);
  SHOW_BOOL("SIGHUP reset to default", now.sa_handler == SIG_DFL);

  signal(SIGCHLD, SIG_IGN);
  SHOW_CALL("raise ignored SIGCHLD", raise(SIGCHLD));
  SHOW_CALL("sigaction SIGKILL", sigaction(SIGKILL, &action, NULL));
  SHOW_CALL("kill with signal 0", kill(getpid(), 0));
  SHOW_CALL("kill with a bad signal", kill(getpid(), 1000));
  return 0;
}
