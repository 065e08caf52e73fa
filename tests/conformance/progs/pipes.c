// Pipes: data in order, EOF after the writer closes, EPIPE after the reader closes,
// non-blocking reads and writes, pipe2 flags, capacity.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "conformance.h"

int main(void) {
  int ends[2];
  char buffer[128];
  SHOW_CALL("pipe", pipe(ends));
  SHOW_CALL("write", write(ends[1], "first ", 6));
  SHOW_CALL("write again", write(ends[1], "second", 6));
  ssize_t n = read(ends[0], buffer, sizeof buffer);
  printf("read: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), buffer);
  SHOW_CALL("lseek on a pipe", lseek(ends[0], 0, SEEK_SET));
  SHOW_CALL("close write end", close(ends[1]));
  SHOW_CALL("read at EOF", read(ends[0], buffer, sizeof buffer));
  SHOW_CALL("close read end", close(ends[0]));

  signal(SIGPIPE, SIG_IGN);
  SHOW_CALL("pipe", pipe(ends));
  SHOW_CALL("close read end", close(ends[0]));
  SHOW_CALL("write without a reader", write(ends[1], "x", 1));
  close(ends[1]);

  SHOW_CALL("pipe2 nonblock cloexec", pipe2(ends, O_NONBLOCK | O_CLOEXEC));
  SHOW_BOOL("read end is cloexec", fcntl(ends[0], F_GETFD) & FD_CLOEXEC);
  SHOW_BOOL("write end is nonblocking", fcntl(ends[1], F_GETFL) & O_NONBLOCK);
  SHOW_CALL("read from an empty pipe", read(ends[0], buffer, sizeof buffer));
  SHOW_INT("capacity (F_GETPIPE_SZ)", fcntl(ends[1], F_GETPIPE_SZ));
  long filled = 0;
  static char chunk[4096];
  for (;;) {
    ssize_t written = write(ends[1], chunk, sizeof chunk);
    if (written < 0) break;
    filled += written;
  }
  SHOW_INT("bytes written until full", filled);
  SHOW_STR("error when full", errno_name(errno));
  long drained = 0;
  while ((n = read(ends[0], chunk, sizeof chunk)) > 0) drained += n;
  SHOW_INT("bytes read back", drained);
  return 0;
}
