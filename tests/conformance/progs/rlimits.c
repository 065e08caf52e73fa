// Resource limits: get/set/prlimit round trips, lowering hard limits, RLIMIT_NOFILE enforced
// by open/dup, RLIMIT_AS enforced by mmap, and invalid requests.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conformance.h"

int main(int argc, char **argv) {
  (void)argc;
  struct rlimit r;
  SHOW_CALL("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &r));
  struct rlimit small = {8, 8};
  SHOW_CALL("setrlimit NOFILE 8", setrlimit(RLIMIT_NOFILE, &small));
  int opened = 0, last_errno = 0;
  for (int i = 0; i < 20; i++) {
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
      last_errno = errno;
      break;
    }
    opened++;
  }
  SHOW_INT("files opened under a limit of 8 (with 3 std fds)", opened);
  SHOW_STR("then", errno_name(last_errno));
  SHOW_CALL("dup2 to fd 9 beyond the limit", dup2(0, 9));
  struct rlimit up = {16, 16};
  SHOW_CALL("raising the hard limit back (as root: allowed)", setrlimit(RLIMIT_NOFILE, &up) == 0 || errno == EPERM ? 0 : -1);
  struct rlimit inv = {10, 5};
  SHOW_CALL("soft above hard", setrlimit(RLIMIT_NOFILE, &inv));
  SHOW_CALL("bad resource", getrlimit(999, &r));

  struct rlimit as;
  getrlimit(RLIMIT_AS, &as);
  struct rlimit as_small = {256 << 20, as.rlim_max};
  SHOW_CALL("setrlimit AS 256 MiB", setrlimit(RLIMIT_AS, &as_small));
  void *big = mmap(NULL, 512 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SHOW_BOOL("512 MiB mmap fails with ENOMEM", big == MAP_FAILED && errno == ENOMEM);
  void *ok = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SHOW_BOOL("16 MiB mmap succeeds", ok != MAP_FAILED);

  struct rlimit old;
  SHOW_CALL("prlimit64 self STACK", prlimit(0, RLIMIT_STACK, NULL, &old));
  SHOW_CALL("prlimit64 of a missing pid", prlimit(999999, RLIMIT_STACK, NULL, &old));
  return 0;
}
