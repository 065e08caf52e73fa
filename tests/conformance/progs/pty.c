// Pseudo-terminals: openpty (glibc/musl through /dev/ptmx), the default termios of a slave,
// canonical and raw input, echo, output processing, window size, locking, FIONREAD, VTIME,
// controlling terminals and sessions, ^C to the foreground group, SIGTTIN for a background
// group, and hangups in both directions.
#include "conformance.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Reads what is available within a short while (the master side, after the line
 * discipline has done its work), as a printable string. */
static void show_read_wait(const char *what, int fd, int first_wait_ms) {
  char buf[256];
  size_t got = 0;
  for (int i = 0; i < 50 && got < sizeof buf - 1; i++) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, i == 0 ? first_wait_ms : first_wait_ms < 20 ? first_wait_ms : 20) <= 0) break;
    ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  char out[1024];
  size_t o = 0;
  for (size_t i = 0; i < got && o < sizeof out - 5; i++) {
    unsigned char c = (unsigned char)buf[i];
    if (c == '\r') o += (size_t)snprintf(out + o, sizeof out - o, "\\r");
    else if (c == '\n') o += (size_t)snprintf(out + o, sizeof out - o, "\\n");
    else if (c < 32 || c == 127) o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
    else out[o++] = (char)c;
  }
  out[o] = 0;
  printf("%s: \"%s\"\n", what, out);
}

static void show_read(const char *what, int fd) {
  show_read_wait(what, fd, 300);
}

static void put(int fd, const char *s) {
  if (write(fd, s, strlen(s)) != (ssize_t)strlen(s)) printf("short write\n");
}

