// Ancillary data on UDP and ping sockets over loopback: SO_TIMESTAMP(NS), IP_PKTINFO,
// IP_RECVTTL, IP_RECVTOS, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS, the order of
// the control messages, and MSG_CTRUNC when the control buffer is short.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static void show_cmsgs(const char *what, int fd, size_t room) {
  char data[64];
  char ctl[512];
  struct iovec iov = {data, sizeof data};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = room;
  errno = 0;
  ssize_t n = recvmsg(fd, &m, 0);
  printf("%s: %zd (%s) controllen %zu ctrunc %s\n", what, n, errno_name(n < 0 ? errno : 0), (size_t)m.msg_controllen,
         m.msg_flags & MSG_CTRUNC ? "yes" : "no");
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    printf("  level %d type %d len %zu", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
    unsigned char *d = CMSG_DATA(c);
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
      struct in_pktinfo pi;
      memcpy(&pi, d, sizeof pi);
      char a[32], b[32];
      printf(" ifindex %d spec_dst %s addr %s", pi.ipi_ifindex, inet_ntop(AF_INET, &pi.ipi_spec_dst, a, sizeof a),
             inet_ntop(AF_INET, &pi.ipi_addr, b, sizeof b));
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      struct in6_pktinfo pi;
      memcpy(&pi, d, sizeof pi);
      char a[64];
      printf(" ifindex %d addr %s", pi.ipi6_ifindex, inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof a));
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMP) {
      struct timeval tv, now;
      memcpy(&tv, d, sizeof tv);
      gettimeofday(&now, NULL);
      long long age = (now.tv_sec - tv.tv_sec) * 1000000LL + (now.tv_usec - tv.tv_usec);
      printf(" recent %s", age >= 0 && age < 60000000 ? "yes" : "no");
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
      struct timespec ts, now;
      memcpy(&ts, d, sizeof ts);
      clock_gettime(CLOCK_REALTIME, &now);
      long long age = (now.tv_sec - ts.tv_sec) * 1000000000LL + (now.tv_nsec - ts.tv_nsec);
      printf(" recent %s", age >= 0 && age < 60000000000LL ? "yes" : "no");
    } else if (c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int v;
      memcpy(&v, d, sizeof v);
      printf(" value %d", v);
    } else if (c->cmsg_len == CMSG_LEN(1)) {
      printf(" byte %d", d[0]);
    }
    printf("\n");
  }
}

static void on(int fd, int level, int name) {
  int one = 1;
  if (setsockopt(fd, level, name, &one, sizeof one) < 0) printf("setsockopt %d/%d: %s\n", level, name, errno_name(errno));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_DGRAM, 0);
  bind(s, (struct sockaddr *)&a, sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &len);
  show_cmsgs("no options", (sendto(t, "0", 1, 0, (struct sockaddr *)&a, sizeof a), s), 512);
  on(s, SOL_SOCKET, SO_TIMESTAMP);
  on(s, IPPROTO_IP, IP_PKTINFO);
  on(s, IPPROTO_IP, IP_RECVTTL);
  on(s, IPPROTO_IP, IP_RECVTOS);
  int tos = 0x20, ttl = 9;
  setsockopt(t, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  setsockopt(t, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
  sendto(t, "1", 1, 0, (struct sockaddr *)&a, sizeof a);
  show_cmsgs("v4 with four options", s, 512);
  sendto(t, "2", 1, 0, (struct sockaddr *)&a, sizeof a);
  show_cmsgs("v4, room for one", s, CMSG_SPACE(sizeof(struct timeval)) + 4);
  sendto(t, "3", 1, 0, (struct sockaddr *)&a, sizeof a);
  show_cmsgs("v4, room for a header only", s, 20);
  int ns = 1;
  setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &ns, sizeof ns);
  int off = 0;
  setsockopt(s, SOL_SOCKET, SO_TIMESTAMP, &off, sizeof off);
  setsockopt(s, IPPROTO_IP, IP_PKTINFO, &off, sizeof off);
  sendto(t, "4", 1, 0, (struct sockaddr *)&a, sizeof a);
  show_cmsgs("v4 nanosecond stamps, no pktinfo", s, 512);
  close(s);
  close(t);

  struct sockaddr_in6 b = {0};
  b.sin6_family = AF_INET6;
  b.sin6_addr = in6addr_loopback;
  s = socket(AF_INET6, SOCK_DGRAM, 0);
  t = socket(AF_INET6, SOCK_DGRAM, 0);
  bind(s, (struct sockaddr *)&b, sizeof b);
  len = sizeof b;
  getsockname(s, (struct sockaddr *)&b, &len);
  on(s, IPPROTO_IPV6, IPV6_RECVPKTINFO);
  on(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT);
  on(s, IPPROTO_IPV6, IPV6_RECVTCLASS);
  int hops = 7, tclass = 0x40;
  setsockopt(t, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops);
  setsockopt(t, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof tclass);
  sendto(t, "6", 1, 0, (struct sockaddr *)&b, sizeof b);
  show_cmsgs("v6 with three options", s, 512);
  return 0;
}
