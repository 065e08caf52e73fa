// TCP over loopback (127.0.0.1 and ::1): socket type and protocol checks, bind with port 0,
// EADDRINUSE and SO_REUSEADDR, listen, blocking connect and accept/accept4 flags, names,
// a transfer both ways with checksums, MSG_PEEK/MSG_DONTWAIT/MSG_WAITALL, FIONREAD and
// SIOCOUTQ, shutdown semantics and EOF, EPIPE with and without SIGPIPE, ECONNREFUSED, and a
// dual-stack listener reached through IPv4.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static volatile sig_atomic_t sigpipes;
static void on_sigpipe(int sig) {
  (void)sig;
  sigpipes++;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
  struct sockaddr_storage ss;
} addr_t;

static socklen_t loopback(int family, addr_t *a, int port) {
  memset(a, 0, sizeof *a);
  if (family == AF_INET) {
    a->in.sin_family = AF_INET;
    a->in.sin_port = htons(port);
    a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof a->in;
  }
  a->in6.sin6_family = AF_INET6;
  a->in6.sin6_port = htons(port);
  a->in6.sin6_addr = in6addr_loopback;
  return sizeof a->in6;
}

static int port_of(const addr_t *a) {
  return ntohs(a->sa.sa_family == AF_INET ? a->in.sin_port : a->in6.sin6_port);
}

static const char *addr_text(const addr_t *a) {
  static char buf[64];
  if (a->sa.sa_family == AF_INET) return inet_ntop(AF_INET, &a->in.sin_addr, buf, sizeof buf);
  if (a->sa.sa_family == AF_INET6) return inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, sizeof buf);
  return "?";
}

static uint32_t checksum(const unsigned char *p, size_t n, uint32_t h) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 8)); }

/* A listener on an ephemeral port of the loopback address; its address in *a. */
static int listener(int family, addr_t *a, int backlog) {
  int l = socket(family, SOCK_STREAM, 0);
  socklen_t len = loopback(family, a, 0);
  if (bind(l, &a->sa, len) < 0) printf("listener bind: %s\n", errno_name(errno));
  if (listen(l, backlog) < 0) printf("listener listen: %s\n", errno_name(errno));
  len = sizeof *a;
  getsockname(l, &a->sa, &len);
  return l;
}

static int connect_to(const addr_t *a) {
  int c = socket(a->sa.sa_family, SOCK_STREAM, 0);
  socklen_t len = a->sa.sa_family == AF_INET ? sizeof a->in : sizeof a->in6;
  if (connect(c, &a->sa, len) < 0) printf("connect: %s\n", errno_name(errno));
  return c;
}

/* Transfers `total` bytes from a child to the parent and back, with checksums. */
static void transfer(int family) {
  addr_t a;
  int l = listener(family, &a, 4);
  const size_t total = 3 * 1024 * 1024 + 123;
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    int c = connect_to(&a);
    unsigned char *buf = malloc(65536);
    size_t sent = 0;
    uint32_t h = 2166136261u;
    while (sent < total) {
      size_t n = total - sent < 65536 ? total - sent : 65536;
      for (size_t i = 0; i < n; i++) buf[i] = pattern(sent + i);
      ssize_t w = write(c, buf, n);
      if (w <= 0) break;
      h = checksum(buf, (size_t)w, h);
      sent += (size_t)w;
    }
    shutdown(c, SHUT_WR);
    /* The echo of the checksum comes back, then EOF. */
    uint32_t back = 0;
    ssize_t n = recv(c, &back, sizeof back, MSG_WAITALL);
    printf("%s child: sent %zu, echo %s, then read %zd\n", family == AF_INET ? "v4" : "v6", sent,
           n == 4 && back == h ? "matches" : "differs", read(c, buf, 1));
    FLUSH();
    _exit(0);
  }
  addr_t peer;
  socklen_t plen = sizeof peer;
  int s = accept(l, &peer.sa, &plen);
  SHOW_BOOL("accepted peer address is loopback", strcmp(addr_text(&peer), family == AF_INET ? "127.0.0.1" : "::1") == 0);
  SHOW_INT("accepted peer address length", plen);
  addr_t mine, theirs;
  socklen_t ml = sizeof mine, tl = sizeof theirs;
  getsockname(s, &mine.sa, &ml);
  getpeername(s, &theirs.sa, &tl);
  SHOW_BOOL("accepted socket's port is the listener's", port_of(&mine) == port_of(&a));
  SHOW_BOOL("getpeername matches accept's address", port_of(&theirs) == port_of(&peer));
  unsigned char *buf = malloc(100000);
  size_t got = 0;
  uint32_t h = 2166136261u;
  int pattern_ok = 1;
  for (;;) {
    ssize_t n = read(s, buf, 100000);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] != pattern(got + (size_t)i)) pattern_ok = 0;
    h = checksum(buf, (size_t)n, h);
    got += (size_t)n;
  }
  SHOW_INT("server received", got);
  SHOW_BOOL("bytes in order", pattern_ok);
  /* The child prints once it has the echo: print after it is done. */
  ssize_t echoed = write(s, &h, sizeof h);
  close(s);
  int st;
  waitpid(pid, &st, 0);
  SHOW_INT("server wrote the checksum after the client's SHUT_WR", echoed);
  SHOW_INT("child status", st);
  close(l);
  free(buf);
}

