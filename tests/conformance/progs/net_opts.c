// Socket options of TCP and UDP sockets (IPv4 and IPv6): defaults, set-then-get round
// trips, range checks, options of the wrong level or protocol, TCP_INFO's state through a
// connection's life, and SO_ERROR/SO_ACCEPTCONN.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "conformance.h"

#ifndef TCP_USER_TIMEOUT
#define TCP_USER_TIMEOUT 18
#endif

static void show_int_opt(const char *what, int fd, int level, int name) {
  int v = -12345;
  socklen_t len = sizeof v;
  errno = 0;
  int r = getsockopt(fd, level, name, &v, &len);
  if (r < 0)
    printf("%s: %s\n", what, errno_name(errno));
  else
    printf("%s: %d (len %d)\n", what, v, (int)len);
}

static void set_int(const char *what, int fd, int level, int name, int v) {
  errno = 0;
  int r = setsockopt(fd, level, name, &v, sizeof v);
  printf("set %s=%d: %s\n", what, v, r < 0 ? errno_name(errno) : "OK");
}

static void roundtrip(const char *what, int fd, int level, int name, int v) {
  set_int(what, fd, level, name, v);
  show_int_opt(what, fd, level, name);
}

static void common(const char *kind, int fd) {
  printf("-- %s\n", kind);
  show_int_opt("SO_TYPE", fd, SOL_SOCKET, SO_TYPE);
  show_int_opt("SO_DOMAIN", fd, SOL_SOCKET, SO_DOMAIN);
  show_int_opt("SO_PROTOCOL", fd, SOL_SOCKET, SO_PROTOCOL);
  show_int_opt("SO_ACCEPTCONN", fd, SOL_SOCKET, SO_ACCEPTCONN);
  show_int_opt("SO_ERROR", fd, SOL_SOCKET, SO_ERROR);
  show_int_opt("SO_REUSEADDR", fd, SOL_SOCKET, SO_REUSEADDR);
  roundtrip("SO_REUSEADDR", fd, SOL_SOCKET, SO_REUSEADDR, 5);
  show_int_opt("SO_REUSEPORT", fd, SOL_SOCKET, SO_REUSEPORT);
  roundtrip("SO_REUSEPORT", fd, SOL_SOCKET, SO_REUSEPORT, 1);
  show_int_opt("SO_KEEPALIVE", fd, SOL_SOCKET, SO_KEEPALIVE);
  roundtrip("SO_KEEPALIVE", fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  show_int_opt("SO_BROADCAST", fd, SOL_SOCKET, SO_BROADCAST);
  roundtrip("SO_BROADCAST", fd, SOL_SOCKET, SO_BROADCAST, 1);
  show_int_opt("SO_OOBINLINE", fd, SOL_SOCKET, SO_OOBINLINE);
  show_int_opt("SO_DONTROUTE", fd, SOL_SOCKET, SO_DONTROUTE);
  show_int_opt("SO_PRIORITY", fd, SOL_SOCKET, SO_PRIORITY);
  roundtrip("SO_PRIORITY", fd, SOL_SOCKET, SO_PRIORITY, 4);
  show_int_opt("SO_RCVLOWAT", fd, SOL_SOCKET, SO_RCVLOWAT);
  roundtrip("SO_RCVLOWAT", fd, SOL_SOCKET, SO_RCVLOWAT, 10);
  show_int_opt("SO_SNDLOWAT", fd, SOL_SOCKET, SO_SNDLOWAT);
  set_int("SO_SNDLOWAT", fd, SOL_SOCKET, SO_SNDLOWAT, 10);
  roundtrip("SO_RCVBUF", fd, SOL_SOCKET, SO_RCVBUF, 10000);
  roundtrip("SO_SNDBUF", fd, SOL_SOCKET, SO_SNDBUF, 10000);
  roundtrip("SO_RCVBUF tiny", fd, SOL_SOCKET, SO_RCVBUF, 1);
  roundtrip("SO_SNDBUF tiny", fd, SOL_SOCKET, SO_SNDBUF, 1);
  struct linger lg = {-1, -1};
  socklen_t len = sizeof lg;
  getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len);
  printf("SO_LINGER: %d %d (len %d)\n", lg.l_onoff, lg.l_linger, (int)len);
  lg.l_onoff = 7;
  lg.l_linger = 3;
  SHOW_CALL("set SO_LINGER", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  len = sizeof lg;
  getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len);
  printf("SO_LINGER: %d %d\n", lg.l_onoff, lg.l_linger);
  SHOW_CALL("set SO_LINGER short", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, 4));
  struct timeval tv = {2, 500000};
  SHOW_CALL("set SO_RCVTIMEO", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  memset(&tv, 0, sizeof tv);
  len = sizeof tv;
  getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
  printf("SO_RCVTIMEO: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
  char dev[32] = "x";
  len = sizeof dev;
  SHOW_CALL("get SO_BINDTODEVICE", getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len));
  SHOW_INT("  length", len);
  SHOW_CALL("set short int", setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &len, 2));
  SHOW_CALL("set SO_TYPE", setsockopt(fd, SOL_SOCKET, SO_TYPE, &(int){1}, sizeof(int)));
  SHOW_CALL("get unknown SOL_SOCKET option", getsockopt(fd, SOL_SOCKET, 9999, &dev, &len));
  SHOW_CALL("get unknown level", getsockopt(fd, 9999, 1, &dev, &len));
  len = 0;
  SHOW_CALL("get with length 0", getsockopt(fd, SOL_SOCKET, SO_TYPE, dev, &len));
  SHOW_INT("  length", len);
}

