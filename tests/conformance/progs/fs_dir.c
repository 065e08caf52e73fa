// Directory listings: getdents64 through readdir(3), entry types, rewinddir, seekdir/
// telldir, entries removed while listing, getcwd and chdir/fchdir (also into a removed
// directory), and listings of a directory of the host tree (argv[1]'s) after changes.
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conformance.h"

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *dtname(unsigned char t) {
  switch (t) {
  case DT_REG: return "reg";
  case DT_DIR: return "dir";
  case DT_LNK: return "lnk";
  case DT_FIFO: return "fifo";
  default: return "other";
  }
}

/** Prints the sorted entries of path (with their types), read with getdents64 into a
 * small buffer (so several calls are needed). */
static void list(const char *what, const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    printf("%s: open %s\n", what, errno_name(errno));
    return;
  }
  static char storage[256][280];
  static char buf[200];
  char *names[256];
  int n = 0;
  for (;;) {
    long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (got <= 0) break;
    for (long off = 0; off < got && n < 256;) {
      struct dirent64 {
        unsigned long long ino;
        long long off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *e = (struct dirent64 *)(buf + off);
      snprintf(storage[n], sizeof storage[n], "%s:%s", e->name, dtname(e->type));
      names[n] = storage[n];
      n++;
      off += e->reclen;
    }
  }
  close(fd);
  qsort(names, n, sizeof names[0], cmp);
  printf("%s:", what);
  for (int i = 0; i < n; i++) printf(" %s", names[i]);
  printf("\n");
}

static void touch(const char *p) {
  int fd = open(p, O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) close(fd);
}

static void exercise(const char *base) {
  if (chdir(base) < 0) exit(1);
  list("empty", ".");
  touch("a");
  touch("b");
  mkdir("sub", 0755);
  symlink("a", "l");
  mkfifo("p", 0644);
  list("filled", ".");
  // Removing entries while listing: what was already returned stays returned, and the
  // listing ends.
  for (int i = 0; i < 100; i++) {
    char name[16];
    snprintf(name, sizeof name, "m%03d", i);
    touch(name);
  }
  DIR *d = opendir(".");
  int seen = 0, removed = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    seen++;
    if (e->d_name[0] == 'm') {
      if (unlink(e->d_name) == 0) removed++;
    }
  }
  closedir(d);
  SHOW_INT("removed while listing", removed);
  SHOW_BOOL("every entry seen once", seen == 107);
  list("after removal", ".");
  // rewinddir and seekdir/telldir
  d = opendir(".");
  int first = 0;
  while (readdir(d)) first++;
  rewinddir(d);
  int second = 0;
  while (readdir(d)) second++;
  SHOW_BOOL("rewinddir lists again", first == second && first == 7);
  rewinddir(d);
  readdir(d);
  readdir(d);
  long pos = telldir(d);
  e = readdir(d);
  char third[256];
  snprintf(third, sizeof third, "%s", e ? e->d_name : "");
  readdir(d);
  seekdir(d, pos);
  e = readdir(d);
  SHOW_BOOL("seekdir returns to the same entry", e && strcmp(e->d_name, third) == 0);
  closedir(d);
  // getdents on a file, on a closed fd
  int fd = open("a", O_RDONLY);
  char buf[512];
  SHOW_CALL("getdents64 on a file", syscall(SYS_getdents64, fd, buf, sizeof buf));
  close(fd);
  fd = open(".", O_RDONLY | O_DIRECTORY);
  SHOW_CALL("getdents64 tiny buffer", syscall(SYS_getdents64, fd, buf, 8));
  close(fd);
  // cwd
  char cwd[4096];
  if (chdir("sub") < 0) perror("chdir sub");
  SHOW_BOOL("getcwd ends with /sub", getcwd(cwd, sizeof cwd) && strcmp(cwd + strlen(cwd) - 4, "/sub") == 0);
  SHOW_CALL("getcwd small buffer", getcwd(cwd, 2) ? 0 : -1);
  if (chdir("..") < 0) perror("chdir ..");
  int sub = open("sub", O_RDONLY | O_DIRECTORY);
  SHOW_CALL("fchdir", fchdir(sub));
  SHOW_CALL("rmdir the cwd", rmdir("../sub"));
  SHOW_CALL("getcwd in a removed directory", getcwd(cwd, sizeof cwd) ? 0 : -1);
  SHOW_CALL("create in a removed directory", open("x", O_CREAT | O_WRONLY, 0644));
  SHOW_CALL("chdir ..", chdir(".."));
  close(sub);
  SHOW_CALL("chdir to a file", chdir("a"));
  SHOW_CALL("fchdir to a file", fchdir(open("a", O_RDONLY)));
  unlink("a");
  unlink("b");
  unlink("l");
  unlink("p");
  list("cleaned", ".");
  if (chdir("/") < 0) exit(1);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char tmpl[] = "/tmp/fs_dir_XXXXXX";
  char *t = mkdtemp(tmpl);
  if (!t) return 1;
  printf("== in /tmp\n");
  exercise(t);
  rmdir(t);
  char *copy = strdup(argv[1]);
  char *dir = dirname(copy);
  printf("== next to the input\n");
  list("input dir", dir);
  char base[4096];
  snprintf(base, sizeof base, "%s/fs_dir_XXXXXX", dir);
  t = mkdtemp(base);
  if (!t) return 1;
  exercise(t);
  SHOW_CALL("rmdir base", rmdir(t));
  // A file of the host tree replaced and removed.
  char path[4096];
  snprintf(path, sizeof path, "%s/extra", dir);
  touch(path);
  list("input dir with extra", dir);
  SHOW_CALL("rename input", rename(argv[1], path));
  list("input renamed over extra", dir);
  SHOW_CALL("rename back", rename(path, argv[1]));
  list("input dir again", dir);
  return 0;
}
