// More pipes: a blocking write larger than the pipe completes while a child reads; writes
// of PIPE_BUF bytes from several writers never interleave; F_SETPIPE_SZ rounding, limits
// and EBUSY; FIONREAD; packet mode (O_DIRECT); SIGPIPE's default action; a reader that
// leaves in the middle of a large write; fstat of a pipe.
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static char big[1 << 20];

int main(void) {
  int p[2];
  char buf[PIPE_BUF];

  // A 1 MiB blocking write into a 64 KiB pipe.
  pipe(p);
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    close(p[1]);
    long total = 0;
    ssize_t n;
    static char sink[65536];
    while ((n = read(p[0], sink, sizeof sink)) > 0) total += n;
    _exit(total == sizeof big ? 0 : 1);
  }
  close(p[0]);
  SHOW_CALL("blocking write of 1 MiB", write(p[1], big, sizeof big));
  close(p[1]);
  int status;
  waitpid(child, &status, 0);
  SHOW_BOOL("the reader got all of it", WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // PIPE_BUF atomicity: 4 writers x 64 records of PIPE_BUF bytes, each record one letter.
  pipe(p);
  FLUSH();
  for (int w = 0; w < 4; w++) {
    if (fork() == 0) {
      close(p[0]);
      memset(buf, 'a' + w, sizeof buf);
      for (int i = 0; i < 64; i++) write(p[1], buf, sizeof buf);
      _exit(0);
    }
  }
  close(p[1]);
  int records = 0, torn = 0;
  for (;;) {
    size_t got = 0;
    ssize_t n = 0;
    while (got < sizeof buf && (n = read(p[0], buf + got, sizeof buf - got)) > 0) got += n;
    if (got == 0) break;
    for (size_t i = 1; i < got; i++)
      if (buf[i] != buf[0]) torn = 1;
    if (got == sizeof buf) records++;
  }
  while (wait(NULL) > 0) {
  }
  SHOW_INT("records", records);
  SHOW_BOOL("no record torn", !torn);
  close(p[0]);

  // F_SETPIPE_SZ.
  pipe(p);
  SHOW_INT("default size", fcntl(p[0], F_GETPIPE_SZ));
  SHOW_INT("set 5000 (rounds up)", fcntl(p[1], F_SETPIPE_SZ, 5000));
  SHOW_INT("set 1 (one page)", fcntl(p[1], F_SETPIPE_SZ, 1));
  SHOW_INT("set 1 MiB", fcntl(p[1], F_SETPIPE_SZ, 1 << 20));
  SHOW_CALL("set 2 MiB (above pipe-max-size)", fcntl(p[1], F_SETPIPE_SZ, 2 << 20));
  SHOW_CALL("set a negative size", fcntl(p[1], F_SETPIPE_SZ, -1));
  fcntl(p[1], F_SETPIPE_SZ, 65536);
  write(p[1], big, 3 * 4096 + 1);
  int avail = 0;
  ioctl(p[0], FIONREAD, &avail);
  SHOW_INT("FIONREAD", avail);
  SHOW_CALL("shrink below the data (EBUSY)", fcntl(p[1], F_SETPIPE_SZ, 4096));
  SHOW_INT("grow with data in it", fcntl(p[1], F_SETPIPE_SZ, 262144));
  ssize_t n = read(p[0], big, sizeof big);
  SHOW_INT("data kept across the resize", n);
  SHOW_CALL("F_GETPIPE_SZ on a file", fcntl(0, F_GETPIPE_SZ) >= 0 ? 0 : -1);
  fcntl(p[1], F_SETPIPE_SZ, 4096);
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  long filled = 0;
  while ((n = write(p[1], big, 1000)) > 0) filled += n;
  SHOW_INT("a one-page pipe holds", filled);
  close(p[0]);
  close(p[1]);

  // Packet mode.
  SHOW_CALL("pipe2 O_DIRECT", pipe2(p, O_DIRECT));
  write(p[1], "first", 5);
  write(p[1], "second", 6);
  n = read(p[0], buf, sizeof buf);
  printf("packet 1: %zd [%.*s]\n", n, (int)n, buf);
  n = read(p[0], buf, 3);
  printf("packet 2, short read: %zd [%.*s]\n", n, (int)n, buf);
  write(p[1], "third", 5);
  n = read(p[0], buf, sizeof buf);
  printf("packet 3 (the rest of 2 was dropped): %zd [%.*s]\n", n, (int)n, buf);
  SHOW_BOOL("O_DIRECT in F_GETFL, read end", fcntl(p[0], F_GETFL) & O_DIRECT);
  SHOW_BOOL("O_DIRECT in F_GETFL, write end", fcntl(p[1], F_GETFL) & O_DIRECT);
  close(p[0]);
  close(p[1]);

  // fstat.
  pipe(p);
  struct stat st;
  fstat(p[0], &st);
  SHOW_BOOL("S_ISFIFO", S_ISFIFO(st.st_mode));
  SHOW_INT("permission bits", st.st_mode & 0777);
  struct stat st2;
  fstat(p[1], &st2);
  SHOW_BOOL("both ends, one inode", st.st_ino == st2.st_ino && st.st_dev == st2.st_dev);
  SHOW_INT("st_size", st.st_size);

  // SIGPIPE's default action kills the writer.
  FLUSH();
  child = fork();
  if (child == 0) {
    signal(SIGPIPE, SIG_DFL);
    close(p[0]);
    write(p[1], "x", 1);
    _exit(0);
  }
  close(p[0]);
  waitpid(child, &status, 0);
  SHOW_BOOL("writer killed by SIGPIPE", WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE);
  close(p[1]);

  // The reader leaves in the middle of a large blocking write: the count so far, and
  // SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  pipe(p);
  FLUSH();
  child = fork();
  if (child == 0) {
    close(p[1]);
    sleep_ms(50);
    static char sink[1000];
    read(p[0], sink, sizeof sink);
    _exit(0);
  }
  close(p[0]);
  n = write(p[1], big, sizeof big);
  printf("write cut short: %s (between a pipeful and all of it: %s)\n", errno_name(n < 0 ? errno : 0),
         n >= 65536 && n < (ssize_t)sizeof big ? "yes" : "no");
  waitpid(child, NULL, 0);
  SHOW_CALL("next write", write(p[1], "x", 1));
  return 0;
}
