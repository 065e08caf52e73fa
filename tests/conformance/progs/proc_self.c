// /proc as a process sees itself and its children: status and stat fields that must agree
// with the system calls, cmdline, environ, exe, cwd, root, fd and fdinfo, maps, limits,
// mounts, task/, comm, thread-self, a child's directory until it is reaped; the system-wide
// files' formats; /proc/sys/kernel; /sys's CPU lists.
#include "conformance.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static char file_buf[1 << 16];

/* The whole contents of a file (NUL-terminated), or NULL. */
static char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, file_buf + n, sizeof file_buf - 1 - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  file_buf[n] = 0;
  if (len) *len = n;
  return file_buf;
}

/* The value of "Key:\t..." in /proc/self/status (copied), or "". */
static const char *status_field(const char *key) {
  static char val[256];
  val[0] = 0;
  char *s = slurp("/proc/self/status", NULL);
  if (!s) return val;
  size_t kl = strlen(key);
  for (char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
      char *v = line + kl + 1;
      while (*v == '\t' || *v == ' ') v++;
      size_t n = strcspn(v, "\n");
      if (n >= sizeof val) n = sizeof val - 1;
      memcpy(val, v, n);
      val[n] = 0;
      return val;
    }
  }
  return val;
}

/* Field n (1-based, as proc(5) numbers them) of /proc/<path>/stat. */
static long long stat_field(const char *path, int n, char *comm, size_t comm_len) {
  char *s = slurp(path, NULL);
  if (!s) return -1;
  char *open = strchr(s, '('), *close = strrchr(s, ')');
  if (!open || !close) return -1;
  if (comm) {
    size_t l = (size_t)(close - open - 1);
    if (l >= comm_len) l = comm_len - 1;
    memcpy(comm, open + 1, l);
    comm[l] = 0;
  }
  if (n == 1) return strtoll(s, NULL, 10);
  if (n == 3) return close[2];
  char *p = close + 2;
  for (int i = 3; i < n; i++) {
    p = strchr(p, ' ');
    if (!p) return -1;
    p++;
  }
  return strtoll(p, NULL, 10);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void on_hup(int sig) { (void)sig; }

static void *sleeper(void *arg) {
  (void)arg;
  pause();
  return NULL;
}

/* A signal mask field, limited to the standard signals: the real-time ones' dispositions
 * come from whoever started us and cannot all be reset (libc keeps some). */
static void show_mask(const char *what, const char *key) {
  unsigned long long v = strtoull(status_field(key), NULL, 16) & 0x7fffffffull;
  printf("%s: %016llx\n", what, v);
}

static void status_checks(void) {
  SHOW_STR("Name", status_field("Name"));
  SHOW_STR("State", status_field("State"));
  SHOW_BOOL("Tgid is getpid", atoi(status_field("Tgid")) == getpid());
  SHOW_BOOL("Pid is getpid", atoi(status_field("Pid")) == getpid());
  SHOW_BOOL("PPid is getppid", atoi(status_field("PPid")) == getppid());
  char ids[128];
  snprintf(ids, sizeof ids, "%d\t%d\t%d\t%d", getuid(), geteuid(), getuid(), geteuid());
  SHOW_BOOL("Uid matches", strcmp(status_field("Uid"), ids) == 0);
  snprintf(ids, sizeof ids, "%d\t%d\t%d\t%d", getgid(), getegid(), getgid(), getegid());
  SHOW_BOOL("Gid matches", strcmp(status_field("Gid"), ids) == 0);
  SHOW_STR("Umask", status_field("Umask"));
  umask(027);
  SHOW_STR("Umask after umask(027)", status_field("Umask"));
  umask(022);
  SHOW_STR("Threads", status_field("Threads"));
  SHOW_STR("SigBlk", status_field("SigBlk"));
  show_mask("SigIgn", "SigIgn");
  show_mask("SigCgt", "SigCgt");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  signal(SIGUSR2, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_hup};
  sigaction(SIGHUP, &sa, NULL);
  SHOW_STR("SigBlk after blocking SIGUSR1", status_field("SigBlk"));
  show_mask("SigIgn after ignoring SIGUSR2", "SigIgn");
  show_mask("SigCgt after catching SIGHUP", "SigCgt");
  raise(SIGUSR1);
  SHOW_STR("SigPnd with SIGUSR1 pending", status_field("SigPnd"));
  SHOW_STR("ShdPnd", status_field("ShdPnd"));
  signal(SIGUSR1, SIG_IGN);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  SHOW_STR("NoNewPrivs", status_field("NoNewPrivs"));
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  SHOW_STR("NoNewPrivs after prctl", status_field("NoNewPrivs"));
  SHOW_BOOL("VmRSS present", status_field("VmRSS")[0] != 0);
  SHOW_BOOL("VmSize ends in kB", strstr(status_field("VmSize"), " kB") != NULL);
  SHOW_BOOL("CapEff is 16 hex digits", strlen(status_field("CapEff")) == 16);
}

static void stat_checks(void) {
  char comm[64];
  SHOW_BOOL("stat pid", stat_field("/proc/self/stat", 1, comm, sizeof comm) == getpid());
  SHOW_STR("stat comm", comm);
  printf("stat state: %c\n", (char)stat_field("/proc/self/stat", 3, NULL, 0));
  SHOW_BOOL("stat ppid", stat_field("/proc/self/stat", 4, NULL, 0) == getppid());
  SHOW_BOOL("stat pgrp", stat_field("/proc/self/stat", 5, NULL, 0) == getpgrp());
  SHOW_BOOL("stat session", stat_field("/proc/self/stat", 6, NULL, 0) == getsid(0));
  SHOW_INT("stat tty_nr", stat_field("/proc/self/stat", 7, NULL, 0));
  SHOW_INT("stat tpgid", stat_field("/proc/self/stat", 8, NULL, 0));
  SHOW_INT("stat num_threads", stat_field("/proc/self/stat", 20, NULL, 0));
  SHOW_BOOL("stat vsize > 0", stat_field("/proc/self/stat", 23, NULL, 0) > 0);
  SHOW_INT("stat exit_signal", stat_field("/proc/self/stat", 38, NULL, 0));
  char *s = slurp("/proc/self/stat", NULL);
  int fields = 0;
  for (char *p = strrchr(s, ')'); p && *p; p++) if (*p == ' ') fields++;
  SHOW_INT("stat fields after comm", fields);
  unsigned long v[7];
  s = slurp("/proc/self/statm", NULL);
  SHOW_INT("statm fields", sscanf(s, "%lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]));
  SHOW_BOOL("statm resident <= size", v[1] <= v[0]);
}

static void threads(void) {
  pthread_t th;
  pthread_create(&th, NULL, sleeper, NULL);
  SHOW_STR("Threads with a second thread", status_field("Threads"));
  SHOW_INT("task entries", count_entries("/proc/self/task"));
  char link[64], want[64];
  ssize_t n = readlink("/proc/thread-self", link, sizeof link - 1);
  link[n < 0 ? 0 : n] = 0;
  snprintf(want, sizeof want, "%d/task/%ld", getpid(), (long)syscall(SYS_gettid));
  SHOW_BOOL("thread-self", strcmp(link, want) == 0);
  n = readlink("/proc/self", link, sizeof link - 1);
  link[n < 0 ? 0 : n] = 0;
  snprintf(want, sizeof want, "%d", getpid());
  SHOW_BOOL("self", strcmp(link, want) == 0);
  pthread_cancel(th);
  pthread_join(th, NULL);
}

static void cmdline_environ(int argc, char **argv, char **envp) {
  size_t len = 0;
  char *s = slurp("/proc/self/cmdline", &len);
  size_t off = 0;
  int same = s != NULL;
  for (int i = 0; i < argc && same; i++) {
    same = strcmp(s + off, argv[i]) == 0;
    off += strlen(argv[i]) + 1;
  }
  SHOW_BOOL("cmdline is argv", same && off == len);
  s = slurp("/proc/self/environ", &len);
  off = 0;
  same = s != NULL;
  for (char **e = envp; *e && same; e++) {
    same = strcmp(s + off, *e) == 0;
    off += strlen(*e) + 1;
  }
  SHOW_BOOL("environ is the initial environment", same && off == len);
}

static void links(const char *file) {
  char buf[PATH_MAX], real[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  struct stat a, b;
  SHOW_BOOL("exe is this program", stat("/proc/self/exe", &a) == 0 && stat(buf, &b) == 0 && a.st_ino == b.st_ino);
  if (!getcwd(real, sizeof real)) real[0] = 0;
  n = readlink("/proc/self/cwd", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  SHOW_BOOL("cwd is getcwd", strcmp(buf, real) == 0);
  n = readlink("/proc/self/root", buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  SHOW_STR("root", buf);

  int fd = open(file, O_RDONLY | O_CLOEXEC);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  n = readlink(path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  if (!realpath(file, real)) real[0] = 0;
  SHOW_BOOL("fd link is the file's path", strcmp(buf, real) == 0);
  struct stat lst;
  lstat(path, &lst);
  printf("fd link mode: %o\n", lst.st_mode & 0777);
  SHOW_INT("fd link lstat size", lst.st_size);
  lstat("/proc/self/cwd", &lst);
  SHOW_INT("cwd link lstat size", lst.st_size);
  lstat("/proc/self/exe", &lst);
  SHOW_INT("exe link lstat size", lst.st_size);
  /* An O_PATH fd on a /proc/self/fd link, then its own link: names the link, not a loop. */
  int self_fd = open("/proc/self/fd/0", O_PATH | O_NOFOLLOW);
  char self_path[64], self_want[64];
  snprintf(self_path, sizeof self_path, "/proc/self/fd/%d", self_fd);
  snprintf(self_want, sizeof self_want, "/proc/%d/fd/0", (int)getpid());
  n = readlink(self_path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  SHOW_BOOL("O_PATH fd on an fd link names that link", strcmp(buf, self_want) == 0);
  SHOW_BOOL("lstat of its link works", lstat(self_path, &lst) == 0 && S_ISLNK(lst.st_mode));
  close(self_fd);
  char tmp[8];
  if (read(fd, tmp, 5) != 5) printf("short read\n");
  int again = open(path, O_RDONLY);
  SHOW_BOOL("reopen through /proc/self/fd", again >= 0);
  SHOW_INT("reopened offset", lseek(again, 0, SEEK_CUR));
  SHOW_INT("original offset", lseek(fd, 0, SEEK_CUR));
  fstat(fd, &a);
  fstat(again, &b);
  SHOW_BOOL("same inode", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  char *info = slurp(path, NULL);
  char line[128] = "";
  sscanf(info, "%127[^\n]", line);
  SHOW_STR("fdinfo first line", line);
  char *flags = strstr(info, "flags:");
  if (flags) sscanf(flags, "%127[^\n]", line);
  SHOW_STR("fdinfo flags", line);
  close(again);
  close(fd);
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  SHOW_CALL("readlink of a closed fd", readlink(path, buf, sizeof buf));

  int p[2];
  if (pipe(p) < 0) return;
  snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
  n = readlink(path, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  SHOW_BOOL("pipe link", strncmp(buf, "pipe:[", 6) == 0);
  fstat(p[0], &a);
  char want[64];
  snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)a.st_ino);
  SHOW_BOOL("pipe link names its inode", strcmp(buf, want) == 0);
  close(p[0]);
  close(p[1]);
  int before = count_entries("/proc/self/fd");
  fd = open(file, O_RDONLY);
  SHOW_INT("fd entries grow by", count_entries("/proc/self/fd") - before);
  close(fd);
}

static void maps(const char *file) {
  char *m = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int fd = open(file, O_RDONLY);
  char *fm = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  char *s = slurp("/proc/self/maps", NULL);
  char want[64];
  snprintf(want, sizeof want, "%lx-%lx r--p 00000000 00:00 0 \n", (unsigned long)m, (unsigned long)m + 3 * 4096);
  SHOW_BOOL("anonymous mapping line", strstr(s, want) != NULL);
  struct stat st;
  fstat(fd, &st);
  snprintf(want, sizeof want, "%lx-%lx r--s 00000000 ", (unsigned long)fm, (unsigned long)fm + 4096);
  char *line = strstr(s, want);
  SHOW_BOOL("file mapping line", line != NULL);
  if (line) {
    char real[PATH_MAX];
    if (!realpath(file, real)) real[0] = 0;
    unsigned maj, min;
    unsigned long ino;
    char name[PATH_MAX];
    int got = sscanf(line + strlen(want), "%x:%x %lu %s", &maj, &min, &ino, name);
    SHOW_BOOL("file mapping inode and name", got == 4 && ino == st.st_ino && strcmp(name, real) == 0);
    char *nl = strchr(line, '\n');
    SHOW_BOOL("name starts at column 73", nl && strstr(line, real) == line + 73);
  }
  SHOW_BOOL("has [stack]", strstr(s, "[stack]\n") != NULL);
  int ok = 1;
  for (char *l = s; *l; l = strchr(l, '\n') + 1) {
    unsigned long a, b;
    char perms[8];
    if (sscanf(l, "%lx-%lx %4s", &a, &b, perms) != 3 || a >= b || strlen(perms) != 4) ok = 0;
    if (!strchr(l, '\n')) break;
  }
  SHOW_BOOL("every maps line parses", ok);
  munmap(m, 3 * 4096);
  munmap(fm, 4096);
  close(fd);
}

static void limits(void) {
  struct rlimit rl = {.rlim_cur = 100, .rlim_max = 200};
  setrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = 0;
  rl.rlim_max = RLIM_INFINITY;
  setrlimit(RLIMIT_CORE, &rl);
  char *s = slurp("/proc/self/limits", NULL);
  char line[128];
  sscanf(s, "%127[^\n]", line);
  printf("limits header: [%s]\n", line);
  char *l = strstr(s, "Max open files");
  if (l) sscanf(l, "%127[^\n]", line);
  printf("limits nofile: [%s]\n", l ? line : "missing");
  l = strstr(s, "Max core file size");
  if (l) sscanf(l, "%127[^\n]", line);
  printf("limits core: [%s]\n", l ? line : "missing");
  int lines = 0;
  for (char *p = s; *p; p++) lines += *p == '\n';
  SHOW_INT("limits lines", lines);
}

static void mounts(void) {
  char *s = slurp("/proc/self/mounts", NULL);
  SHOW_BOOL("mounts has /proc", strstr(s, " /proc proc ") != NULL);
  s = slurp("/proc/mounts", NULL);
  SHOW_BOOL("/proc/mounts has /proc", s && strstr(s, " /proc proc ") != NULL);
  s = slurp("/proc/self/mountinfo", NULL);
  SHOW_BOOL("mountinfo has /proc", strstr(s, " /proc ") != NULL && strstr(s, " - proc ") != NULL);
  int ok = 1;
  for (char *l = s; *l; l = strchr(l, '\n') + 1) {
    int id, parent;
    unsigned maj, min;
    if (sscanf(l, "%d %d %u:%u", &id, &parent, &maj, &min) != 4 || !strstr(l, " - ")) ok = 0;
    if (!strchr(l, '\n')) break;
  }
  SHOW_BOOL("every mountinfo line parses", ok);
}

static void comm(void) {
  char *s = slurp("/proc/self/comm", NULL);
  printf("comm: %s", s);
  int fd = open("/proc/self/comm", O_WRONLY);
  SHOW_CALL("write comm", write(fd, "renamed\n", 8));
  close(fd);
  char name[17] = {0};
  prctl(PR_GET_NAME, name);
  SHOW_STR("PR_GET_NAME", name);
  prctl(PR_SET_NAME, "proc_self");
}

static void child_dir(void) {
  int p[2];
  if (pipe(p) < 0) return;
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(p[1]);
    if (read(p[0], &c, 1) < 0) _exit(1);
    _exit(3);
  }
  close(p[0]);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", pid);
  struct stat st;
  SHOW_CALL("stat child dir", stat(path, &st));
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  SHOW_BOOL("child ppid is us", stat_field(path, 4, NULL, 0) == getpid());
  close(p[1]);
  siginfo_t si;
  waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
  printf("zombie state: %c\n", (char)stat_field(path, 3, NULL, 0));
  SHOW_INT("zombie exit_code", stat_field(path, 52, NULL, 0));
  waitpid(pid, NULL, 0);
  snprintf(path, sizeof path, "/proc/%d", pid);
  SHOW_CALL("stat child dir after reaping", stat(path, &st));
  SHOW_CALL("stat /proc/0", stat("/proc/0", &st));
}

static void system_files(void) {
  char *s = slurp("/proc/uptime", NULL);
  double up, idle;
  SHOW_INT("uptime fields", sscanf(s, "%lf %lf", &up, &idle));
  s = slurp("/proc/loadavg", NULL);
  double a, b, c;
  int r, t, last;
  SHOW_INT("loadavg fields", sscanf(s, "%lf %lf %lf %d/%d %d", &a, &b, &c, &r, &t, &last));
  s = slurp("/proc/stat", NULL);
  SHOW_BOOL("stat has cpu and btime", strncmp(s, "cpu ", 4) == 0 && strstr(s, "\nbtime ") != NULL);
  s = slurp("/proc/meminfo", NULL);
  SHOW_BOOL("meminfo starts with MemTotal", strncmp(s, "MemTotal:", 9) == 0);
  SHOW_BOOL("meminfo has MemAvailable", strstr(s, "\nMemAvailable:") != NULL);
  s = slurp("/proc/cpuinfo", NULL);
  int procs = 0;
  for (char *p = s; (p = strstr(p, "processor\t:")); p++) procs++;
  SHOW_BOOL("cpuinfo processors", procs == sysconf(_SC_NPROCESSORS_CONF));
  s = slurp("/proc/filesystems", NULL);
  SHOW_BOOL("filesystems lists proc", strstr(s, "\tproc\n") != NULL);
  s = slurp("/proc/version", NULL);
  SHOW_BOOL("version starts with Linux version", strncmp(s, "Linux version ", 14) == 0);
  struct utsname u;
  uname(&u);
  s = slurp("/proc/sys/kernel/osrelease", NULL);
  SHOW_BOOL("osrelease is uname's", strncmp(s, u.release, strlen(u.release)) == 0);
  s = slurp("/proc/sys/kernel/hostname", NULL);
  SHOW_BOOL("hostname is uname's", strncmp(s, u.nodename, strlen(u.nodename)) == 0);
  printf("ostype: %s", slurp("/proc/sys/kernel/ostype", NULL));
  printf("ngroups_max: %s", slurp("/proc/sys/kernel/ngroups_max", NULL));
  printf("overflowuid: %s", slurp("/proc/sys/kernel/overflowuid", NULL));
  s = slurp("/proc/sys/kernel/pid_max", NULL);
  SHOW_BOOL("pid_max is a number", s && isdigit((unsigned char)s[0]));
  s = slurp("/proc/sys/vm/overcommit_memory", NULL);
  SHOW_BOOL("overcommit_memory is a number", s && isdigit((unsigned char)s[0]));
  s = slurp("/proc/sys/fs/nr_open", NULL);
  SHOW_BOOL("nr_open is a number", s && isdigit((unsigned char)s[0]));
  char want[32];
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n > 1) snprintf(want, sizeof want, "0-%ld\n", n - 1);
  else snprintf(want, sizeof want, "0\n");
  s = slurp("/sys/devices/system/cpu/online", NULL);
  SHOW_BOOL("cpu online", s && strcmp(s, want) == 0);
  s = slurp("/sys/devices/system/cpu/possible", NULL);
  SHOW_BOOL("cpu possible", s && isdigit((unsigned char)s[0]));
}

int main(int argc, char **argv, char **envp) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int sig = 1; sig < 32; sig++) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  // A session of our own: no controlling terminal, whatever ran us.
  FLUSH();
  pid_t pid = fork();
  if (pid != 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  setsid();
  const char *file = argc > 1 ? argv[1] : "/etc/hostname";
  cmdline_environ(argc, argv, envp);
  status_checks();
  stat_checks();
  threads();
  links(file);
  maps(file);
  limits();
  mounts();
  comm();
  child_dir();
  system_files();
  return 0;
}
