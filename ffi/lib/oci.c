/*
 * Host calls of the OCI runtime (src/oci/, bound in ffi/oci.ts): starting the sandbox
 * process in fresh namespaces, control sockets that carry file descriptors, terminals,
 * signal forwarding, and the sandbox process's own hardening (pivot_root into an empty
 * root, capabilities, no_new_privs, a seccomp allowlist for the sentry).
 *
 * Every function returns a value >= 0 or -errno. Nothing here keeps state between calls
 * except the signal pipe (one per process).
 */
#include "hostcall.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- forking the sandbox process --------------------------------------------------- */

struct fork_plan {
  const int *fds; /* child fd i <- fds[i]; -1 leaves fd i closed */
  int nfds;
  int ns_flags;
  int netns_fd; /* >= 0: join this network namespace */
  int new_session;
};

enum { STEP_NONE, STEP_SETSID, STEP_SETNS, STEP_UNSHARE, STEP_FDS, STEP_FORK };

/* Signals whose handlers stay in the child: faults, which Deno's runtime turns into reports. */
static bool keeps_handler(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

/* Signals caught by sb_oci_catch_signals are written, one byte each, to this pipe. */
static int signal_pipe[2] = {-1, -1};

/*
 * Makes the forked child what an exec would have made it, as far as its JS code can tell:
 * every fd but fds[0..nfds) and keep_fd gone. Preconditions: runs in the child, which has one
 * thread; keep_fd >= nfds and is none of fds[].
 *
 * An fd of the parent's is not closed but replaced by /dev/null: among them are Deno's own
 * (its event loop's epoll and eventfd, its caches), which Deno may still write to (a waker),
 * and a number freed here would be reused by a file the sentry opens for a guest. Replacing
 * drops the description all the same (the CLI's flock, its end of the sync socket, the
 * console's master, pipes inherited from the engine) while any stray write goes nowhere.
 */
static int arrange_child_fds(const struct fork_plan *p, int keep_fd) {
  int high[64];
  for (int i = 0; i < p->nfds; i++) {
    high[i] = -1;
    if (p->fds[i] >= 0 && (high[i] = fcntl(p->fds[i], F_DUPFD_CLOEXEC, 100)) < 0) return -1;
  }
  for (int i = 0; i < p->nfds; i++) {
    if (high[i] < 0) {
      close(i);
    } else if (dup3(high[i], i, 0) < 0) {
      return -1;
    }
  }
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  int dir_fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (null_fd < 0 || dir_fd < 0) return -1;
  /* Collect first: replacing while reading the directory would race its listing. */
  static int open_fds[4096];
  int count = 0;
  char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, dir_fd, buf, sizeof buf);
    if (n < 0) return -1;
    if (n == 0) break;
    for (long off = 0; off < n;) {
      struct {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *d = (void *)(buf + off);
      off += d->reclen;
      if (d->name[0] < '0' || d->name[0] > '9') continue;
      int fd = atoi(d->name);
      if (fd >= p->nfds && fd != null_fd && fd != dir_fd && fd != keep_fd) {
        if (count == (int)(sizeof open_fds / sizeof open_fds[0])) return -1;
        open_fds[count++] = fd;
      }
    }
  }
  close(dir_fd);
  for (int i = 0; i < count; i++)
    if (dup3(null_fd, open_fds[i], O_CLOEXEC) < 0) return -1;
  return 0;
}

/*
 * V8 marks its heap and code reservations MADV_DONTFORK (a forked child would find them
 * unmapped and fault at once); the sandbox process is a fork that goes on running the same
 * JavaScript, so every mapping is made inheritable again first. Mappings that refuse
 * (VM_IO, VM_PFNMAP) are left as they are. Returns 0 or -errno.
 */
static int make_all_mappings_inheritable(void) {
  FILE *maps = fopen("/proc/self/maps", "re");
  if (!maps) return -errno;
  char line[512];
  unsigned long start, end;
  while (fgets(line, sizeof line, maps)) {
    if (sscanf(line, "%lx-%lx", &start, &end) == 2) madvise((void *)start, end - start, MADV_DOFORK);
    /* A line longer than the buffer (a long file name) continues in the next read. */
    while (!strchr(line, '\n') && fgets(line, sizeof line, maps)) {
    }
  }
  fclose(maps);
  return 0;
}