static void ip_level(int fd, int v6) {
  if (!v6) {
    show_int_opt("IP_TTL", fd, IPPROTO_IP, IP_TTL);
    roundtrip("IP_TTL", fd, IPPROTO_IP, IP_TTL, 7);
    set_int("IP_TTL", fd, IPPROTO_IP, IP_TTL, 0);
    set_int("IP_TTL", fd, IPPROTO_IP, IP_TTL, 256);
    roundtrip("IP_TTL", fd, IPPROTO_IP, IP_TTL, -1);
    show_int_opt("IP_TOS", fd, IPPROTO_IP, IP_TOS);
    roundtrip("IP_TOS", fd, IPPROTO_IP, IP_TOS, 0x10);
    show_int_opt("IP_MTU_DISCOVER", fd, IPPROTO_IP, IP_MTU_DISCOVER);
    roundtrip("IP_MTU_DISCOVER", fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    set_int("IP_MTU_DISCOVER", fd, IPPROTO_IP, IP_MTU_DISCOVER, 9);
    show_int_opt("IP_RECVERR", fd, IPPROTO_IP, IP_RECVERR);
    roundtrip("IP_RECVERR", fd, IPPROTO_IP, IP_RECVERR, 1);
    roundtrip("IP_PKTINFO", fd, IPPROTO_IP, IP_PKTINFO, 1);
    show_int_opt("IP_MULTICAST_TTL", fd, IPPROTO_IP, IP_MULTICAST_TTL);
    show_int_opt("IP_MULTICAST_LOOP", fd, IPPROTO_IP, IP_MULTICAST_LOOP);
    show_int_opt("IPV6_V6ONLY on AF_INET", fd, IPPROTO_IPV6, IPV6_V6ONLY);
  } else {
    show_int_opt("IPV6_V6ONLY", fd, IPPROTO_IPV6, IPV6_V6ONLY);
    roundtrip("IPV6_V6ONLY", fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    show_int_opt("IPV6_UNICAST_HOPS", fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    roundtrip("IPV6_UNICAST_HOPS", fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9);
    roundtrip("IPV6_UNICAST_HOPS", fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1);
    set_int("IPV6_UNICAST_HOPS", fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 300);
    show_int_opt("IPV6_TCLASS", fd, IPPROTO_IPV6, IPV6_TCLASS);
    roundtrip("IPV6_TCLASS", fd, IPPROTO_IPV6, IPV6_TCLASS, 0x20);
    show_int_opt("IPV6_RECVERR", fd, IPPROTO_IPV6, IPV6_RECVERR);
    roundtrip("IPV6_RECVPKTINFO", fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    show_int_opt("IP_TTL on AF_INET6", fd, IPPROTO_IP, IP_TTL);
  }
}

static void tcp_level(int fd) {
  show_int_opt("TCP_NODELAY", fd, IPPROTO_TCP, TCP_NODELAY);
  roundtrip("TCP_NODELAY", fd, IPPROTO_TCP, TCP_NODELAY, 3);
  show_int_opt("TCP_CORK", fd, IPPROTO_TCP, TCP_CORK);
  show_int_opt("TCP_KEEPIDLE", fd, IPPROTO_TCP, TCP_KEEPIDLE);
  roundtrip("TCP_KEEPIDLE", fd, IPPROTO_TCP, TCP_KEEPIDLE, 30);
  set_int("TCP_KEEPIDLE", fd, IPPROTO_TCP, TCP_KEEPIDLE, 0);
  show_int_opt("TCP_KEEPINTVL", fd, IPPROTO_TCP, TCP_KEEPINTVL);
  roundtrip("TCP_KEEPINTVL", fd, IPPROTO_TCP, TCP_KEEPINTVL, 5);
  set_int("TCP_KEEPINTVL", fd, IPPROTO_TCP, TCP_KEEPINTVL, 40000);
  show_int_opt("TCP_KEEPCNT", fd, IPPROTO_TCP, TCP_KEEPCNT);
  roundtrip("TCP_KEEPCNT", fd, IPPROTO_TCP, TCP_KEEPCNT, 4);
  set_int("TCP_KEEPCNT", fd, IPPROTO_TCP, TCP_KEEPCNT, 0);
  show_int_opt("TCP_SYNCNT", fd, IPPROTO_TCP, TCP_SYNCNT);
  roundtrip("TCP_SYNCNT", fd, IPPROTO_TCP, TCP_SYNCNT, 2);
  show_int_opt("TCP_USER_TIMEOUT", fd, IPPROTO_TCP, TCP_USER_TIMEOUT);
  roundtrip("TCP_USER_TIMEOUT", fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 1500);
  show_int_opt("TCP_MAXSEG", fd, IPPROTO_TCP, TCP_MAXSEG);
  show_int_opt("TCP_DEFER_ACCEPT", fd, IPPROTO_TCP, TCP_DEFER_ACCEPT);
  show_int_opt("TCP_LINGER2", fd, IPPROTO_TCP, TCP_LINGER2);
  char cc[16] = {0};
  socklen_t len = sizeof cc;
  SHOW_CALL("TCP_CONGESTION", getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len));
  /* The default is the system's (bbr on some hosts): compare with the sysctl. */
  char sys[32] = {0};
  FILE *f = fopen("/proc/sys/net/ipv4/tcp_congestion_control", "r");
  if (f) {
    if (fgets(sys, sizeof sys, f)) sys[strcspn(sys, "\n")] = 0;
    fclose(f);
  }
  SHOW_BOOL("  default is net.ipv4.tcp_congestion_control", strcmp(cc, sys) == 0);
  SHOW_CALL("set TCP_CONGESTION reno", setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
  memset(cc, 0, sizeof cc);
  len = sizeof cc;
  getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, &len);
  SHOW_STR("  name", cc);
  SHOW_CALL("set TCP_CONGESTION bogus", setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "bogus", 5));
}

static int tcp_state(int fd) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return -errno;
  return ti.tcpi_state;
}

static void tcp_info_states(void) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  SHOW_INT("TCP_INFO state, fresh", tcp_state(l));
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(l, (struct sockaddr *)&a, sizeof a);
  listen(l, 1);
  socklen_t len = sizeof a;
  getsockname(l, (struct sockaddr *)&a, &len);
  SHOW_INT("TCP_INFO state, listening", tcp_state(l));
  show_int_opt("SO_ACCEPTCONN, listening", l, SOL_SOCKET, SO_ACCEPTCONN);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  connect(c, (struct sockaddr *)&a, sizeof a);
  int s = accept(l, NULL, NULL);
  SHOW_INT("TCP_INFO state, established", tcp_state(c));
  SHOW_INT("TCP_INFO state, accepted", tcp_state(s));
  struct tcp_info ti;
  len = sizeof ti;
  getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len);
  SHOW_BOOL("TCP_INFO: SACK and timestamps negotiated", (ti.tcpi_options & (TCPI_OPT_SACK | TCPI_OPT_TIMESTAMPS)) == (TCPI_OPT_SACK | TCPI_OPT_TIMESTAMPS));
  SHOW_BOOL("TCP_INFO: window scaling negotiated", ti.tcpi_options & TCPI_OPT_WSCALE);
  len = 8;
  SHOW_CALL("TCP_INFO into 8 bytes", getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len));
  SHOW_INT("  length", len);
  shutdown(c, SHUT_WR);
  usleep(20000);
  SHOW_INT("TCP_INFO state after SHUT_WR", tcp_state(c));
  SHOW_INT("TCP_INFO state of the peer", tcp_state(s));
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  SHOW_INT("TCP_INFO on UDP", tcp_state(u));
  show_int_opt("TCP_NODELAY on UDP", u, IPPROTO_TCP, TCP_NODELAY);
  close(u);
  close(s);
  close(c);
  close(l);
}

