/* What the host-call wrappers (hostcalls.c, hostnet.c, oci.c) share: one way to turn a
 * libc result into the ">= 0 or -errno" that every sb_h_* / sb_net_* / sb_oci_* call
 * returns through the FFI, and the bounds check for (offset, length) pairs that name guest
 * memory inside the memory file. Internal to libsandbox; not part of include/. */
#ifndef CORDON_HOSTCALL_H
#define CORDON_HOSTCALL_H

#include <errno.h>
#include <sys/syscall.h>

#include "platform.h"

/* Returns x as an int, or -errno when x < 0. */
#define RET(x)                        \
  do {                                \
    long _r = (long)(x);              \
    return _r < 0 ? -errno : (int)_r; \
  } while (0)

/* As RET, for results (sizes, offsets) that may not fit in an int: the FFI returns f64. */
#define RETD(x)                          \
  do {                                   \
    long _r = (long)(x);                 \
    return _r < 0 ? -errno : (double)_r; \
  } while (0)

/* fchmodat2 (Linux 6.6) is missing from older libc headers. */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* True when [off, off+len) lies inside the memory file. The sentry passes these as f64
 * from guest-controlled values, so a negative or overflowing pair must be refused here
 * before any host call touches sb_g.mem. */
static inline int mem_ok(double off, double len) {
  return off >= 0 && len >= 0 && off + len <= (double)sb_g.mem_size;
}

#endif
