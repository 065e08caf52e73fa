// epoll: level-triggered, edge-triggered, one-shot and exclusive entries, nested instances,
// errors of epoll_ctl, entries of closed files, wake-ups by another process, and
// epoll_pwait's signal mask.
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static volatile sig_atomic_t caught;
static void on_usr1(int sig) { caught = sig; }

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

// Waits (timeout in ms) and prints the count and each event's bits and data.
static void show_wait(const char *what, int ep, int timeout) {
  struct epoll_event ev[8];
  int n = epoll_wait(ep, ev, 8, timeout);
  printf("%s: %d (%s)", what, n, errno_name(n < 0 ? errno : 0));
  for (int i = 0; i < n; i++) printf(" [%#x data %llu]", ev[i].events, (unsigned long long)ev[i].data.u64);
  printf("\n");
}

static int add(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event e = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int mod(int ep, int fd, uint32_t events, uint64_t data) {
  struct epoll_event e = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

int main(int argc, char **argv) {
  (void)argc;
  char buf[64];
  int p[2];

  SHOW_CALL("epoll_create(0)", epoll_create(0));
  SHOW_CALL("epoll_create1(bad flags)", epoll_create1(1));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  SHOW_BOOL("epoll_create1 cloexec", fcntl(ep, F_GETFD) & FD_CLOEXEC);

  // Errors.
  pipe(p);
  int file = open(argv[1], O_RDONLY);
  SHOW_CALL("add a regular file", add(ep, file, EPOLLIN, 0));
  SHOW_CALL("add itself", add(ep, ep, EPOLLIN, 0));
  SHOW_CALL("add a closed fd", add(ep, 999, EPOLLIN, 0));
  SHOW_CALL("epfd not an epoll", add(p[0], p[1], EPOLLIN, 0));
  SHOW_CALL("mod missing", mod(ep, p[0], EPOLLIN, 0));
  SHOW_CALL("del missing", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
  SHOW_CALL("add", add(ep, p[0], EPOLLIN, 1));
  SHOW_CALL("add again", add(ep, p[0], EPOLLIN, 1));
  SHOW_CALL("bad op", epoll_ctl(ep, 9, p[0], &(struct epoll_event){0}));
  struct epoll_event one;
  SHOW_CALL("maxevents 0", epoll_wait(ep, &one, 0, 0));
  SHOW_CALL("wait on a pipe", epoll_wait(p[0], &one, 1, 0));

  // Level-triggered.
  show_wait("LT empty", ep, 0);
  write(p[1], "a", 1);
  show_wait("LT data", ep, 0);
  show_wait("LT data again", ep, 0);
  read(p[0], buf, sizeof buf);
  show_wait("LT drained", ep, 0);
  SHOW_CALL("del", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));

  // Edge-triggered: one report per new write.
  SHOW_CALL("add ET", add(ep, p[0], EPOLLIN | EPOLLET, 2));
  show_wait("ET empty", ep, 0);
  write(p[1], "b", 1);
  show_wait("ET first", ep, 0);
  show_wait("ET no new data", ep, 0);
  write(p[1], "c", 1);
  show_wait("ET new data", ep, 0);
  read(p[0], buf, sizeof buf);
  epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);

  // One-shot: disabled after one report until EPOLL_CTL_MOD.
  SHOW_CALL("add ONESHOT", add(ep, p[0], EPOLLIN | EPOLLONESHOT, 3));
  write(p[1], "d", 1);
  show_wait("ONESHOT first", ep, 0);
  show_wait("ONESHOT again", ep, 0);
  write(p[1], "e", 1);
  show_wait("ONESHOT more data", ep, 0);
  SHOW_CALL("rearm", mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 4));
  show_wait("ONESHOT rearmed", ep, 0);
  read(p[0], buf, sizeof buf);
  epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);

  // Write ends, hang-ups and errors.
  SHOW_CALL("add write end", add(ep, p[1], EPOLLOUT, 5));
  show_wait("writable", ep, 0);
  SHOW_CALL("mod to EPOLLIN on the write end", mod(ep, p[1], EPOLLIN, 6));
  show_wait("write end, EPOLLIN", ep, 0);
  int q[2];
  pipe(q);
  add(ep, q[0], EPOLLIN, 7);
  close(q[1]);
  show_wait("writer closed", ep, 0);
  epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL);
  close(q[0]);
  pipe(q);
  add(ep, q[1], EPOLLOUT, 8);
  close(q[0]);
  show_wait("reader closed (with write end EPOLLIN)", ep, 0);
  epoll_ctl(ep, EPOLL_CTL_DEL, q[1], NULL);
  epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL);
  close(q[1]);

  // Entries go away with the file, not with one fd of it.
  pipe(q);
  add(ep, q[0], EPOLLIN, 9);
  int dup_fd = dup(q[0]);
  close(q[0]);
  write(q[1], "f", 1);
  show_wait("fd closed, file still open", ep, 0);
  close(dup_fd);
  show_wait("file closed", ep, 0);
  close(q[1]);

  // Nested instances and loops.
  int outer = epoll_create1(0);
  SHOW_CALL("nest", add(outer, ep, EPOLLIN, 10));
  SHOW_CALL("loop", add(ep, outer, EPOLLIN, 11));
  add(ep, p[0], EPOLLIN, 12);
  show_wait("outer, inner empty", outer, 0);
  write(p[1], "g", 1);
  show_wait("outer, inner ready", outer, 0);
  show_wait("inner", ep, 0);
  read(p[0], buf, sizeof buf);
  close(outer);

  // EPOLLEXCLUSIVE.
  int ep2 = epoll_create1(0);
  pipe(q);
  SHOW_CALL("exclusive add", add(ep2, q[0], EPOLLIN | EPOLLEXCLUSIVE, 13));
  SHOW_CALL("exclusive mod", mod(ep2, q[0], EPOLLIN, 13));
  SHOW_CALL("exclusive with ONESHOT", add(ep, q[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 14));
  SHOW_CALL("exclusive on an epoll", add(ep, ep2, EPOLLIN | EPOLLEXCLUSIVE, 14));
  int ep3 = epoll_create1(0);
  SHOW_CALL("exclusive, second instance", add(ep3, q[0], EPOLLIN | EPOLLEXCLUSIVE, 15));
  write(q[1], "h", 1);
  struct epoll_event ev2, ev3;
  int n2 = epoll_wait(ep2, &ev2, 1, 0), n3 = epoll_wait(ep3, &ev3, 1, 0);
  SHOW_BOOL("exclusive: someone saw the event", n2 + n3 >= 1);
  close(ep2);
  close(ep3);
  close(q[0]);
  close(q[1]);

  // Blocking wait woken by a child; data round trip.
  epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL);
  add(ep, p[0], EPOLLIN, 0xfedcba9876543210ULL);
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    sleep_ms(50);
    write(p[1], "i", 1);
    _exit(0);
  }
  show_wait("woken by a child", ep, 5000);
  waitpid(child, NULL, 0);
  read(p[0], buf, sizeof buf);
  show_wait("timeout", ep, 20);

  // Signals interrupt epoll_wait (never restarted), and epoll_pwait's mask.
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  pid_t parent = getpid();
  FLUSH();
  child = fork();
  if (child == 0) {
    sleep_ms(50);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  caught = 0;
  show_wait("interrupted (SA_RESTART)", ep, 5000);
  printf("caught: %d\n", caught);
  waitpid(child, NULL, 0);
  sigset_t block, empty, now;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, NULL);
  kill(getpid(), SIGUSR1);
  caught = 0;
  struct epoll_event evs[4];
  int n = epoll_pwait(ep, evs, 4, 5000, &empty);
  printf("epoll_pwait, pending signal unblocked: %d (%s) caught %d\n", n, errno_name(n < 0 ? errno : 0), caught);
  sigprocmask(SIG_SETMASK, NULL, &now);
  SHOW_BOOL("mask restored", sigismember(&now, SIGUSR1));
  return 0;
}
