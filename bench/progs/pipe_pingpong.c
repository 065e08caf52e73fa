/* Pipe ping-pong: one byte to a child process over one pipe and back over another. Each
 * round trip is two writes, two reads and two wake-ups of a blocked reader. */
#include "bench.h"
#include <signal.h>
#include <sys/wait.h>

struct pipes {
  int to_child[2];
  int to_parent[2];
};

static void op(void *context) {
  struct pipes *p = context;
  char byte = 'x';
  if (write(p->to_child[1], &byte, 1) != 1) bench_die("write");
  if (read(p->to_parent[0], &byte, 1) != 1) bench_die("read");
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 200000, 1.0);
  struct pipes p;
  if (pipe(p.to_child) || pipe(p.to_parent)) bench_die("pipe");
  pid_t pid = fork();
  if (pid < 0) bench_die("fork");
  if (pid == 0) {
    close(p.to_child[1]);
    close(p.to_parent[0]);
    char byte;
    /* Echo until the parent closes its end. */
    while (read(p.to_child[0], &byte, 1) == 1)
      if (write(p.to_parent[1], &byte, 1) != 1) _exit(1);
    _exit(0);
  }
  close(p.to_child[0]);
  close(p.to_parent[1]);
  double seconds;
  long n = bench_run(op, &p, a, &seconds);
  close(p.to_child[1]);
  waitpid(pid, NULL, 0);
  bench_report_time("pipe_pingpong", n, seconds);
  return 0;
}
