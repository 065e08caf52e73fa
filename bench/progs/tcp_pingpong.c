/* TCP ping-pong over loopback: one byte to a child process and back, Nagle off. Each round
 * trip crosses the network stack twice in each direction (data and the reply). */
#include "loopback.h"
#include <sys/wait.h>

static void op(void *context) {
  int fd = *(int *)context;
  char byte = 'x';
  write_all(fd, &byte, 1);
  if (read(fd, &byte, 1) != 1) bench_die("read");
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 100000, 1.0);
  struct sockaddr_in addr;
  int listener = loopback_listen(&addr);
  pid_t pid = fork();
  if (pid < 0) bench_die("fork");
  if (pid == 0) {
    close(listener);
    int fd = loopback_connect(&addr);
    loopback_no_delay(fd);
    char byte;
    while (read(fd, &byte, 1) == 1) write_all(fd, &byte, 1);
    _exit(0);
  }
  int fd = accept(listener, NULL, NULL);
  if (fd < 0) bench_die("accept");
  loopback_no_delay(fd);
  double seconds;
  long n = bench_run(op, &fd, a, &seconds);
  close(fd);
  waitpid(pid, NULL, 0);
  bench_report_time("tcp_pingpong", n, seconds);
  return 0;
}
