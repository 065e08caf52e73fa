/* fork + _exit + wait: creating and tearing down a process (an address space copy, a task,
 * the exit notification). */
#include "bench.h"
#include <sys/wait.h>

static void op(void *unused) {
  (void)unused;
  pid_t pid = fork();
  if (pid < 0) bench_die("fork");
  if (pid == 0) _exit(0);
  int status;
  if (waitpid(pid, &status, 0) != pid) bench_die("waitpid");
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 20000, 1.0);
  double seconds;
  long n = bench_run(op, NULL, a, &seconds);
  bench_report_time("fork_exit_wait", n, seconds);
  return 0;
}
