// Clocks: only relations print (monotonic never goes back, sleeps take at least as long as
// asked, realtime is after 2020), never the times themselves.
#include <sys/time.h>
#include <time.h>

#include "conformance.h"

static long long nanoseconds(clockid_t clock) {
  struct timespec now;
  clock_gettime(clock, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

int main(void) {
  long long previous = nanoseconds(CLOCK_MONOTONIC);
  int monotonic = 1;
  for (int i = 0; i < 1000; i++) {
    long long now = nanoseconds(CLOCK_MONOTONIC);
    if (now < previous) monotonic = 0;
    previous = now;
  }
  SHOW_BOOL("CLOCK_MONOTONIC never goes back", monotonic);

  long long before = nanoseconds(CLOCK_MONOTONIC);
  struct timespec request = {0, 2 * 1000 * 1000};
  SHOW_CALL("nanosleep 2 ms", nanosleep(&request, NULL));
  SHOW_BOOL("slept at least 2 ms", nanoseconds(CLOCK_MONOTONIC) - before >= 2 * 1000 * 1000);

  SHOW_BOOL("CLOCK_REALTIME after 2020", nanoseconds(CLOCK_REALTIME) > 1577836800LL * 1000000000LL);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  long long realtime_seconds = nanoseconds(CLOCK_REALTIME) / 1000000000LL;
  SHOW_BOOL("gettimeofday agrees with CLOCK_REALTIME", tv.tv_sec <= realtime_seconds && realtime_seconds - tv.tv_sec <= 1);
  SHOW_BOOL("time agrees with CLOCK_REALTIME", time(NULL) - realtime_seconds <= 1);
  struct timespec resolution;
  SHOW_CALL("clock_getres CLOCK_MONOTONIC", clock_getres(CLOCK_MONOTONIC, &resolution));
  SHOW_BOOL("resolution at most 1 ms", resolution.tv_sec == 0 && resolution.tv_nsec <= 1000000);
  SHOW_BOOL("CLOCK_PROCESS_CPUTIME_ID readable", nanoseconds(CLOCK_PROCESS_CPUTIME_ID) >= 0);
  SHOW_CALL("clock_gettime bad clock", clock_gettime((clockid_t)9999, &resolution));
  return 0;
}
