// Random file system calls with hostile arguments, for fs_fuzz_test.ts. It refuses to run
// anywhere but on cordon's overlay root: natively (as root) it would wreck the host.
//
// Usage: fsfuzz SEED CALLS HOSTDIR   (HOSTDIR: a host tree the test checks afterwards)
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

static const char *paths[24];
static const int nrs[] = {2,   4,   5,   6,   8,   16,  21,  32,  33,  40,  72,  73,  74,  75,  76,  77,
                          78,  79,  80,  81,  82,  83,  84,  85,  86,  87,  88,  89,  90,  91,  92,  93,
                          94,  132, 133, 137, 138, 161, 162, 165, 166, 188, 189, 190, 191, 192, 193, 194,
                          195, 196, 197, 198, 199, 217, 221, 235, 253, 254, 255, 257, 258, 259, 260, 261,
                          262, 263, 264, 265, 266, 267, 268, 269, 275, 276, 280, 285, 292, 294, 316, 319,
                          322, 326, 327, 332, 436, 437, 439, 452};

static long pick(void) {
  static char buf[8192];
  switch (rand() % 8) {
  case 0:
  case 1: return (long)paths[rand() % 24];
  case 2: return rand() % 12;
  case 3: return -100;
  case 4: return ((long)rand() << 31) ^ rand();
  case 5: return 0;
  case 6: return (long)(buf + (rand() % 4096));
  default: return rand() % 65536;
  }
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  struct statfs sf;
  if (statfs("/", &sf) < 0 || (unsigned long)sf.f_type != OVERLAYFS_SUPER_MAGIC) {
    fprintf(stderr, "fsfuzz: not on cordon's overlay root: refusing to run\n");
    return 3;
  }
  srand(atoi(argv[1]));
  long calls = atol(argv[2]);
  static char p[16][4200];
  const char *rel[] = {"", "/a", "/d", "/d/e", "/l", "/..", "/../..", "/a/", "/fifo", "/d/../a", "/lnk-out", "/x"};
  for (int i = 0; i < 12; i++) {
    snprintf(p[i], sizeof p[i], "%s%s", argv[3], rel[i]);
    paths[i] = p[i];
  }
  const char *fixed[] = {"/", "/etc/passwd", "/tmp", "/tmp/t", "..", ".", "", "/dev/null", "/proc/self/fd/0",
                         "/usr/bin", "/nonexistent/x", "//etc///hostname"};
  for (int i = 0; i < 12; i++) paths[12 + i] = fixed[i];
  if (chdir(argv[3]) < 0) return 1;
  for (long i = 0; i < calls; i++) {
    int nr = nrs[rand() % (sizeof nrs / sizeof nrs[0])];
    long a[6];
    for (int k = 0; k < 6; k++) a[k] = pick();
    // Nothing that may wait forever: non-blocking opens, no F_SETLKW, LOCK_NB.
    if (nr == 2) a[1] |= O_NONBLOCK;
    if (nr == 257) a[2] |= O_NONBLOCK;
    if (nr == 437) continue;
    if (nr == 72 && (a[1] == 7 || a[1] == 38)) continue;
    if (nr == 73) a[1] |= 4;
    syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  printf("fsfuzz: alive after %ld calls\n", calls);
  return 0;
}