/* The child's half of sb_oci_fork_sandbox; returns STEP_NONE or the step that failed.
 * report_fd (the pipe to the parent) stays open. */
static int become_sandbox_child(const struct fork_plan *p, int report_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Handlers of the parent's (Deno's signal listeners) would write to the parent's pipes. */
  for (int sig = 1; sig < 65; sig++) {
    struct sigaction old;
    if (keeps_handler(sig) || sigaction(sig, NULL, &old) < 0) continue;
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) signal(sig, SIG_DFL);
  }
  signal_pipe[0] = signal_pipe[1] = -1; /* the parent's; replaced with the other fds below */
  if (p->new_session && setsid() < 0) return STEP_SETSID;
  if (p->netns_fd >= 0 && setns(p->netns_fd, CLONE_NEWNET) < 0) return STEP_SETNS;
  if (unshare(p->ns_flags & ~CLONE_NEWPID) < 0) return STEP_UNSHARE;
  if (arrange_child_fds(p, report_fd) < 0) return STEP_FDS;
  return STEP_NONE;
}

/*
 * Forks the sandbox process from the calling process (the CLI's create or run): the child goes
 * on running the caller's code, so a container costs one Deno start-up, not two. The child
 * has an empty signal mask and default handlers, a new session if asked, the network namespace
 * netns_fd (if >= 0), new namespaces ns_flags (CLONE_NEW*: with CLONE_NEWPID it is pid 1 of a
 * new pid namespace; CLONE_NEWCGROUP is left to the child, once in its cgroups),
 * fds[i] as fd i (nfds <= 64) and every other fd replaced by /dev/null (see
 * arrange_child_fds).
 *
 * Preconditions: V8 runs with --single-threaded, so no V8 worker thread is in the middle of a
 * task when the process forks (the child keeps only the calling thread, and a lock a vanished
 * thread held would stay held forever); the caller's other threads are Deno's idle runtime
 * threads. The caller needs CAP_SYS_ADMIN.
 *
 * Returns the child's pid in the parent, 0 in the child, or -errno in the parent with
 * *step_out saying which step failed (STEP_*; the child has then exited).
 */
int sb_oci_fork_sandbox(const int *fds, int nfds, int ns_flags, int netns_fd, int new_session,
                        int *step_out) {
  *step_out = STEP_NONE;
  if (nfds < 0 || nfds > 64) return -EINVAL;
  struct fork_plan plan = {.fds = fds, .nfds = nfds, .ns_flags = ns_flags, .netns_fd = netns_fd,
                           .new_session = new_session};
  /* The child reports a failed step here; on success it closes its end (EOF). */
  int report[2] = {-1, -1};
  int own_pidns = -1;
  int rc = 0;
  if (pipe2(report, O_CLOEXEC) < 0) {
    rc = -errno;
    goto out;
  }
  /* Above the fds the child is given (0..nfds-1), so arranging those never clobbers it. */
  for (int i = 0; i < 2; i++) {
    int high = fcntl(report[i], F_DUPFD_CLOEXEC, 100);
    if (high < 0) {
      rc = -errno;
      goto out;
    }
    close(report[i]);
    report[i] = high;
  }
  if ((rc = make_all_mappings_inheritable()) < 0) {
    *step_out = STEP_FORK;
    goto out;
  }
  /* A new pid namespace is for this thread's next child only: unshared around the fork. */
  if (ns_flags & CLONE_NEWPID) {
    own_pidns = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own_pidns < 0 || unshare(CLONE_NEWPID) < 0) {
      rc = -errno;
      *step_out = STEP_UNSHARE;
      goto out;
    }
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    int step = become_sandbox_child(&plan, report[1]);
    if (step == STEP_NONE) {
      close(report[1]);
      return 0;
    }
    int message[2] = {step, errno};
    if (write(report[1], message, sizeof message) < 0) {
      /* the parent sees EOF and then our exit status */
    }
    _exit(127);
  }
  int fork_errno = errno;
  if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0) {
    /* Cannot happen (it is our own namespace); were it to, later children would be born
     * inside the container's namespace, so stop rather than go on. */
    abort();
  }
  if (pid < 0) {
    rc = -fork_errno;
    *step_out = STEP_FORK;
    goto out;
  }
  close(report[1]);
  report[1] = -1;
  int message[2];
  ssize_t n;
  do n = read(report[0], message, sizeof message);
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof message) {
    int status;
    waitpid(pid, &status, 0);
    *step_out = message[0];
    rc = -(message[1] ? message[1] : EIO);
  } else {
    rc = pid;
  }
