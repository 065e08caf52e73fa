/* open + read + close of a small file: path resolution, a file description and a read.
 * The file is the first extra argument (default /etc/hostname; the runner passes one that
 * exists in every peer's root). */
#include "bench.h"
#include <fcntl.h>

static void op(void *path) {
  char buf[256];
  int fd = open((const char *)path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) bench_die("open");
  if (read(fd, buf, sizeof buf) < 0) bench_die("read");
  close(fd);
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 500000, 1.0);
  const char *path = a.extra_count > 0 ? a.extra[0] : "/etc/hostname";
  double seconds;
  long n = bench_run(op, (void *)path, a, &seconds);
  bench_report_time("open_read_close", n, seconds);
  return 0;
}
