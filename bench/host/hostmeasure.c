/* hostmeasure CMD [ARGS...]: runs CMD and reports, on stderr, one line
 *     HOSTMEASURE wall_ns=W cpu_ns=C user_ns=U sys_ns=S exit=E drained=D
 * W is the wall time until CMD itself exits. C = U + S is the host CPU time of CMD and of
 * every process it started: we are a child subreaper, so daemonised helpers (a runtime's
 * sandbox and gofer, podman's conmon) are reparented to us and reaped here, and their CPU
 * time lands in RUSAGE_CHILDREN. After CMD exits we keep reaping for up to 10 s; D is 0 when
 * some descendant was still alive then (its CPU time is then missing from C).
 * With HOSTMEASURE_TIMEOUT=SECONDS in the environment, CMD's process group (CMD runs in a
 * group of its own) is killed after that long and the line says timeout=1.
 * Exits with CMD's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig) {
  (void)sig;
  alarm_fired = 1;
}

static long long timeval_ns(struct timeval tv) {
  return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: hostmeasure CMD [ARGS...]\n");
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1)) perror("hostmeasure: PR_SET_CHILD_SUBREAPER");
  long long start = now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    perror("hostmeasure: fork");
    return 1;
  }
  if (pid == 0) {
    setpgid(0, 0);
    execvp(argv[1], argv + 1);
    fprintf(stderr, "hostmeasure: %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid); /* also here, so the group exists whichever of us runs first */
  const char *timeout = getenv("HOSTMEASURE_TIMEOUT");
  if (timeout && atoi(timeout) > 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid must return EINTR */
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned)atoi(timeout));
  }
  int status = 0, cmd_status = 0, timed_out = 0;
  long long wall = -1;
  for (;;) {
    pid_t got = waitpid(-1, &status, 0);
    if (got < 0 && errno == EINTR) {
      if (alarm_fired && !timed_out) {
        timed_out = 1;
        kill(-pid, SIGKILL);
      }
      continue;
    }
    if (got < 0) break;
    if (got == pid) {
      wall = now_ns() - start;
      cmd_status = status;
      break;
    }
  }
  alarm(0);
  /* Reap what CMD left behind, polling so that a descendant that never exits cannot hang us. */
  int drained = 0;
  long long deadline = now_ns() + 10000000000LL;
  while (now_ns() < deadline) {
    pid_t got = waitpid(-1, &status, WNOHANG);
    if (got < 0 && errno == ECHILD) {
      drained = 1;
      break;
    }
    if (got <= 0) usleep(2000);
  }
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  long long user = timeval_ns(ru.ru_utime), sys = timeval_ns(ru.ru_stime);
  int code = WIFEXITED(cmd_status) ? WEXITSTATUS(cmd_status) : 128 + WTERMSIG(cmd_status);
  fprintf(stderr,
          "HOSTMEASURE wall_ns=%lld cpu_ns=%lld user_ns=%lld sys_ns=%lld exit=%d drained=%d "
          "timeout=%d\n",
          wall, user + sys, user, sys, code, drained, timed_out);
  return code;
}
