// Timers and sleeps: nanosleep and clock_nanosleep (relative and absolute) last at least as
// long as asked, interval timers and POSIX timers deliver their signals (with overruns and
// values), and clock ids are validated.
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static int64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static volatile int alrm, rt_hits, rt_value;
static void on_alrm(int sig) {
  (void)sig;
  alrm++;
}
static void on_rt(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)ctx;
  rt_hits++;
  rt_value = si->si_value.sival_int;
}

int main(void) {
  int64_t t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec d = {0, 30 * 1000 * 1000};
  SHOW_CALL("nanosleep 30 ms", nanosleep(&d, NULL));
  SHOW_BOOL("slept at least 30 ms", now_ns(CLOCK_MONOTONIC) - t0 >= 30 * 1000 * 1000);
  struct timespec bad = {0, 1000000000};
  SHOW_CALL("nanosleep with tv_nsec 1e9", nanosleep(&bad, NULL));
  struct timespec neg = {-1, 0};
  SHOW_CALL("nanosleep with a negative time", nanosleep(&neg, NULL));

  t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec abs;
  clock_gettime(CLOCK_MONOTONIC, &abs);
  abs.tv_nsec += 40 * 1000 * 1000;
  if (abs.tv_nsec >= 1000000000) abs.tv_sec++, abs.tv_nsec -= 1000000000;
  SHOW_INT("clock_nanosleep absolute", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
  SHOW_BOOL("woke after the deadline", now_ns(CLOCK_MONOTONIC) >= (int64_t)abs.tv_sec * 1000000000 + abs.tv_nsec);
  struct timespec past = {1, 0};
  SHOW_INT("clock_nanosleep to a past time", clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &past, NULL));
  SHOW_INT("clock_nanosleep on a bad clock", clock_nanosleep(12345, 0, &d, NULL));
  struct timespec res;
  SHOW_CALL("clock_getres MONOTONIC", clock_getres(CLOCK_MONOTONIC, &res));
  SHOW_CALL("clock_gettime on a bad clock", clock_gettime(999, &res));
  SHOW_BOOL("REALTIME is after 2020", now_ns(CLOCK_REALTIME) > 1577836800LL * 1000000000);
  SHOW_BOOL("BOOTTIME >= MONOTONIC", now_ns(CLOCK_BOOTTIME) >= now_ns(CLOCK_MONOTONIC) - 1000000);

  // setitimer: a periodic ITIMER_REAL delivers SIGALRM repeatedly.
  signal(SIGALRM, on_alrm);
  struct itimerval it = {{0, 20000}, {0, 20000}};
  SHOW_CALL("setitimer REAL 20 ms periodic", setitimer(ITIMER_REAL, &it, NULL));
  while (alrm < 3) pause();
  struct itimerval cur;
  getitimer(ITIMER_REAL, &cur);
  SHOW_BOOL("getitimer shows the interval", cur.it_interval.tv_usec == 20000);
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, NULL);
  SHOW_BOOL("three SIGALRMs arrived", alrm >= 3);
  SHOW_CALL("setitimer with a bad which", setitimer(7, &it, NULL));

  // POSIX timer with SIGEV_SIGNAL and a value.
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_rt;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGRTMIN, &sa, NULL);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGRTMIN;
  ev.sigev_value.sival_int = 77;
  timer_t tid;
  SHOW_CALL("timer_create", timer_create(CLOCK_MONOTONIC, &ev, &tid));
  struct itimerspec its = {{0, 0}, {0, 10 * 1000 * 1000}};
  SHOW_CALL("timer_settime one-shot 10 ms", timer_settime(tid, 0, &its, NULL));
  while (rt_hits < 1) pause();
  SHOW_INT("timer signal value", rt_value);
  struct itimerspec left;
  SHOW_CALL("timer_gettime after expiry", timer_gettime(tid, &left));
  SHOW_BOOL("disarmed after a one-shot", left.it_value.tv_sec == 0 && left.it_value.tv_nsec == 0);
  SHOW_CALL("timer_getoverrun", timer_getoverrun(tid));
  SHOW_CALL("timer_delete", timer_delete(tid));
  SHOW_CALL("timer_delete twice", timer_delete(tid));
  SHOW_CALL("timer_create on a bad clock", timer_create(12345, &ev, &tid));
  return 0;
}
