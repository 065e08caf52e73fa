/* A connected TCP pair over the loopback interface, the child process at one end. */
#ifndef CORDON_BENCH_LOOPBACK_H
#define CORDON_BENCH_LOOPBACK_H

#include "bench.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* A fresh network namespace (runc's default) has `lo` down. Bring it up when we may; where we
 * may not, or there is no such interface, connect() below tells the real story. */
static inline void loopback_bring_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
}

static inline void loopback_no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Returns a listening socket on 127.0.0.1 with an ephemeral port, written to *addr. */
static inline int loopback_listen(struct sockaddr_in *addr) {
  loopback_bring_up();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) bench_die("socket");
  memset(addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr->sin_port = 0;
  if (bind(fd, (struct sockaddr *)addr, sizeof *addr)) bench_die("bind 127.0.0.1");
  if (listen(fd, 1)) bench_die("listen");
  socklen_t len = sizeof *addr;
  if (getsockname(fd, (struct sockaddr *)addr, &len)) bench_die("getsockname");
  return fd;
}

static inline int loopback_connect(const struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) bench_die("socket");
  if (connect(fd, (const struct sockaddr *)addr, sizeof *addr)) bench_die("connect 127.0.0.1");
  return fd;
}

static inline void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) bench_die("write");
    buf += n;
    len -= (size_t)n;
  }
}

#endif
