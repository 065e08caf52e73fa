// timerfd: one-shot and periodic timers, absolute times on both clocks, gettime, disarming,
// non-blocking reads, poll and epoll readiness, and errors.
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static uint64_t read_ticks(int fd, long *rc) {
  uint64_t v = 0;
  errno = 0;
  *rc = read(fd, &v, sizeof v);
  return v;
}

static struct itimerspec spec(long value_ns, long interval_ns) {
  struct itimerspec s;
  s.it_value.tv_sec = value_ns / 1000000000L;
  s.it_value.tv_nsec = value_ns % 1000000000L;
  s.it_interval.tv_sec = interval_ns / 1000000000L;
  s.it_interval.tv_nsec = interval_ns % 1000000000L;
  return s;
}

int main(void) {
  long rc;
  SHOW_CALL("bad clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
  SHOW_CALL("bad flags", timerfd_create(CLOCK_MONOTONIC, 0x10));
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  SHOW_BOOL("cloexec", fcntl(fd, F_GETFD) & FD_CLOEXEC);
  read_ticks(fd, &rc);
  printf("read disarmed: %ld (%s)\n", rc, errno_name(rc < 0 ? errno : 0));
  struct itimerspec cur;
  timerfd_gettime(fd, &cur);
  printf("gettime disarmed: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
  struct itimerspec bad = spec(0, 0);
  bad.it_value.tv_nsec = 1000000000L;
  SHOW_CALL("settime bad nsec", timerfd_settime(fd, 0, &bad, NULL));
  SHOW_CALL("settime bad flags", timerfd_settime(fd, 8, &bad, NULL));
  SHOW_CALL("settime on a pipe", timerfd_settime(0, 0, &bad, NULL));

  // One-shot, 30 ms: readable after it fires, once.
  struct itimerspec s = spec(30000000L, 0);
  SHOW_CALL("settime 30ms", timerfd_settime(fd, 0, &s, NULL));
  timerfd_gettime(fd, &cur);
  SHOW_BOOL("gettime: armed, at most 30ms", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 30000000L);
  struct pollfd p = {fd, POLLIN, 0};
  SHOW_CALL("poll until it fires", poll(&p, 1, 5000));
  uint64_t v = read_ticks(fd, &rc);
  printf("read: %ld ticks %llu\n", rc, (unsigned long long)v);
  read_ticks(fd, &rc);
  printf("read again: %ld (%s)\n", rc, errno_name(rc < 0 ? errno : 0));
  timerfd_gettime(fd, &cur);
  printf("gettime after: %ld %ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);

  // Periodic, every 10 ms, read after >= 35 ms: at least 3 ticks.
  s = spec(10000000L, 10000000L);
  timerfd_settime(fd, 0, &s, NULL);
  struct timespec nap = {0, 45000000L};
  nanosleep(&nap, NULL);
  v = read_ticks(fd, &rc);
  printf("periodic: %ld, at least 3 ticks: %s\n", rc, v >= 3 ? "yes" : "no");
  struct itimerspec old;
  s = spec(0, 0);
  timerfd_settime(fd, 0, &s, &old);
  printf("old interval: %ld %ld\n", (long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
  read_ticks(fd, &rc);
  printf("disarmed read: %ld (%s)\n", rc, errno_name(rc < 0 ? errno : 0));
  close(fd);

  // Absolute times, in the past: fire at once.
  int rt = timerfd_create(CLOCK_REALTIME, 0);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  s = spec(0, 0);
  s.it_value.tv_sec = now.tv_sec - 1;
  SHOW_CALL("realtime absolute, past", timerfd_settime(rt, TFD_TIMER_ABSTIME, &s, NULL));
  v = read_ticks(rt, &rc);
  printf("blocking read: %ld ticks %llu\n", rc, (unsigned long long)v);
  clock_gettime(CLOCK_REALTIME, &now);
  s.it_value.tv_sec = now.tv_sec;
  s.it_value.tv_nsec = now.tv_nsec;
  s.it_value.tv_nsec += 30000000L;
  if (s.it_value.tv_nsec >= 1000000000L) {
    s.it_value.tv_sec++;
    s.it_value.tv_nsec -= 1000000000L;
  }
  timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, NULL);
  v = read_ticks(rt, &rc);
  printf("realtime absolute, 30ms ahead: %ld ticks %llu\n", rc, (unsigned long long)v);
  close(rt);

  int mono = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
  clock_gettime(CLOCK_BOOTTIME, &now);
  s = spec(0, 0);
  s.it_value = now;
  s.it_value.tv_nsec = (now.tv_nsec + 20000000L) % 1000000000L;
  if (s.it_value.tv_nsec < now.tv_nsec) s.it_value.tv_sec++;
  timerfd_settime(mono, TFD_TIMER_ABSTIME, &s, NULL);
  int ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 77};
  epoll_ctl(ep, EPOLL_CTL_ADD, mono, &e);
  struct epoll_event got;
  int n = epoll_wait(ep, &got, 1, 5000);
  printf("epoll on a boottime timer: %d data %llu\n", n, (unsigned long long)got.data.u64);
  v = read_ticks(mono, &rc);
  printf("read: %ld ticks %llu\n", rc, (unsigned long long)v);
  n = epoll_wait(ep, &got, 1, 0);
  printf("epoll after the read: %d\n", n);
  return 0;
}
