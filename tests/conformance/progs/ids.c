// Credentials: real, effective and saved ids, supplementary groups, and the relations
// between process ids (their values depend on the pid namespace, so only relations print).
#include <sys/types.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conformance.h"

int main(void) {
  SHOW_INT("uid", getuid());
  SHOW_INT("euid", geteuid());
  SHOW_INT("gid", getgid());
  SHOW_INT("egid", getegid());
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  SHOW_CALL("getresuid", getresuid(&ruid, &euid, &suid));
  SHOW_BOOL("resuid matches", ruid == getuid() && euid == geteuid() && suid == geteuid());
  SHOW_CALL("getresgid", getresgid(&rgid, &egid, &sgid));
  SHOW_BOOL("resgid matches", rgid == getgid() && egid == getegid() && sgid == getegid());
  int groups = getgroups(0, NULL);
  gid_t list[256];
  SHOW_BOOL("getgroups counts agree", groups >= 0 && getgroups(256, list) == groups);
  SHOW_BOOL("pid positive", getpid() > 0);
  SHOW_BOOL("tid equals pid", syscall(SYS_gettid) == getpid());
  SHOW_BOOL("ppid positive or zero", getppid() >= 0);
  SHOW_BOOL("pgid valid", getpgid(0) > 0);
  /* A process descended from the kernel without setsid() has session 0, as a
     CI runner's may; the sandbox's init is a session leader, so test only
     what holds in both. */
  SHOW_BOOL("sid valid", getsid(0) >= 0 && getsid(0) == getsid(getpid()));
  return 0;
}
