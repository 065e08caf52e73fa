/* Shared helpers of the micro-benchmark programs: a monotonic clock, argument parsing, a
 * time-capped measuring loop and the RESULT line the runner parses.
 *
 * Every program is `NAME [MAX_ITERATIONS [MAX_SECONDS]] [EXTRA...]`. It warms up, then runs
 * the operation until MAX_ITERATIONS are done or MAX_SECONDS have passed, whichever comes
 * first, and prints one line:
 *     RESULT name=NAME unit=UNIT value=VALUE iterations=N seconds=S
 * The clock is read only between geometrically growing batches, so a sandbox where
 * clock_gettime is slow (it may trap) adds a few reads per run, not one per iteration. */
#ifndef CORDON_BENCH_H
#define CORDON_BENCH_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void bench_die(const char *what) {
  fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

struct bench_args {
  long max_iterations;
  double max_seconds;
  int extra_count;     /* arguments after the two numbers */
  char **extra;
};

static inline struct bench_args bench_parse(int argc, char **argv, long default_iterations,
                                            double default_seconds) {
  struct bench_args a = {default_iterations, default_seconds, 0, NULL};
  if (argc > 1) a.max_iterations = strtol(argv[1], NULL, 10);
  if (argc > 2) a.max_seconds = strtod(argv[2], NULL);
  if (a.max_iterations < 1) a.max_iterations = 1;
  if (a.max_seconds <= 0) a.max_seconds = default_seconds;
  if (argc > 3) {
    a.extra_count = argc - 3;
    a.extra = argv + 3;
  }
  return a;
}

typedef void (*bench_op)(void *context);

/* Runs `op` in batches of 1, 2, 4, ... iterations until `max_iterations` are done or
 * `max_seconds` have passed; a batch is cut short to end near the time budget, using the mean
 * so far. Returns the number of iterations done; *seconds gets their time. */
static inline long bench_loop(bench_op op, void *context, long max_iterations, double max_seconds,
                              double *seconds) {
  long done = 0, batch = 1;
  double start = bench_now_seconds(), elapsed = 0;
  while (done < max_iterations && elapsed < max_seconds) {
    if (batch > max_iterations - done) batch = max_iterations - done;
    for (long i = 0; i < batch; i++) op(context);
    done += batch;
    elapsed = bench_now_seconds() - start;
    double per_iteration = elapsed / (double)done;
    long fits = per_iteration > 0 ? (long)((max_seconds - elapsed) / per_iteration) + 1 : batch * 2;
    batch = batch * 2 < fits ? batch * 2 : fits;
  }
  *seconds = elapsed;
  return done;
}

/* Warm-up (a tenth of the budget, at most a tenth of the iterations), then the measured run. */
static inline long bench_run(bench_op op, void *context, struct bench_args a, double *seconds) {
  double warm_seconds;
  long warm = a.max_iterations / 10;
  if (warm < 1) warm = 1;
  bench_loop(op, context, warm, a.max_seconds / 10, &warm_seconds);
  return bench_loop(op, context, a.max_iterations, a.max_seconds, seconds);
}

static inline void bench_report(const char *name, const char *unit, double value, long iterations,
                                double seconds) {
  printf("RESULT name=%s unit=%s value=%.6g iterations=%ld seconds=%.4f\n", name, unit, value,
         iterations, seconds);
  fflush(stdout);
}

/* Reports the mean time of one iteration, always in ns: the runner picks the display unit. */
static inline void bench_report_time(const char *name, long iterations, double seconds) {
  bench_report(name, "ns", seconds * 1e9 / (double)iterations, iterations, seconds);
}

#endif
