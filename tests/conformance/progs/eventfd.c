// eventfd: counter and semaphore modes, overflow, non-blocking reads and writes, poll,
// and a blocked reader woken by another process.
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static void show_read(const char *what, int fd) {
  uint64_t v = 0;
  errno = 0;
  ssize_t n = read(fd, &v, sizeof v);
  printf("%s: %zd (%s) value %llu\n", what, n, errno_name(n < 0 ? errno : 0), (unsigned long long)v);
}

static long write_value(int fd, uint64_t v) { return write(fd, &v, sizeof v); }

static int revents(int fd, short events) {
  struct pollfd p = {fd, events, 0};
  poll(&p, 1, 0);
  return p.revents;
}

int main(void) {
  SHOW_CALL("eventfd2 bad flags", eventfd(0, 0x100));
  int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
  SHOW_BOOL("cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
  SHOW_BOOL("nonblocking", fcntl(fd, F_GETFL) & O_NONBLOCK);
  struct stat st;
  fstat(fd, &st);
  SHOW_INT("fstat mode", st.st_mode);
  printf("poll with 3: %#x\n", revents(fd, POLLIN | POLLOUT));
  show_read("read", fd);
  show_read("read empty", fd);
  printf("poll with 0: %#x\n", revents(fd, POLLIN | POLLOUT));
  SHOW_CALL("write 5", write_value(fd, 5));
  SHOW_CALL("write 7", write_value(fd, 7));
  show_read("read sum", fd);
  uint32_t small = 1;
  SHOW_CALL("write 4 bytes", write(fd, &small, sizeof small));
  SHOW_CALL("read 4 bytes", read(fd, &small, sizeof small));
  SHOW_CALL("write the maximum + 1", write_value(fd, UINT64_MAX));
  SHOW_CALL("write the maximum", write_value(fd, UINT64_MAX - 1));
  printf("poll when full: %#x\n", revents(fd, POLLIN | POLLOUT));
  SHOW_CALL("write 1 more", write_value(fd, 1));
  SHOW_CALL("write 0 more", write_value(fd, 0));
  show_read("read the maximum", fd);
  SHOW_CALL("lseek", lseek(fd, 0, SEEK_SET));
  close(fd);

  fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  show_read("semaphore 1", fd);
  show_read("semaphore 2", fd);
  show_read("semaphore 3", fd);
  close(fd);

  // A blocked reader woken by a child.
  fd = eventfd(0, 0);
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    write_value(fd, 42);
    _exit(0);
  }
  show_read("blocking read", fd);
  waitpid(child, NULL, 0);

  // A blocked writer woken by a reader.
  write_value(fd, UINT64_MAX - 1);
  FLUSH();
  child = fork();
  if (child == 0) {
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    uint64_t v;
    read(fd, &v, sizeof v);
    _exit(0);
  }
  SHOW_CALL("blocking write", write_value(fd, 9));
  waitpid(child, NULL, 0);
  show_read("after the blocked write", fd);
  return 0;
}
