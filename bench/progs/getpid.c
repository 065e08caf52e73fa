/* Syscall round trip: the cheapest syscall there is, made through syscall(2) so that no libc
 * caches the answer. */
#include "bench.h"
#include <sys/syscall.h>

static void op(void *unused) {
  (void)unused;
  syscall(SYS_getpid);
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 2000000, 1.0);
  double seconds;
  long n = bench_run(op, NULL, a, &seconds);
  bench_report_time("getpid", n, seconds);
  return 0;
}
