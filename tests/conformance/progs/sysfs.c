// /sys as small programs read it: the CPU lists (glibc's get_nprocs and get_nprocs_conf, Go,
// Java and Rust runtimes), a CPU's directory, the transparent huge page setting, and what
// kind of filesystem /sys is.
#include "conformance.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static char buf[4096];

static const char *slurp(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = 0;
  return buf;
}

/* Number of CPUs in a list such as "0-3,5\n". */
static int count_list(const char *s) {
  int n = 0;
  while (s && *s && *s != '\n') {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s) return -1;
    if (*end == '-') b = strtol(end + 1, &end, 10);
    n += (int)(b - a + 1);
    s = *end == ',' ? end + 1 : end;
  }
  return n;
}

int main(void) {
  long online = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
  SHOW_BOOL("online list matches _SC_NPROCESSORS_ONLN", count_list(slurp("/sys/devices/system/cpu/online")) == online);
  SHOW_BOOL("get_nprocs matches", get_nprocs() == online);
  SHOW_BOOL("get_nprocs_conf matches", get_nprocs_conf() == conf);
  int possible = count_list(slurp("/sys/devices/system/cpu/possible"));
  SHOW_BOOL("possible >= online", possible >= online);
  int present = count_list(slurp("/sys/devices/system/cpu/present"));
  SHOW_BOOL("present >= online", present >= online);
  const char *s = slurp("/sys/devices/system/cpu/online");
  SHOW_BOOL("online ends with a newline", s && strchr(s, '\n') != NULL);
  struct stat st;
  SHOW_CALL("stat cpu0", stat("/sys/devices/system/cpu/cpu0", &st));
  SHOW_BOOL("cpu0 is a directory", S_ISDIR(st.st_mode));
  SHOW_CALL("stat cpu99999", stat("/sys/devices/system/cpu/cpu99999", &st));
  s = slurp("/sys/kernel/mm/transparent_hugepage/enabled");
  SHOW_BOOL("THP setting has a [selected] value", s && strchr(s, '[') && strchr(s, ']'));
  s = slurp("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
  SHOW_BOOL("hpage_pmd_size is a number", s && isdigit((unsigned char)s[0]));
  struct statfs sf;
  SHOW_CALL("statfs /sys", statfs("/sys", &sf));
  printf("/sys f_type: %#lx\n", (unsigned long)sf.f_type);
  SHOW_CALL("stat /sys/fs/cgroup", stat("/sys/fs/cgroup", &st));
  SHOW_CALL("stat /sys/class", stat("/sys/class", &st));
  SHOW_CALL("stat /sys/devices/system/node", stat("/sys/devices/system/node", &st));
  return 0;
}
