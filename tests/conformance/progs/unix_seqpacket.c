// Unix seqpacket sockets: connection-oriented messages with boundaries, truncation,
// listen/accept on an abstract name, EOF and EPIPE after close, poll bits.
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conformance.h"

static int poll_bits(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
  poll(&p, 1, 0);
  return p.revents;
}

static void show_recvmsg(const char *what, int fd, size_t len, int flags) {
  char buf[64];
  struct iovec iov = {buf, len};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  errno = 0;
  ssize_t n = recvmsg(fd, &m, flags);
  printf("%s: %zd (%s) [%.*s] flags %#x\n", what, n, errno_name(n < 0 ? errno : 0),
         (int)(n > 0 && (size_t)n <= len ? n : n > 0 ? (ssize_t)len : 0), buf, n < 0 ? 0 : m.msg_flags);
}

int main(void) {
  int sv[2];
  SHOW_CALL("socketpair", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
  send(sv[0], "first", 5, 0);
  send(sv[0], "second", 6, 0);
  send(sv[0], "3", 1, 0);
  show_recvmsg("whole", sv[1], 64, 0);
  show_recvmsg("truncated", sv[1], 3, 0);
  show_recvmsg("next", sv[1], 64, 0);
  send(sv[0], "peeked", 6, 0);
  show_recvmsg("peek", sv[1], 64, MSG_PEEK);
  show_recvmsg("after peek", sv[1], 64, 0);
  send(sv[0], "abcdef", 6, 0);
  show_recvmsg("MSG_TRUNC", sv[1], 2, MSG_TRUNC);
  show_recvmsg("empty", sv[1], 64, MSG_DONTWAIT);
  SHOW_CALL("sendto ignores the address", sendto(sv[0], "z", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "\0nowhere"}, 11));
  show_recvmsg("got it", sv[1], 64, 0);
  printf("poll: %#x\n", poll_bits(sv[1]));
  close(sv[0]);
  printf("poll, peer closed: %#x\n", poll_bits(sv[1]));
  show_recvmsg("EOF", sv[1], 64, 0);
  SHOW_CALL("send, peer closed", send(sv[1], "x", 1, MSG_NOSIGNAL));
  close(sv[1]);

  int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  printf("poll, unconnected: %#x\n", poll_bits(s));
  show_recvmsg("recv, unconnected", s, 64, MSG_DONTWAIT);
  SHOW_CALL("send, unconnected", send(s, "x", 1, 0));
  struct sockaddr_un a = {AF_UNIX, "\0cordon-seqpacket"};
  socklen_t al = offsetof(struct sockaddr_un, sun_path) + 17;
  SHOW_CALL("bind", bind(s, (struct sockaddr *)&a, al));
  SHOW_CALL("listen", listen(s, 2));
  int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  SHOW_CALL("connect", connect(c, (struct sockaddr *)&a, al));
  int stream = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("connect a stream socket", connect(stream, (struct sockaddr *)&a, al));
  int acc = accept(s, NULL, NULL);
  SHOW_BOOL("accept", acc >= 0);
  send(c, "hi", 2, 0);
  send(c, "there", 5, 0);
  show_recvmsg("server reads", acc, 64, 0);
  show_recvmsg("server reads", acc, 64, 0);
  send(acc, "back", 4, 0);
  show_recvmsg("client reads", c, 64, 0);
  SHOW_CALL("shutdown", shutdown(acc, SHUT_RDWR));
  printf("poll, both shut: %#x\n", poll_bits(acc));
  printf("poll, client: %#x\n", poll_bits(c));
  show_recvmsg("client EOF", c, 64, 0);
  return 0;
}
