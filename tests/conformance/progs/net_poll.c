// Readiness of TCP and UDP sockets: poll bits through a socket's life (fresh, listening,
// pending connection, connected, data waiting, peer shut down, reset), non-blocking connect
// (EINPROGRESS, POLLOUT, SO_ERROR, EALREADY/EISCONN, the one 0 after completion), a refused
// non-blocking connect, epoll edge- and level-triggered wakeups, a blocked accept and recv
// woken by another process, and select() on sockets.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static const char *bits(int r) {
  static char buf[128];
  buf[0] = 0;
  if (r & POLLIN) strcat(buf, "IN ");
  if (r & POLLPRI) strcat(buf, "PRI ");
  if (r & POLLOUT) strcat(buf, "OUT ");
  if (r & POLLERR) strcat(buf, "ERR ");
  if (r & POLLHUP) strcat(buf, "HUP ");
  if (r & POLLRDHUP) strcat(buf, "RDHUP ");
  if (r & POLLNVAL) strcat(buf, "NVAL ");
  if (!buf[0]) strcpy(buf, "-");
  return buf;
}

static const char *poll_now(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP | POLLPRI, 0};
  poll(&p, 1, 0);
  return bits(p.revents);
}

static int so_error(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len);
  return v;
}

static socklen_t lo4(struct sockaddr_in *a, int port) {
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sizeof *a;
}

static int listener(struct sockaddr_in *a) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)a, lo4(a, 0));
  listen(l, 4);
  socklen_t len = sizeof *a;
  getsockname(l, (struct sockaddr *)a, &len);
  return l;
}

