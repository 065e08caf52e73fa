/*
 * Host syscalls the sentry makes on a guest's behalf, as thin wrappers that return -errno
 * (bound in ffi/host.ts). Paths are always relative to a directory fd the sentry holds
 * (invariant 3: a guest path is never joined onto a host path); the sentry resolves guest
 * paths itself, one component at a time.
 *
 * *_mem variants move data straight between a host fd and guest memory: their offsets are
 * offsets into the memory file, whose mapping in the sentry is sb_g.mem.
 */
#include "hostcall.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

int sb_h_openat(int dirfd, const char *path, int flags, int mode) {
  RET(openat(dirfd, path, flags | O_CLOEXEC, mode));
}

/* openat2 confined to the tree below dirfd: no "..", symlinks or magic links may lead out. */
int sb_h_openat2_beneath(int dirfd, const char *path, int flags, int mode, int resolve) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = (uint64_t)mode,
                         .resolve = (uint64_t)resolve};
  RET(syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int sb_h_close(int fd) { RET(close(fd)); }

int sb_h_dup(int fd) { RET(fcntl(fd, F_DUPFD_CLOEXEC, 0)); }

/* struct stat as the kernel returns it (144 bytes), into buf. */
int sb_h_fstatat(int dirfd, const char *path, uint8_t *buf, int flags) {
  RET(fstatat(dirfd, path, (struct stat *)buf, flags));
}

int sb_h_fstat(int fd, uint8_t *buf) { RET(fstat(fd, (struct stat *)buf)); }

int sb_h_statx(int dirfd, const char *path, int flags, int mask, uint8_t *buf) {
  RET(syscall(SYS_statx, dirfd, path, flags, mask, buf));
}

int sb_h_readlinkat(int dirfd, const char *path, uint8_t *buf, int len) {
  RET(readlinkat(dirfd, path, (char *)buf, (size_t)len));
}

int sb_h_getdents64(int fd, uint8_t *buf, int len) { RET(syscall(SYS_getdents64, fd, buf, len)); }

double sb_h_lseek(int fd, double off, int whence) { RETD(lseek(fd, (off_t)off, whence)); }

int sb_h_read(int fd, uint8_t *buf, int len) { RET(read(fd, buf, (size_t)len)); }

int sb_h_write(int fd, const uint8_t *buf, int len) { RET(write(fd, buf, (size_t)len)); }

int sb_h_pread(int fd, uint8_t *buf, int len, double off) {
  RET(pread(fd, buf, (size_t)len, (off_t)off));
}

int sb_h_pwrite(int fd, const uint8_t *buf, int len, double off) {
  RET(pwrite(fd, buf, (size_t)len, (off_t)off));
}

/* off < 0: at the file position. */
double sb_h_read_mem(int fd, double memoff, double len, double off) {
  if (!mem_ok(memoff, len)) return -EINVAL;
  void *p = sb_g.mem + (uint64_t)memoff;
  if (off < 0) RETD(read(fd, p, (size_t)len));
  RETD(pread(fd, p, (size_t)len, (off_t)off));
}

double sb_h_write_mem(int fd, double memoff, double len, double off) {
  if (!mem_ok(memoff, len)) return -EINVAL;
  const void *p = sb_g.mem + (uint64_t)memoff;
  if (off < 0) RETD(write(fd, p, (size_t)len));
  RETD(pwrite(fd, p, (size_t)len, (off_t)off));
}

/* Vectored I/O between a host fd and guest memory. iov holds n pairs of doubles
 * (memory-file offset, length). off < 0: at the file position. flags: preadv2 flags. */
#define MAX_IOV 1024
static struct iovec iov_scratch[MAX_IOV];

static int build_iov(const double *iov, int n) {
  if (n < 0 || n > MAX_IOV) return -EINVAL;
  for (int i = 0; i < n; i++) {
    if (!mem_ok(iov[2 * i], iov[2 * i + 1])) return -EINVAL;
    iov_scratch[i].iov_base = sb_g.mem + (uint64_t)iov[2 * i];
    iov_scratch[i].iov_len = (size_t)iov[2 * i + 1];
  }
  return 0;
}

double sb_h_readv_mem(int fd, const double *iov, int n, double off, int flags) {
  int rc = build_iov(iov, n);
  if (rc < 0) return rc;
  RETD(preadv2(fd, iov_scratch, n, off < 0 ? -1 : (off_t)off, flags));
}

double sb_h_writev_mem(int fd, const double *iov, int n, double off, int flags) {
  int rc = build_iov(iov, n);
  if (rc < 0) return rc;
  RETD(pwritev2(fd, iov_scratch, n, off < 0 ? -1 : (off_t)off, flags));
}

/* send/recv with flags (MSG_DONTWAIT lets a blocking host socket be used without blocking
 * the sentry). */
double sb_h_send_mem(int fd, double memoff, double len, int flags) {
  if (!mem_ok(memoff, len)) return -EINVAL;
  RETD(send(fd, sb_g.mem + (uint64_t)memoff, (size_t)len, flags));
}

double sb_h_recv_mem(int fd, double memoff, double len, int flags) {
  if (!mem_ok(memoff, len)) return -EINVAL;
  RETD(recv(fd, sb_g.mem + (uint64_t)memoff, (size_t)len, flags));
}

int sb_h_mkdirat(int dirfd, const char *path, int mode) { RET(mkdirat(dirfd, path, (mode_t)mode)); }

int sb_h_unlinkat(int dirfd, const char *path, int flags) { RET(unlinkat(dirfd, path, flags)); }

int sb_h_renameat2(int olddir, const char *oldpath, int newdir, const char *newpath, int flags) {
  RET(syscall(SYS_renameat2, olddir, oldpath, newdir, newpath, flags));
}

int sb_h_symlinkat(const char *target, int dirfd, const char *path) {
  RET(symlinkat(target, dirfd, path));
}

int sb_h_linkat(int olddir, const char *oldpath, int newdir, const char *newpath, int flags) {
  RET(linkat(olddir, oldpath, newdir, newpath, flags));
}

int sb_h_mknodat(int dirfd, const char *path, int mode, double dev) {
  RET(mknodat(dirfd, path, (mode_t)mode, (dev_t)dev));
}

int sb_h_fchmodat(int dirfd, const char *path, int mode, int flags) {
  RET(fchmodat(dirfd, path, (mode_t)mode, flags));
}

int sb_h_fchmod(int fd, int mode) { RET(fchmod(fd, (mode_t)mode)); }

int sb_h_fchownat(int dirfd, const char *path, int uid, int gid, int flags) {
  RET(fchownat(dirfd, path, (uid_t)uid, (gid_t)gid, flags));
}

/* times: 4 doubles (atime sec, nsec, mtime sec, nsec); nsec may be UTIME_NOW/UTIME_OMIT. */
int sb_h_utimensat(int dirfd, const char *path, const double *t, int flags) {
  struct timespec ts[2] = {{(time_t)t[0], (long)t[1]}, {(time_t)t[2], (long)t[3]}};
  RET(utimensat(dirfd, path, ts, flags));
}

int sb_h_ftruncate(int fd, double len) { RET(ftruncate(fd, (off_t)len)); }

int sb_h_fallocate(int fd, int mode, double off, double len) {
  RET(fallocate(fd, mode, (off_t)off, (off_t)len));
}

int sb_h_fsync(int fd, int datasync) { RET(datasync ? fdatasync(fd) : fsync(fd)); }

int sb_h_fcntl(int fd, int cmd, int arg) { RET(fcntl(fd, cmd, (long)arg)); }

int sb_h_ioctl(int fd, unsigned req, uint8_t *arg) { RET(ioctl(fd, (unsigned long)req, arg)); }

int sb_h_ioctl_int(int fd, unsigned req, int arg) { RET(ioctl(fd, (unsigned long)req, (long)arg)); }

int sb_h_fstatfs(int fd, uint8_t *buf) { RET(syscall(SYS_fstatfs, fd, buf)); }

int sb_h_fgetxattr(int fd, const char *name, uint8_t *buf, int len) {
  RET(fgetxattr(fd, name, buf, (size_t)len));
}

int sb_h_flistxattr(int fd, uint8_t *buf, int len) { RET(flistxattr(fd, (char *)buf, (size_t)len)); }

int sb_h_fsetxattr(int fd, const char *name, const uint8_t *buf, int len, int flags) {
  RET(fsetxattr(fd, name, buf, (size_t)len, flags));
}

int sb_h_fremovexattr(int fd, const char *name) { RET(fremovexattr(fd, name)); }

/* Non-blocking readiness check of one fd (poll with timeout 0): revents or -errno. */
int sb_h_poll1(int fd, int events) {
  struct pollfd p = {.fd = fd, .events = (short)events};
  int rc = poll(&p, 1, 0);
  if (rc < 0) return -errno;
  return rc ? p.revents : 0;
}

/* Reopens fd through /proc/self/fd to get a file description of our own (for pipes and
 * terminals inherited from the host: we can set O_NONBLOCK on it without changing the
 * host's description, which our parent shell shares). */
int sb_h_reopen(int fd, int flags) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  RET(open(path, flags | O_CLOEXEC));
}