out:
  if (report[0] >= 0) close(report[0]);
  if (report[1] >= 0) close(report[1]);
  if (own_pidns >= 0) close(own_pidns);
  return rc;
}

/*
 * Moves process pid into the cgroups whose cgroup.procs files are listed (ncg strings in
 * cg_buf). The CLI does this for the sandbox process while the sandbox process goes on with
 * its set-up: on cgroup v1 a move waits for an RCU grace period (~18 ms on these VMs).
 * Returns 0 or -errno of the first file that refused.
 */
int sb_oci_join_cgroups(int pid, const char *cg_buf, int ncg) {
  char text[16];
  int len = snprintf(text, sizeof text, "%d", pid);
  const char *path = cg_buf;
  for (int i = 0; i < ncg; i++, path += strlen(path) + 1) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = write(fd, text, (size_t)len);
    int err = errno;
    close(fd);
    if (n < 0) return -err;
  }
  return 0;
}

/* unshare(2) of CLONE_NEW* flags: the sandbox process makes its cgroup namespace with it once
 * it is in its cgroups, so that their directory is the namespace's root. */
int sb_oci_unshare(int flags) { RET(unshare(flags)); }

/* ---- processes --------------------------------------------------------------------- */

int sb_oci_kill(int pid, int sig) { RET(kill(pid, sig)); }

/* Waits for a child; returns its wait status, or -ECHILD/-EAGAIN (nohang). */
int sb_oci_waitpid(int pid, int nohang) {
  int status;
  for (;;) {
    pid_t r = waitpid(pid, &status, nohang ? WNOHANG : 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return -EAGAIN;
    return status;
  }
}

int sb_oci_pidfd_open(int pid) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return -errno;
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

/* Polls one fd for `events` for at most timeout_ms (-1: forever); returns revents, 0 on
 * timeout. */
int sb_oci_poll(int fd, int events, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = (short)events};
  for (;;) {
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    return r == 0 ? 0 : p.revents;
  }
}

int sb_oci_setsid(void) { RET(setsid()); }

int sb_oci_getpid(void) { return getpid(); }

/* ---- signals ----------------------------------------------------------------------- */


static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  if (write(signal_pipe[1], &b, 1) < 0) {
    /* Pipe full: the signal is dropped, as a pending standard signal would merge. */
  }
  errno = saved;
}

/* Catches the signals whose bits are set in mask (bit n: signal n) and returns the read end
 * of a non-blocking pipe that yields one byte per signal. Precondition: called once. */
int sb_oci_catch_signals(double mask_d) {
  uint64_t mask = (uint64_t)mask_d;
  if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return -errno;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  for (int sig = 1; sig < 64; sig++) {
    if (!(mask & (1ull << sig))) continue;
    if (sigaction(sig, &sa, NULL) < 0) return -errno;
  }
  /* Deno's threads may have these blocked; the JS thread must not. */
  sigset_t set;
  sigemptyset(&set);
  for (int sig = 1; sig < 64; sig++)
    if (mask & (1ull << sig)) sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  return signal_pipe[0];
}

/* Reads caught signals into buf (one signal number per byte); 0 when none is pending. */
int sb_oci_read_signals(uint8_t *buf, int len) {
  if (signal_pipe[0] < 0) return 0;
  ssize_t n = read(signal_pipe[0], buf, (size_t)len);
  if (n < 0) return errno == EAGAIN ? 0 : -errno;
  return (int)n;
}

/*
 * Waits for child `pid` to exit, sending it every signal caught meanwhile (see
 * sb_oci_catch_signals), as `runc run` does for its container. Returns the wait status.
 */
