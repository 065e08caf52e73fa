/* TCP stream over loopback: the parent writes 64 KiB chunks, a child reads and discards them.
 * The clock stops when the child has read everything and acknowledged, so data still sitting
 * in socket buffers is not counted as delivered. */
#include "loopback.h"
#include <sys/wait.h>

#define CHUNK (64 * 1024)

struct stream {
  int fd;
  char *buffer;
};

static void op(void *context) {
  struct stream *s = context;
  write_all(s->fd, s->buffer, CHUNK);
}

int main(int argc, char **argv) {
  struct bench_args a = bench_parse(argc, argv, 65536, 1.0);
  struct sockaddr_in addr;
  int listener = loopback_listen(&addr);
  pid_t pid = fork();
  if (pid < 0) bench_die("fork");
  if (pid == 0) {
    close(listener);
    int fd = loopback_connect(&addr);
    char *buf = malloc(CHUNK);
    if (!buf) _exit(1);
    ssize_t n;
    while ((n = read(fd, buf, CHUNK)) > 0) {
    }
    char ack = 'k';
    write_all(fd, &ack, 1);
    _exit(n < 0);
  }
  struct stream s;
  s.fd = accept(listener, NULL, NULL);
  if (s.fd < 0) bench_die("accept");
  s.buffer = malloc(CHUNK);
  if (!s.buffer) bench_die("malloc");
  memset(s.buffer, 'x', CHUNK);

  double warm_seconds, seconds;
  long warm = a.max_iterations / 10 > 0 ? a.max_iterations / 10 : 1;
  bench_loop(op, &s, warm, a.max_seconds / 10, &warm_seconds);
  double start = bench_now_seconds();
  long n = bench_loop(op, &s, a.max_iterations, a.max_seconds, &seconds);
  if (shutdown(s.fd, SHUT_WR)) bench_die("shutdown");
  char ack;
  if (read(s.fd, &ack, 1) != 1) bench_die("read ack");
  seconds = bench_now_seconds() - start;
  waitpid(pid, NULL, 0);
  double mib = (double)n * CHUNK / (1024.0 * 1024);
  bench_report("tcp_stream", "MiB/s", mib / seconds, n, seconds);
  return 0;
}
