/* mmap 64 KiB of anonymous memory, write one byte to each of its 16 pages (16 page faults)
 * and munmap it. */
#include "bench.h"
#include <sys/mman.h>

#define REGION (64 * 1024)
#define PAGE 4096

static void op(void *unused) {
  (void)unused;
  volatile char *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) bench_die("mmap");
  for (int off = 0; off < REGION; off += PAGE) p[off] = 1;
  if (munmap((void *)p, REGION)) bench_die("munmap");
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 200000, 1.0);
  double seconds;
  long n = bench_run(op, NULL, a, &seconds);
  bench_report_time("mmap_touch_munmap", n, seconds);
  return 0;
}
