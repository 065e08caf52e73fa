/* Bulk write to /dev/null in 64 KiB chunks: the cost of moving a large buffer through
 * write(2). Iterations are chunks; the default of 16384 chunks is 1 GiB. */
#include "bench.h"
#include <fcntl.h>

#define CHUNK (64 * 1024)

struct sink {
  int fd;
  char *buffer;
};

static void op(void *context) {
  struct sink *s = context;
  if (write(s->fd, s->buffer, CHUNK) != CHUNK) bench_die("write");
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 16384, 1.0);
  struct sink s;
  s.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (s.fd < 0) bench_die("open /dev/null");
  s.buffer = malloc(CHUNK);
  if (!s.buffer) bench_die("malloc");
  memset(s.buffer, 'x', CHUNK); /* fault the buffer in before measuring */
  double seconds;
  long n = bench_run(op, &s, a, &seconds);
  double gib = (double)n * CHUNK / (1024.0 * 1024 * 1024);
  bench_report("devnull_write", "GiB/s", gib / seconds, n, seconds);
  return 0;
}
