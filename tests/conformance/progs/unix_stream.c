// Unix stream sockets: socketpair, abstract names, listen/connect/accept, EOF and EPIPE,
// shutdown, MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, poll bits, names, options, SO_PEERCRED,
// and a listener closed with a pending connection.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static volatile sig_atomic_t got_sigpipe;
static void on_sigpipe(int sig) { got_sigpipe = sig; }

static void sleep_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

static int poll_bits(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  poll(&p, 1, 0);
  return p.revents;
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = strlen(name);
  memcpy(a->sun_path + 1, name, n);
  return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static void show_recv(const char *what, int fd, size_t len, int flags) {
  char buf[256];
  errno = 0;
  ssize_t n = recv(fd, buf, len, flags);
  printf("%s: %zd (%s) [%.*s]\n", what, n, errno_name(n < 0 ? errno : 0), (int)(n > 0 ? n : 0), buf);
}

static int int_opt(int fd, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0) return -errno;
  return v;
}

int main(void) {
  int sv[2];
  char buf[16];
  struct sigaction sa = {0};
  sa.sa_handler = on_sigpipe;
  sigaction(SIGPIPE, &sa, NULL);

  SHOW_CALL("socket bad type", socket(AF_UNIX, 9, 0));
  SHOW_CALL("socket bad protocol", socket(AF_UNIX, SOCK_STREAM, 7));
  SHOW_CALL("socket bad family", socket(250, SOCK_STREAM, 0));
  SHOW_CALL("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  SHOW_BOOL("cloexec", fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
  SHOW_INT("SO_TYPE", int_opt(sv[0], SO_TYPE));
  SHOW_INT("SO_DOMAIN", int_opt(sv[0], SO_DOMAIN));
  SHOW_INT("SO_PROTOCOL", int_opt(sv[0], SO_PROTOCOL));
  SHOW_INT("SO_ACCEPTCONN", int_opt(sv[0], SO_ACCEPTCONN));
  SHOW_INT("SO_ERROR", int_opt(sv[0], SO_ERROR));
  SHOW_INT("SO_SNDBUF default", int_opt(sv[0], SO_SNDBUF));
  int v = 10000;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  SHOW_INT("SO_SNDBUF after setting 10000", int_opt(sv[0], SO_SNDBUF));
  v = 1;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  SHOW_INT("SO_SNDBUF after setting 1", int_opt(sv[0], SO_SNDBUF));
  SHOW_CALL("getsockopt bad level", getsockopt(sv[0], 999, SO_TYPE, &v, &(socklen_t){4}));
  SHOW_CALL("getsockopt unknown", getsockopt(sv[0], SOL_SOCKET, 9999, &v, &(socklen_t){4}));

  // Options a unix socket only keeps, with their defaults.
  static const struct {
    int name;
    const char *what;
  } plain[] = {{SO_RCVLOWAT, "SO_RCVLOWAT"}, {SO_SNDLOWAT, "SO_SNDLOWAT"}, {SO_KEEPALIVE, "SO_KEEPALIVE"},
               {SO_PRIORITY, "SO_PRIORITY"}, {SO_REUSEADDR, "SO_REUSEADDR"}, {SO_PASSCRED, "SO_PASSCRED"},
               {SO_PEEK_OFF, "SO_PEEK_OFF"}, {SO_TIMESTAMP, "SO_TIMESTAMP"}, {SO_MARK, "SO_MARK"},
               {SO_INCOMING_CPU, "SO_INCOMING_CPU"}, {SO_BUSY_POLL, "SO_BUSY_POLL"}};
  for (unsigned i = 0; i < sizeof plain / sizeof plain[0]; i++) SHOW_INT(plain[i].what, int_opt(sv[0], plain[i].name));
  struct linger lg = {1, 5};
  SHOW_CALL("set SO_LINGER", setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
  socklen_t lgl = sizeof lg;
  memset(&lg, 0, sizeof lg);
  getsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, &lgl);
  printf("SO_LINGER: %d %d (len %d)\n", lg.l_onoff, lg.l_linger, (int)lgl);
  v = 1;
  SHOW_CALL("set SO_SNDLOWAT", setsockopt(sv[0], SOL_SOCKET, SO_SNDLOWAT, &v, sizeof v));
  SHOW_CALL("set SO_TYPE", setsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, sizeof v));
  unsigned long long cookie = 0, cookie2 = 0;
  socklen_t ckl = sizeof cookie;
  getsockopt(sv[0], SOL_SOCKET, SO_COOKIE, &cookie, &ckl);
  getsockopt(sv[1], SOL_SOCKET, SO_COOKIE, &cookie2, &ckl);
  SHOW_BOOL("SO_COOKIE: two sockets, two nonzero cookies", cookie && cookie2 && cookie != cookie2);

  struct ucred cred;
  socklen_t clen = sizeof cred;
  SHOW_CALL("SO_PEERCRED", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &clen));
  SHOW_BOOL("peer is this process", cred.pid == getpid() && cred.uid == geteuid() && cred.gid == getegid());
  SHOW_INT("SO_PEERCRED length", clen);

  struct sockaddr_un name;
  socklen_t nlen = sizeof name;
  getsockname(sv[0], (struct sockaddr *)&name, &nlen);
  printf("socketpair name: len %d family %d\n", (int)nlen, name.sun_family);
  nlen = sizeof name;
  getpeername(sv[0], (struct sockaddr *)&name, &nlen);
  printf("socketpair peer name: len %d\n", (int)nlen);

  // Data, no boundaries, peeking.
  send(sv[0], "abc", 3, 0);
  send(sv[0], "def", 3, 0);
  show_recv("peek", sv[1], 4, MSG_PEEK);
  int avail = -1;
  ioctl(sv[1], FIONREAD, &avail);
  SHOW_INT("FIONREAD", avail);
  show_recv("read 4", sv[1], 4, 0);
  show_recv("read the rest", sv[1], 100, 0);
  show_recv("empty, MSG_DONTWAIT", sv[1], 100, MSG_DONTWAIT);
  printf("poll, idle: %#x\n", poll_bits(sv[1]));
  write(sv[0], "x", 1);
  printf("poll, data: %#x\n", poll_bits(sv[1]));
  read(sv[1], &v, 1);
  SHOW_CALL("sendto with an address", sendto(sv[0], "x", 1, 0, (struct sockaddr *)&name, sizeof(sa_family_t) + 2));

  // shutdown.
  SHOW_CALL("shutdown bad how", shutdown(sv[0], 7));
  SHOW_CALL("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
  printf("poll, peer shut writes: %#x\n", poll_bits(sv[1]));
  show_recv("read after SHUT_WR", sv[1], 10, 0);
  got_sigpipe = 0;
  SHOW_CALL("send after SHUT_WR", send(sv[0], "y", 1, 0));
  printf("SIGPIPE: %d\n", got_sigpipe);
  got_sigpipe = 0;
  SHOW_CALL("send MSG_NOSIGNAL", send(sv[0], "y", 1, MSG_NOSIGNAL));
  printf("SIGPIPE: %d\n", got_sigpipe);
  SHOW_CALL("the other way still works", send(sv[1], "z", 1, 0));
  show_recv("read it", sv[0], 10, 0);
  close(sv[0]);
  printf("poll, peer closed: %#x\n", poll_bits(sv[1]));
  show_recv("read, peer closed", sv[1], 10, 0);
  got_sigpipe = 0;
  SHOW_CALL("write, peer closed", write(sv[1], "q", 1));
  printf("SIGPIPE: %d\n", got_sigpipe);
  close(sv[1]);

  // Unconnected sockets.
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  printf("poll, unconnected: %#x\n", poll_bits(s));
  SHOW_CALL("recv unconnected", recv(s, &v, 1, MSG_DONTWAIT));
  SHOW_CALL("send unconnected", send(s, "x", 1, 0));
  SHOW_CALL("getpeername unconnected", getpeername(s, (struct sockaddr *)&name, &nlen));
  SHOW_CALL("listen unbound", listen(s, 1));
  struct sockaddr_un addr;
  socklen_t alen = abstract_addr(&addr, "cordon-conformance-stream");
  SHOW_CALL("connect, nobody there", connect(s, (struct sockaddr *)&addr, alen));
  SHOW_CALL("connect, short address", connect(s, (struct sockaddr *)&addr, 1));
  addr.sun_family = AF_INET;
  SHOW_CALL("bind, wrong family", bind(s, (struct sockaddr *)&addr, alen));
  addr.sun_family = AF_UNIX;
  close(s);

  // A listener on an abstract name.
  int lst = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("bind abstract", bind(lst, (struct sockaddr *)&addr, alen));
  SHOW_CALL("bind again", bind(lst, (struct sockaddr *)&addr, alen));
  int other = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("bind a used name", bind(other, (struct sockaddr *)&addr, alen));
  SHOW_CALL("connect, not listening", connect(other, (struct sockaddr *)&addr, alen));
  SHOW_CALL("listen", listen(lst, 4));
  SHOW_INT("SO_ACCEPTCONN", int_opt(lst, SO_ACCEPTCONN));
  printf("poll, listening: %#x\n", poll_bits(lst));
  int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
  SHOW_CALL("connect a datagram socket to it", connect(dg, (struct sockaddr *)&addr, alen));
  close(dg);
  SHOW_CALL("connect", connect(other, (struct sockaddr *)&addr, alen));
  SHOW_CALL("connect again", connect(other, (struct sockaddr *)&addr, alen));
  printf("poll, listening with a connection: %#x\n", poll_bits(lst));
  SHOW_CALL("send before accept", send(other, "early", 5, 0));
  struct sockaddr_un peer;
  socklen_t plen = sizeof peer;
  int conn = accept4(lst, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK);
  SHOW_BOOL("accept4", conn >= 0);
  SHOW_INT("accepted peer name length (unnamed client)", plen);
  SHOW_BOOL("accepted socket nonblocking", fcntl(conn, F_GETFL) & O_NONBLOCK);
  show_recv("read the early data", conn, 10, 0);
  nlen = sizeof name;
  getsockname(conn, (struct sockaddr *)&name, &nlen);
  SHOW_BOOL("accepted socket is named like the listener", nlen == alen && memcmp(&name, &addr, alen) == 0);
  nlen = sizeof name;
  getpeername(other, (struct sockaddr *)&name, &nlen);
  SHOW_BOOL("client's peer is the listener's name", nlen == alen && memcmp(&name, &addr, alen) == 0);
  clen = sizeof cred;
  getsockopt(other, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
  SHOW_BOOL("client's SO_PEERCRED is the listener's", cred.pid == getpid());
  SHOW_CALL("accept with none waiting (nonblocking listener)", (fcntl(lst, F_SETFL, O_NONBLOCK), accept(lst, NULL, NULL)));
  fcntl(lst, F_SETFL, 0);
  SHOW_CALL("accept on a connected socket", accept(other, NULL, NULL));

  // MSG_WAITALL gathers a message sent in pieces by a child, and a blocked accept.
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < 4; i++) {
      sleep_ms(10);
      send(other, "ab", 2, 0);
    }
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    sleep_ms(20);
    connect(c2, (struct sockaddr *)&addr, alen);
    send(c2, "second", 6, 0);
    _exit(0);
  }
  fcntl(conn, F_SETFL, 0);
  show_recv("MSG_WAITALL", conn, 8, MSG_WAITALL);
  int conn2 = accept(lst, NULL, NULL);
  show_recv("blocked accept, then read", conn2, 6, MSG_WAITALL);
  waitpid(child, NULL, 0);
  show_recv("MSG_WAITALL at EOF", conn2, 6, MSG_WAITALL);
  close(conn2);

  // A listener closed with a connection nobody accepted: the client is reset.
  int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
  connect(c3, (struct sockaddr *)&addr, alen);
  close(lst);
  printf("poll, listener gone: %#x\n", poll_bits(c3));
  SHOW_INT("SO_ERROR", int_opt(c3, SO_ERROR));
  show_recv("read after reset", c3, 10, 0);
  int c4 = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("connect after the listener closed", connect(c4, (struct sockaddr *)&addr, alen));
  int again = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("the name is free again", bind(again, (struct sockaddr *)&addr, alen));

  // A peer closed with unread data resets the other side.
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  send(sv[0], "unread", 6, 0);
  close(sv[1]);
  SHOW_CALL("send to a peer that closed with unread data", send(sv[0], "x", 1, MSG_NOSIGNAL));
  show_recv("recv", sv[0], 10, 0);

  // Filling the socket: a non-blocking send stops with EAGAIN; POLLOUT clears.
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
  static char big[65536];
  long sent = 0;
  ssize_t n;
  while ((n = send(sv[0], big, sizeof big, 0)) > 0) sent += n;
  printf("full: %s, poll %#x\n", errno_name(errno), poll_bits(sv[0]) & POLLOUT);
  long got = 0;
  while ((n = recv(sv[1], big, sizeof big, 0)) > 0) got += n;
  SHOW_BOOL("everything sent arrives", got == sent);
  printf("drained, poll %#x\n", poll_bits(sv[0]) & POLLOUT);

  // A blocking send larger than the buffer completes while a child reads.
  fcntl(sv[0], F_SETFL, 0);
  FLUSH();
  child = fork();
  if (child == 0) {
    fcntl(sv[1], F_SETFL, 0);
    long total = 0;
    static char sink[4096];
    while (total < 1 << 20 && (n = read(sv[1], sink, sizeof sink)) > 0) total += n;
    _exit(total == 1 << 20 ? 0 : 1);
  }
  static char mb[1 << 20];
  SHOW_CALL("blocking send of 1 MiB", send(sv[0], mb, sizeof mb, 0));
  int status;
  waitpid(child, &status, 0);
  SHOW_BOOL("child read it all", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  FLUSH();
  child = fork();
  if (child == 0) {
    long total = 0;
    static char sink[4096];
    while (total < 1 << 20 && (n = read(sv[1], sink, sizeof sink)) > 0) total += n;
    _exit(total == 1 << 20 ? 0 : 1);
  }
  SHOW_CALL("blocking write(2) of 1 MiB", write(sv[0], mb, sizeof mb));
  waitpid(child, &status, 0);
  SHOW_BOOL("child read it all", WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // Timeouts: SO_RCVTIMEO for recv and read, SO_SNDTIMEO for a full socket.
  struct timeval tv = {0, 30000};
  SHOW_CALL("SO_RCVTIMEO", setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  struct timeval back;
  socklen_t bl = sizeof back;
  getsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &back, &bl);
  printf("SO_RCVTIMEO reads back: %ld %ld (len %d)\n", (long)back.tv_sec, (long)back.tv_usec, (int)bl);
  SHOW_CALL("recv times out", recv(sv[1], buf, 1, 0));
  SHOW_CALL("read times out", read(sv[1], buf, 1));
  tv.tv_usec = 2000000;
  SHOW_CALL("SO_RCVTIMEO with tv_usec out of range", setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  tv = (struct timeval){0, 30000};
  setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  while (send(sv[0], big, sizeof big, MSG_DONTWAIT) > 0) {
  }
  SHOW_CALL("send times out on a full socket", send(sv[0], big, sizeof big, 0));
  SHOW_CALL("write times out on a full socket", write(sv[0], big, sizeof big));
  return 0;
}
