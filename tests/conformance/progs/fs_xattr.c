// Extended attributes in the user namespace: set (XATTR_CREATE / XATTR_REPLACE), get, list,
// remove, on paths, fds and symlinks, with the size and existence errors; on a file under
// /tmp and one next to argv[1] (a host file through the overlay in the sandbox).
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "conformance.h"

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void show_list(const char *what, const char *path) {
  char buf[1024];
  ssize_t n = listxattr(path, buf, sizeof buf);
  if (n < 0) {
    printf("%s: %s\n", what, errno_name(errno));
    return;
  }
  char *names[64];
  int k = 0;
  for (ssize_t i = 0; i < n && k < 64; i += strlen(buf + i) + 1) {
    // Only the user namespace: security.* labels depend on the host.
    if (strncmp(buf + i, "user.", 5) == 0) names[k++] = buf + i;
  }
  qsort(names, k, sizeof names[0], cmp);
  printf("%s:", what);
  for (int i = 0; i < k; i++) printf(" %s", names[i]);
  printf("\n");
}

static void exercise(const char *file) {
  char value[64];
  SHOW_CALL("set user.a", setxattr(file, "user.a", "one", 3, 0));
  SHOW_CALL("set user.b", setxattr(file, "user.b", "", 0, 0));
  SHOW_CALL("create existing", setxattr(file, "user.a", "x", 1, XATTR_CREATE));
  SHOW_CALL("replace missing", setxattr(file, "user.c", "x", 1, XATTR_REPLACE));
  SHOW_CALL("replace existing", setxattr(file, "user.a", "two!", 4, XATTR_REPLACE));
  SHOW_CALL("bad flags", setxattr(file, "user.a", "x", 1, 4));
  SHOW_CALL("unknown namespace", setxattr(file, "bogus.a", "x", 1, 0));
  SHOW_CALL("empty name", setxattr(file, "", "x", 1, 0));
  SHOW_CALL("size query", getxattr(file, "user.a", NULL, 0));
  memset(value, 0, sizeof value);
  SHOW_CALL("get user.a", getxattr(file, "user.a", value, sizeof value));
  printf("value: [%s]\n", value);
  SHOW_CALL("get too small", getxattr(file, "user.a", value, 2));
  SHOW_CALL("get empty value", getxattr(file, "user.b", value, sizeof value));
  SHOW_CALL("get missing", getxattr(file, "user.zzz", value, sizeof value));
  show_list("list", file);
  SHOW_BOOL("list size query works", listxattr(file, NULL, 0) > 0);
  int fd = open(file, O_RDONLY);
  SHOW_CALL("fsetxattr", fsetxattr(fd, "user.fd", "f", 1, 0));
  SHOW_CALL("fgetxattr", fgetxattr(fd, "user.fd", value, sizeof value));
  SHOW_CALL("fremovexattr", fremovexattr(fd, "user.fd"));
  close(fd);
  SHOW_CALL("remove user.b", removexattr(file, "user.b"));
  SHOW_CALL("remove again", removexattr(file, "user.b"));
  show_list("list after remove", file);
  char link[4200];
  snprintf(link, sizeof link, "%s.lnk", file);
  if (symlink(file, link) < 0) perror("symlink");
  SHOW_CALL("lsetxattr user.* on a symlink", lsetxattr(link, "user.x", "1", 1, 0));
  SHOW_CALL("lgetxattr on a symlink", lgetxattr(link, "user.a", value, sizeof value));
  SHOW_CALL("getxattr through the symlink", getxattr(link, "user.a", value, sizeof value));
  unlink(link);
  // A copy of the file keeps none; a rename keeps them.
  char moved[4200];
  snprintf(moved, sizeof moved, "%s.moved", file);
  SHOW_CALL("rename", rename(file, moved));
  SHOW_CALL("get after rename", getxattr(moved, "user.a", value, sizeof value));
  SHOW_CALL("rename back", rename(moved, file));
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char path[] = "/tmp/fs_xattr_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  close(fd);
  printf("== in /tmp\n");
  exercise(path);
  unlink(path);
  char *copy = strdup(argv[1]);
  char other[4096];
  snprintf(other, sizeof other, "%s/xattr_file", dirname(copy));
  fd = open(other, O_CREAT | O_WRONLY, 0644);
  close(fd);
  printf("== next to the input\n");
  exercise(other);
  unlink(other);
  printf("== the input itself\n");
  SHOW_CALL("set on the input", setxattr(argv[1], "user.in", "v", 1, 0));
  show_list("input list", argv[1]);
  return 0;
}
