// UDP over loopback: addresses on send and receive, truncation (MSG_TRUNC in and out),
// MSG_PEEK, empty datagrams, FIONREAD, scatter/gather, connected sockets (default
// destination, source filter, ICMP port unreachable as ECONNREFUSED, AF_UNSPEC), size
// limits, bind conflicts and SO_REUSEADDR, IPv6 and v4-mapped peers, a blocked receive.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static socklen_t lo4(struct sockaddr_in *a, int port) {
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sizeof *a;
}

static int bound4(struct sockaddr_in *a) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  bind(s, (struct sockaddr *)a, lo4(a, 0));
  socklen_t len = sizeof *a;
  getsockname(s, (struct sockaddr *)a, &len);
  return s;
}

static int same4(const struct sockaddr_in *x, const struct sockaddr_in *y) {
  return x->sin_family == y->sin_family && x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static void basics(void) {
  struct sockaddr_in a, b, from;
  int s = bound4(&a), t = bound4(&b);
  SHOW_BOOL("ephemeral port", ntohs(a.sin_port) >= 1024);
  SHOW_CALL("sendto", sendto(t, "hello", 5, 0, (struct sockaddr *)&a, sizeof a));
  sleep_ms(10);
  int n = -1;
  SHOW_CALL("FIONREAD", ioctl(s, FIONREAD, &n));
  SHOW_INT("  next datagram", n);
  char buf[64] = {0};
  socklen_t fl = sizeof from;
  SHOW_CALL("recvfrom MSG_PEEK", recvfrom(s, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &fl));
  SHOW_BOOL("  from the sender's address", same4(&from, &b));
  SHOW_INT("  address length", fl);
  memset(&from, 0, sizeof from);
  fl = sizeof from;
  SHOW_CALL("recvfrom", recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  SHOW_STR("  data", buf);
  SHOW_BOOL("  from the sender's address", same4(&from, &b));
  SHOW_CALL("recvfrom nothing (MSG_DONTWAIT)", recvfrom(s, buf, sizeof buf, MSG_DONTWAIT, NULL, NULL));

  /* Truncation. */
  sendto(t, "0123456789", 10, 0, (struct sockaddr *)&a, sizeof a);
  sendto(t, "abcdefghij", 10, 0, (struct sockaddr *)&a, sizeof a);
  sendto(t, "ABCDEFGHIJ", 10, 0, (struct sockaddr *)&a, sizeof a);
  sleep_ms(10);
  memset(buf, 0, sizeof buf);
  SHOW_CALL("recv 4 of 10", recv(s, buf, 4, 0));
  SHOW_STR("  data", buf);
  SHOW_CALL("recv with MSG_TRUNC into 4", recv(s, buf, 4, MSG_TRUNC));
  struct iovec iov = {buf, 3};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  SHOW_CALL("recvmsg 3 of 10", recvmsg(s, &m, 0));
  SHOW_BOOL("  msg_flags has MSG_TRUNC", m.msg_flags & MSG_TRUNC);

  /* Empty datagrams. */
  SHOW_CALL("send an empty datagram", sendto(t, "", 0, 0, (struct sockaddr *)&a, sizeof a));
  sleep_ms(10);
  n = -1;
  ioctl(s, FIONREAD, &n);
  SHOW_INT("FIONREAD for it", n);
  SHOW_CALL("receive it", recv(s, buf, sizeof buf, MSG_DONTWAIT));
  SHOW_CALL("then nothing", recv(s, buf, sizeof buf, MSG_DONTWAIT));

  /* Scatter and gather. */
  struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
  memset(&m, 0, sizeof m);
  m.msg_name = &a;
  m.msg_namelen = sizeof a;
  m.msg_iov = out;
  m.msg_iovlen = 3;
  SHOW_CALL("sendmsg of three pieces", sendmsg(t, &m, 0));
  sleep_ms(10);
  char p1[3] = {0}, p2[8] = {0};
  struct iovec in[2] = {{p1, 2}, {p2, 7}};
  struct sockaddr_in name;
  memset(&m, 0, sizeof m);
  m.msg_name = &name;
  m.msg_namelen = 4; /* shorter than the address */
  m.msg_iov = in;
  m.msg_iovlen = 2;
  SHOW_CALL("recvmsg into two pieces", recvmsg(s, &m, 0));
  SHOW_STR("  first", p1);
  SHOW_STR("  second", p2);
  SHOW_INT("  msg_namelen (full length)", m.msg_namelen);
  SHOW_INT("  msg_flags", m.msg_flags);

  /* Errors. */
  SHOW_CALL("send unconnected without address", send(t, "x", 1, 0));
  struct sockaddr_in zero;
  lo4(&zero, 0);
  SHOW_CALL("sendto port 0", sendto(t, "x", 1, 0, (struct sockaddr *)&zero, sizeof zero));
  SHOW_CALL("sendto short address", sendto(t, "x", 1, 0, (struct sockaddr *)&a, sizeof a - 1));
  char *big = calloc(1, 70000);
  SHOW_CALL("sendto 65507 bytes", sendto(t, big, 65507, 0, (struct sockaddr *)&a, sizeof a));
  SHOW_CALL("sendto 65508 bytes", sendto(t, big, 65508, 0, (struct sockaddr *)&a, sizeof a));
  sleep_ms(10);
  SHOW_CALL("receive the largest", recv(s, big, 70000, 0));
  free(big);
  SHOW_CALL("listen", listen(s, 1));
  SHOW_CALL("accept", accept(s, NULL, NULL));
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  SHOW_CALL("bind a bound port", bind(u, (struct sockaddr *)&a, sizeof a));
  close(u);
  int one = 1;
  int r1 = socket(AF_INET, SOCK_DGRAM, 0), r2 = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(r2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in ra;
  bind(r1, (struct sockaddr *)&ra, lo4(&ra, 0));
  socklen_t rl = sizeof ra;
  getsockname(r1, (struct sockaddr *)&ra, &rl);
  SHOW_CALL("bind with SO_REUSEADDR on both", bind(r2, (struct sockaddr *)&ra, sizeof ra));
  close(r1);
  close(r2);
  close(s);
  close(t);
}

static void connected(void) {
  struct sockaddr_in a, b, c;
  int s = bound4(&a), t = bound4(&b), o = bound4(&c);
  SHOW_CALL("connect", connect(t, (struct sockaddr *)&a, sizeof a));
  struct sockaddr_in p;
  socklen_t pl = sizeof p;
  SHOW_CALL("getpeername", getpeername(t, (struct sockaddr *)&p, &pl));
  SHOW_BOOL("  is the destination", same4(&p, &a));
  SHOW_CALL("send without address", send(t, "one", 3, 0));
  SHOW_CALL("sendto another address while connected", sendto(t, "two", 3, 0, (struct sockaddr *)&c, sizeof c));
  char buf[16] = {0};
  sleep_ms(10);
  SHOW_CALL("the destination got one", recv(s, buf, sizeof buf, MSG_DONTWAIT));
  SHOW_CALL("the other got one", recv(o, buf, sizeof buf, MSG_DONTWAIT));
  /* A connected socket only hears from its peer. */
  sendto(o, "stranger", 8, 0, (struct sockaddr *)&b, sizeof b);
  sendto(s, "peer", 4, 0, (struct sockaddr *)&b, sizeof b);
  sleep_ms(10);
  memset(buf, 0, sizeof buf);
  SHOW_CALL("connected socket receives", recv(t, buf, sizeof buf, MSG_DONTWAIT));
  SHOW_STR("  from", buf);
  SHOW_CALL("and nothing else", recv(t, buf, sizeof buf, MSG_DONTWAIT));
  /* A peer that goes away: ICMP port unreachable. */
  close(s);
  SHOW_CALL("send to the closed port", send(t, "lost", 4, 0));
  sleep_ms(10);
  SHOW_CALL("recv reports the refusal", recv(t, buf, sizeof buf, MSG_DONTWAIT));
  SHOW_CALL("recv again", recv(t, buf, sizeof buf, MSG_DONTWAIT));
  struct sockaddr un = {0};
  un.sa_family = AF_UNSPEC;
  SHOW_CALL("connect AF_UNSPEC", connect(t, &un, sizeof un));
  pl = sizeof p;
  SHOW_CALL("getpeername after", getpeername(t, (struct sockaddr *)&p, &pl));
  SHOW_CALL("send after", send(t, "x", 1, 0));
  close(t);
  close(o);
}

static void v6(void) {
  int s = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 a = {0};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_any;
  bind(s, (struct sockaddr *)&a, sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &len);
  int t = socket(AF_INET6, SOCK_DGRAM, 0);
  struct sockaddr_in6 d = a;
  d.sin6_addr = in6addr_loopback;
  SHOW_CALL("sendto ::1", sendto(t, "six", 3, 0, (struct sockaddr *)&d, sizeof d));
  int f = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in v4;
  lo4(&v4, ntohs(a.sin6_port));
  SHOW_CALL("sendto 127.0.0.1 (dual-stack receiver)", sendto(f, "four", 4, 0, (struct sockaddr *)&v4, sizeof v4));
  sleep_ms(10);
  char buf[16] = {0};
  struct sockaddr_in6 from;
  socklen_t fl = sizeof from;
  char text[64];
  SHOW_CALL("recvfrom", recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  SHOW_STR("  data", buf);
  SHOW_STR("  from", inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof text));
  SHOW_INT("  address length", fl);
  memset(buf, 0, sizeof buf);
  fl = sizeof from;
  SHOW_CALL("recvfrom", recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
  SHOW_STR("  data", buf);
  SHOW_STR("  from", inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof text));
  SHOW_CALL("v6 socket sends to an AF_INET address", sendto(t, "mapped", 6, 0, (struct sockaddr *)&v4, sizeof v4));
  sleep_ms(10);
  fl = sizeof from;
  memset(buf, 0, sizeof buf);
  SHOW_CALL("  received", recvfrom(s, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl));
  SHOW_STR("  from", inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof text));
  close(s);
  close(t);
  close(f);
}

static void blocking(void) {
  struct sockaddr_in a;
  int s = bound4(&a);
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    int t = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(t, "late", 4, 0, (struct sockaddr *)&a, sizeof a);
    _exit(0);
  }
  char buf[16] = {0};
  SHOW_CALL("blocked recv", recv(s, buf, sizeof buf, 0));
  SHOW_STR("  data", buf);
  waitpid(pid, NULL, 0);
  close(s);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  basics();
  connected();
  v6();
  blocking();
  return 0;
}
