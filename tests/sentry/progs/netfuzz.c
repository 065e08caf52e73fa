// Random socket calls on inet, netlink and unix sockets with hostile arguments: random
// addresses and lengths, option values of every size, random flags, netlink messages with
// random headers and attributes, interface ioctls with garbage. The sentry must survive,
// stay responsive and record no internal error. Usage: netfuzz SEED ROUNDS
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t state;
static uint64_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}
static int pick(int n) { return (int)(rnd() % (uint64_t)n); }

#define NFD 12
static int fds[NFD];
static unsigned char *buf;

static void fill(unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)rnd();
  if (pick(2)) {
    /* Plausible addresses: a family and a loopback address now and then. */
    int fam = (int[]){2, 10, 16, 1, 0, 17}[pick(6)];
    p[0] = (unsigned char)fam;
    p[1] = 0;
    if (fam == 2 && n >= 8) {
      p[4] = 127, p[5] = 0, p[6] = 0, p[7] = 1;
      if (pick(2)) p[2] = p[3] = 0;
    }
  }
}

static int any_fd(void) { return pick(10) ? fds[pick(NFD)] : pick(2000) - 2; }

static long ptr_or_junk(void) {
  switch (pick(8)) {
  case 0: return 0;
  case 1: return (long)0xdead0000;
  case 2: return (long)(buf + 4096 * 16 - pick(64)); /* runs into the guard page */
  default: return (long)(buf + pick(4096 * 8));
  }
}

static void new_socket(int i) {
  if (fds[i] > 2) close(fds[i]);
  static const int fams[] = {2, 10, 16, 1};
  int fam = fams[pick(4)];
  /* Non-blocking always: a blocking accept or recv would end the run. */
  int type = (int[]){1, 2, 3, 5, 10}[pick(5)] | SOCK_NONBLOCK;
  int proto = pick(3) ? 0 : (int[]){1, 6, 17, 58, 255, -1, 1000}[pick(7)];
  int fd = socket(fam, type, proto);
  if (fd < 0) fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  fds[i] = fd;
}

static void one_call(void) {
  int fd = any_fd();
  long len = pick(4) ? pick(130) : (long)rnd();
  long p = ptr_or_junk();
  if (p >= (long)buf && p < (long)(buf + 4096 * 15) && pick(3)) fill((unsigned char *)p, 64);
  int flags = pick(3) ? (MSG_DONTWAIT | (pick(2) ? MSG_PEEK : 0)) : (int)(rnd() | MSG_DONTWAIT);
  socklen_t sl = (socklen_t)pick(200);
  switch (pick(17)) {
  case 0: bind(fd, (void *)p, (socklen_t)len); break;
  case 1: connect(fd, (void *)p, (socklen_t)len); break;
  case 2: listen(fd, (int)rnd()); break;
  case 3: accept4(fd, (void *)p, pick(2) ? &sl : (socklen_t *)ptr_or_junk(), (int)(rnd() & (SOCK_NONBLOCK | SOCK_CLOEXEC | 1))); break;
  case 4: sendto(fd, (void *)ptr_or_junk(), (size_t)pick(70000), flags | MSG_NOSIGNAL, (void *)p, (socklen_t)len); break;
  case 5: recvfrom(fd, (void *)ptr_or_junk(), (size_t)pick(70000), flags, (void *)p, pick(2) ? &sl : NULL); break;
  case 6: {
    int level = (int[]){0, 1, 6, 17, 41, 270, 255, -1}[pick(8)];
    int name = pick(4) ? pick(80) : (int)rnd();
    setsockopt(fd, level, name, (void *)p, (socklen_t)pick(4) ? (socklen_t)pick(40) : (socklen_t)len);
    break;
  }
  case 7: {
    int level = (int[]){0, 1, 6, 17, 41, 270, 255, -1}[pick(8)];
    getsockopt(fd, level, pick(80), (void *)p, pick(2) ? &sl : (socklen_t *)ptr_or_junk());
    break;
  }
  case 8: shutdown(fd, pick(5) - 1); break;
  case 9: getsockname(fd, (void *)p, pick(2) ? &sl : (socklen_t *)ptr_or_junk()); break;
  case 10: getpeername(fd, (void *)p, &sl); break;
  case 11: {
    unsigned long cmds[] = {0x8910, 0x8912, 0x8913, 0x8914, 0x8915, 0x8917, 0x8919, 0x891b, 0x8921, 0x8927, 0x8933, 0x8942, 0x8946, 0x8970, 0x541b, 0x5411, 0x894b, 0x8b01};
    ioctl(fd, cmds[pick(18)], (void *)p);
    break;
  }
  case 12: {
    /* A netlink request: a header, a family header and random attributes. */
    unsigned char *m = buf + 4096 * 4;
    size_t n = 16 + (size_t)pick(300);
    fill(m, n);
    *(uint32_t *)m = pick(4) ? (uint32_t)n : (uint32_t)rnd();
    *(uint16_t *)(m + 4) = (uint16_t)(pick(4) ? 16 + pick(70) : rnd());
    *(uint16_t *)(m + 6) = (uint16_t)(pick(2) ? 0x301 : rnd());
    if (pick(2)) *(uint16_t *)(m + 16 + 16) = (uint16_t)pick(64);
    struct sockaddr_nl { unsigned short f; unsigned short pad; unsigned pid; unsigned groups; } k = {16, 0, 0, 0};
    sendto(fd, m, n, MSG_DONTWAIT | MSG_NOSIGNAL, pick(3) ? (void *)&k : (void *)p, pick(3) ? sizeof k : (socklen_t)len);
    break;
  }
  case 13: {
    struct iovec iov[3] = {{(void *)ptr_or_junk(), (size_t)pick(5000)}, {(void *)ptr_or_junk(), (size_t)pick(5000)}, {buf, 16}};
    struct msghdr mh = {0};
    mh.msg_name = (void *)p;
    mh.msg_namelen = (socklen_t)pick(200);
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)(1 + pick(3));
    mh.msg_control = pick(2) ? (void *)ptr_or_junk() : NULL;
    mh.msg_controllen = (size_t)pick(300);
    if (pick(2)) sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
    else recvmsg(fd, &mh, flags);
    break;
  }
  case 14: {
    struct pollfd pf = {fd, (short)rnd(), 0};
    poll(&pf, 1, 0);
    break;
  }
  case 15: new_socket(pick(NFD)); break;
  case 16: {
    int i = pick(NFD), j = pick(NFD);
    /* Connect two of ours to each other's names now and then. */
    unsigned char a[128];
    socklen_t al = sizeof a;
    if (getsockname(fds[i], (void *)a, &al) == 0) {
      if (pick(2)) listen(fds[i], 4);
      connect(fds[j], (void *)a, al);
    }
    break;
  }
  }
}

int main(int argc, char **argv) {
  state = (uint64_t)(argc > 1 ? atoll(argv[1]) : 1) * 0x9E3779B97F4A7C15ull + 1;
  int rounds = argc > 2 ? atoi(argv[2]) : 20;
  signal(SIGPIPE, SIG_IGN);
  buf = mmap(NULL, 4096 * 17, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(buf + 4096 * 16, 4096);
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < NFD; i++) new_socket(i);
    for (int k = 0; k < 400; k++) one_call();
    /* Still alive: a round trip over a fresh loopback pair. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
      char c = 'k';
      if (write(sv[0], &c, 1) != 1 || read(sv[1], &c, 1) != 1) printf("round %d: socketpair broken\n", r);
      close(sv[0]);
      close(sv[1]);
    }
  }
  printf("kernel alive\n");
  return 0;
}