int sb_oci_wait_forwarding(int pid) {
  int pidfd = sb_oci_pidfd_open(pid);
  if (pidfd < 0) return sb_oci_waitpid(pid, 0);
  for (;;) {
    struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = signal_pipe[0], .events = POLLIN}};
    int r = poll(p, signal_pipe[0] >= 0 ? 2 : 1, -1);
    if (r < 0 && errno != EINTR) break;
    if (signal_pipe[0] >= 0 && (p[1].revents & POLLIN)) {
      uint8_t sigs[64];
      ssize_t n = read(signal_pipe[0], sigs, sizeof sigs);
      for (ssize_t i = 0; i < n; i++) kill(pid, sigs[i]);
    }
    if (p[0].revents & POLLIN) break;
  }
  close(pidfd);
  return sb_oci_waitpid(pid, 0);
}

/* ---- unix sockets with SCM_RIGHTS --------------------------------------------------- */

/* Fills addr with path; paths too long for sun_path go through the directory's fd
 * (/proc/self/fd/N/name), which dirfd must then be. */
static int fill_addr(struct sockaddr_un *addr, const char *path, int dirfd, const char *name) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (strlen(path) < sizeof addr->sun_path) {
    strcpy(addr->sun_path, path);
    return 0;
  }
  if (dirfd < 0) return -ENAMETOOLONG;
  int n = snprintf(addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  return n < 0 || (size_t)n >= sizeof addr->sun_path ? -ENAMETOOLONG : 0;
}

/* A listening SOCK_SEQPACKET (or, with stream != 0, SOCK_STREAM) socket at path (dirfd/name
 * is the same place, for long paths), non-blocking, mode 0600. */
int sb_oci_listen(const char *path, int dirfd, const char *name, int stream) {
  struct sockaddr_un addr;
  int rc = fill_addr(&addr, path, dirfd, name);
  if (rc < 0) return rc;
  int fd = socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  mode_t old = umask(0077);
  rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  umask(old);
  if (rc < 0 || listen(fd, 64) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

/* Connects to a SOCK_SEQPACKET (or, with stream != 0, SOCK_STREAM) socket; blocking. */
int sb_oci_connect(const char *path, int dirfd, const char *name, int stream) {
  struct sockaddr_un addr;
  int rc = fill_addr(&addr, path, dirfd, name);
  if (rc < 0) return rc;
  int fd = socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

int sb_oci_accept(int fd) { RET(accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)); }

int sb_oci_socketpair(int *out) { RET(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, out)); }

/* Sends one message with up to 16 fds attached. Never raises SIGPIPE. */
int sb_oci_send(int fd, const uint8_t *buf, int len, const int *fds, int nfds) {
  if (nfds < 0 || nfds > 16) return -EINVAL;
  struct iovec iov = {.iov_base = (void *)buf, .iov_len = (size_t)len};
  union {
    char buf[CMSG_SPACE(16 * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
  }
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    return (int)n;
  }
}

/*
 * Receives one message into buf, and up to maxfds fds into fds_out (close-on-exec); the
 * number of fds goes to *nfds_out. Waits at most timeout_ms (-1: forever; 0: not at all).
 * Returns the message length (0: the peer closed), -ETIMEDOUT, -EMSGSIZE if the message
 * was cut, or -errno. Fds beyond maxfds are closed.
 */
int sb_oci_recv(int fd, uint8_t *buf, int len, int *fds_out, int maxfds, int *nfds_out, int timeout_ms) {
  *nfds_out = 0;
  if (timeout_ms >= 0) {
    int r = sb_oci_poll(fd, POLLIN, timeout_ms);
    if (r < 0) return r;
    if (r == 0) return -ETIMEDOUT;
  }
  struct iovec iov = {.iov_base = buf, .iov_len = (size_t)len};
  union {
    char buf[CMSG_SPACE(32 * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                       .msg_controllen = sizeof control.buf};
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | (timeout_ms >= 0 ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  int got = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int *p = (int *)CMSG_DATA(c);
    for (int i = 0; i < count; i++) {
      if (got < maxfds) fds_out[got++] = p[i];
      else close(p[i]);
    }
  }
  *nfds_out = got;
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    for (int i = 0; i < got; i++) close(fds_out[i]);
    *nfds_out = 0;
    return -EMSGSIZE;
  }
  return (int)n;
}

/* ---- terminals --------------------------------------------------------------------- */

/* Opens a pty pair; out[0] master, out[1] slave (both close-on-exec, slave O_NOCTTY). With
 * rows/cols > 0 the window size is set. */
int sb_oci_openpty(int *out, int rows, int cols) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return -errno;
  if (grantpt(master) < 0 || unlockpt(master) < 0) {
    int err = errno;
    close(master);
    return -err;
  }
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    close(master);
    return -err;
  }
  if (rows > 0 && cols > 0) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  out[0] = master;
  out[1] = slave;
  return 0;
}

/* Sends a pty master to a console socket (a SOCK_STREAM unix socket, as conmon and
 * `recvtty` expect), with the pty's name as the message. */
int sb_oci_send_console(const char *path, int master) {
  int fd = sb_oci_connect(path, -1, "", 1);
  if (fd < 0) return fd;
  char name[128] = "/dev/ptmx";
  int n = -1;
  if (ioctl(master, TIOCGPTN, &n) == 0) snprintf(name, sizeof name, "/dev/pts/%d", n);
  int rc = sb_oci_send(fd, (const uint8_t *)name, (int)strlen(name), &master, 1);
  close(fd);
  return rc < 0 ? rc : 0;
}

/* Makes fd (a terminal) the controlling terminal of this process's session. */
int sb_oci_set_ctty(int fd) { RET(ioctl(fd, TIOCSCTTY, 0)); }

/* ---- files --------------------------------------------------------------------------- */

/* Writes data to dirfd/name atomically (a temporary name, then rename). */
int sb_oci_write_file_at(int dirfd, const char *name, const uint8_t *data, int len) {
  char tmp[300];
  if (snprintf(tmp, sizeof tmp, ".%s.tmp", name) >= (int)sizeof tmp) return -ENAMETOOLONG;
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return -errno;
  ssize_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, (size_t)(len - off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      unlinkat(dirfd, tmp, 0);
      return -err;
    }
    off += n;
  }
  close(fd);
  RET(renameat(dirfd, tmp, dirfd, name));
}

