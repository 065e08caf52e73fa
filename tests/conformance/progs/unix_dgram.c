// Unix datagram sockets: message boundaries, truncation, MSG_PEEK, abstract and autobind
// names, sendto/recvfrom addresses, connected sockets, queue limits, errors after the peer
// closes, and sendmmsg/recvmmsg.
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t n = strlen(name);
  memcpy(a->sun_path + 1, name, n);
  return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static int poll_bits(int fd) {
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  poll(&p, 1, 0);
  return p.revents;
}

int main(void) {
  int sv[2];
  char buf[256];
  ssize_t n;
  SHOW_CALL("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
  send(sv[0], "one", 3, 0);
  send(sv[0], "two!", 4, 0);
  send(sv[0], "", 0, 0);
  int avail = -1;
  ioctl(sv[1], FIONREAD, &avail);
  SHOW_INT("FIONREAD (next message)", avail);
  n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
  printf("peek: %zd [%.*s]\n", n, (int)n, buf);
  n = recv(sv[1], buf, sizeof buf, 0);
  printf("first: %zd [%.*s]\n", n, (int)n, buf);
  struct iovec iov = {buf, 2};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  n = recvmsg(sv[1], &m, 0);
  printf("truncated: %zd [%.*s] flags %#x\n", n, (int)n, buf, m.msg_flags);
  n = recv(sv[1], buf, sizeof buf, MSG_DONTWAIT);
  printf("empty datagram: %zd\n", n);
  send(sv[0], "longer", 6, 0);
  n = recv(sv[1], buf, 3, MSG_TRUNC);
  printf("MSG_TRUNC returns the real length: %zd\n", n);
  SHOW_CALL("nothing left", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
  printf("poll, idle pair: %#x\n", poll_bits(sv[1]));

  // Named sockets.
  struct sockaddr_un a1, a2, from;
  socklen_t l1 = abstract_addr(&a1, "cordon-dgram-one"), l2 = abstract_addr(&a2, "cordon-dgram-two");
  int s1 = socket(AF_UNIX, SOCK_DGRAM, 0), s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  SHOW_CALL("bind one", bind(s1, (struct sockaddr *)&a1, l1));
  SHOW_CALL("send unconnected, no address", send(s2, "x", 1, 0));
  SHOW_CALL("sendto from unnamed", sendto(s2, "hello", 5, 0, (struct sockaddr *)&a1, l1));
  socklen_t fl = sizeof from;
  memset(&from, 0x55, sizeof from);
  n = recvfrom(s1, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
  printf("recvfrom: %zd [%.*s] address length %d\n", n, (int)n, buf, (int)fl);
  SHOW_CALL("bind two", bind(s2, (struct sockaddr *)&a2, l2));
  sendto(s2, "named", 5, 0, (struct sockaddr *)&a1, l1);
  fl = sizeof from;
  n = recvfrom(s1, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
  printf("recvfrom named: %zd address matches %s\n", n, fl == l2 && memcmp(&from, &a2, l2) == 0 ? "yes" : "no");
  SHOW_CALL("sendto nobody", sendto(s2, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "\0nobody-here"}, 14));
  int st = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("sendto a stream socket's name", sendto(st, "x", 1, 0, (struct sockaddr *)&a1, l1));
  close(st);

  // Autobind.
  int s3 = socket(AF_UNIX, SOCK_DGRAM, 0);
  struct sockaddr_un anon = {AF_UNIX, ""};
  SHOW_CALL("autobind", bind(s3, (struct sockaddr *)&anon, sizeof(sa_family_t)));
  struct sockaddr_un got;
  socklen_t gl = sizeof got;
  getsockname(s3, (struct sockaddr *)&got, &gl);
  int hex = 1;
  for (int i = 1; i < 6; i++) {
    char c = got.sun_path[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) hex = 0;
  }
  printf("autobind name: length %d, abstract %s, five hex digits %s\n", (int)gl, got.sun_path[0] == 0 ? "yes" : "no", hex ? "yes" : "no");

  // Connected datagram sockets.
  SHOW_CALL("connect one to two", connect(s1, (struct sockaddr *)&a2, l2));
  gl = sizeof got;
  SHOW_CALL("getpeername", getpeername(s1, (struct sockaddr *)&got, &gl));
  SHOW_BOOL("peer is two", gl == l2 && memcmp(&got, &a2, l2) == 0);
  SHOW_CALL("send to the peer", send(s1, "to two", 6, 0));
  n = recv(s2, buf, sizeof buf, 0);
  printf("two got: %zd [%.*s]\n", n, (int)n, buf);
  SHOW_CALL("a third socket may not send to one (connected elsewhere)", sendto(s3, "x", 1, 0, (struct sockaddr *)&a1, l1));
  SHOW_CALL("two may", sendto(s2, "y", 1, 0, (struct sockaddr *)&a1, l1));
  recv(s1, buf, sizeof buf, 0);
  SHOW_CALL("disconnect with AF_UNSPEC", connect(s1, (struct sockaddr *)&(struct sockaddr){AF_UNSPEC, {0}}, sizeof(struct sockaddr)));
  SHOW_CALL("getpeername after", getpeername(s1, (struct sockaddr *)&got, &gl));
  SHOW_CALL("third may send now", sendto(s3, "z", 1, 0, (struct sockaddr *)&a1, l1));
  recv(s1, buf, sizeof buf, 0);

  // A receiver that is not connected back takes 11 messages (max_dgram_qlen 10, plus one).
  int w = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int k = 0;
  while (sendto(w, "q", 1, 0, (struct sockaddr *)&a1, l1) == 1) k++;
  printf("queued before EAGAIN: %d (%s)\n", k, errno_name(errno));
  connect(w, (struct sockaddr *)&a1, l1);
  printf("poll, connected to a full receiver: %#x\n", poll_bits(w));
  // A blocked sender is woken when the receiver reads.
  fcntl(w, F_SETFL, 0);
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    recv(s1, buf, sizeof buf, 0);
    _exit(0);
  }
  SHOW_CALL("blocking send to a full receiver", send(w, "r", 1, 0));
  waitpid(child, NULL, 0);
  for (k = 0; recv(s1, buf, sizeof buf, MSG_DONTWAIT) > 0; k++) {
  }
  printf("drained: %d\n", k);

  // Sizes.
  int v = 0;
  socklen_t vl = sizeof v;
  getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &vl);
  static char huge[300000];
  SHOW_CALL("datagram bigger than SO_SNDBUF", send(sv[0], huge, v, 0));
  SHOW_CALL("64 KiB datagram", send(sv[0], huge, 65536, 0));
  n = recv(sv[1], huge, sizeof huge, 0);
  printf("received: %zd\n", n);

  // sendmmsg / recvmmsg.
  struct mmsghdr out[3], in[4];
  struct iovec oiov[3] = {{"aa", 2}, {"bbb", 3}, {"c", 1}};
  char ibuf[4][8];
  struct iovec iiov[4];
  memset(out, 0, sizeof out);
  memset(in, 0, sizeof in);
  for (int i = 0; i < 3; i++) {
    out[i].msg_hdr.msg_iov = &oiov[i];
    out[i].msg_hdr.msg_iovlen = 1;
  }
  for (int i = 0; i < 4; i++) {
    iiov[i] = (struct iovec){ibuf[i], sizeof ibuf[i]};
    in[i].msg_hdr.msg_iov = &iiov[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }
  SHOW_CALL("sendmmsg", sendmmsg(sv[0], out, 3, 0));
  printf("msg_len: %u %u %u\n", out[0].msg_len, out[1].msg_len, out[2].msg_len);
  int r = recvmmsg(sv[1], in, 4, MSG_WAITFORONE, NULL);
  printf("recvmmsg: %d:", r);
  for (int i = 0; i < r; i++) printf(" [%.*s]", (int)in[i].msg_len, ibuf[i]);
  printf("\n");
  SHOW_CALL("recvmmsg, nothing, MSG_DONTWAIT", recvmmsg(sv[1], in, 4, MSG_DONTWAIT, NULL));

  // The peer of a pair closes.
  close(sv[1]);
  SHOW_CALL("send, peer closed", send(sv[0], "x", 1, 0));
  SHOW_CALL("recv, peer closed", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
  printf("poll, peer closed: %#x\n", poll_bits(sv[0]));
  SHOW_CALL("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
  SHOW_CALL("send after SHUT_WR", send(sv[0], "x", 1, MSG_NOSIGNAL));
  SHOW_CALL("listen on a datagram socket", listen(s1, 1));
  SHOW_CALL("accept on a datagram socket", accept(s1, NULL, NULL));
  return 0;
}
