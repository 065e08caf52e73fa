// FIFOs: mkfifo, open semantics (a reader waits for a writer, O_NONBLOCK writers without a
// reader get ENXIO, O_RDWR never waits), data through the FIFO between processes, EOF and
// POLLHUP, F_GETPIPE_SZ, and stat of the FIFO.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig) { alarmed = sig; }

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static int poll_bits(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  poll(&p, 1, 0);
  return p.revents;
}

int main(void) {
  char dir[] = "/tmp/fifo-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char path[64];
  snprintf(path, sizeof path, "%s/f", dir);
  SHOW_CALL("mkfifo", mkfifo(path, 0644));
  SHOW_CALL("mkfifo again", mkfifo(path, 0644));
  struct stat st;
  stat(path, &st);
  SHOW_BOOL("S_ISFIFO", S_ISFIFO(st.st_mode));
  SHOW_INT("permissions", st.st_mode & 0777 & ~0022);

  SHOW_CALL("open O_WRONLY|O_NONBLOCK, no reader", open(path, O_WRONLY | O_NONBLOCK));
  int r = open(path, O_RDONLY | O_NONBLOCK);
  SHOW_BOOL("open O_RDONLY|O_NONBLOCK, no writer", r >= 0);
  char buf[64];
  SHOW_CALL("read, no writer yet", read(r, buf, sizeof buf));
  printf("poll, no writer yet: %#x\n", poll_bits(r));
  int w = open(path, O_WRONLY | O_NONBLOCK);
  SHOW_BOOL("open O_WRONLY|O_NONBLOCK with a reader", w >= 0);
  SHOW_CALL("read, writer but empty", read(r, buf, sizeof buf));
  write(w, "fifo data", 9);
  fstat(w, &st);
  SHOW_BOOL("fstat of an open FIFO is the FIFO", S_ISFIFO(st.st_mode));
  SHOW_INT("F_GETPIPE_SZ", fcntl(w, F_GETPIPE_SZ));
  ssize_t n = read(r, buf, sizeof buf);
  printf("read: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);
  close(w);
  printf("poll, writer gone: %#x\n", poll_bits(r));
  SHOW_CALL("read, writer gone", read(r, buf, sizeof buf));
  close(r);

  // A blocking open for reading waits for a writer (a child).
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    sleep_ms(50);
    int cw = open(path, O_WRONLY);
    write(cw, "from the child", 14);
    close(cw);
    _exit(0);
  }
  r = open(path, O_RDONLY);
  SHOW_BOOL("blocking open for reading", r >= 0);
  n = read(r, buf, sizeof buf);
  printf("read: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);
  SHOW_CALL("EOF", read(r, buf, sizeof buf));
  waitpid(child, NULL, 0);
  close(r);

  // A blocking open for writing waits for a reader.
  FLUSH();
  child = fork();
  if (child == 0) {
    sleep_ms(50);
    int cr = open(path, O_RDONLY);
    n = read(cr, buf, sizeof buf);
    _exit(n == 5 ? 0 : 1);
  }
  w = open(path, O_WRONLY);
  SHOW_BOOL("blocking open for writing", w >= 0);
  write(w, "hello", 5);
  int status;
  waitpid(child, &status, 0);
  SHOW_BOOL("child read it", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  signal(SIGPIPE, SIG_IGN);
  SHOW_CALL("write, reader gone", write(w, "x", 1));
  close(w);

  // O_RDWR never waits and sees its own data.
  int rw = open(path, O_RDWR);
  SHOW_BOOL("open O_RDWR", rw >= 0);
  write(rw, "loop", 4);
  n = read(rw, buf, sizeof buf);
  printf("read back: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);
  close(rw);

  // A FIFO's data goes when the last end closes.
  rw = open(path, O_RDWR);
  write(rw, "lost", 4);
  close(rw);
  rw = open(path, O_RDWR | O_NONBLOCK);
  SHOW_CALL("read after everyone closed", read(rw, buf, sizeof buf));
  close(rw);

  // A signal interrupts a blocked open (no SA_RESTART).
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  SHOW_CALL("open interrupted by a signal", open(path, O_RDONLY));
  printf("alarm caught: %d\n", alarmed);
  unlink(path);
  rmdir(dir);
  return 0;
}
