/* subreaper CMD [ARGS...]: becomes a child subreaper, runs CMD (e.g. `runc run --detach ...`)
 * and prints `LAUNCHED exit=E` on stdout when it has exited. Whatever CMD left running (a
 * detached container: its init, a sandbox and gofer, a sentry and its stubs) is now our
 * descendant, so the runner can find exactly one sandbox's processes by walking the process
 * tree down from our pid. We stay until stdin is closed, reaping children meanwhile.
 * CMD gets /dev/null as stdin and stdout (a detached container inherits them, and must not
 * hold our pipes open) and SUBREAPER_LOG, when set, as stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: subreaper CMD [ARGS...]\n");
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
    perror("subreaper: PR_SET_CHILD_SUBREAPER");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("subreaper: fork");
    return 1;
  }
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    const char *log = getenv("SUBREAPER_LOG");
    int log_fd = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644) : null_fd;
    if (null_fd < 0 || log_fd < 0) _exit(126);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(log_fd, 2);
    execvp(argv[1], argv + 1);
    fprintf(stderr, "subreaper: %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("LAUNCHED exit=%d\n", code);
  fflush(stdout);
  struct pollfd in = {.fd = 0, .events = POLLIN};
  for (;;) {
    while (waitpid(-1, &status, WNOHANG) > 0) {
    }
    int ready = poll(&in, 1, 500);
    if (ready > 0) {
      char buf[64];
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) break;
    }
  }
  return 0;
}