int sb_oci_open_dir(const char *path) { RET(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)); }

int sb_oci_open_ns(const char *path) { RET(open(path, O_RDONLY | O_CLOEXEC)); }

int sb_oci_close(int fd) { RET(close(fd)); }

/* ---- the exec waiter ----------------------------------------------------------------- */

/*
 * Forks a process that stands for a process exec'd into a sandbox (`exec --detach`, whose
 * pid-file names a host process that exits with the guest process's status). The child
 * keeps only `sock` (the control connection), waits for the sandbox's 4-byte exit message
 * ("exit" + status as a decimal string, see src/oci/control.ts) and exits with the exit
 * code (128 + N for a signal N). Signals it receives are forwarded as messages. Returns the
 * child's pid.
 */
static volatile sig_atomic_t waiter_signal;
static void waiter_on_signal(int sig) { waiter_signal = sig; }

int sb_oci_fork_waiter(int sock) {
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid > 0) return pid;
  /* The child: a single thread, raw calls only. */
  if (sock != 3) {
    dup2(sock, 3);
    sock = 3;
  }
  syscall(SYS_close_range, 0, 2, 0);
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
  }
  syscall(SYS_close_range, 4, ~0u, 0);
  fcntl(3, F_SETFD, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = waiter_on_signal;
  int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &sa, NULL);
  char buf[256];
  for (;;) {
    if (waiter_signal) {
      int n = snprintf(buf, sizeof buf, "{\"op\":\"signal\",\"signal\":%d}", (int)waiter_signal);
      waiter_signal = 0;
      send(sock, buf, (size_t)n, MSG_NOSIGNAL);
    }
    ssize_t n = recv(sock, buf, sizeof buf - 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(255);
    buf[n] = 0;
    const char *p = strstr(buf, "\"exitCode\":");
    if (!p) continue;
    _exit(atoi(p + 11) & 0xff);
  }
}

/* ---- hardening the sandbox process --------------------------------------------------- */

/* Makes every mount of our (new) mount namespace private, so nothing we mount or unmount
 * reaches the host. */