/* Ping sockets are open to the groups in net.ipv4.ping_group_range (the sandbox's own
 * range may differ from the host's: only the agreement is compared). */
static void ping_permission(void) {
  long lo = 1, hi = 0;
  FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &lo, &hi) != 2) lo = 1, hi = 0;
    fclose(f);
  }
  gid_t g = getegid();
  int permitted = (long)g >= lo && (long)g <= hi;
  errno = 0;
  int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  int e = errno;
  SHOW_BOOL("ping socket agrees with ping_group_range", permitted ? s >= 0 : (s < 0 && e == EACCES));
  if (s >= 0) close(s);
  SHOW_CALL("ICMP over SOCK_STREAM", socket(AF_INET, SOCK_STREAM, IPPROTO_ICMP));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  ping_permission();
  int t4 = socket(AF_INET, SOCK_STREAM, 0);
  common("TCP v4", t4);
  ip_level(t4, 0);
  tcp_level(t4);
  int t6 = socket(AF_INET6, SOCK_STREAM, 0);
  common("TCP v6", t6);
  ip_level(t6, 1);
  int u4 = socket(AF_INET, SOCK_DGRAM, 0);
  common("UDP v4", u4);
  ip_level(u4, 0);
  int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
  common("UDP v6", u6);
  ip_level(u6, 1);
  tcp_info_states();
  return 0;
}
