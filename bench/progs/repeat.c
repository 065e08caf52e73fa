/* repeat COUNT MAX_SECONDS CMD [ARGS...]: runs CMD to completion COUNT times, one after the
 * other, stopping early once MAX_SECONDS have passed, and reports the mean wall time of one run
 * (`iterations=` says how many were done). Used for whole-program benchmarks (python3 start-up)
 * inside a sandbox, so the sandbox's own start-up is not in the figure. One extra warm-up run
 * (page cache, dentry caches) always comes first and is not counted, so `repeat 0 CMD` runs
 * CMD once: it is the baseline the runner subtracts from the host CPU time of `repeat K CMD`
 * to get the CPU time of K warm runs. */
#include "bench.h"
#include <sys/wait.h>

extern char **environ;

static void run_once(char **cmd) {
  pid_t pid = fork();
  if (pid < 0) bench_die("fork");
  if (pid == 0) {
    execve(cmd[0], cmd, environ);
    fprintf(stderr, "repeat: execve %s: %s\n", cmd[0], strerror(errno));
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) bench_die("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "repeat: %s failed (status 0x%x)\n", cmd[0], status);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: repeat COUNT MAX_SECONDS CMD [ARGS...]\n");
    return 2;
  }
  long count = strtol(argv[1], NULL, 10);
  double max_seconds = strtod(argv[2], NULL);
  char **cmd = argv + 3;
  run_once(cmd);
  if (count <= 0) {
    bench_report("repeat", "ns", 0, 0, 0);
    return 0;
  }
  double start = bench_now_seconds(), seconds = 0;
  long done = 0;
  while (done < count && seconds < max_seconds) {
    run_once(cmd);
    done++;
    seconds = bench_now_seconds() - start;
  }
  bench_report_time("repeat", done, seconds);
  return 0;
}