static void basics(void) {
  int m, s;
  char name[64];
  struct winsize ws = {.ws_row = 24, .ws_col = 80};
  SHOW_CALL("openpty", openpty(&m, &s, name, NULL, &ws));
  SHOW_BOOL("name under /dev/pts", strncmp(name, "/dev/pts/", 9) == 0);
  SHOW_BOOL("isatty(master)", isatty(m));
  SHOW_BOOL("isatty(slave)", isatty(s));
  char *tn = ttyname(s);
  SHOW_BOOL("ttyname(slave) is the name", tn && strcmp(tn, name) == 0);
  struct stat st;
  fstat(s, &st);
  SHOW_BOOL("slave is a character device", S_ISCHR(st.st_mode));
  SHOW_INT("slave major", major(st.st_rdev));
  struct stat st2;
  SHOW_CALL("stat(name)", stat(name, &st2));
  SHOW_BOOL("stat(name) is the slave", st2.st_rdev == st.st_rdev && st2.st_ino == st.st_ino);
  fstat(m, &st);
  SHOW_INT("master major", major(st.st_rdev));
  SHOW_INT("master minor", minor(st.st_rdev));

  struct termios t;
  tcgetattr(s, &t);
  printf("slave iflag: %#o\nslave oflag: %#o\nslave cflag: %#o\nslave lflag: %#o\n", t.c_iflag, t.c_oflag,
         t.c_cflag, t.c_lflag);
  printf("cc: intr %d quit %d erase %d kill %d eof %d min %d time %d susp %d werase %d lnext %d\n",
         t.c_cc[VINTR], t.c_cc[VQUIT], t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF], t.c_cc[VMIN],
         t.c_cc[VTIME], t.c_cc[VSUSP], t.c_cc[VWERASE], t.c_cc[VLNEXT]);
  struct termios tm;
  tcgetattr(m, &tm);
  SHOW_BOOL("master termios is the slave's", tm.c_lflag == t.c_lflag && tm.c_iflag == t.c_iflag);

  struct winsize got;
  ioctl(s, TIOCGWINSZ, &got);
  printf("winsize: %d %d\n", got.ws_row, got.ws_col);
  ws.ws_row = 50;
  ws.ws_col = 132;
  SHOW_CALL("TIOCSWINSZ on master", ioctl(m, TIOCSWINSZ, &ws));
  ioctl(s, TIOCGWINSZ, &got);
  printf("winsize seen by slave: %d %d\n", got.ws_row, got.ws_col);

  // Canonical input with echo and editing.
  put(m, "hello wor\x7f\x7f\x7fthere\r");
  show_read("echo", m);
  char buf[64] = {0};
  ssize_t n = read(s, buf, sizeof buf - 1);
  printf("slave read %zd: %s", n, buf);
  put(m, "one\ntwo\n");
  show_read("echo of two lines", m);
  int avail = -1;
  ioctl(s, FIONREAD, &avail);
  SHOW_INT("FIONREAD", avail);
  n = read(s, buf, sizeof buf - 1);
  SHOW_INT("first read (one line)", n);
  n = read(s, buf, 2);
  SHOW_INT("partial read", n);
  n = read(s, buf, sizeof buf);
  SHOW_INT("rest of the line", n);
  put(m, "\x04");
  n = read(s, buf, sizeof buf);
  SHOW_INT("read after ^D (EOF)", n);
  put(m, "abc\x15xyz\n");
  show_read("echo after kill", m);
  memset(buf, 0, sizeof buf);
  n = read(s, buf, sizeof buf - 1);
  printf("after kill: %s", buf);

  // Output processing.
  put(s, "out\nline\ttab\n");
  show_read("slave output", m);

  // Raw mode.
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  SHOW_CALL("tcsetattr raw", tcsetattr(s, TCSANOW, &t));
  put(m, "r\r\x03");
  show_read("echo in raw mode", m);
  memset(buf, 0, sizeof buf);
  n = read(s, buf, sizeof buf);
  printf("raw read %zd: %02x %02x %02x\n", n, buf[0], buf[1], buf[2]);
  put(s, "x\ny");
  show_read("raw output", m);

  // VMIN 0, VTIME 1: a read with nothing to read returns 0 after a tenth of a second.
  t.c_cc[VMIN] = 0;
  t.c_cc[VTIME] = 1;
  tcsetattr(s, TCSANOW, &t);
  n = read(s, buf, sizeof buf);
  SHOW_INT("VTIME read with no input", n);
  t.c_cc[VTIME] = 0;
  tcsetattr(s, TCSANOW, &t);
  n = read(s, buf, sizeof buf);
  SHOW_INT("VMIN 0 VTIME 0 read", n);
  int fl = fcntl(s, F_GETFL);
  fcntl(s, F_SETFL, fl | O_NONBLOCK);
  t.c_cc[VMIN] = 1;
  tcsetattr(s, TCSANOW, &t);
  errno = 0;
  n = read(s, buf, sizeof buf);
  printf("nonblocking read: %zd (%s)\n", n, errno_name(errno));
  fcntl(s, F_SETFL, fl);

  // Not our controlling terminal.
  SHOW_CALL("tcgetpgrp(slave)", tcgetpgrp(s));
  SHOW_CALL("TIOCSCTTY (not a session leader)", ioctl(s, TIOCSCTTY, 0));

  // Closing the slave: the master reads EIO once empty.
  close(s);
  errno = 0;
  n = read(m, buf, sizeof buf);
  printf("master read after slave closed: %zd (%s)\n", n, errno_name(errno));
  struct pollfd p = {.fd = m, .events = POLLIN};
  poll(&p, 1, 1000);
  SHOW_BOOL("master POLLHUP", p.revents & POLLHUP);
  close(m);
}