static void errors_and_names(void) {
  SHOW_CALL("socket SOCK_STREAM IPPROTO_UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
  SHOW_CALL("socket SOCK_DGRAM IPPROTO_TCP", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
  SHOW_CALL("socket type 11", socket(AF_INET, 11, 0));
  SHOW_CALL("socket protocol -1", socket(AF_INET, SOCK_STREAM, -1));
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  SHOW_BOOL("SOCK_NONBLOCK", fcntl(s, F_GETFL) & O_NONBLOCK);
  SHOW_BOOL("SOCK_CLOEXEC", fcntl(s, F_GETFD) & FD_CLOEXEC);
  addr_t a;
  socklen_t len = sizeof a;
  SHOW_CALL("getsockname unbound", getsockname(s, &a.sa, &len));
  SHOW_INT("  length", len);
  SHOW_STR("  address", addr_text(&a));
  SHOW_INT("  port", port_of(&a));
  len = sizeof a;
  SHOW_CALL("getpeername unconnected", getpeername(s, &a.sa, &len));
  loopback(AF_INET, &a, 0);
  SHOW_CALL("bind short length", bind(s, &a.sa, sizeof a.in - 1));
  a.in.sin_family = AF_INET6;
  SHOW_CALL("bind wrong family", bind(s, &a.sa, sizeof a.in));
  a.in.sin_family = AF_INET;
  a.in.sin_addr.s_addr = inet_addr("192.0.2.77");
  SHOW_CALL("bind foreign address", bind(s, &a.sa, sizeof a.in));
  loopback(AF_INET, &a, 0);
  SHOW_CALL("bind port 0", bind(s, &a.sa, sizeof a.in));
  len = sizeof a;
  getsockname(s, &a.sa, &len);
  SHOW_BOOL("  ephemeral port chosen", port_of(&a) >= 1024);
  SHOW_CALL("bind again", bind(s, &a.sa, sizeof a.in));
  SHOW_CALL("accept before listen", accept(s, NULL, NULL));
  SHOW_CALL("recv unconnected", recv(s, &len, 1, 0));
  SHOW_CALL("shutdown unconnected", shutdown(s, SHUT_RDWR));
  SHOW_CALL("send unconnected (MSG_NOSIGNAL)", send(s, "x", 1, MSG_NOSIGNAL));
  SHOW_CALL("listen", listen(s, 1));
  SHOW_CALL("listen again", listen(s, 5));
  int v = -1;
  len = sizeof v;
  getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
  SHOW_INT("SO_ACCEPTCONN", v);
  SHOW_CALL("accept nothing waiting (non-blocking)", accept(s, NULL, NULL));
  SHOW_CALL("connect a listener", connect(s, &a.sa, sizeof a.in));
  SHOW_CALL("recv on a listener", recv(s, &v, 1, MSG_DONTWAIT));
  SHOW_CALL("FIONREAD on a listener", ioctl(s, FIONREAD, &v));
  int t = socket(AF_INET, SOCK_STREAM, 0);
  SHOW_CALL("bind the listener's port", bind(t, &a.sa, sizeof a.in));
  int one = 1;
  setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  SHOW_CALL("bind it with SO_REUSEADDR (listener has none)", bind(t, &a.sa, sizeof a.in));
  close(t);
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  SHOW_CALL("UDP may bind the TCP port", bind(u, &a.sa, sizeof a.in));
  close(u);
  close(s);

  /* Two sockets with SO_REUSEADDR, neither listening, share a port. */
  int p = socket(AF_INET, SOCK_STREAM, 0), q = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(p, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(q, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  loopback(AF_INET, &a, 0);
  bind(p, &a.sa, sizeof a.in);
  len = sizeof a;
  getsockname(p, &a.sa, &len);
  SHOW_CALL("SO_REUSEADDR pair: second bind", bind(q, &a.sa, sizeof a.in));
  SHOW_CALL("  first listens", listen(p, 1));
  SHOW_CALL("  second listens", listen(q, 1));
  close(p);
  close(q);

  /* Connecting to a port nobody listens on. */
  int r = socket(AF_INET, SOCK_STREAM, 0);
  loopback(AF_INET, &a, 0);
  bind(r, &a.sa, sizeof a.in);
  len = sizeof a;
  getsockname(r, &a.sa, &len);
  close(r);
  r = socket(AF_INET, SOCK_STREAM, 0);
  SHOW_CALL("connect to a closed port", connect(r, &a.sa, sizeof a.in));
  v = -1;
  len = sizeof v;
  getsockopt(r, SOL_SOCKET, SO_ERROR, &v, &len);
  SHOW_STR("  SO_ERROR after", errno_name(v));
  SHOW_CALL("  connect again", connect(r, &a.sa, sizeof a.in));
  close(r);
  r = socket(AF_INET6, SOCK_STREAM, 0);
  loopback(AF_INET6, &a, port_of(&a));
  SHOW_CALL("connect to a closed port (v6)", connect(r, &a.sa, sizeof a.in6));
  close(r);
}

static void stream_semantics(void) {
  addr_t a;
  int l = listener(AF_INET, &a, 2);
  int c = connect_to(&a);
  int s = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  SHOW_BOOL("accept4 SOCK_NONBLOCK", fcntl(s, F_GETFL) & O_NONBLOCK);
  SHOW_BOOL("accept4 SOCK_CLOEXEC", fcntl(s, F_GETFD) & FD_CLOEXEC);
  SHOW_CALL("connect when connected", connect(c, &a.sa, sizeof a.in));
  SHOW_CALL("listen when connected", listen(c, 1));
  int flags = fcntl(s, F_GETFL);
  fcntl(s, F_SETFL, flags & ~O_NONBLOCK);
  char buf[64];
  SHOW_CALL("recv MSG_DONTWAIT, nothing sent", recv(s, buf, sizeof buf, MSG_DONTWAIT));
  SHOW_CALL("send hello", send(c, "hello", 5, 0));
  sleep_ms(20);
  int n = -1;
  SHOW_CALL("FIONREAD", ioctl(s, FIONREAD, &n));
  SHOW_INT("  bytes", n);
  memset(buf, 0, sizeof buf);
  SHOW_CALL("recv MSG_PEEK 3", recv(s, buf, 3, MSG_PEEK));
  SHOW_STR("  data", buf);
  SHOW_CALL("recv 10", recv(s, buf, 10, 0));
  buf[5] = 0;
  SHOW_STR("  data", buf);
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    send(c, "ab", 2, 0);
    sleep_ms(50);
    send(c, "cdef", 4, 0);
    _exit(0);
  }
  memset(buf, 0, sizeof buf);
  SHOW_CALL("recv MSG_WAITALL 6 (arrives in two parts)", recv(s, buf, 6, MSG_WAITALL));
  SHOW_STR("  data", buf);
  waitpid(pid, NULL, 0);
  n = -1;
  SHOW_CALL("SIOCOUTQ of the sender after the reader took all", ioctl(c, TIOCOUTQ, &n));

  /* SHUT_WR: the peer reads EOF but may still send. */
  SHOW_CALL("shutdown(SHUT_WR)", shutdown(c, SHUT_WR));
  SHOW_CALL("peer reads EOF", recv(s, buf, sizeof buf, 0));
  SHOW_CALL("peer reads EOF again", recv(s, buf, sizeof buf, 0));
  SHOW_CALL("peer still sends", send(s, "back", 4, 0));
  SHOW_CALL("shut side still receives", recv(c, buf, sizeof buf, 0));
  SHOW_CALL("shut side sends (MSG_NOSIGNAL)", send(c, "x", 1, MSG_NOSIGNAL));
  SHOW_CALL("shutdown bad how", shutdown(c, 7));
  SHOW_CALL("shutdown(SHUT_RD)", shutdown(s, SHUT_RD));
  SHOW_CALL("read after SHUT_RD", recv(s, buf, sizeof buf, MSG_DONTWAIT));
  close(c);
  sleep_ms(20);
  /* Writing to a connection whose peer has gone: the first write may succeed (it draws a
   * reset), then EPIPE with SIGPIPE, or without it under MSG_NOSIGNAL. */
  signal(SIGPIPE, on_sigpipe);
  send(s, "1", 1, MSG_NOSIGNAL);
  sleep_ms(20);
  errno = 0;
  ssize_t w = send(s, "2", 1, 0);
  SHOW_STR("write to a reset connection", w < 0 ? errno_name(errno) : "written");
  w = send(s, "3", 1, 0);
  SHOW_STR("and again", w < 0 ? errno_name(errno) : "written");
  SHOW_INT("SIGPIPEs so far", sigpipes);
  w = send(s, "4", 1, MSG_NOSIGNAL);
  SHOW_STR("with MSG_NOSIGNAL", w < 0 ? errno_name(errno) : "written");
  SHOW_INT("SIGPIPEs after", sigpipes);
  close(s);

  /* close() with unread data resets the connection. */
  c = connect_to(&a);
  s = accept(l, NULL, NULL);
  send(c, "unread", 6, 0);
  sleep_ms(20);
  close(s);
  sleep_ms(20);
  SHOW_CALL("recv after the peer closed with unread data", recv(c, buf, sizeof buf, 0));
  SHOW_CALL("recv again", recv(c, buf, sizeof buf, 0));
  close(c);
  close(l);
}

static void dual_stack(void) {
  int l = socket(AF_INET6, SOCK_STREAM, 0);
  int v = -1;
  socklen_t len = sizeof v;
  getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len);
  SHOW_INT("IPV6_V6ONLY default", v);
  addr_t a;
  memset(&a, 0, sizeof a);
  a.in6.sin6_family = AF_INET6;
  a.in6.sin6_addr = in6addr_any;
  bind(l, &a.sa, sizeof a.in6);
  listen(l, 1);
  len = sizeof a;
  getsockname(l, &a.sa, &len);
  addr_t v4;
  loopback(AF_INET, &v4, port_of(&a));
  int c = connect_to(&v4);
  addr_t peer;
  socklen_t plen = sizeof peer;
  int s = accept(l, &peer.sa, &plen);
  SHOW_INT("accepted family", peer.sa.sa_family);
  SHOW_STR("accepted address", addr_text(&peer));
  addr_t mine;
  socklen_t ml = sizeof mine;
  getsockname(s, &mine.sa, &ml);
  SHOW_STR("accepted socket's own address", addr_text(&mine));
  close(c);
  close(s);
  close(l);
  int w = socket(AF_INET6, SOCK_STREAM, 0);
  int one = 1;
  SHOW_CALL("IPV6_V6ONLY set", setsockopt(w, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
  addr_t m;
  memset(&m, 0, sizeof m);
  m.in6.sin6_family = AF_INET6;
  m.in6.sin6_port = v4.in.sin_port;
  inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.in6.sin6_addr);
  SHOW_CALL("v6-only connect to a v4-mapped address", connect(w, &m.sa, sizeof m.in6));
  close(w);
  int x = socket(AF_INET, SOCK_STREAM, 0);
  SHOW_CALL("IPV6_V6ONLY on an AF_INET socket", setsockopt(x, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
  close(x);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  errors_and_names();
  stream_semantics();
  transfer(AF_INET);
  transfer(AF_INET6);
  dual_stack();
  return 0;
}
