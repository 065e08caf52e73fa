// signalfd: reading blocked signals as records, masks, changing the mask, non-blocking
// reads, poll and epoll readiness, several records per read, and a blocked read woken by a
// signal from another process.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static void show_read(const char *what, int fd) {
  struct signalfd_siginfo info[4];
  errno = 0;
  ssize_t n = read(fd, info, sizeof info);
  printf("%s: %zd (%s)", what, n, errno_name(n < 0 ? errno : 0));
  for (int i = 0; n > 0 && i < n / (ssize_t)sizeof info[0]; i++) {
    printf(" [signo %u code %d int %d from self %s]", info[i].ssi_signo, info[i].ssi_code, info[i].ssi_int,
           info[i].ssi_pid == (unsigned)getpid() ? "yes" : "no");
  }
  printf("\n");
}

static int run(void) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  sigaddset(&mask, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &mask, NULL);

  SHOW_CALL("bad flags", signalfd(-1, &mask, 0x10));
  SHOW_CALL("not a signalfd", signalfd(0, &mask, 0));
  int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  SHOW_BOOL("cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
  show_read("nothing pending", fd);
  char small[16];
  SHOW_CALL("read into a small buffer", read(fd, small, sizeof small));

  kill(getpid(), SIGUSR1);
  struct pollfd p = {fd, POLLIN, 0};
  poll(&p, 1, 0);
  printf("poll with SIGUSR1 pending: %#x\n", p.revents);
  show_read("read SIGUSR1", fd);
  poll(&p, 1, 0);
  printf("poll after: %#x\n", p.revents);

  union sigval val = {.sival_int = 1234};
  sigqueue(getpid(), SIGRTMIN, val);
  sigqueue(getpid(), SIGRTMIN, val);
  kill(getpid(), SIGUSR2);
  show_read("three at once", fd);

  // Signals outside the mask stay pending.
  sigset_t only1;
  sigemptyset(&only1);
  sigaddset(&only1, SIGUSR1);
  SHOW_BOOL("change the mask keeps the fd", signalfd(fd, &only1, 0) == fd);
  kill(getpid(), SIGUSR2);
  show_read("SIGUSR2 no longer in the mask", fd);
  sigset_t pending;
  sigpending(&pending);
  SHOW_BOOL("SIGUSR2 still pending", sigismember(&pending, SIGUSR2));
  signalfd(fd, &mask, 0);
  show_read("back in the mask", fd);

  // epoll, and a blocking read woken by a child's signal.
  int ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 5};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
  pid_t parent = getpid();
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  struct epoll_event got;
  int n = epoll_wait(ep, &got, 1, 5000);
  printf("epoll woken: %d data %llu\n", n, (unsigned long long)got.data.u64);
  show_read("read it", fd);
  waitpid(child, NULL, 0);

  int blocking = signalfd(-1, &mask, 0);
  FLUSH();
  child = fork();
  if (child == 0) {
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    kill(parent, SIGUSR2);
    _exit(0);
  }
  struct signalfd_siginfo info;
  ssize_t r = read(blocking, &info, sizeof info);
  printf("blocking read: %zd signo %u from the child %s\n", r, info.ssi_signo,
         info.ssi_pid == (unsigned)child ? "yes" : "no");
  waitpid(child, NULL, 0);

  // SIGCHLD, blocked and read through a signalfd, carries the child's exit status.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int cfd = signalfd(-1, &chld, 0);
  FLUSH();
  child = fork();
  if (child == 0) _exit(7);
  r = read(cfd, &info, sizeof info);
  printf("SIGCHLD: %zd signo %u code %d status %d from the child %s\n", r, info.ssi_signo, info.ssi_code,
         info.ssi_status, info.ssi_pid == (unsigned)child ? "yes" : "no");
  int status;
  waitpid(child, &status, 0);
  SHOW_INT("exit status", WEXITSTATUS(status));
  return 0;
}

// The test runs in a child: children send signals to their parent, and in the sandbox the
// program itself is init, to which signals without a handler are not sent (see kill(2)).
int main(void) {
  pid_t tester = fork();
  if (tester == 0) {
    int rc = run();
    fflush(stdout);
    _exit(rc);
  }
  int status;
  waitpid(tester, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