int sb_oci_make_mounts_private(void) { RET(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)); }

/*
 * The sandbox process's own root, built before it pivots (see src/oci/README.md): a small
 * tmpfs at `dir` holding a read-only procfs of our pid namespace at /proc (the sentry
 * reopens its stdio through /proc/self/fd and reads its stubs' CPU times) and, bound in by
 * sb_oci_bind_into, the container's root filesystem and bind-mount sources. Nothing else of
 * the host is reachable from it.
 */
int sb_oci_mount_root_tmpfs(const char *dir) {
  if (mount("cordon-root", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755") < 0) return -errno;
  char path[4096];
  if (snprintf(path, sizeof path, "%s/proc", dir) >= (int)sizeof path) return -ENAMETOOLONG;
  if (mkdir(path, 0555) < 0) return -errno;
  if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0) return -errno;
  return 0;
}

/* Bind-mounts src (a directory or a file) at dst, creating dst as the same kind; with
 * readonly, the bind is made read-only. Returns 1 for a directory, 2 for a file. */
int sb_oci_bind_into(const char *src, const char *dst, int readonly) {
  struct stat st;
  if (stat(src, &st) < 0) return -errno;
  int kind;
  if (S_ISDIR(st.st_mode)) {
    if (mkdir(dst, 0755) < 0 && errno != EEXIST) return -errno;
    kind = 1;
  } else if (S_ISREG(st.st_mode)) {
    int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return -errno;
    close(fd);
    kind = 2;
  } else {
    return -EINVAL;
  }
  if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) return -errno;
  if (readonly && mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, NULL) < 0) return -errno;
  return kind;
}

int sb_oci_mkdir(const char *path, int mode) { RET(mkdir(path, (mode_t)mode)); }

/* pivot_root into `dir` (prepared by sb_oci_mount_root_tmpfs); the old root is detached
 * and the new one made read-only. */
int sb_oci_pivot(const char *dir) {
  if (chdir(dir) < 0) return -errno;
  if (syscall(SYS_pivot_root, ".", ".") < 0) return -errno;
  if (umount2(".", MNT_DETACH) < 0) return -errno;
  if (chdir("/") < 0) return -errno;
  if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    return -errno;
  return 0;
}

/* Keeps only the capabilities in `keep` (bits, low 32 and high 32) in every set, drops the
 * rest from the bounding set, clears the ambient set. */
int sb_oci_drop_caps(int keep_lo, int keep_hi) {
  uint64_t keep = (uint32_t)keep_lo | ((uint64_t)(uint32_t)keep_hi << 32);
  int last = 40;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (f) {
    if (fscanf(f, "%d", &last) != 1) last = 40;
    fclose(f);
  }
  for (int cap = 0; cap <= last && cap < 64; cap++) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return -errno;
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  data[0].effective = data[0].permitted = (uint32_t)keep;
  data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
  RET(syscall(SYS_capset, &hdr, data));
}

int sb_oci_no_new_privs(void) { RET(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)); }

/* Reads this process's capability sets (for tests): out[0..1] effective, [2..3] permitted,
 * [4..5] bounding (lo, hi). */
int sb_oci_get_caps(int *out) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return -errno;
  out[0] = (int)data[0].effective, out[1] = (int)data[1].effective;
  out[2] = (int)data[0].permitted, out[3] = (int)data[1].permitted;
  uint64_t bset = 0;
  for (int cap = 0; cap < 64; cap++)
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) bset |= 1ull << cap;
  out[4] = (int)(uint32_t)bset, out[5] = (int)(uint32_t)(bset >> 32);
  return 0;
}

/* ---- the sentry's seccomp allowlist -------------------------------------------------- */

/*
 * The host system calls the sentry keeps once it runs guests, with the argument checks that
 * matter. Everything else fails with EPERM (clone3 with ENOSYS, so that glibc falls back to
 * clone, whose flags can be checked). Gathered by tracing the sentry and Deno's threads over
 * the test suite's workloads; see src/oci/README.md.
 */

