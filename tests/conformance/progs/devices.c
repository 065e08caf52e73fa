// /dev: null, zero, full, random, urandom, tty, ptmx, the fd links, /dev/shm; device numbers,
// read/write/seek semantics, mmap of /dev/zero, and the errors of a terminal-less process.
#include "conformance.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void show_node(const char *path) {
  struct stat st;
  char what[128];
  if (stat(path, &st) < 0) {
    snprintf(what, sizeof what, "stat %s", path);
    SHOW_STR(what, errno_name(errno));
    return;
  }
  printf("%s: %s %u:%u mode %o\n", path, S_ISCHR(st.st_mode) ? "char" : S_ISDIR(st.st_mode) ? "dir" : "other",
         major(st.st_rdev), minor(st.st_rdev), st.st_mode & 0777);
}

static void show_link(const char *path) {
  char buf[256];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  printf("readlink %s: %s\n", path, n < 0 ? errno_name(errno) : buf);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *nodes[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"};
  for (unsigned i = 0; i < sizeof nodes / sizeof *nodes; i++) show_node(nodes[i]);
  show_link("/dev/fd");
  show_link("/dev/stdin");
  show_link("/dev/stdout");
  show_link("/dev/stderr");

  char buf[64];
  int fd = open("/dev/null", O_RDWR);
  SHOW_CALL("write /dev/null", write(fd, "hello", 5));
  SHOW_CALL("read /dev/null", read(fd, buf, sizeof buf));
  SHOW_CALL("lseek /dev/null", lseek(fd, 100, SEEK_SET));
  SHOW_CALL("pread /dev/null", pread(fd, buf, 4, 10));
  SHOW_CALL("TCGETS on /dev/null", ioctl(fd, TCGETS, buf));
  SHOW_BOOL("isatty(/dev/null)", isatty(fd));
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
  SHOW_CALL("poll /dev/null", poll(&p, 1, 0));
  SHOW_INT("poll /dev/null revents", p.revents);
  close(fd);

  fd = open("/dev/zero", O_RDWR);
  memset(buf, 'x', sizeof buf);
  SHOW_CALL("read /dev/zero", read(fd, buf, 40));
  int zeros = 1;
  for (int i = 0; i < 40; i++) zeros &= buf[i] == 0;
  SHOW_BOOL("all zeros", zeros);
  SHOW_BOOL("past the read untouched", buf[40] == 'x');
  SHOW_CALL("write /dev/zero", write(fd, "abc", 3));
  char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  SHOW_BOOL("mmap private /dev/zero", m != MAP_FAILED);
  if (m != MAP_FAILED) {
    SHOW_BOOL("mapping reads zero", m[0] == 0 && m[8191] == 0);
    m[100] = 7;
    SHOW_INT("mapping written", m[100]);
    munmap(m, 8192);
  }
  int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  SHOW_BOOL("mmap shared /dev/zero", shared != MAP_FAILED);
  if (shared != MAP_FAILED) {
    FLUSH();
    pid_t pid = fork();
    if (pid == 0) {
      shared[0] = 1234;
      _exit(0);
    }
    waitpid(pid, NULL, 0);
    SHOW_INT("shared mapping after the child wrote", shared[0]);
  }
  close(fd);

  fd = open("/dev/full", O_RDWR);
  SHOW_CALL("write /dev/full", write(fd, "abc", 3));
  SHOW_CALL("read /dev/full", read(fd, buf, 16));
  SHOW_BOOL("/dev/full reads zeros", buf[0] == 0 && buf[15] == 0);
  close(fd);

  for (int i = 0; i < 2; i++) {
    const char *path = i ? "/dev/random" : "/dev/urandom";
    fd = open(path, O_RDWR);
    unsigned char r[32] = {0}, r2[32] = {0};
    ssize_t n = read(fd, r, sizeof r);
    ssize_t n2 = read(fd, r2, sizeof r2);
    char what[64];
    snprintf(what, sizeof what, "read %s", path);
    SHOW_INT(what, n + n2);
    SHOW_BOOL("two reads differ", memcmp(r, r2, sizeof r) != 0);
    SHOW_CALL("write (adds entropy)", write(fd, "x", 1));
    close(fd);
  }

  // Without a controlling terminal /dev/tty cannot be opened.
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    SHOW_CALL("open /dev/tty without a terminal", open("/dev/tty", O_RDWR));
    FLUSH();
    _exit(0);
  }
  waitpid(pid, NULL, 0);

  // The fd links.
  fd = open("/dev/fd/1", O_WRONLY);
  SHOW_BOOL("open /dev/fd/1", fd >= 0);
  SHOW_CALL("write through it", write(fd, "via /dev/fd/1\n", 14));
  close(fd);
  int pipefd[2];
  if (pipe(pipefd) < 0) return 1;
  char path[64];
  snprintf(path, sizeof path, "/dev/fd/%d", pipefd[0]);
  int again = open(path, O_RDONLY);
  SHOW_BOOL("reopen a pipe through /dev/fd", again >= 0);
  SHOW_CALL("write the pipe", write(pipefd[1], "pipe", 4));
  memset(buf, 0, sizeof buf);
  SHOW_CALL("read through the reopened end", read(again, buf, sizeof buf));
  SHOW_STR("read", buf);

  // /dev/shm is a writable tmpfs.
  fd = open("/dev/shm/conformance-devices", O_RDWR | O_CREAT | O_EXCL, 0600);
  SHOW_BOOL("create in /dev/shm", fd >= 0);
  SHOW_CALL("write it", write(fd, "shm", 3));
  close(fd);
  SHOW_CALL("unlink it", unlink("/dev/shm/conformance-devices"));
  return 0;
}
