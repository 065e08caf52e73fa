// Process life cycle: exit statuses, wait4/waitid options, orphans and reparenting, process
// groups and sessions, vfork, prctl names and subreapers, and clone3 with CLONE_VFORK-free
// defaults.
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

static int run_child(int code) {
  FLUSH();
  pid_t p = fork();
  if (p == 0) _exit(code);
  int st;
  waitpid(p, &st, 0);
  return st;
}

int main(void) {
  int st = run_child(0);
  printf("exit 0: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
  st = run_child(255);
  printf("exit 255: exited %d status %d\n", WIFEXITED(st), WEXITSTATUS(st));
  st = run_child(256 + 7);
  printf("exit 263: status %d\n", WEXITSTATUS(st));

  SHOW_CALL("wait with no children", wait(NULL));
  SHOW_CALL("waitpid of a stranger", waitpid(1, NULL, WNOHANG));

  // WNOHANG on a running child, then the real wait.
  FLUSH();
  int pfd[2];
  pid_t p = fork();
  if (p == 0) {
    usleep(200000);
    _exit(3);
  }
  (void)pfd;
  SHOW_CALL("WNOHANG while it runs", waitpid(p, &st, WNOHANG));
  SHOW_BOOL("blocking wait returns it", waitpid(p, &st, 0) == p);
  SHOW_INT("its status", WEXITSTATUS(st));

  // waitid with WNOWAIT leaves the zombie for a second wait.
  FLUSH();
  p = fork();
  if (p == 0) _exit(5);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  SHOW_CALL("waitid WNOWAIT", waitid(P_PID, p, &si, WEXITED | WNOWAIT));
  SHOW_BOOL("waitid siginfo", si.si_pid == p && si.si_code == CLD_EXITED && si.si_status == 5);
  SHOW_BOOL("still waitable", waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 5);
  SHOW_CALL("waitid needs an event type", waitid(P_ALL, 0, &si, 0));

  // A child killed by SIGKILL.
  FLUSH();
  p = fork();
  if (p == 0) {
    for (;;) pause();
  }
  kill(p, SIGKILL);
  waitpid(p, &st, 0);
  SHOW_BOOL("killed by SIGKILL", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

  // Stop and continue with WUNTRACED / WCONTINUED.
  FLUSH();
  p = fork();
  if (p == 0) {
    for (;;) pause();
  }
  kill(p, SIGSTOP);
  SHOW_BOOL("WUNTRACED sees the stop", waitpid(p, &st, WUNTRACED) == p && WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
  kill(p, SIGCONT);
  SHOW_BOOL("WCONTINUED sees the continue", waitpid(p, &st, WCONTINUED) == p && WIFCONTINUED(st));
  kill(p, SIGTERM);
  waitpid(p, &st, 0);
  SHOW_BOOL("then SIGTERM kills it", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);

  // Process groups and sessions.
  FLUSH();
  p = fork();
  if (p == 0) {
    int ok = 1;
    ok &= setpgid(0, 0) == 0;
    ok &= getpgrp() == getpid();
    pid_t s = setsid();
    ok &= s == -1 && errno == EPERM; // a group leader cannot start a session
    _exit(ok ? 0 : 1);
  }
  waitpid(p, &st, 0);
  SHOW_BOOL("setpgid makes a group; a leader cannot setsid", WEXITSTATUS(st) == 0);
  FLUSH();
  p = fork();
  if (p == 0) {
    pid_t s = setsid();
    int ok = s == getpid() && getsid(0) == getpid() && getpgrp() == getpid();
    _exit(ok ? 0 : 1);
  }
  waitpid(p, &st, 0);
  SHOW_BOOL("setsid makes a session and a group", WEXITSTATUS(st) == 0);
  SHOW_CALL("setpgid of an unknown process", setpgid(999999, 0));
  SHOW_CALL("getsid of an unknown process", getsid(999999));

  // Orphans are reparented to a subreaper.
  SHOW_CALL("become a subreaper", prctl(PR_SET_CHILD_SUBREAPER, 1));
  FLUSH();
  p = fork();
  if (p == 0) {
    pid_t g = fork();
    if (g == 0) {
      usleep(200000);
      _exit(getppid() == getpgid(0) ? 0 : 0);
    }
    _exit(0);
  }
  waitpid(p, &st, 0);
  // The grandchild is now ours.
  pid_t g = wait(&st);
  SHOW_BOOL("orphan reaped by the subreaper", g > 0 && WIFEXITED(st));
  SHOW_CALL("no more children", wait(NULL));

  // vfork: the child shares memory until it exits.
  static volatile int shared_var = 1;
  FLUSH();
  p = vfork();
  if (p == 0) {
    shared_var = 2;
    _exit(4);
  }
  waitpid(p, &st, 0);
  SHOW_INT("vfork child's write is seen", shared_var);
  SHOW_INT("vfork child status", WEXITSTATUS(st));

  // Names.
  SHOW_CALL("PR_SET_NAME", prctl(PR_SET_NAME, "conformance-x"));
  char name[17] = {0};
  prctl(PR_GET_NAME, name);
  SHOW_STR("PR_GET_NAME", name);
  SHOW_CALL("PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, SIGTERM));
  int sig = 0;
  prctl(PR_GET_PDEATHSIG, &sig);
  SHOW_INT("PR_GET_PDEATHSIG", sig);
  SHOW_CALL("prctl with a bad option", prctl(0x7fffffff, 0));
  return 0;
}