static const int allowed_syscalls[] = {
    /* files, through the fds the sentry holds */
    SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_preadv,
    SYS_pwritev, SYS_preadv2, SYS_pwritev2, SYS_openat, SYS_openat2, SYS_close, SYS_close_range, SYS_fstat, SYS_newfstatat,
    SYS_statx, SYS_lseek, SYS_getdents64, SYS_readlinkat, SYS_mkdirat, SYS_unlinkat,
    SYS_renameat, SYS_renameat2, SYS_symlinkat, SYS_linkat, SYS_mknodat, SYS_fchmod, SYS_fchmodat, SYS_fchmodat2,
    SYS_fchown, SYS_fchownat, SYS_utimensat, SYS_ftruncate, SYS_fallocate, SYS_fsync,
    SYS_fdatasync, SYS_fstatfs, SYS_fgetxattr, SYS_flistxattr, SYS_fsetxattr,
    SYS_fremovexattr, SYS_dup, SYS_dup2, SYS_dup3, SYS_fadvise64, SYS_fcntl, SYS_pipe2, SYS_eventfd2, SYS_memfd_create,
    SYS_getcwd, SYS_copy_file_range, SYS_sendfile,
    /* memory */
    SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_mremap, SYS_brk, SYS_msync,
    SYS_mincore, SYS_membarrier,
    /* waiting and waking */
    SYS_futex, SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2, SYS_poll,
    SYS_ppoll, SYS_nanosleep, SYS_restart_syscall, SYS_clock_nanosleep, SYS_sched_yield, SYS_clock_gettime,
    SYS_clock_getres, SYS_gettimeofday, SYS_set_robust_list, SYS_rseq,
    /* threads and signals (Deno's own and the platform's) */
    SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack, SYS_tgkill,
    SYS_kill, SYS_exit, SYS_exit_group, SYS_gettid, SYS_getpid, SYS_getppid, SYS_getuid,
    SYS_geteuid, SYS_getgid, SYS_getegid, SYS_getresuid, SYS_getresgid, SYS_set_tid_address, SYS_sched_getaffinity,
    SYS_sched_setaffinity, SYS_sched_getparam, SYS_sched_getscheduler,
    SYS_sched_get_priority_max, SYS_sched_get_priority_min, SYS_getrandom, SYS_uname, SYS_getrusage, SYS_prlimit64,
    SYS_sysinfo, SYS_setpriority, SYS_getpriority, SYS_capget, SYS_arch_prctl,
    /* stubs: exits, pidfds, the ptrace mechanism */
    SYS_wait4, SYS_waitid, SYS_pidfd_open, SYS_pidfd_send_signal, SYS_ptrace,
    /* the control socket; host sockets opened before the filter (a network link) */
    SYS_accept4, SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg, SYS_recvmmsg, SYS_sendto, SYS_recvfrom, SYS_shutdown,
    SYS_getsockopt, SYS_setsockopt, SYS_getsockname, SYS_getpeername,
};

#define ARCH_NR AUDIT_ARCH_X86_64
#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LOAD_ARG_LO(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))
#define LOAD_ARG_HI(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]) + 4)
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define DENY(err) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err))

/* ioctls the sentry makes on host fds (terminals it was given, FIONREAD/FIONBIO). */
static const uint32_t allowed_ioctls[] = {TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ,
                                          TIOCSWINSZ, FIONREAD, FIONBIO, FIOCLEX, TIOCGPTN};

int sb_oci_syscall_allowlist(int *out, int max) {
  int n = (int)(sizeof allowed_syscalls / sizeof allowed_syscalls[0]);
  for (int i = 0; i < n && i < max; i++) out[i] = allowed_syscalls[i];
  return n;
}

/*
 * Installs the allowlist on every thread of this process (SECCOMP_FILTER_FLAG_TSYNC).
 * Precondition: no_new_privs is set (or CAP_SYS_ADMIN held). Argument checks: clone must
 * create a thread (CLONE_THREAD), socket may make only AF_UNIX sockets (and, with
 * host_sockets, the inet and netlink ones network mode "host" makes), ioctl only the
 * commands above, prctl only PR_SET_NAME/PR_GET_NAME/PR_SET_VMA/PR_GET_DUMPABLE.
 */
