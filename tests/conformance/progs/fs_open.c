// Opening and path resolution: O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_DIRECTORY/O_NOFOLLOW/
// O_PATH/O_TMPFILE, trailing slashes, "..", symlink chains and the 40-link limit, dangling
// symlinks with O_CREAT, AT_EMPTY_PATH, openat2 and its RESOLVE_* flags, faccessat2, and
// the fd table: dup/dup2/dup3, F_DUPFD_CLOEXEC, close_range, RLIMIT_NOFILE, offsets shared
// across dup and fork.
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

struct how {
  uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10

static long openat2_(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
  struct how h = {flags, 0, resolve};
  return syscall(437, dirfd, path, &h, sizeof h);
}

static void closefd(long fd) {
  if (fd >= 0) close((int)fd);
}

#define SHOW_OPEN(what, call)                                                                      \
  do {                                                                                             \
    errno = 0;                                                                                     \
    long fd_ = (long)(call);                                                                       \
    printf("%s: %s\n", (what), fd_ >= 0 ? "ok" : errno_name(errno));                               \
    closefd(fd_);                                                                                  \
  } while (0)

static void put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  if (write(fd, text, strlen(text)) < 0) perror("write");
  close(fd);
}

static void show(const char *what, const char *path) {
  char buf[64] = {0};
  int fd = open(path, O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  printf("%s: [%.*s]\n", what, (int)(n > 0 ? n : 0), buf);
}

int main(void) {
  char tmpl[] = "/tmp/fs_open_XXXXXX";
  char *base = mkdtemp(tmpl);
  if (!base || chdir(base) < 0) return 1;
  umask(022);
  mkdir("dir", 0755);
  put("dir/file", "hello");

  printf("== open flags\n");
  SHOW_OPEN("O_CREAT|O_EXCL new", open("new", O_CREAT | O_EXCL | O_WRONLY, 0600));
  SHOW_OPEN("O_CREAT|O_EXCL existing", open("new", O_CREAT | O_EXCL | O_WRONLY, 0600));
  struct stat st;
  stat("new", &st);
  printf("new mode: %o\n", (unsigned)(st.st_mode & 07777));
  SHOW_OPEN("O_CREAT on a directory", open("dir", O_CREAT | O_RDONLY, 0600));
  SHOW_OPEN("O_CREAT with trailing slash", open("other/", O_CREAT | O_RDONLY, 0600));
  SHOW_OPEN("O_WRONLY a directory", open("dir", O_WRONLY));
  SHOW_OPEN("O_DIRECTORY on a file", open("dir/file", O_RDONLY | O_DIRECTORY));
  SHOW_OPEN("file with trailing slash", open("dir/file/", O_RDONLY));
  SHOW_OPEN("through a file", open("dir/file/x", O_RDONLY));
  SHOW_OPEN("missing", open("dir/missing", O_RDONLY));
  SHOW_OPEN("dir/../dir/./file", open("dir/../dir/./file", O_RDONLY));
  SHOW_OPEN("accmode 3", open("dir/file", 3));
  int fd = open("dir/file", O_WRONLY | O_TRUNC);
  SHOW_CALL("write after O_TRUNC", write(fd, "ab", 2));
  close(fd);
  show("after O_TRUNC", "dir/file");
  fd = open("dir/file", O_WRONLY | O_APPEND);
  SHOW_CALL("lseek 0", lseek(fd, 0, SEEK_SET));
  SHOW_CALL("append write", write(fd, "cd", 2));
  SHOW_CALL("offset after append", lseek(fd, 0, SEEK_CUR));
  SHOW_INT("F_GETFL", fcntl(fd, F_GETFL) & ~0100000);
  SHOW_CALL("F_SETFL clears O_APPEND", fcntl(fd, F_SETFL, 0));
  SHOW_CALL("pwrite at 0", pwrite(fd, "X", 1, 0));
  close(fd);
  show("after append", "dir/file");
  char big[300];
  memset(big, 'n', sizeof big - 1);
  big[sizeof big - 1] = 0;
  SHOW_OPEN("name too long", open(big, O_RDONLY));

  printf("== symlinks\n");
  symlink("dir/file", "link");
  symlink("link", "link2");
  symlink("loop1", "loop2");
  symlink("loop2", "loop1");
  symlink("missing-target", "dangling");
  symlink("dir", "dirlink");
  SHOW_OPEN("through two links", open("link2", O_RDONLY));
  SHOW_OPEN("O_NOFOLLOW on a link", open("link", O_RDONLY | O_NOFOLLOW));
  SHOW_OPEN("O_NOFOLLOW in the middle", open("dirlink/file", O_RDONLY | O_NOFOLLOW));
  SHOW_OPEN("loop", open("loop1", O_RDONLY));
  SHOW_OPEN("O_PATH|O_NOFOLLOW on a link", open("link", O_PATH | O_NOFOLLOW));
  SHOW_OPEN("dirlink/ trailing slash", open("dirlink/", O_RDONLY));
  SHOW_OPEN("O_CREAT through dangling", open("dangling", O_CREAT | O_WRONLY, 0644));
  SHOW_CALL("target created", access("missing-target", F_OK));
  unlink("missing-target");
  SHOW_OPEN("O_CREAT|O_EXCL on dangling", open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644));
  // A chain of 40 links resolves; 41 do not.
  char name[32], prev[32];
  mkdir("chain", 0755);
  put("chain/l0", "end");
  for (int i = 1; i <= 41; i++) {
    snprintf(name, sizeof name, "chain/l%d", i);
    snprintf(prev, sizeof prev, "l%d", i - 1);
    if (symlink(prev, name) < 0) perror("symlink");
  }
  SHOW_OPEN("40 links", open("chain/l40", O_RDONLY));
  SHOW_OPEN("41 links", open("chain/l41", O_RDONLY));
  SHOW_CALL("stat 41 links", stat("chain/l41", &st));
  SHOW_CALL("lstat 41 links", lstat("chain/l41", &st));

  printf("== O_PATH and AT_EMPTY_PATH\n");
  int pfd = open("dir/file", O_PATH);
  SHOW_CALL("read O_PATH", read(pfd, big, 1));
  SHOW_CALL("fstat O_PATH", fstat(pfd, &st));
  SHOW_INT("size via O_PATH", st.st_size);
  SHOW_CALL("fstatat AT_EMPTY_PATH", fstatat(pfd, "", &st, AT_EMPTY_PATH));
  SHOW_CALL("fstatat empty without flag", fstatat(pfd, "", &st, 0));
  SHOW_INT("F_GETFL O_PATH", fcntl(pfd, F_GETFL) & ~0100000);
  SHOW_CALL("fchmod O_PATH", fchmod(pfd, 0600));
  close(pfd);
  int dfd = open("dir", O_PATH | O_DIRECTORY);
  SHOW_OPEN("openat via O_PATH dir", openat(dfd, "file", O_RDONLY));
  SHOW_OPEN("openat relative to a file fd", openat(open("dir/file", O_RDONLY), "x", O_RDONLY));

  printf("== openat2\n");
  SHOW_OPEN("plain", openat2_(dfd, "file", O_RDONLY, 0));
  SHOW_OPEN("BENEATH inside", openat2_(dfd, "file", O_RDONLY, RESOLVE_BENEATH));
  SHOW_OPEN("BENEATH ..", openat2_(dfd, "../dir/file", O_RDONLY, RESOLVE_BENEATH));
  SHOW_OPEN("BENEATH absolute", openat2_(dfd, "/etc/passwd", O_RDONLY, RESOLVE_BENEATH));
  symlink("/etc/passwd", "dir/abs");
  symlink("../dir/file", "dir/up");
  symlink("file", "dir/rel");
  SHOW_OPEN("BENEATH absolute symlink", openat2_(dfd, "abs", O_RDONLY, RESOLVE_BENEATH));
  SHOW_OPEN("BENEATH .. symlink", openat2_(dfd, "up", O_RDONLY, RESOLVE_BENEATH));
  SHOW_OPEN("BENEATH relative symlink", openat2_(dfd, "rel", O_RDONLY, RESOLVE_BENEATH));
  SHOW_OPEN("IN_ROOT absolute symlink", openat2_(dfd, "abs", O_RDONLY, RESOLVE_IN_ROOT));
  SHOW_OPEN("IN_ROOT ../file", openat2_(dfd, "../../file", O_RDONLY, RESOLVE_IN_ROOT));
  SHOW_OPEN("IN_ROOT /file", openat2_(dfd, "/file", O_RDONLY, RESOLVE_IN_ROOT));
  SHOW_OPEN("NO_SYMLINKS", openat2_(dfd, "rel", O_RDONLY, RESOLVE_NO_SYMLINKS));
  SHOW_OPEN("NO_SYMLINKS plain", openat2_(dfd, "file", O_RDONLY, RESOLVE_NO_SYMLINKS));
  SHOW_OPEN("NO_XDEV plain", openat2_(dfd, "file", O_RDONLY, RESOLVE_NO_XDEV));
  SHOW_OPEN("NO_MAGICLINKS plain", openat2_(dfd, "rel", O_RDONLY, RESOLVE_NO_MAGICLINKS));
  SHOW_OPEN("BENEATH|IN_ROOT", openat2_(dfd, "file", O_RDONLY, RESOLVE_BENEATH | RESOLVE_IN_ROOT));
  SHOW_OPEN("unknown resolve bit", openat2_(dfd, "file", O_RDONLY, 0x100));
  struct how h = {O_RDONLY, 0644, 0};
  errno = 0;
  long r = syscall(437, dfd, "file", &h, sizeof h);
  printf("mode without O_CREAT: %s\n", r >= 0 ? "ok" : errno_name(errno));
  closefd(r);
  r = syscall(437, dfd, "file", &h, 8);
  printf("size 8: %s\n", r >= 0 ? "ok" : errno_name(errno));
  closefd(r);
  close(dfd);

  printf("== O_TMPFILE\n");
  fd = open(".", O_TMPFILE | O_RDWR, 0600);
  if (fd < 0) {
    printf("O_TMPFILE: %s\n", errno_name(errno));
  } else {
    SHOW_CALL("write", write(fd, "tmp", 3));
    fstat(fd, &st);
    SHOW_INT("nlink", st.st_nlink);
    SHOW_CALL("pread", pread(fd, big, 3, 0));
    close(fd);
  }
  SHOW_OPEN("O_TMPFILE read-only", open(".", O_TMPFILE | O_RDONLY, 0600));

  printf("== access\n");
  SHOW_CALL("access R_OK", access("dir/file", R_OK));
  SHOW_CALL("access X_OK on a 644 file", access("dir/file", X_OK));
  SHOW_CALL("access bad mode", access("dir/file", 8));
  SHOW_CALL("faccessat2 EACCESS", syscall(439, AT_FDCWD, "dir/file", W_OK, AT_EACCESS));
  SHOW_CALL("faccessat2 bad flag", syscall(439, AT_FDCWD, "dir/file", W_OK, 0x1));
  SHOW_CALL("faccessat2 NOFOLLOW dangling", syscall(439, AT_FDCWD, "dangling", F_OK, AT_SYMLINK_NOFOLLOW));
  SHOW_CALL("faccessat2 dangling", syscall(439, AT_FDCWD, "dangling", F_OK, 0));

  printf("== fd table\n");
  fd = open("dir/file", O_RDONLY);
  int d1 = dup(fd);
  SHOW_BOOL("dup gives the lowest", d1 == fd + 1);
  SHOW_CALL("lseek via dup", lseek(d1, 2, SEEK_SET));
  SHOW_CALL("offset shared", lseek(fd, 0, SEEK_CUR));
  SHOW_CALL("dup2 same", dup2(fd, fd) == fd);
  SHOW_CALL("dup3 same", dup3(fd, fd, 0));
  SHOW_CALL("dup3 bad flags", dup3(fd, 100, 1));
  SHOW_CALL("dup3 O_CLOEXEC", dup3(fd, 100, O_CLOEXEC));
  SHOW_INT("FD_CLOEXEC on 100", fcntl(100, F_GETFD));
  SHOW_CALL("F_DUPFD_CLOEXEC from 50", fcntl(fd, F_DUPFD_CLOEXEC, 50));
  SHOW_INT("FD_CLOEXEC on 50", fcntl(50, F_GETFD));
  SHOW_CALL("dup2 to a huge fd", dup2(fd, 1 << 30));
  SHOW_CALL("close_range 50..100 CLOEXEC", syscall(436, 50, 100, 4));
  SHOW_CALL("close_range 50..100", syscall(436, 50, 100, 0));
  SHOW_CALL("fcntl on closed 50", fcntl(50, F_GETFD));
  SHOW_CALL("close_range bad", syscall(436, 10, 5, 0));
  pid_t pid = fork();
  if (pid == 0) {
    lseek(fd, 4, SEEK_SET);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  SHOW_CALL("offset set by the child", lseek(fd, 0, SEEK_CUR));
  struct rlimit rl = {8, 8};
  setrlimit(RLIMIT_NOFILE, &rl);
  int opened = 0;
  for (int i = 0; i < 20; i++) {
    int n = open("dir/file", O_RDONLY);
    if (n < 0) {
      printf("open stops with: %s\n", errno_name(errno));
      break;
    }
    opened++;
  }
  SHOW_BOOL("some opened", opened > 0);
  SHOW_CALL("dup2 beyond the limit", dup2(fd, 9));
  SHOW_CALL("F_DUPFD beyond the limit", fcntl(fd, F_DUPFD, 8));
  return 0;
}