int sb_h_pipe2(int *fds, int flags) { RET(pipe2(fds, flags | O_CLOEXEC)); }

int sb_h_getrandom(uint8_t *buf, int len) { RET(syscall(SYS_getrandom, buf, len, 0)); }

double sb_h_clock_ns(int clock) {
  struct timespec ts;
  if (clock_gettime(clock, &ts) < 0) return -errno;
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int sb_h_getpid(void) { return getpid(); }
int sb_h_getuid(void) { return (int)getuid(); }
int sb_h_getgid(void) { return (int)getgid(); }

int sb_h_isatty(int fd) { return isatty(fd); }

/* chmod of the file an fd (O_PATH included) refers to, never following a symlink:
 * fchmodat2(fd, "", mode, AT_EMPTY_PATH), or chmod through /proc/self/fd on kernels before
 * 6.6 (the sentry's own fd: it names exactly that inode). */
int sb_h_fchmod_fd(int fd, int mode) {
  if (syscall(SYS_fchmodat2, fd, "", (mode_t)mode, AT_EMPTY_PATH) == 0) return 0;
  if (errno != ENOSYS && errno != EINVAL) return -errno;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  RET(chmod(path, (mode_t)mode));
}

/* getxattr family on the file an fd (O_PATH included) refers to, through /proc/self/fd
 * (the f*xattr calls refuse O_PATH fds). Never used on symlinks. */
int sb_h_fdgetxattr(int fd, const char *name, uint8_t *buf, int len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  RET(getxattr(path, name, buf, (size_t)len));
}

int sb_h_fdsetxattr(int fd, const char *name, const uint8_t *buf, int len, int flags) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  RET(setxattr(path, name, buf, (size_t)len, flags));
}

int sb_h_fdlistxattr(int fd, uint8_t *buf, int len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  RET(listxattr(path, (char *)buf, (size_t)len));
}

int sb_h_fdremovexattr(int fd, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  RET(removexattr(path, name));
}

/* copy_file_range between host fds (sendfile/copy_file_range between host files). */
double sb_h_copy_file_range(int infd, double inoff, int outfd, double outoff, double len) {
  loff_t in = (loff_t)inoff, out = (loff_t)outoff;
  RETD(copy_file_range(infd, inoff < 0 ? NULL : &in, outfd, outoff < 0 ? NULL : &out, (size_t)len, 0));
}
