// Helpers shared by the conformance programs. Every line a program prints is "what: value",
// and nothing printed may depend on pids, addresses, times or the host: the harness runs each
// program natively and sandboxed and diffs the two transcripts.
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static inline const char *errno_name(int error) {
  switch (error) {
  case 0: return "OK";
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EINTR: return "EINTR";
  case EBADF: return "EBADF";
  case ECHILD: return "ECHILD";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EEXIST: return "EEXIST";
  case ENOTDIR: return "ENOTDIR";
  case EISDIR: return "EISDIR";
  case EINVAL: return "EINVAL";
  case ESPIPE: return "ESPIPE";
  case EPIPE: return "EPIPE";
  case ERANGE: return "ERANGE";
  case ENOSYS: return "ENOSYS";
  case ENXIO: return "ENXIO";
  case EBUSY: return "EBUSY";
  case EMFILE: return "EMFILE";
  case ELOOP: return "ELOOP";
  case EPROTOTYPE: return "EPROTOTYPE";
  case ENOPROTOOPT: return "ENOPROTOOPT";
  case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EAFNOSUPPORT: return "EAFNOSUPPORT";
  case EADDRINUSE: return "EADDRINUSE";
  case ENOTSOCK: return "ENOTSOCK";
  case EDESTADDRREQ: return "EDESTADDRREQ";
  case EMSGSIZE: return "EMSGSIZE";
  case ECONNRESET: return "ECONNRESET";
  case EISCONN: return "EISCONN";
  case ENOTCONN: return "ENOTCONN";
  case ETIMEDOUT: return "ETIMEDOUT";
  case ECONNREFUSED: return "ECONNREFUSED";
  case EALREADY: return "EALREADY";
  case EINPROGRESS: return "EINPROGRESS";
  case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
  case ENETUNREACH: return "ENETUNREACH";
  case EHOSTUNREACH: return "EHOSTUNREACH";
  case ECONNABORTED: return "ECONNABORTED";
  case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
  case ENOBUFS: return "ENOBUFS";
  case ENODEV: return "ENODEV";
  case E2BIG: return "E2BIG";
  case EXDEV: return "EXDEV";
  case EFBIG: return "EFBIG";
  case ENOSPC: return "ENOSPC";
  case EROFS: return "EROFS";
  case EMLINK: return "EMLINK";
  case ENAMETOOLONG: return "ENAMETOOLONG";
  case ENOTEMPTY: return "ENOTEMPTY";
  case ENODATA: return "ENODATA";
  case EOVERFLOW: return "EOVERFLOW";
  case EDEADLK: return "EDEADLK";
  case ETXTBSY: return "ETXTBSY";
  case EIO: return "EIO";
  case ENOTTY: return "ENOTTY";
  default: {
    static char unknown[16];
    snprintf(unknown, sizeof unknown, "errno %d", error);
    return unknown;
  }
  }
}

#define SHOW_INT(what, value) printf("%s: %lld\n", (what), (long long)(value))
#define SHOW_BOOL(what, value) printf("%s: %s\n", (what), (value) ? "yes" : "no")
#define SHOW_STR(what, value) printf("%s: %s\n", (what), (value))

// Runs a call returning a long (-1 and errno on failure) and prints its result and errno.
#define SHOW_CALL(what, call)                                                                      \
  do {                                                                                             \
    errno = 0;                                                                                     \
    long result_ = (long)(call);                                                                   \
    printf("%s: %ld (%s)\n", (what), result_, errno_name(result_ < 0 ? errno : 0));                \
  } while (0)

// Before fork(): buffered output would otherwise be printed by both processes.
#define FLUSH() fflush(stdout)

#endif
