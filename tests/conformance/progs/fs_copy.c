// Copying inside the kernel: sendfile (with and without an offset pointer) and
// copy_file_range, between files of /tmp and of the host tree next to argv[1].
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conformance.h"

static long cfr(int in, off_t *inoff, int out, off_t *outoff, size_t len, unsigned flags) {
  return syscall(SYS_copy_file_range, in, inoff, out, outoff, len, flags);
}

static void show(const char *what, const char *path) {
  char buf[256] = {0};
  int fd = open(path, O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("%s: [%.*s]\n", what, (int)(n > 0 ? n : 0), buf);
}

static void exercise(const char *src, const char *dst) {
  int in = open(src, O_RDONLY);
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  SHOW_CALL("sendfile 5", sendfile(out, in, NULL, 5));
  SHOW_CALL("input offset moved", lseek(in, 0, SEEK_CUR));
  off_t off = 10;
  SHOW_CALL("sendfile with offset", sendfile(out, in, &off, 4));
  SHOW_INT("offset updated", off);
  SHOW_CALL("input offset unchanged", lseek(in, 0, SEEK_CUR));
  SHOW_CALL("sendfile at the end", sendfile(out, in, &(off_t){1000}, 10));
  show("after sendfile", dst);
  off_t a = 0, b = 9;
  SHOW_CALL("copy_file_range", cfr(in, &a, out, &b, 7, 0));
  SHOW_INT("in offset", a);
  SHOW_INT("out offset", b);
  SHOW_CALL("copy_file_range flags", cfr(in, &a, out, &b, 7, 1));
  SHOW_CALL("copy_file_range read-only out", cfr(in, NULL, in, NULL, 1, 0));
  show("after copy_file_range", dst);
  SHOW_CALL("sendfile from a write-only fd", sendfile(in, out, NULL, 1));
  int dirfd = open("/", O_RDONLY);
  SHOW_CALL("sendfile from a directory", sendfile(out, dirfd, NULL, 1));
  close(dirfd);
  close(in);
  close(out);
  int same = open(dst, O_RDWR);
  off_t x = 0, y = 2;
  SHOW_CALL("copy_file_range overlapping", cfr(same, &x, same, &y, 4, 0));
  close(same);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char src[] = "/tmp/fs_copy_XXXXXX";
  int fd = mkstemp(src);
  const char *text = "0123456789abcdefghijklmnopqrstuvwxyz";
  if (write(fd, text, strlen(text)) < 0) return 1;
  close(fd);
  char dst[64];
  snprintf(dst, sizeof dst, "%s.out", src);
  printf("== /tmp to /tmp\n");
  exercise(src, dst);
  unlink(dst);
  char *copy = strdup(argv[1]);
  char hostdst[4096];
  snprintf(hostdst, sizeof hostdst, "%s/copy.out", dirname(copy));
  printf("== input to host tree\n");
  exercise(argv[1], hostdst);
  show("input unchanged", argv[1]);
  printf("== /tmp to host tree\n");
  exercise(src, hostdst);
  unlink(hostdst);
  unlink(src);
  return 0;
}
