// realloc's pattern, first thing in the process (as in busybox sort): the process's first
// mapping sits just below the mmap base and grows in place page by page, across the base;
// later mappings must be placed around it, never on it.
#include <string.h>
#include <sys/mman.h>

#include "conformance.h"

int main(void) {
  const size_t page = 4096;
  char *g = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  size_t glen = page;
  int moved = 0;
  for (int i = 0; i < 512; i++) {
    char *ng = mremap(g, glen, glen + page, MREMAP_MAYMOVE);
    if (ng == MAP_FAILED) break;
    if (ng != g) moved++;
    g = ng;
    glen += page;
  }
  memset(g, 'g', glen);
  int overlaps = 0;
  for (int i = 0; i < 64; i++) {
    char *m = mmap(NULL, 40 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m < g + glen && g < m + 40 * page) overlaps++;
    memset(m, 'm', 40 * page);
  }
  int intact = 1;
  for (size_t i = 0; i < glen; i++) intact &= g[i] == 'g';
  SHOW_INT("grown to pages", glen / page);
  SHOW_INT("new mappings overlapping the grown one", overlaps);
  SHOW_BOOL("grown mapping intact", intact);
  return 0;
}
