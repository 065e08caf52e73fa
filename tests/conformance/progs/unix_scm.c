// Control messages on unix sockets: SCM_RIGHTS (a pipe passed to a child and back, several
// descriptors, MSG_CMSG_CLOEXEC, truncation, bad descriptors, passing a socket over
// itself), and SCM_CREDENTIALS (SO_PASSCRED, explicit and forged credentials).
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

static ssize_t send_fds(int sock, const int *fds, int n, const char *data) {
  char ctl[CMSG_SPACE(sizeof(int) * 8)];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {(void *)data, strlen(data)};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (n > 0) {
    m.msg_control = ctl;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  }
  return sendmsg(sock, &m, 0);
}

// Receives and reports: bytes, flags, and each control message (fds are kept in out[]).
static int recv_fds(const char *what, int sock, int *out, size_t ctl_space, int flags) {
  char data[64];
  char ctl[256];
  struct iovec iov = {data, sizeof data};
  struct msghdr m = {0};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = ctl_space;
  errno = 0;
  ssize_t n = recvmsg(sock, &m, flags);
  printf("%s: %zd (%s) [%.*s] flags %#x controllen %zu", what, n, errno_name(n < 0 ? errno : 0),
         (int)(n > 0 ? n : 0), data, n < 0 ? 0 : m.msg_flags, n < 0 ? (size_t)0 : (size_t)m.msg_controllen);
  int count = 0;
  for (struct cmsghdr *c = n < 0 ? NULL : CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      printf(" SCM_RIGHTS x%d", k);
      memcpy(out + count, CMSG_DATA(c), k * sizeof(int));
      count += k;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred u;
      printf(" SCM_CREDENTIALS len %zu", (size_t)c->cmsg_len);
      if (c->cmsg_len >= CMSG_LEN(sizeof u)) {
        memcpy(&u, CMSG_DATA(c), sizeof u);
        printf(" self %s uid %u gid %u", u.pid == getpid() ? "yes" : "no", u.uid, u.gid);
      }
    } else {
      printf(" cmsg %d/%d", c->cmsg_level, c->cmsg_type);
    }
  }
  printf("\n");
  return count;
}

