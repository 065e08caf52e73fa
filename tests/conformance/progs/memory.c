// Anonymous memory: brk growth and shrink, mmap/munmap, mprotect, mremap, and that pages
// come back zeroed and keep what was written. Prints checksums and booleans, never addresses.
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conformance.h"

static uint64_t fill_and_sum(unsigned char *memory, size_t size, unsigned seed) {
  for (size_t i = 0; i < size; i++) memory[i] = (unsigned char)(i * 31 + seed);
  uint64_t sum = 0;
  for (size_t i = 0; i < size; i++) sum = sum * 131 + memory[i];
  return sum;
}

static int all_zero(const unsigned char *memory, size_t size) {
  for (size_t i = 0; i < size; i++)
    if (memory[i]) return 0;
  return 1;
}

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  SHOW_INT("page size", page);

  // brk, through the raw system call (musl's brk() and sbrk(n) refuse on purpose): the break
  // moves up and down, and memory above the old break reads as zero. Works from the next page
  // boundary, so that shrinking really unmaps, and puts the break back for malloc at the end.
  uintptr_t original = (uintptr_t)syscall(SYS_brk, 0);
  uintptr_t base = (original + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
  SHOW_BOOL("brk grows", (uintptr_t)syscall(SYS_brk, base + 256 * 1024) == base + 256 * 1024);
  unsigned char *heap = (unsigned char *)base;
  SHOW_BOOL("new brk memory is zero", all_zero(heap, 256 * 1024));
  SHOW_INT("brk memory checksum", fill_and_sum(heap, 256 * 1024, 7));
  SHOW_BOOL("brk shrinks", (uintptr_t)syscall(SYS_brk, base + (uintptr_t)page) == base + (uintptr_t)page);
  SHOW_BOOL("brk regrows", (uintptr_t)syscall(SYS_brk, base + 3 * (uintptr_t)page) == base + 3 * (uintptr_t)page);
  SHOW_BOOL("regrown pages are zero", all_zero(heap + page, 2 * (size_t)page));
  SHOW_BOOL("kept page keeps its data", heap[0] == 7 && heap[page - 1] == (unsigned char)((page - 1) * 31 + 7));
  SHOW_BOOL("brk below the start fails", (uintptr_t)syscall(SYS_brk, 4096) != 4096);
  SHOW_BOOL("brk restored", (uintptr_t)syscall(SYS_brk, original) == original);

  // mmap: a 1 MiB private anonymous mapping, page aligned, zeroed, writable.
  size_t size = 1 << 20;
  unsigned char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SHOW_BOOL("mmap works", map != MAP_FAILED);
  SHOW_BOOL("mmap is page aligned", ((uintptr_t)map % (uintptr_t)page) == 0);
  SHOW_BOOL("mmap memory is zero", all_zero(map, size));
  SHOW_INT("mmap memory checksum", fill_and_sum(map, size, 3));

  // mprotect: read-only keeps the contents; back to writable.
  SHOW_CALL("mprotect read-only", mprotect(map, size, PROT_READ));
  uint64_t sum = 0;
  for (size_t i = 0; i < size; i++) sum = sum * 131 + map[i];
  SHOW_INT("read-only checksum", sum);
  SHOW_CALL("mprotect read-write", mprotect(map, size, PROT_READ | PROT_WRITE));

  // Unmapping the middle leaves the two ends intact.
  SHOW_CALL("munmap middle page", munmap(map + 4 * page, page));
  SHOW_BOOL("ends intact", map[0] == (unsigned char)3 && map[5 * page] == (unsigned char)(5 * page * 31 + 3));

  // mremap: grow a mapping, allowing a move; the contents follow.
  unsigned char *small = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  small[0] = 0x5a;
  small[page - 1] = 0xa5;
  unsigned char *grown = mremap(small, page, 16 * page, MREMAP_MAYMOVE);
  SHOW_BOOL("mremap grows", grown != MAP_FAILED);
  SHOW_BOOL("mremap keeps contents", grown[0] == 0x5a && grown[page - 1] == 0xa5 && all_zero(grown + page, 15 * page));

  // Errors.
  errno = 0;
  void *failed = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap length 0: %s (%s)\n", failed == MAP_FAILED ? "failed" : "mapped", errno_name(errno));
  SHOW_CALL("munmap unaligned", munmap(map + 1, page));
  SHOW_CALL("munmap whole", munmap(map, size));
  return 0;
}
