// splice, tee, vmsplice: file to pipe (with and without an offset), pipe to file, pipe to
// pipe, pipe to socket, tee duplicating without consuming, errors, EOF and EAGAIN.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conformance.h"

static void show_read(const char *what, int fd) {
  char buf[128];
  errno = 0;
  ssize_t n = read(fd, buf, sizeof buf);
  printf("%s: %zd (%s) [%.*s]\n", what, n, errno_name(n < 0 ? errno : 0), (int)(n > 0 ? n : 0), buf);
}

int main(int argc, char **argv) {
  (void)argc;
  int p[2], q[2];
  pipe(p);
  pipe(q);
  int in = open(argv[1], O_RDONLY);

  // File to pipe: from the file offset, then at an explicit offset (file offset unmoved).
  SHOW_CALL("splice file to pipe", splice(in, NULL, p[1], NULL, 5, 0));
  SHOW_INT("file offset after", lseek(in, 0, SEEK_CUR));
  loff_t off = 7;
  SHOW_CALL("splice at offset 7", splice(in, &off, p[1], NULL, 4, 0));
  SHOW_INT("offset after", off);
  SHOW_INT("file offset unchanged", lseek(in, 0, SEEK_CUR));
  show_read("pipe holds", p[0]);
  off = 1000;
  SHOW_CALL("splice past the end of the file", splice(in, &off, p[1], NULL, 4, 0));

  // Pipe to pipe, and tee.
  write(p[1], "abcdefgh", 8);
  SHOW_CALL("tee 3", tee(p[0], q[1], 3, 0));
  show_read("tee'd copy", q[0]);
  SHOW_CALL("splice pipe to pipe 5", splice(p[0], NULL, q[1], NULL, 5, 0));
  show_read("moved", q[0]);
  show_read("left in the first pipe", p[0]);
  SHOW_CALL("tee from an empty pipe, nonblocking", tee(p[0], q[1], 3, SPLICE_F_NONBLOCK));
  SHOW_CALL("splice from an empty pipe, nonblocking", splice(p[0], NULL, q[1], NULL, 3, SPLICE_F_NONBLOCK));
  SHOW_CALL("tee a pipe to itself", tee(p[0], p[1], 3, 0));
  SHOW_CALL("splice a pipe to itself", splice(p[0], NULL, p[1], NULL, 3, 0));

  // Pipe to file (a regular file in /tmp) and to a socket.
  char path[] = "/tmp/splice-XXXXXX";
  int out = mkstemp(path);
  write(p[1], "to a file", 9);
  SHOW_CALL("splice pipe to file", splice(p[0], NULL, out, NULL, 100, 0));
  lseek(out, 0, SEEK_SET);
  show_read("file holds", out);
  write(p[1], "XY", 2);
  off = 3;
  SHOW_CALL("splice pipe to file at offset 3", splice(p[0], NULL, out, &off, 2, 0));
  lseek(out, 0, SEEK_SET);
  show_read("file now", out);
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write(p[1], "to a socket", 11);
  SHOW_CALL("splice pipe to socket", splice(p[0], NULL, sv[0], NULL, 100, 0));
  show_read("socket got", sv[1]);
  send(sv[1], "from a socket", 13, 0);
  SHOW_CALL("splice socket to pipe", splice(sv[0], NULL, p[1], NULL, 100, 0));
  show_read("pipe got", p[0]);

  // Errors.
  SHOW_CALL("no pipe at all", splice(in, NULL, out, NULL, 1, 0));
  SHOW_CALL("offset on a pipe", splice(p[0], &off, out, NULL, 1, 0));
  SHOW_CALL("bad flags", splice(in, NULL, p[1], NULL, 1, 0x100));
  SHOW_CALL("bad fd", splice(99, NULL, p[1], NULL, 1, 0));
  SHOW_CALL("write end as input", splice(p[1], NULL, out, NULL, 1, 0));
  SHOW_CALL("tee on a file", tee(in, p[1], 1, 0));
  SHOW_CALL("zero length", splice(in, NULL, p[1], NULL, 0, 0));

  // EOF: the writer is gone.
  close(q[1]);
  SHOW_CALL("splice from a pipe without writers", splice(q[0], NULL, p[1], NULL, 10, 0));
  signal(SIGPIPE, SIG_IGN);
  close(p[0]);
  SHOW_CALL("splice into a pipe without readers", splice(in, NULL, p[1], NULL, 1, 0));

  // vmsplice.
  int r[2];
  pipe(r);
  struct iovec iov[2] = {{"vm", 2}, {"splice", 6}};
  SHOW_CALL("vmsplice into a pipe", vmsplice(r[1], iov, 2, 0));
  char a[3], b[16];
  struct iovec riov[2] = {{a, 3}, {b, sizeof b}};
  ssize_t n = vmsplice(r[0], riov, 2, 0);
  printf("vmsplice out of a pipe: %zd [%.3s%.*s]\n", n, a, (int)(n > 3 ? n - 3 : 0), b);
  SHOW_CALL("vmsplice on a file", vmsplice(in, iov, 1, 0));
  SHOW_CALL("vmsplice, empty, nonblocking", vmsplice(r[0], riov, 2, SPLICE_F_NONBLOCK));
  unlink(path);
  return 0;
}
