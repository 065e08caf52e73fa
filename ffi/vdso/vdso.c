/*
 * Cordon's vDSO: clock_gettime, gettimeofday, time, getcpu and clock_getres without a trap,
 * from the clock parameters page (include/vvar.h) the sentry maps just below this image.
 * Anything it cannot answer goes to the real syscall, which the sentry serves.
 *
 * Freestanding: no libc, no relocations (everything is reached PC-relatively).
 */
#include <stdint.h>

#include "vvar.h"


struct k_timespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};
struct k_timeval {
  int64_t tv_sec;
  int64_t tv_usec;
};

/* The clock page is mapped just below the image's ELF header (__ehdr_start, which the
 * linker defines). Taken through asm so the compiler does not reason about the offset. */
static const volatile struct sb_vvar *vvar(void) {
  uintptr_t p;
  __asm__("lea __ehdr_start(%%rip), %0" : "=r"(p));
  return (const volatile struct sb_vvar *)(p - 4096);
}

static long sys2(long nr, long a, long b) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
  return ret;
}

/* 0: realtime-like, 1: monotonic-like, -1: not ours. */
static int clock_kind(int clk) {
  switch (clk) {
    case 0:  /* REALTIME */
    case 5:  /* REALTIME_COARSE */
    case 11: /* TAI */
      return 0;
    case 1: /* MONOTONIC */
    case 4: /* MONOTONIC_RAW */
    case 6: /* MONOTONIC_COARSE */
    case 7: /* BOOTTIME */
      return 1;
    default:
      return -1;
  }
}

int __vdso_clock_gettime(int clk, struct k_timespec *ts) {
  int kind = clock_kind(clk);
  uint64_t mono, real;
  if (kind < 0 || !sb_vvar_read(vvar(), &mono, &real)) return (int)sys2(228, clk, (long)ts);
  uint64_t ns = kind ? mono : real;
  ts->tv_sec = (int64_t)(ns / 1000000000u);
  ts->tv_nsec = (int64_t)(ns % 1000000000u);
  return 0;
}

int __vdso_gettimeofday(struct k_timeval *tv, void *tz) {
  uint64_t mono, real;
  if (tz || !sb_vvar_read(vvar(), &mono, &real)) return (int)sys2(96, (long)tv, (long)tz);
  if (tv) {
    tv->tv_sec = (int64_t)(real / 1000000000u);
    tv->tv_usec = (int64_t)((real % 1000000000u) / 1000u);
  }
  return 0;
}

long __vdso_time(long *t) {
  uint64_t mono, real;
  if (!sb_vvar_read(vvar(), &mono, &real)) return sys2(201, (long)t, 0);
  long s = (long)(real / 1000000000u);
  if (t) *t = s;
  return s;
}

int __vdso_clock_getres(int clk, struct k_timespec *res) {
  if (clock_kind(clk) < 0 || clk == 5 || clk == 6) return (int)sys2(229, clk, (long)res);
  if (res) {
    res->tv_sec = 0;
    res->tv_nsec = 1;
  }
  return 0;
}

int __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused) {
  (void)unused;
  uint32_t lo, hi, aux;
  __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
  (void)lo, (void)hi;
  if (cpu) *cpu = aux & 0xfff;
  if (node) *node = aux >> 12;
  return 0;
}

int clock_gettime(int, struct k_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct k_timeval *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct k_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));
int getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
