// File I/O beyond read/write: readv/writev, preadv/pwritev, preadv2/pwritev2 (offset -1,
// RWF_APPEND), O_APPEND, lseek whences and errors, fallocate, ftruncate, fsync, FIONREAD,
// FIOCLEX, statx, fstatat flags, statfs of a path and an fd, chroot; in /tmp and next to
// argv[1] (the host tree through the overlay in the sandbox).
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif

struct statx_ts {
  long long tv_sec;
  unsigned tv_nsec;
  int pad;
};
struct statx_s {
  unsigned mask, blksize;
  unsigned long long attributes;
  unsigned nlink, uid, gid;
  unsigned short mode, pad1;
  unsigned long long ino, size, blocks, attributes_mask;
  struct statx_ts atime, btime, ctime, mtime;
  unsigned rdev_major, rdev_minor, dev_major, dev_minor;
  unsigned long long spare[14];
};

static void show(const char *what, int fd) {
  char buf[128] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  printf("%s: [%.*s]\n", what, (int)(n > 0 ? n : 0), buf);
}

static void exercise(const char *base) {
  char path[4200];
  snprintf(path, sizeof path, "%s/io_file", base);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  struct iovec w[3] = {{"one ", 4}, {"", 0}, {"two ", 4}};
  SHOW_CALL("writev", writev(fd, w, 3));
  SHOW_CALL("offset", lseek(fd, 0, SEEK_CUR));
  char a[3] = {0}, b[6] = {0};
  struct iovec r[2] = {{a, 2}, {b, 5}};
  SHOW_CALL("preadv at 1", preadv(fd, r, 2, 1));
  printf("pieces: [%.2s] [%.5s]\n", a, b);
  SHOW_CALL("pwritev at 2", pwritev(fd, w, 1, 2));
  show("after pwritev", fd);
  SHOW_CALL("pwritev2 offset -1", syscall(SYS_pwritev2, (long)fd, (long)(w + 2), 1L, -1L, 0L, 0L));
  SHOW_CALL("offset after", lseek(fd, 0, SEEK_CUR));
  SHOW_CALL("pwritev2 RWF_APPEND", syscall(SYS_pwritev2, (long)fd, (long)w, 1L, 0L, 0L, (long)RWF_APPEND));
  show("after RWF_APPEND", fd);
  SHOW_CALL("preadv2 bad flags", syscall(SYS_preadv2, (long)fd, (long)r, 2L, 0L, 0L, 0x40000000L));
  volatile int minus_one = -1;
  SHOW_CALL("readv negative count", readv(fd, r, minus_one));
  SHOW_CALL("preadv negative offset", preadv(fd, r, 1, -2));
  SHOW_CALL("lseek SEEK_END -3", lseek(fd, -3, SEEK_END));
  SHOW_CALL("lseek negative", lseek(fd, -100, SEEK_CUR));
  SHOW_CALL("lseek bad whence", lseek(fd, 0, 9));
  SHOW_CALL("lseek past the end", lseek(fd, 1000, SEEK_SET));
  SHOW_CALL("write past the end", write(fd, "!", 1));
  struct stat st;
  fstat(fd, &st);
  SHOW_INT("size with a gap", st.st_size);
  int avail = -1;
  lseek(fd, 990, SEEK_SET);
  SHOW_CALL("FIONREAD", ioctl(fd, FIONREAD, &avail));
  SHOW_INT("bytes left", avail);
  SHOW_CALL("FIOCLEX", ioctl(fd, FIOCLEX));
  SHOW_INT("FD_CLOEXEC", fcntl(fd, F_GETFD));
  SHOW_CALL("fallocate", fallocate(fd, 0, 0, 5000));
  fstat(fd, &st);
  SHOW_INT("size after fallocate", st.st_size);
  SHOW_CALL("fallocate KEEP_SIZE", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 9000));
  fstat(fd, &st);
  SHOW_INT("size after KEEP_SIZE", st.st_size);
  SHOW_CALL("fallocate bad length", fallocate(fd, 0, 0, 0));
  SHOW_CALL("ftruncate 4", ftruncate(fd, 4));
  show("after ftruncate", fd);
  SHOW_CALL("fsync", fsync(fd));
  SHOW_CALL("fdatasync", fdatasync(fd));
  SHOW_CALL("sync_file_range", sync_file_range(fd, 0, 0, 0));
  close(fd);
  fd = open(path, O_WRONLY | O_APPEND);
  SHOW_CALL("O_APPEND write", write(fd, "tail", 4));
  SHOW_CALL("pwrite with O_APPEND", pwrite(fd, "X", 1, 0));
  close(fd);
  fd = open(path, O_RDONLY);
  show("after appends", fd);
  SHOW_CALL("fallocate read-only", fallocate(fd, 0, 0, 10));
  SHOW_CALL("pwrite read-only", pwrite(fd, "x", 1, 0));
  close(fd);
  struct statx_s sx;
  memset(&sx, 0, sizeof sx);
  SHOW_CALL("statx", syscall(SYS_statx, (long)AT_FDCWD, (long)path, 0L, 0x7ffL, (long)&sx));
  printf("statx: basic %s mode %o nlink %u size %llu\n", (sx.mask & 0x7ff) == 0x7ff ? "yes" : "no",
         sx.mode & 07777, sx.nlink, sx.size);
  SHOW_CALL("statx reserved mask bit", syscall(SYS_statx, (long)AT_FDCWD, (long)path, 0L, 0x80000000L, (long)&sx));
  SHOW_CALL("statx bad flags", syscall(SYS_statx, (long)AT_FDCWD, (long)path, 0x10000L, 0x7ffL, (long)&sx));
  char link[4300];
  snprintf(link, sizeof link, "%s.lnk", path);
  symlink("io_file", link);
  SHOW_CALL("fstatat NOFOLLOW", fstatat(AT_FDCWD, link, &st, AT_SYMLINK_NOFOLLOW));
  SHOW_BOOL("is a link", S_ISLNK(st.st_mode));
  SHOW_CALL("fstatat bad flag", fstatat(AT_FDCWD, link, &st, 0x1));
  struct statfs sf;
  SHOW_CALL("statfs", statfs(path, &sf));
  SHOW_BOOL("statfs block size set", sf.f_bsize > 0);
  fd = open(path, O_RDONLY);
  struct statfs sf2;
  SHOW_CALL("fstatfs", fstatfs(fd, &sf2));
  SHOW_BOOL("same filesystem", sf.f_type == sf2.f_type);
  close(fd);
  unlink(link);
  unlink(path);
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  printf("== /tmp\n");
  char tmpl[] = "/tmp/fs_io_XXXXXX";
  char *t = mkdtemp(tmpl);
  exercise(t);
  char *copy = strdup(argv[1]);
  char *dir = dirname(copy);
  printf("== next to the input\n");
  exercise(dir);
  printf("== chroot\n");
  mkdir("/tmp/fs_io_root", 0755);
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/inside", t);
    mkdir(sub, 0755);
    int fd = open(sub, O_RDONLY);
    int fd2 = open("/", O_RDONLY);
    SHOW_CALL("chroot", chroot(t));
    SHOW_CALL("chdir /", chdir("/"));
    SHOW_CALL("/inside exists", access("/inside", F_OK));
    SHOW_CALL("/tmp is gone", access("/tmp", F_OK));
    SHOW_CALL("/.. is /", access("/../inside", F_OK));
    char cwd[256];
    SHOW_CALL("getcwd", getcwd(cwd, sizeof cwd) ? 0 : -1);
    printf("cwd: %s\n", cwd);
    SHOW_CALL("fchdir out of the chroot", fchdir(fd2));
    SHOW_CALL("getcwd outside the root", getcwd(cwd, sizeof cwd) ? 0 : -1);
    SHOW_CALL("chroot to a file", chroot("/dev/null"));
    close(fd);
    rmdir("/inside");
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  rmdir("/tmp/fs_io_root");
  snprintf(tmpl, sizeof tmpl, "%s/inside", t);
  rmdir(tmpl);
  SHOW_CALL("rmdir tmp", rmdir(t));
  return 0;
}
