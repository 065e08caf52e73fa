// poll, ppoll, select, pselect6: readiness of pipe ends, hang-ups, invalid descriptors,
// timeouts, wake-ups by another process, and signal masks that let a signal interrupt.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static volatile sig_atomic_t caught;
static void on_usr1(int sig) { caught = sig; }

static void show_revents(const char *what, int rc, struct pollfd *p, int n) {
  printf("%s: %d (%s)", what, rc, errno_name(rc < 0 ? errno : 0));
  for (int i = 0; i < n; i++) printf(" [%#x]", p[i].revents);
  printf("\n");
}

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

int main(void) {
  int p[2];
  char buf[16];
  pipe(p);

  struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
  show_revents("empty pipe", poll(fds, 2, 0), fds, 2);
  write(p[1], "ab", 2);
  show_revents("with data", poll(fds, 2, 0), fds, 2);
  fds[0].events = POLLIN | POLLRDNORM | POLLPRI;
  fds[1].events = POLLOUT | POLLWRNORM;
  show_revents("norm bits", poll(fds, 2, 0), fds, 2);
  fds[0].events = 0;
  show_revents("no events asked", poll(fds, 1, 0), fds, 1);

  struct pollfd odd[3] = {{-1, POLLIN, 0}, {999, POLLIN, 0}, {p[0], POLLIN, 0}};
  show_revents("negative and closed fds", poll(odd, 3, 0), odd, 3);
  show_revents("nothing, 30 ms", poll(NULL, 0, 30), NULL, 0);

  close(p[1]);
  fds[0].events = POLLIN;
  show_revents("writer closed, data left", poll(fds, 1, 0), fds, 1);
  read(p[0], buf, sizeof buf);
  show_revents("writer closed, drained", poll(fds, 1, 0), fds, 1);
  close(p[0]);

  pipe(p);
  close(p[0]);
  fds[0] = (struct pollfd){p[1], POLLOUT, 0};
  show_revents("reader closed", poll(fds, 1, 0), fds, 1);
  close(p[1]);

  // A full pipe is not writable.
  pipe2(p, O_NONBLOCK);
  static char big[65536];
  while (write(p[1], big, sizeof big) > 0) {}
  fds[0] = (struct pollfd){p[1], POLLOUT, 0};
  show_revents("full pipe", poll(fds, 1, 0), fds, 1);
  close(p[0]);
  close(p[1]);

  // Blocking poll woken by a child's write.
  pipe(p);
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    sleep_ms(50);
    write(p[1], "x", 1);
    _exit(0);
  }
  fds[0] = (struct pollfd){p[0], POLLIN, 0};
  show_revents("woken by a child", poll(fds, 1, 5000), fds, 1);
  waitpid(child, NULL, 0);

  // ppoll with a zero timeout and with a timeout that expires.
  struct timespec zero = {0, 0}, short_wait = {0, 20000000};
  fds[0] = (struct pollfd){p[0], POLLIN, 0};
  show_revents("ppoll ready", ppoll(fds, 1, &zero, NULL), fds, 1);
  read(p[0], buf, 1);
  show_revents("ppoll timeout", ppoll(fds, 1, &short_wait, NULL), fds, 1);

  // select.
  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(p[0], &rd);
  FD_SET(p[1], &wr);
  struct timeval tv = {0, 0};
  int rc = select(p[1] + 1, &rd, &wr, NULL, &tv);
  printf("select empty: %d read %d write %d\n", rc, FD_ISSET(p[0], &rd), FD_ISSET(p[1], &wr));
  write(p[1], "y", 1);
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(p[0], &rd);
  FD_SET(p[1], &wr);
  rc = select(p[1] + 1, &rd, &wr, NULL, NULL);
  printf("select data: %d read %d write %d\n", rc, FD_ISSET(p[0], &rd), FD_ISSET(p[1], &wr));
  FD_ZERO(&rd);
  FD_SET(50, &rd);
  tv = (struct timeval){0, 0};
  SHOW_CALL("select closed fd", select(51, &rd, NULL, NULL, &tv));
  tv = (struct timeval){0, 30000};
  FD_ZERO(&rd);
  read(p[0], buf, 1);
  FD_SET(p[0], &rd);
  rc = select(p[0] + 1, &rd, NULL, NULL, &tv);
  // (glibc's select passes the timeval on and Linux writes the time left into it; musl's
  // keeps its own copy, so the time left is not compared here.)
  printf("select timeout: %d\n", rc);
  tv = (struct timeval){-1, 0};
  SHOW_CALL("select negative timeout", select(1, NULL, NULL, NULL, &tv));

  // Signals: a handler interrupts poll; ppoll and pselect unblock a blocked signal.
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  pid_t parent = getpid();
  FLUSH();
  child = fork();
  if (child == 0) {
    sleep_ms(50);
    kill(parent, SIGUSR1);
    _exit(0);
  }
  fds[0] = (struct pollfd){p[0], POLLIN, 0};
  caught = 0;
  rc = poll(fds, 1, 5000);
  printf("poll interrupted: %d (%s) caught %d\n", rc, errno_name(rc < 0 ? errno : 0), caught);
  waitpid(child, NULL, 0);

  sigset_t block, empty;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigemptyset(&empty);
  sigprocmask(SIG_BLOCK, &block, NULL);
  kill(getpid(), SIGUSR1);
  caught = 0;
  struct timespec long_wait = {5, 0};
  rc = ppoll(fds, 1, &long_wait, &empty);
  printf("ppoll with a pending signal unblocked: %d (%s) caught %d\n", rc, errno_name(rc < 0 ? errno : 0), caught);
  sigset_t now;
  sigprocmask(SIG_SETMASK, NULL, &now);
  SHOW_BOOL("mask restored after ppoll", sigismember(&now, SIGUSR1));

  kill(getpid(), SIGUSR1);
  caught = 0;
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  rc = pselect(p[0] + 1, &rd, NULL, NULL, &long_wait, &empty);
  printf("pselect with a pending signal unblocked: %d (%s) caught %d\n", rc, errno_name(rc < 0 ? errno : 0), caught);
  sigprocmask(SIG_SETMASK, NULL, &now);
  SHOW_BOOL("mask restored after pselect", sigismember(&now, SIGUSR1));

  // With the signal still blocked by the ppoll mask, a ready fd is reported instead.
  kill(getpid(), SIGUSR1);
  write(p[1], "z", 1);
  caught = 0;
  rc = ppoll(fds, 1, &long_wait, &block);
  printf("ppoll ready, signal kept blocked: %d caught %d\n", rc, caught);
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  printf("delivered after unblocking: %d\n", caught);
  return 0;
}
