/*
 * Host signals and host terminals for the sentry process (bound in ffi/hostsig.ts).
 *
 * Signals: the sentry must never die of, or run Deno's handlers for, the signals a user or
 * an engine sends it (SIGINT, SIGTERM, SIGHUP: forwarded to the guest's init) or the
 * terminal sends it (SIGWINCH). A C handler writes the signal number as one byte into a
 * non-blocking pipe; the sentry's loop watches the pipe's read end like any host fd.
 *
 * Terminals: raw mode for the user's terminal while the sentry's own line discipline runs
 * the guest's terminal, restored on every way out (normal exit, exit(), fatal signals
 * that can be caught); host pty pairs for consoles (OCI --console-socket); and a spawn
 * helper that runs a program on a fresh pty (tests drive interactive shells with it).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  if (sig_pipe[1] >= 0) {
    ssize_t r = write(sig_pipe[1], &b, 1);
    (void)r;
  }
  errno = saved;
}

/* The read end of the signal pipe (created once), or -errno. */
int sb_sig_open(void) {
  if (sig_pipe[0] < 0 && pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0) return -errno;
  return sig_pipe[0];
}

/* Catches sig: each delivery adds one byte (the signal number) to the signal pipe. */
int sb_sig_catch(int sig) {
  if (sb_sig_open() < 0) return -errno;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) < 0) return -errno;
  return 0;
}

/* Gives sig its default action back. */
int sb_sig_default(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  if (sigaction(sig, &sa, NULL) < 0) return -errno;
  return 0;
}

/* ---- the user's terminal in raw mode ----------------------------------------------- */

static struct termios saved_termios;
static int saved_fd = -1;
static int restore_registered;

/* Puts the terminal back as it was (idempotent). */
int sb_tty_restore(void) {
  if (saved_fd < 0) return 0;
  int fd = saved_fd;
  saved_fd = -1;
  if (tcsetattr(fd, TCSADRAIN, &saved_termios) < 0) return -errno;
  return 0;
}

static void restore_at_exit(void) {
  sb_tty_restore();
}

static void on_fatal(int sig) {
  sb_tty_restore();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Saves fd's terminal settings and makes it raw (no echo, no signals, no line editing, no
 * output processing: the sentry's line discipline does all of that for the guest). The
 * settings come back at exit, on SIGQUIT/SIGABRT, or with sb_tty_restore(). */
int sb_tty_make_raw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0) return -errno;
  if (saved_fd < 0) {
    saved_termios = t;
    saved_fd = fd;
  }
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (!restore_registered) {
    restore_registered = 1;
    atexit(restore_at_exit);
    /* Signals that would end the process without Deno or the sentry seeing them (those the
     * sentry forwards to its guest are caught instead; SIGKILL cannot be). */
    const int fatal[] = {SIGQUIT, SIGABRT, SIGALRM, SIGVTALRM, SIGXCPU, SIGXFSZ, SIGPWR, SIGSTKFLT};
    for (unsigned i = 0; i < sizeof fatal / sizeof *fatal; i++) {
      struct sigaction old;
      /* Leave alone a signal somebody already handles. */
      if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler != SIG_DFL) continue;
      signal(fatal[i], on_fatal);
    }
  }
  if (tcsetattr(fd, TCSADRAIN, &t) < 0) return -errno;
  return 0;
}

/* Whether the calling process is in the foreground process group of terminal fd. */
int sb_tty_is_foreground(int fd) {
  pid_t fg = tcgetpgrp(fd);
  if (fg < 0) return -errno;
  return fg == getpgrp();
}

/* ---- host pty pairs -------------------------------------------------------------------- */

/* Opens a host pty pair: fds[0] the master, fds[1] the slave (both O_CLOEXEC, O_NOCTTY). */
int sb_pty_open(int *fds) {
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) return -errno;
  if (grantpt(m) < 0 || unlockpt(m) < 0) {
    int e = errno;
    close(m);
    return -e;
  }
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    char name[64];
    if (ptsname_r(m, name, sizeof name) != 0) {
      int e = errno;
      close(m);
      return -e;
    }
    s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
      int e = errno;
      close(m);
      return -e;
    }
  }
  fds[0] = m;
  fds[1] = s;
  return 0;
}

/* Makes terminal fd the controlling terminal of the calling process in a new session (so
 * the sentry hears SIGWINCH and SIGHUP from a console pty). */
int sb_tty_set_ctty(int fd) {
  if (getsid(0) != getpid() && setsid() < 0) return -errno;
  if (ioctl(fd, TIOCSCTTY, 0) < 0) return -errno;
  return 0;
}

/* Runs a program on a new pty of rows x cols, as a session leader with the pty as its
 * controlling terminal. args/envs: nargs/nenvs NUL-terminated strings one after another
 * (envs NULL: inherit). Returns the pid and stores the master (non-blocking) in *master. */
int sb_pty_spawn(const char *args, int nargs, const char *envs, int nenvs, int rows, int cols, int *master) {
  int fds[2];
  int rc = sb_pty_open(fds);
  if (rc < 0) return rc;
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  ioctl(fds[0], TIOCSWINSZ, &ws);
  char **argv = calloc((size_t)nargs + 1, sizeof(char *));
  char **envp = envs ? calloc((size_t)nenvs + 1, sizeof(char *)) : NULL;
  if (!argv || (envs && !envp)) {
    free(argv);
    close(fds[0]);
    close(fds[1]);
    return -ENOMEM;
  }
  const char *p = args;
  for (int i = 0; i < nargs; i++, p += strlen(p) + 1) argv[i] = (char *)p;
  p = envs;
  for (int i = 0; envs && i < nenvs; i++, p += strlen(p) + 1) envp[i] = (char *)p;
  extern char **environ;
  pid_t pid = fork();
  if (pid == 0) {
    /* Only async-signal-safe calls from here on: the parent has threads. */
    setsid();
    ioctl(fds[1], TIOCSCTTY, 0);
    dup2(fds[1], 0);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < 32; s++) signal(s, SIG_DFL);
    execve(argv[0], argv, envp ? envp : environ);
    _exit(127);
  }
  int e = errno;
  free(argv);
  free(envp);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return -e;
  }
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  *master = fds[0];
  return pid;
}

/* waitpid: the wait status, 0 if still running (nohang), or -errno. */
int sb_pty_wait(int pid, int nohang) {
  int status = 0;
  pid_t r = waitpid(pid, &status, nohang ? WNOHANG : 0);
  if (r < 0) return -errno;
  if (r == 0) return -EAGAIN;
  return status;
}