int main(void) {
  int sv[2], p[2], fds[8];
  char buf[64];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pipe(p);

  // A pipe's write end goes to a child, which writes to it; the parent reads the pipe.
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    close(p[1]);
    close(sv[0]);
    int got[8];
    int k = recv_fds("child receives", sv[1], got, sizeof(char[CMSG_SPACE(sizeof(int))]), 0);
    FLUSH();
    if (k == 1) write(got[0], "via passed fd", 13);
    _exit(k == 1 ? 0 : 1);
  }
  // (The parent prints after the child has exited: one order of lines on every run.)
  ssize_t sent = send_fds(sv[0], &p[1], 1, "fd");
  close(p[1]);
  ssize_t n = read(p[0], buf, sizeof buf);
  int status;
  waitpid(child, &status, 0);
  printf("send the write end: %zd\n", sent);
  printf("parent reads the pipe: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);
  SHOW_BOOL("child exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  n = read(p[0], buf, sizeof buf);
  printf("pipe at EOF once every copy is closed: %zd\n", n);
  close(p[0]);

  // Several descriptors, close-on-exec, peeking.
  int q[2];
  pipe(q);
  int three[3] = {q[0], q[1], q[0]};
  SHOW_CALL("send three", send_fds(sv[0], three, 3, "abc"));
  int k = recv_fds("peek", sv[1], fds, sizeof(char[CMSG_SPACE(sizeof(int) * 3)]), MSG_PEEK);
  for (int i = 0; i < k; i++) close(fds[i]);
  k = recv_fds("receive with MSG_CMSG_CLOEXEC", sv[1], fds, sizeof(char[CMSG_SPACE(sizeof(int) * 3)]), MSG_CMSG_CLOEXEC);
  SHOW_BOOL("received fds are cloexec", k == 3 && (fcntl(fds[0], F_GETFD) & FD_CLOEXEC) && (fcntl(fds[2], F_GETFD) & FD_CLOEXEC));
  write(fds[1], "q", 1);
  SHOW_BOOL("received ends work", read(fds[2], buf, 1) == 1 && buf[0] == 'q');
  for (int i = 0; i < k; i++) close(fds[i]);

  // Too little room: MSG_CTRUNC, the rest are closed.
  SHOW_CALL("send three again", send_fds(sv[0], three, 3, "def"));
  k = recv_fds("room for one", sv[1], fds, sizeof(char[CMSG_SPACE(sizeof(int))]), 0);
  for (int i = 0; i < k; i++) close(fds[i]);
  SHOW_CALL("send three again", send_fds(sv[0], three, 3, "ghi"));
  k = recv_fds("no control buffer", sv[1], fds, 0, 0);
  SHOW_CALL("send three again", send_fds(sv[0], three, 3, "jkl"));
  k = recv_fds("all three", sv[1], fds, sizeof(char[CMSG_SPACE(sizeof(int) * 3)]), 0);
  for (int i = 0; i < k; i++) close(fds[i]);

  SHOW_CALL("send three again", send_fds(sv[0], three, 3, "mno"));
  SHOW_CALL("read() takes the bytes and closes the descriptors", read(sv[1], buf, sizeof buf));

  // The descriptors ride with their bytes: a read stops after them.
  send(sv[0], "12", 2, 0);
  send_fds(sv[0], &q[0], 1, "34");
  send(sv[0], "56", 2, 0);
  k = recv_fds("data, then data with an fd", sv[1], fds, sizeof(char[CMSG_SPACE(sizeof(int))]), 0);
  for (int i = 0; i < k; i++) close(fds[i]);
  k = recv_fds("the rest", sv[1], fds, sizeof(char[CMSG_SPACE(sizeof(int))]), 0);
  close(q[0]);
  close(q[1]);

  // Errors.
  int bad = 999;
  SHOW_CALL("send a closed fd", send_fds(sv[0], &bad, 1, "x"));
  struct msghdr m = {0};
  char ctl[CMSG_SPACE(4)];
  struct iovec iov = {"x", 1};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = 99;
  c->cmsg_len = CMSG_LEN(4);
  SHOW_CALL("unknown control message type", sendmsg(sv[0], &m, 0));
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = sizeof ctl + 8;
  SHOW_CALL("control length too long", sendmsg(sv[0], &m, 0));

  // A socket passed over itself, then closed: no crash, the other end sees EOF.
  int self[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, self);
  SHOW_CALL("send a socket its own end", send_fds(self[0], &self[1], 1, "loop"));
  close(self[0]);
  close(self[1]);

  // Garbage: x1 carries itself and y1 in its own queue; once every descriptor is closed
  // only that cycle holds them, and the collector (run when a unix socket closes) frees
  // both: y1's peer sees the end.
  int x[2], y[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, x);
  socketpair(AF_UNIX, SOCK_STREAM, 0, y);
  send_fds(x[0], &x[1], 1, "s");
  send_fds(x[0], &y[1], 1, "y");
  close(x[0]);
  close(x[1]);
  close(y[1]);
  close(socket(AF_UNIX, SOCK_DGRAM, 0));
  struct pollfd yp = {y[0], POLLIN, 0};
  int pr = poll(&yp, 1, 10000);
  printf("unreachable cycle collected: poll %d, revents %#x\n", pr, yp.revents);
  close(y[0]);

  // Credentials.
  int dsv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, dsv);
  send(dsv[0], "no passcred", 11, 0);
  recv_fds("without SO_PASSCRED", dsv[1], fds, 64, 0);
  int one = 1;
  SHOW_CALL("SO_PASSCRED", setsockopt(dsv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
  send(dsv[0], "passcred", 8, 0);
  recv_fds("with SO_PASSCRED", dsv[1], fds, 64, 0);
  recv_fds("nothing", dsv[1], fds, 64, MSG_DONTWAIT);
  struct ucred mine = {getpid(), getuid(), getgid()};
  char cctl[CMSG_SPACE(sizeof(struct ucred))];
  m.msg_control = cctl;
  m.msg_controllen = sizeof cctl;
  c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof mine);
  memcpy(CMSG_DATA(c), &mine, sizeof mine);
  SHOW_CALL("explicit credentials", sendmsg(dsv[0], &m, 0));
  recv_fds("explicit", dsv[1], fds, 64, 0);
  mine.pid = 1234567;
  memcpy(CMSG_DATA(c), &mine, sizeof mine);
  // (EPERM without CAP_SYS_ADMIN, ESRCH with it: no such process.)
  SHOW_BOOL("someone else's pid is refused", sendmsg(dsv[0], &m, 0) < 0);
  recv_fds("drain", dsv[1], fds, 64, MSG_DONTWAIT);
  recv_fds("credentials, small buffer", dsv[1], fds, 8, MSG_DONTWAIT);
  send(dsv[0], "tiny", 4, 0);
  recv_fds("credentials, no room", dsv[1], fds, 16, 0);
  return 0;
}
