// File locks: fcntl record locks (F_SETLK, F_SETLKW, F_GETLK) between processes, ranges
// split and merged, release on close of any fd; OFD locks; flock() between descriptions;
// waiting for a lock held by another process.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#endif

static int lk(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

/** F_GETLK for [start, start+len) of the given type, printed without the pid. */
static void getlk(const char *what, int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  if (fcntl(fd, cmd, &fl) < 0) {
    printf("%s: %s\n", what, errno_name(errno));
    return;
  }
  if (fl.l_type == F_UNLCK) printf("%s: unlocked\n", what);
  else printf("%s: %s %lld+%lld pid %s\n", what, fl.l_type == F_WRLCK ? "write" : "read", (long long)fl.l_start,
              (long long)fl.l_len, fl.l_pid == -1 ? "-1" : fl.l_pid > 0 ? "positive" : "zero");
}

static void wait_for(int rfd) {
  char c;
  if (read(rfd, &c, 1) != 1) exit(3);
}

static void signal_to(int wfd) {
  if (write(wfd, "x", 1) != 1) exit(3);
}

int main(void) {
  char path[] = "/tmp/fs_locks_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  if (ftruncate(fd, 100) < 0) return 1;
  int to_child[2], to_parent[2];
  if (pipe(to_child) < 0 || pipe(to_parent) < 0) return 1;

  printf("== record locks\n");
  SHOW_CALL("write lock 0-9", lk(fd, F_SETLK, F_WRLCK, 0, 10));
  SHOW_CALL("read lock 20-29", lk(fd, F_SETLK, F_RDLCK, 20, 10));
  SHOW_CALL("read lock 10-19 (merges nothing)", lk(fd, F_SETLK, F_RDLCK, 10, 10));
  getlk("own locks never conflict", fd, F_GETLK, F_WRLCK, 0, 0);
  SHOW_CALL("bad type", lk(fd, F_SETLK, 7, 0, 1));
  SHOW_CALL("negative start", lk(fd, F_SETLK, F_RDLCK, -5, 1));
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open(path, O_RDWR);
    getlk("child sees write lock", cfd, F_GETLK, F_RDLCK, 5, 1);
    getlk("child sees read lock", cfd, F_GETLK, F_WRLCK, 25, 1);
    getlk("child may read-lock 20-29", cfd, F_GETLK, F_RDLCK, 20, 10);
    getlk("child may lock past the end", cfd, F_GETLK, F_WRLCK, 30, 0);
    SHOW_CALL("child write lock 5 fails", lk(cfd, F_SETLK, F_WRLCK, 5, 1));
    SHOW_CALL("child read lock 25 works", lk(cfd, F_SETLK, F_RDLCK, 25, 1));
    fflush(stdout);
    signal_to(to_parent[1]);
    wait_for(to_child[0]);
    // The parent unlocked 0-9 by closing another fd of the file.
    SHOW_CALL("child write lock 5 after parent's close", lk(cfd, F_SETLK, F_WRLCK, 5, 1));
    fflush(stdout);
    signal_to(to_parent[1]);
    wait_for(to_child[0]);
    // The parent holds 50-59 now: wait for it.
    SHOW_CALL("child waits for 50", lk(cfd, F_SETLKW, F_WRLCK, 50, 1));
    fflush(stdout);
    _exit(0);
  }
  wait_for(to_parent[0]);
  getlk("parent sees child's read lock", fd, F_GETLK, F_WRLCK, 25, 1);
  SHOW_CALL("parent write lock 25 fails", lk(fd, F_SETLK, F_WRLCK, 25, 1));
  int other = open(path, O_RDONLY);
  close(other); // drops every lock of this process on the file
  getlk("after closing another fd", fd, F_GETLK, F_WRLCK, 0, 100);
  FLUSH();
  signal_to(to_child[1]);
  wait_for(to_parent[0]);
  SHOW_CALL("parent write lock 50", lk(fd, F_SETLK, F_WRLCK, 50, 10));
  FLUSH();
  signal_to(to_child[1]);
  usleep(100000);
  SHOW_CALL("parent unlock 50", lk(fd, F_SETLK, F_UNLCK, 50, 10));
  int status;
  waitpid(pid, &status, 0);
  SHOW_INT("child exit", WEXITSTATUS(status));
  getlk("child's locks went with it", fd, F_GETLK, F_WRLCK, 0, 0);

  printf("== OFD locks\n");
  int a = open(path, O_RDWR), b = open(path, O_RDWR);
  SHOW_CALL("OFD write lock on a", lk(a, F_OFD_SETLK, F_WRLCK, 0, 10));
  SHOW_CALL("OFD write lock on b conflicts", lk(b, F_OFD_SETLK, F_WRLCK, 5, 10));
  getlk("OFD getlk from b", b, F_OFD_GETLK, F_WRLCK, 0, 0);
  struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1};
  SHOW_CALL("OFD with l_pid set", fcntl(b, F_OFD_SETLK, &fl));
  close(b);
  b = open(path, O_RDWR);
  SHOW_CALL("closing another description keeps OFD locks", lk(b, F_OFD_SETLK, F_WRLCK, 5, 10));
  close(a);
  SHOW_CALL("gone after the last close", lk(b, F_OFD_SETLK, F_WRLCK, 5, 10));
  close(b);

  printf("== flock\n");
  a = open(path, O_RDONLY);
  b = open(path, O_RDONLY);
  SHOW_CALL("LOCK_SH a", flock(a, LOCK_SH));
  SHOW_CALL("LOCK_SH b", flock(b, LOCK_SH));
  SHOW_CALL("LOCK_EX|LOCK_NB a", flock(a, LOCK_EX | LOCK_NB));
  SHOW_CALL("LOCK_UN b", flock(b, LOCK_UN));
  SHOW_CALL("LOCK_EX|LOCK_NB a again", flock(a, LOCK_EX | LOCK_NB));
  SHOW_CALL("LOCK_SH|LOCK_NB b", flock(b, LOCK_SH | LOCK_NB));
  int a2 = dup(a);
  close(a);
  SHOW_CALL("a dup keeps the lock", flock(b, LOCK_SH | LOCK_NB));
  close(a2);
  SHOW_CALL("released on last close", flock(b, LOCK_SH | LOCK_NB));
  SHOW_CALL("bad operation", flock(b, 0));
  close(b);
  unlink(path);
  return 0;
}
