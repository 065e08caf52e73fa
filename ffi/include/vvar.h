/*
 * The page of clock parameters shared by the sentry and every guest's vDSO (ffi/vdso):
 * guest time = base + (rdtsc - tsc_base) * mult >> shift, for CLOCK_MONOTONIC (and its
 * relatives) and CLOCK_REALTIME. The sentry writes it (a seqlock: seq is odd while it
 * writes) and uses the same formula for its own clock, so guest and sentry agree.
 */
#ifndef CORDON_VVAR_H
#define CORDON_VVAR_H

#include <stdint.h>

struct sb_vvar {
  uint32_t seq;
  uint32_t enabled; /* 0: the vDSO falls back to the (trapped) syscall */
  uint64_t tsc_base;
  uint64_t mono_base_ns;
  uint64_t real_base_ns;
  uint64_t mult;
  uint32_t shift;
  uint32_t pad;
};

static inline uint64_t sb_rdtsc_ordered(void) {
  uint32_t lo, hi;
  __asm__ volatile("lfence\n rdtsc" : "=a"(lo), "=d"(hi)::"memory");
  return ((uint64_t)hi << 32) | lo;
}

/* Reads (mono, real) consistently; returns 0 if the page is not usable. */
static inline int sb_vvar_read(const volatile struct sb_vvar *v, uint64_t *mono, uint64_t *real) {
  for (;;) {
    uint32_t seq = __atomic_load_n(&v->seq, __ATOMIC_ACQUIRE);
    if (seq & 1) continue;
    if (!v->enabled) return 0;
    uint64_t tsc = sb_rdtsc_ordered();
    uint64_t base = v->tsc_base, m = v->mult, mb = v->mono_base_ns, rb = v->real_base_ns;
    uint32_t shift = v->shift;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&v->seq, __ATOMIC_RELAXED) != seq) continue;
    uint64_t delta = tsc > base ? tsc - base : 0;
    uint64_t ns = (uint64_t)(((unsigned __int128)delta * m) >> shift);
    *mono = mb + ns;
    *real = rb + ns;
    return 1;
  }
}

#endif
