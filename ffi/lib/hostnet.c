/* Host networking for the sentry (sentry/net/): rtnetlink requests on the sandbox process's
 * own network namespace (reading its interfaces, addresses, routes and neighbours, removing
 * addresses it takes over), moving into a fresh or named network namespace, and the host
 * sockets of network mode "host", whose data moves straight between guest memory (the
 * memory file, as (offset, length) pairs) and the kernel. Every call returns >= 0 or -errno;
 * sockets are always non-blocking and close-on-exec. */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hostcall.h"

/* ---- rtnetlink ------------------------------------------------------------------------- */

/* Sends one rtnetlink request (a complete nlmsghdr message) and collects the replies into
 * resp until NLMSG_DONE (a dump) or NLMSG_ERROR (an acknowledgement or error). Returns the
 * bytes stored, -ENOSPC if resp is too small, or -errno. */
int sb_net_rtnl(const uint8_t *req, int reqlen, uint8_t *resp, int resplen) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  int rc = 0, used = 0, done = 0;
  if (sendto(fd, req, (size_t)reqlen, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    rc = -errno;
    goto out;
  }
  static uint8_t buf[65536];
  while (!done) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = -errno;
      goto out;
    }
    if (n == 0) break;
    /* NLMSG_NEXT counts down the length it is given: walk with a copy. */
    ssize_t left = n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) done = 1;
    }
    if (used + n > resplen) {
      rc = -ENOSPC;
      goto out;
    }
    memcpy(resp + used, buf, (size_t)n);
    used += (int)n;
  }
  rc = used;
out:
  close(fd);
  return rc;
}

/* unshare(CLONE_NEWNET) for the calling thread (the sentry's main thread). */
int sb_net_unshare(void) { RET(unshare(CLONE_NEWNET)); }

/* Moves the calling thread into the network namespace at path (a bind mount under
 * /run/netns, or /proc/PID/ns/net). */
int sb_net_setns(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
  close(fd);
  return rc;
}

/* An fd of the calling thread's network namespace (to come back to it). */
int sb_net_open_ns(void) { RET(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)); }

int sb_net_setns_fd(int fd) { RET(setns(fd, CLONE_NEWNET)); }

/* ---- host sockets (network mode "host") ---------------------------------------------- */

int sb_hn_socket(int family, int type, int protocol) {
  RET(socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
}

int sb_hn_bind(int fd, const uint8_t *addr, int len) { RET(bind(fd, (const struct sockaddr *)addr, (socklen_t)len)); }

int sb_hn_connect(int fd, const uint8_t *addr, int len) {
  RET(connect(fd, (const struct sockaddr *)addr, (socklen_t)len));
}

int sb_hn_listen(int fd, int backlog) { RET(listen(fd, backlog)); }

/* accept4 (non-blocking, close-on-exec); the peer's address into addr, its length into
 * *len (in: the room). */
int sb_hn_accept(int fd, uint8_t *addr, int32_t *len) {
  socklen_t l = (socklen_t)*len;
  int r = accept4(fd, (struct sockaddr *)addr, &l, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (r < 0) return -errno;
  *len = (int32_t)l;
  return r;
}

int sb_hn_shutdown(int fd, int how) { RET(shutdown(fd, how)); }

int sb_hn_name(int fd, int peer, uint8_t *addr, int32_t *len) {
  socklen_t l = (socklen_t)*len;
  int r = peer ? getpeername(fd, (struct sockaddr *)addr, &l) : getsockname(fd, (struct sockaddr *)addr, &l);
  if (r < 0) return -errno;
  *len = (int32_t)l;
  return 0;
}

int sb_hn_getsockopt(int fd, int level, int name, uint8_t *val, int32_t *len) {
  socklen_t l = (socklen_t)*len;
  if (getsockopt(fd, level, name, val, &l) < 0) return -errno;
  *len = (int32_t)l;
  return 0;
}

int sb_hn_setsockopt(int fd, int level, int name, const uint8_t *val, int len) {
  RET(setsockopt(fd, level, name, val, (socklen_t)len));
}

#define HN_MAX_IOV 1024
static struct iovec hn_iov[HN_MAX_IOV];

static int hn_build_iov(const double *pairs, int n) {
  if (n < 0 || n > HN_MAX_IOV) return -EINVAL;
  for (int i = 0; i < n; i++) {
    if (!mem_ok(pairs[2 * i], pairs[2 * i + 1])) return -EINVAL;
    hn_iov[i].iov_base = sb_g.mem + (uint64_t)pairs[2 * i];
    hn_iov[i].iov_len = (size_t)pairs[2 * i + 1];
  }
  return 0;
}

/* sendmsg from guest memory (n (offset, length) pairs), to addr if addrlen > 0. */
double sb_hn_sendmsg_mem(int fd, const double *pairs, int n, const uint8_t *addr, int addrlen, int flags) {
  int rc = hn_build_iov(pairs, n);
  if (rc < 0) return rc;
  struct msghdr m = {0};
  m.msg_iov = hn_iov;
  m.msg_iovlen = (size_t)n;
  if (addrlen > 0) {
    m.msg_name = (void *)addr;
    m.msg_namelen = (socklen_t)addrlen;
  }
  RETD(sendmsg(fd, &m, flags | MSG_DONTWAIT | MSG_NOSIGNAL));
}

/* recvmsg into guest memory. addr gets the sender (room in *addrlen, length out);
 * *outflags gets msg_flags; ctl the control messages (room in *ctllen, length out). */
double sb_hn_recvmsg_mem(int fd, const double *pairs, int n, uint8_t *addr, int32_t *addrlen, int flags, int32_t *outflags,
                         uint8_t *ctl, int32_t *ctllen) {
  int rc = hn_build_iov(pairs, n);
  if (rc < 0) return rc;
  struct msghdr m = {0};
  m.msg_iov = hn_iov;
  m.msg_iovlen = (size_t)n;
  m.msg_name = addr;
  m.msg_namelen = (socklen_t)*addrlen;
  m.msg_control = *ctllen > 0 ? ctl : NULL;
  m.msg_controllen = *ctllen > 0 ? (size_t)*ctllen : 0;
  ssize_t r = recvmsg(fd, &m, flags | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (r < 0) return -errno;
  *addrlen = (int32_t)m.msg_namelen;
  *outflags = m.msg_flags;
  *ctllen = (int32_t)m.msg_controllen;
  return (double)r;
}