int sb_oci_install_seccomp(int host_sockets) {
  enum { MAX = 512 };
  struct sock_filter f[MAX];
  int n = 0;
#define EMIT(x) \
  do {          \
    if (n >= MAX) return -E2BIG; \
    f[n++] = (struct sock_filter)x; \
  } while (0)
  EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH_NR, 1, 0));
  EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  EMIT(LOAD_NR);
  /* x32 numbers share the arch: refuse them outright. */
  EMIT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));
  EMIT(DENY(EPERM));
  size_t count = sizeof allowed_syscalls / sizeof allowed_syscalls[0];
  for (size_t i = 0; i < count; i++) {
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)allowed_syscalls[i], 0, 1));
    EMIT(ALLOW);
  }
  /* clone: threads only. */
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4));
  EMIT(LOAD_ARG_LO(0));
  EMIT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1));
  EMIT(ALLOW);
  EMIT(DENY(EPERM));
  /* clone3: its flags are in memory the filter cannot read; glibc then uses clone. */
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
  EMIT(DENY(ENOSYS));
  /* socket: AF_UNIX only; with host_sockets also AF_INET, AF_INET6 and (for reading the
   * host's interfaces) AF_NETLINK, whose writes need the CAP_NET_ADMIN we no longer hold. */
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 7));
  EMIT(LOAD_ARG_LO(0));
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 3, 0));
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, host_sockets ? AF_INET : AF_UNIX, 2, 0));
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, host_sockets ? AF_INET6 : AF_UNIX, 1, 0));
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, host_sockets ? AF_NETLINK : AF_UNIX, 0, 1));
  EMIT(ALLOW);
  EMIT(DENY(EPERM));
  /* bind, listen, connect: for the guest's host sockets only. */
  if (host_sockets) {
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_bind, 2, 0));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_listen, 1, 0));
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_connect, 0, 1));
    EMIT(ALLOW);
  }
  /* ioctl: the listed commands (the command is an int: only its low 32 bits count). */
  size_t nio = sizeof allowed_ioctls / sizeof allowed_ioctls[0];
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, (uint8_t)(nio * 2 + 2)));
  EMIT(LOAD_ARG_LO(1));
  for (size_t i = 0; i < nio; i++) {
    EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, allowed_ioctls[i], 0, 1));
    EMIT(ALLOW);
  }
  EMIT(DENY(EPERM));
  /* prctl: naming threads and mappings, reading dumpability. */
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_prctl, 0, 10));
  EMIT(LOAD_ARG_LO(0));
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_NAME, 0, 1));
  EMIT(ALLOW);
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_GET_NAME, 0, 1));
  EMIT(ALLOW);
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x53564d41 /* PR_SET_VMA */, 0, 1));
  EMIT(ALLOW);
  EMIT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_GET_DUMPABLE, 0, 1));
  EMIT(ALLOW);
  EMIT(DENY(EPERM));
  EMIT(DENY(EPERM));
#undef EMIT
  struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
  RET(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog));
}

/* Returns the sentry's free malloc memory to the host (once set-up is over: a sleeping
 * container should not hold its start-up's garbage). */
#include <malloc.h>
int sb_oci_trim_memory(void) { return malloc_trim(0); }

/* A sealed memfd holding buf: how the CLI hands the sandbox process a config.json of any size
 * (a SOCK_SEQPACKET message is limited to the socket buffer). */
int sb_oci_memfd_from(const uint8_t *buf, int len) {
  int fd = memfd_create("cordon-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  ssize_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, buf + off, (size_t)(len - off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return -err;
    }
    off += n;
  }
  fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

/* Reads all of a (small, regular) file from offset 0 into buf; returns its length, or
 * -EFBIG if it does not fit. */
int sb_oci_read_all(int fd, uint8_t *buf, int len) {
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  if (st.st_size > len) return -EFBIG;
  ssize_t off = 0;
  while (off < st.st_size) {
    ssize_t n = pread(fd, buf + off, (size_t)(st.st_size - off), off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -errno : -EIO;
    off += n;
  }
  return (int)off;
}

/* Ends the process at once with `code`: the sandbox process has nothing to flush or tear
 * down once init's status is recorded, and Deno's own shutdown would only delay the engine
 * waiting for it. */
void sb_oci_exit(int code) { _exit(code); }