static void locking(void) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  SHOW_BOOL("posix_openpt", m >= 0);
  char *name = ptsname(m);
  SHOW_BOOL("ptsname", name != NULL);
  int lock = -1;
  SHOW_CALL("TIOCGPTLCK", ioctl(m, TIOCGPTLCK, &lock));
  SHOW_INT("locked", lock);
  SHOW_CALL("open locked slave", open(name, O_RDWR | O_NOCTTY));
  SHOW_CALL("unlockpt", unlockpt(m));
  int s = open(name, O_RDWR | O_NOCTTY);
  SHOW_BOOL("open unlocked slave", s >= 0);
  int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  SHOW_BOOL("TIOCGPTPEER", peer >= 0);
  struct stat a, b;
  fstat(s, &a);
  fstat(peer, &b);
  SHOW_BOOL("peer is the same slave", a.st_rdev == b.st_rdev);
  SHOW_CALL("TIOCGPTN on slave", ioctl(s, TIOCGPTN, &lock));
  close(peer);
  // Closing the master hangs the slave up: reads end, writes fail.
  close(m);
  char buf[8];
  errno = 0;
  ssize_t n = read(s, buf, sizeof buf);
  printf("slave read after hangup: %zd (%s)\n", n, errno_name(errno));
  errno = 0;
  n = write(s, "x", 1);
  printf("slave write after hangup: %zd (%s)\n", n, errno_name(errno));
  close(s);
  SHOW_CALL("stat of the removed slave", stat(name, &a));
}

static volatile sig_atomic_t got_sig;
static void on_sig(int sig) { got_sig = sig; }

/* A child session on the pty: ^C from the master reaches it as SIGINT. */
static void session(void) {
  int m, s;
  openpty(&m, &s, NULL, NULL, NULL);
  int ready[2];
  if (pipe(ready) < 0) return;
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    close(m);
    close(ready[0]);
    setsid();
    int ok = ioctl(s, TIOCSCTTY, 0) == 0;
    int fg = tcgetpgrp(s) == getpgrp();
    pid_t sid = 0;
    ioctl(s, TIOCGSID, &sid);
    int tty = open("/dev/tty", O_RDWR);
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGINT, &sa, NULL);
    char st = (char)(ok | fg << 1 | (sid == getpid()) << 2 | (tty >= 0) << 3);
    if (write(ready[1], &st, 1) != 1) _exit(9);
    while (!got_sig) pause();
    _exit(got_sig == SIGINT ? 42 : 1);
  }
  close(s);
  close(ready[1]);
  char st = 0;
  if (read(ready[0], &st, 1) != 1) st = 0;
  SHOW_BOOL("child: TIOCSCTTY", st & 1);
  SHOW_BOOL("child: foreground", st & 2);
  SHOW_BOOL("child: TIOCGSID is its session", st & 4);
  SHOW_BOOL("child: /dev/tty opens", st & 8);
  put(m, "\x03");
  int status = 0;
  waitpid(pid, &status, 0);
  SHOW_BOOL("child exited 42 after ^C", WIFEXITED(status) && WEXITSTATUS(status) == 42);
  show_read("echo of ^C", m);
  close(m);
}

/* A background process group reading its terminal is stopped by SIGTTIN; TOSTOP makes a
 * background write stop it with SIGTTOU. */
static void job_control(void) {
  int m, s;
  openpty(&m, &s, NULL, NULL, NULL);
  int out[2];
  if (pipe(out) < 0) return;
  FLUSH();
  pid_t leader = fork();
  if (leader == 0) {
    close(m);
    close(out[0]);
    setsid();
    ioctl(s, TIOCSCTTY, 0);
    signal(SIGTTOU, SIG_IGN);
    char res[3] = {0, 0, 0};
    for (int round = 0; round < 2; round++) {
      pid_t bg = fork();
      if (bg == 0) {
        setpgid(0, 0);
        char c;
        if (round == 0) {
          if (read(s, &c, 1) < 0) _exit(3);
        } else {
          struct termios t;
          tcgetattr(s, &t);
          t.c_lflag |= TOSTOP;
          signal(SIGTTOU, SIG_DFL);
          tcsetattr(s, TCSANOW, &t);
          if (write(s, "x", 1) < 0) _exit(3);
        }
        _exit(0);
      }
      setpgid(bg, bg);
      int status = 0;
      waitpid(bg, &status, WUNTRACED);
      res[round] = WIFSTOPPED(status) ? (char)WSTOPSIG(status) : -1;
      kill(bg, SIGKILL);
      waitpid(bg, &status, 0);
    }
    // The background group ignoring SIGTTIN gets EIO instead.
    pid_t bg = fork();
    if (bg == 0) {
      setpgid(0, 0);
      signal(SIGTTIN, SIG_IGN);
      char c;
      _exit(read(s, &c, 1) < 0 && errno == EIO ? 5 : 6);
    }
    setpgid(bg, bg);
    int status = 0;
    waitpid(bg, &status, 0);
    res[2] = WIFEXITED(status) ? (char)WEXITSTATUS(status) : -1;
    if (write(out[1], res, 3) != 3) _exit(9);
    _exit(0);
  }
  close(s);
  close(out[1]);
  char res[3] = {0, 0, 0};
  if (read(out[0], res, 3) != 3) printf("no result\n");
  SHOW_BOOL("background read stopped by SIGTTIN", res[0] == SIGTTIN);
  SHOW_BOOL("background write with TOSTOP stopped by SIGTTOU", res[1] == SIGTTOU);
  SHOW_BOOL("background read ignoring SIGTTIN fails with EIO", res[2] == 5);
  int status;
  waitpid(leader, &status, 0);
  close(m);
}

