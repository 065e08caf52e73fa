/* fork + execve + wait of a tiny program: process creation plus loading an ELF image. The
 * program is the first extra argument (default /bin/true); the runner passes the static
 * `true` built next to this program so every peer loads the same file. */
#include "bench.h"
#include <sys/wait.h>

extern char **environ;

static void op(void *path) {
  pid_t pid = fork();
  if (pid < 0) bench_die("fork");
  if (pid == 0) {
    char *child_argv[] = {(char *)path, NULL};
    execve((const char *)path, child_argv, environ);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) bench_die("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench: %s did not exit 0 (status 0x%x)\n", (char *)path, status);
    exit(1);
  }
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 10000, 1.0);
  const char *path = a.extra_count > 0 ? a.extra[0] : "/bin/true";
  double seconds;
  long n = bench_run(op, (void *)path, a, &seconds);
  bench_report_time("fork_exec_wait", n, seconds);
  return 0;
}
