// Memory semantics: copy-on-write across fork, shared anonymous memory across fork, fixed
// mappings, MAP_FIXED_NOREPLACE, partial munmap splitting a mapping, mremap moves keeping
// the data, MADV_DONTNEED zeroing, guard pages, stack growth, a large mapping touched page
// by page, and file mappings.
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static sigjmp_buf jump;
static void on_segv(int sig) {
  (void)sig;
  siglongjmp(jump, 1);
}

static int recurse(int n) {
  volatile char buf[4096];
  buf[0] = (char)n;
  if (n == 0) return buf[0];
  return recurse(n - 1) + buf[0];
}

int main(int argc, char **argv) {
  (void)argc;
  signal(SIGSEGV, on_segv);
  const size_t page = 4096;

  // Copy-on-write: the child's writes stay in the child.
  char *priv = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  strcpy(priv, "parent");
  char *shared = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  strcpy(shared, "before");
  FLUSH();
  pid_t p = fork();
  if (p == 0) {
    strcpy(priv, "child");
    strcpy(shared, "after");
    _exit(strcmp(priv, "child") == 0 ? 0 : 1);
  }
  int st;
  waitpid(p, &st, 0);
  SHOW_STR("private memory after the child wrote", priv);
  SHOW_STR("shared memory after the child wrote", shared);
  SHOW_INT("child saw its own write", WEXITSTATUS(st));

  // Fixed mappings.
  char *base = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(base, 'a', 8 * page);
  char *fixed = mmap(base + 2 * page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  SHOW_BOOL("MAP_FIXED at the address", fixed == base + 2 * page);
  SHOW_BOOL("MAP_FIXED replaced the pages (zeroed)", fixed[0] == 0 && base[page] == 'a' && base[3 * page] == 'a');
  void *nr = mmap(base + 4 * page, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  SHOW_BOOL("MAP_FIXED_NOREPLACE over a mapping fails with EEXIST", nr == MAP_FAILED && errno == EEXIST);

  // munmap in the middle splits the mapping.
  SHOW_CALL("munmap the middle page", munmap(base + 5 * page, page));
  int faulted = 0;
  if (!sigsetjmp(jump, 1)) (void)*(volatile char *)(base + 5 * page);
  else faulted = 1;
  SHOW_BOOL("the hole faults", faulted);
  SHOW_BOOL("both sides survive", base[4 * page] == 'a' && base[6 * page] == 'a');
  SHOW_CALL("munmap with a bad address", munmap(base + 1, page));
  SHOW_CALL("munmap of length 0", munmap(base, 0));

  // mprotect and guard pages.
  SHOW_CALL("mprotect PROT_NONE", mprotect(base + 7 * page, page, PROT_NONE));
  faulted = 0;
  if (!sigsetjmp(jump, 1)) (void)*(volatile char *)(base + 7 * page);
  else faulted = 1;
  SHOW_BOOL("PROT_NONE page faults on read", faulted);
  SHOW_CALL("mprotect over a hole", mprotect(base + 4 * page, 3 * page, PROT_READ));
  SHOW_CALL("mprotect back", mprotect(base + 7 * page, page, PROT_READ | PROT_WRITE));
  SHOW_BOOL("data kept through mprotect", base[7 * page] == 'a');

  // mremap: grow in place or move, data intact.
  char *r = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(r, 'r', 2 * page);
  char *r2 = mremap(r, 2 * page, 64 * page, MREMAP_MAYMOVE);
  SHOW_BOOL("mremap grows", r2 != MAP_FAILED);
  SHOW_BOOL("mremap kept the data", r2[0] == 'r' && r2[2 * page - 1] == 'r');
  SHOW_BOOL("new pages are zero", r2[2 * page] == 0 && r2[64 * page - 1] == 0);
  char *r3 = mremap(r2, 64 * page, page, 0);
  SHOW_BOOL("mremap shrinks in place", r3 == r2 && r3[0] == 'r');
  SHOW_BOOL("mremap without MAYMOVE that cannot grow fails", mremap(base, 8 * page, 1 << 30, 0) == MAP_FAILED);

  // MADV_DONTNEED zeroes private anonymous memory.
  memset(priv, 'x', 4 * page);
  SHOW_CALL("madvise DONTNEED", madvise(priv, 4 * page, MADV_DONTNEED));
  SHOW_BOOL("pages read as zero after DONTNEED", priv[0] == 0 && priv[4 * page - 1] == 0);
  SHOW_CALL("madvise with a bad advice", madvise(priv, page, 12345));

  // A large mapping touched page by page.
  size_t big = 64 << 20;
  char *b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  long sum = 0;
  for (size_t i = 0; i < big; i += page) b[i] = 1;
  for (size_t i = 0; i < big; i += page) sum += b[i];
  SHOW_INT("pages touched in 64 MiB", sum);
  munmap(b, big);

  // The stack grows on demand.
  SHOW_INT("deep recursion (2 MiB of stack)", recurse(512) != -1);

  // A private file mapping: reads the file, writes stay private.
  int fd = open(argv[1], O_RDONLY);
  char *fm = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  SHOW_BOOL("file mapping reads the file", fm != MAP_FAILED && memcmp(fm, "hello, conformance", 18) == 0);
  fm[0] = 'J';
  char buf[6] = {0};
  pread(fd, buf, 5, 0);
  SHOW_STR("file unchanged by a private write", buf);
  void *sw = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  SHOW_BOOL("shared writable mapping of a read-only fd fails with EACCES", sw == MAP_FAILED && errno == EACCES);
  SHOW_BOOL("mmap of a bad fd fails with EBADF", mmap(NULL, page, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED && errno == EBADF);
  SHOW_BOOL("mmap of length 0 fails with EINVAL", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
  return 0;
}