/* Closing the master sends SIGHUP to the session leader of the terminal. */
static void hangup(void) {
  int m, s;
  openpty(&m, &s, NULL, NULL, NULL);
  int ready[2];
  if (pipe(ready) < 0) return;
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    close(m);
    close(ready[0]);
    setsid();
    ioctl(s, TIOCSCTTY, 0);
    if (write(ready[1], "r", 1) != 1) _exit(9);
    char c;
    while (read(s, &c, 1) > 0) {
    }
    _exit(7);
  }
  close(s);
  close(ready[1]);
  char c;
  if (read(ready[0], &c, 1) != 1) printf("child not ready\n");
  close(m);
  int status = 0;
  waitpid(pid, &status, 0);
  SHOW_BOOL("session leader killed by SIGHUP", WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP);
}

/* One line discipline case: termios changes, bytes typed on the master, then what the
 * master reads back (echo) and what a non-blocking slave read returns. */
static void ldisc_case(const char *what, tcflag_t iset, tcflag_t iclr, tcflag_t oset, tcflag_t oclr,
                       tcflag_t lset, tcflag_t lclr, const char *typed, const char *written) {
  int m, s;
  openpty(&m, &s, NULL, NULL, NULL);
  struct termios t;
  tcgetattr(s, &t);
  t.c_iflag = (t.c_iflag | iset) & ~iclr;
  t.c_oflag = (t.c_oflag | oset) & ~oclr;
  t.c_lflag = (t.c_lflag | lset) & ~lclr;
  tcsetattr(s, TCSANOW, &t);
  if (written) put(s, written);
  if (typed) put(m, typed);
  char label[128];
  snprintf(label, sizeof label, "%s: master reads", what);
  show_read_wait(label, m, 300);
  // The echo came from processing the input: whatever the slave can read is there now.
  fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
  snprintf(label, sizeof label, "%s: slave reads", what);
  show_read_wait(label, s, 0);
  close(s);
  close(m);
}

