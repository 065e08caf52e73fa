/*
 * The sandbox's clock: guest time from the TSC, extrapolated from (TSC, host time) pairs
 * the sentry samples now and then, published in the clock page (include/vvar.h) that every
 * guest's vDSO reads without a trap. The sentry reads its own time the same way
 * (sb_now_ns), so a deadline the sentry computes and the time a guest sees agree.
 */
#include "platform.h"
#include "vvar.h"

#include <errno.h>
#include <time.h>
#include <x86intrin.h>

extern const uint8_t sb_vdso_image[], sb_vdso_image_end[];

static struct sb_vvar *vv;
/* The first sample: the rate is measured over the whole time since, so it sharpens. */
static uint64_t first_tsc, first_mono;
#define SHIFT 32

static uint64_t host_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Samples (TSC, monotonic, realtime) close together. */
static void sample(uint64_t *tsc, uint64_t *mono, uint64_t *real) {
  uint64_t t0 = sb_rdtsc_ordered();
  *mono = host_ns(CLOCK_MONOTONIC);
  *real = host_ns(CLOCK_REALTIME);
  uint64_t t1 = sb_rdtsc_ordered();
  *tsc = t0 + (t1 - t0) / 2;
}

/* Republishes the clock parameters. Guest time never goes back: the new line starts where
 * the old one is now (or at the host's time, if that is later). */
int sb_clock_update(void) {
  if (!vv) return -EINVAL;
  uint64_t tsc, mono, real;
  sample(&tsc, &mono, &real);
  uint64_t mult = vv->mult;
  if (tsc - first_tsc > sb_g.tsc_per_us * 1000) {
    mult = (uint64_t)(((unsigned __int128)(mono - first_mono) << SHIFT) / (tsc - first_tsc));
  }
  uint64_t now_line = vv->mono_base_ns +
      (uint64_t)(((unsigned __int128)(tsc - vv->tsc_base) * vv->mult) >> SHIFT);
  uint64_t base = now_line > mono ? now_line : mono;
  __atomic_store_n(&vv->seq, vv->seq + 1, __ATOMIC_RELEASE);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  vv->tsc_base = tsc;
  vv->mono_base_ns = base;
  vv->real_base_ns = real + (base - mono);
  vv->mult = mult;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&vv->seq, vv->seq + 1, __ATOMIC_RELEASE);
  return 0;
}

/* Sets the clock page up at memory-file offset memoff (a page the sentry allocated). */
int sb_clock_init(double memoff) {
  if (memoff < 0 || memoff + 4096 > (double)sb_g.mem_size) return -EINVAL;
  vv = (struct sb_vvar *)(sb_g.mem + (uint64_t)memoff);
  uint64_t tsc, mono, real;
  sample(&tsc, &mono, &real);
  first_tsc = tsc;
  first_mono = mono;
  vv->seq = 0;
  vv->shift = SHIFT;
  vv->mult = (uint64_t)(((unsigned __int128)1000 << SHIFT) / (sb_g.tsc_per_us ? sb_g.tsc_per_us : 1000));
  vv->tsc_base = tsc;
  vv->mono_base_ns = mono;
  vv->real_base_ns = real;
  vv->enabled = 1;
  return 0;
}

/* The sandbox's time (0: CLOCK_REALTIME, 1: CLOCK_MONOTONIC), as its guests see it. */
double sb_now_ns(int realtime) {
  uint64_t mono, real;
  if (!vv || !sb_vvar_read(vv, &mono, &real)) return (double)host_ns(realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC);
  return (double)(realtime ? real : mono);
}

const void *sb_vdso_ptr(void) { return sb_vdso_image; }
int sb_vdso_size(void) { return (int)(sb_vdso_image_end - sb_vdso_image); }