static void tcp_states(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  SHOW_STR("fresh TCP socket", poll_now(s));
  struct sockaddr_in a;
  int l = listener(&a);
  SHOW_STR("listener, nothing pending", poll_now(l));
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int r = connect(c, (struct sockaddr *)&a, sizeof a);
  SHOW_STR("non-blocking connect", r == 0 ? "0" : errno_name(errno));
  struct pollfd p = {c, POLLOUT, 0};
  SHOW_INT("poll for POLLOUT", poll(&p, 1, 5000));
  SHOW_STR("  revents", bits(p.revents));
  SHOW_INT("SO_ERROR", so_error(c));
  SHOW_CALL("connect again", connect(c, (struct sockaddr *)&a, sizeof a));
  SHOW_CALL("and again", connect(c, (struct sockaddr *)&a, sizeof a));
  SHOW_STR("listener with a connection pending", poll_now(l));
  int d = accept(l, NULL, NULL);
  SHOW_STR("listener after accept", poll_now(l));
  SHOW_STR("connected, idle", poll_now(d));
  send(c, "x", 1, 0);
  sleep_ms(20);
  SHOW_STR("connected, data waiting", poll_now(d));
  char ch;
  recv(d, &ch, 1, 0);
  shutdown(c, SHUT_WR);
  sleep_ms(20);
  SHOW_STR("peer shut down writing", poll_now(d));
  SHOW_STR("the side that shut writing", poll_now(c));
  shutdown(d, SHUT_WR);
  sleep_ms(20);
  SHOW_STR("both shut writing (d)", poll_now(d));
  SHOW_STR("both shut writing (c)", poll_now(c));
  close(c);
  close(d);

  /* A peer that resets the connection. */
  c = socket(AF_INET, SOCK_STREAM, 0);
  connect(c, (struct sockaddr *)&a, sizeof a);
  d = accept(l, NULL, NULL);
  struct linger lg = {1, 0};
  setsockopt(d, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(d);
  sleep_ms(20);
  SHOW_STR("after the peer's reset", poll_now(c));
  SHOW_STR("  SO_ERROR", errno_name(so_error(c)));
  SHOW_STR("  then", poll_now(c));
  close(c);
  close(s);

  /* A refused non-blocking connect. */
  struct sockaddr_in closed;
  int t = socket(AF_INET, SOCK_STREAM, 0);
  bind(t, (struct sockaddr *)&closed, lo4(&closed, 0));
  socklen_t len = sizeof closed;
  getsockname(t, (struct sockaddr *)&closed, &len);
  close(t);
  c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  r = connect(c, (struct sockaddr *)&closed, sizeof closed);
  SHOW_STR("non-blocking connect to a closed port", r == 0 ? "0" : errno_name(errno));
  p.fd = c;
  p.events = POLLOUT | POLLIN;
  p.revents = 0;
  SHOW_INT("poll", poll(&p, 1, 5000));
  SHOW_STR("  revents", bits(p.revents));
  SHOW_STR("SO_ERROR", errno_name(so_error(c)));
  SHOW_STR("SO_ERROR again", errno_name(so_error(c)));
  SHOW_STR("poll after", poll_now(c));
  SHOW_CALL("connect again (to the listener)", connect(c, (struct sockaddr *)&a, sizeof a));
  close(c);
  close(l);
}

static void udp_states(void) {
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  SHOW_STR("fresh UDP socket", poll_now(u));
  struct sockaddr_in a;
  bind(u, (struct sockaddr *)&a, lo4(&a, 0));
  socklen_t len = sizeof a;
  getsockname(u, (struct sockaddr *)&a, &len);
  int v = socket(AF_INET, SOCK_DGRAM, 0);
  sendto(v, "d", 1, 0, (struct sockaddr *)&a, sizeof a);
  sleep_ms(20);
  SHOW_STR("UDP with a datagram waiting", poll_now(u));
  char ch;
  recv(u, &ch, 1, 0);
  SHOW_STR("UDP after reading it", poll_now(u));
  SHOW_CALL("shutdown unconnected UDP", shutdown(u, SHUT_RD));
  connect(u, (struct sockaddr *)&a, sizeof a);
  SHOW_CALL("shutdown connected UDP (SHUT_RD)", shutdown(u, SHUT_RD));
  SHOW_STR("UDP after SHUT_RD", poll_now(u));
  close(u);
  close(v);
}

static void epoll_wakeups(void) {
  struct sockaddr_in a;
  int l = listener(&a);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    sleep_ms(50);
    send(c, "abc", 3, 0);
    sleep_ms(50);
    send(c, "def", 3, 0);
    sleep_ms(100);
    close(c);
    _exit(0);
  }
  struct epoll_event out[4];
  int n = epoll_wait(ep, out, 4, 5000);
  SHOW_INT("epoll_wait on the listener", n);
  SHOW_STR("  events", bits(n > 0 ? (int)out[0].events : 0));
  int s = accept(l, NULL, NULL);
  ev.events = EPOLLIN | EPOLLET | EPOLLRDHUP;
  ev.data.u32 = 2;
  epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
  epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL);
  n = epoll_wait(ep, out, 4, 5000);
  SHOW_INT("edge-triggered: first data", n);
  SHOW_STR("  events", bits(n > 0 ? (int)out[0].events : 0));
  n = epoll_wait(ep, out, 4, 0);
  SHOW_INT("  no new edge without new data", n);
  n = epoll_wait(ep, out, 4, 5000);
  SHOW_INT("  second data is a new edge", n);
  char buf[16];
  SHOW_CALL("  read all", recv(s, buf, sizeof buf, 0));
  n = epoll_wait(ep, out, 4, 5000);
  SHOW_INT("the peer's close", n);
  SHOW_STR("  events", bits(n > 0 ? (int)out[0].events : 0));
  waitpid(pid, NULL, 0);
  close(s);
  close(ep);
  close(l);
}

static void blocked_calls(void) {
  struct sockaddr_in a;
  int l = listener(&a);
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    sleep_ms(50);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    sleep_ms(50);
    send(c, "wake", 4, 0);
    sleep_ms(50);
    close(c);
    _exit(0);
  }
  int s = accept(l, NULL, NULL);
  SHOW_BOOL("blocked accept returned a socket", s >= 0);
  char buf[16];
  SHOW_CALL("blocked recv", recv(s, buf, sizeof buf, 0));
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(s, &rd);
  struct timeval tv = {5, 0};
  SHOW_INT("select for the peer's close", select(s + 1, &rd, NULL, NULL, &tv));
  SHOW_CALL("recv at EOF", recv(s, buf, sizeof buf, 0));
  waitpid(pid, NULL, 0);
  close(s);
  close(l);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  tcp_states();
  udp_states();
  epoll_wakeups();
  blocked_calls();
  return 0;
}