static void ldisc_matrix(void) {
  ldisc_case("word erase", 0, 0, 0, 0, 0, 0, "one two  three\x17\x17x\n", NULL);
  ldisc_case("literal next", 0, 0, 0, 0, 0, 0, "a\x16\x03" "b\x16\x7f\n", NULL);
  ldisc_case("reprint", 0, 0, 0, 0, 0, 0, "abc\x12" "d\n", NULL);
  ldisc_case("tab erase", 0, 0, 0, 0, 0, 0, "ab\tc\x7f\x7f\n", NULL);
  ldisc_case("control chars echoed", 0, 0, 0, 0, 0, 0, "\x01\x02\x1b[A\x7f\x7f\n", NULL);
  ldisc_case("no ECHOCTL", 0, 0, 0, 0, 0, ECHOCTL, "\x01\x02x\x7f\n", NULL);
  ldisc_case("no ECHOE", 0, 0, 0, 0, 0, ECHOE, "abc\x7f\n", NULL);
  ldisc_case("kill without ECHOKE", 0, 0, 0, 0, 0, ECHOKE, "abc\x15" "d\n", NULL);
  ldisc_case("kill without ECHOK", 0, 0, 0, 0, 0, ECHOK | ECHOKE, "abc\x15" "d\n", NULL);
  ldisc_case("ECHOPRT", 0, 0, 0, 0, ECHOPRT, ECHOE, "abc\x7f\x7fx\n", NULL);
  ldisc_case("ECHONL without ECHO", 0, 0, 0, 0, ECHONL, ECHO, "abc\n", NULL);
  ldisc_case("no ICRNL", 0, ICRNL, 0, 0, 0, 0, "a\rb\n", NULL);
  ldisc_case("IGNCR", IGNCR, 0, 0, 0, 0, 0, "a\rb\n", NULL);
  ldisc_case("INLCR", INLCR, ICRNL, 0, 0, 0, 0, "ab\n\r", NULL);
  ldisc_case("ISTRIP", ISTRIP, 0, 0, 0, 0, 0, "\xe1\n", NULL);
  ldisc_case("IUCLC", IUCLC, 0, 0, 0, 0, 0, "AbC\n", NULL);
  ldisc_case("OCRNL", 0, 0, OCRNL, 0, 0, 0, NULL, "a\rb\n");
  ldisc_case("ONOCR", 0, 0, ONOCR, 0, 0, 0, NULL, "\rab\r\n");
  ldisc_case("ONLRET", 0, 0, ONLRET, ONLCR, 0, 0, NULL, "ab\ncd\n");
  ldisc_case("XTABS", 0, 0, XTABS, 0, 0, 0, NULL, "a\tbc\td\n");
  ldisc_case("OLCUC", 0, 0, OLCUC, 0, 0, 0, NULL, "abc\n");
  ldisc_case("no OPOST", 0, 0, 0, OPOST, 0, 0, NULL, "a\nb\tc\n");
  ldisc_case("output while ^S", 0, 0, 0, 0, 0, 0, "\x13", "held\n");
  ldisc_case("IXANY restarts", IXANY, 0, 0, 0, 0, 0, "\x13x", "out\n");
  ldisc_case("no IXON", 0, IXON, 0, 0, 0, 0, "\x13\x11\n", "out\n");
  ldisc_case("NOFLSH keeps input", 0, 0, 0, 0, NOFLSH, 0, "ab\x03" "cd\n", NULL);
  ldisc_case("^C flushes input", 0, 0, 0, 0, 0, 0, "ab\x03" "cd\n", NULL);
  ldisc_case("no ISIG", 0, 0, 0, 0, 0, ISIG, "a\x03\x1a\x1c\n", NULL);
  ldisc_case("no IEXTEN", 0, 0, 0, 0, 0, IEXTEN, "one two\x17\x16\x01\n", NULL);
  ldisc_case("raw", 0, ICRNL | IXON, 0, OPOST, 0, ICANON | ECHO | ISIG | IEXTEN, "a\r\x03\x7f", "x\n");
  // Packet mode: each master read starts with a status byte (0: data).
  int m, s;
  openpty(&m, &s, NULL, NULL, NULL);
  int on = 1;
  SHOW_CALL("TIOCPKT", ioctl(m, TIOCPKT, &on));
  put(s, "pkt\n");
  show_read("packet mode read", m);
  close(s);
  close(m);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  // No controlling terminal whatever the harness had: a session of our own.
  FLUSH();
  pid_t pid = fork();
  if (pid != 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  setsid();
  // The tests run in a child that is not a session leader (TIOCSCTTY must fail there).
  FLUSH();
  pid = fork();
  if (pid != 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  basics();
  locking();
  session();
  job_control();
  hangup();
  ldisc_matrix();
  return 0;
}
