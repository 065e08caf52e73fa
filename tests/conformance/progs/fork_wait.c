// fork and wait: exit statuses and termination signals reach the parent, memory is copied
// (not shared) across fork, children see their parent, and waiting with no child fails.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

static int shared_looking = 1;

int main(void) {
  FLUSH();
  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    shared_looking = 99;
    _exit(getppid() == parent ? 7 : 8);
  }
  int status = 0;
  SHOW_BOOL("waitpid returns the child", waitpid(child, &status, 0) == child);
  SHOW_BOOL("exited", WIFEXITED(status));
  SHOW_INT("exit status (7: child saw its parent)", WEXITSTATUS(status));
  SHOW_INT("parent's copy unchanged", shared_looking);

  FLUSH();
  child = fork();
  if (child == 0) {
    raise(SIGKILL);
    _exit(0);
  }
  waitpid(child, &status, 0);
  SHOW_BOOL("signaled", WIFSIGNALED(status));
  SHOW_INT("termination signal", WTERMSIG(status));

  int ends[2];
  pipe(ends);
  FLUSH();
  for (int i = 1; i <= 3; i++) {
    if (fork() == 0) {
      char digit = (char)('0' + i);
      write(ends[1], &digit, 1);
      _exit(i * 10);
    }
  }
  close(ends[1]);
  int sum = 0, reaped = 0;
  while (wait(&status) > 0) {
    reaped++;
    sum += WEXITSTATUS(status);
  }
  SHOW_INT("children reaped", reaped);
  SHOW_INT("sum of exit statuses", sum);
  char digits[8];
  int got = 0;
  for (ssize_t n; (n = read(ends[0], digits + got, sizeof digits - (size_t)got)) > 0;) got += (int)n;
  int digit_sum = 0;
  for (int i = 0; i < got; i++) digit_sum += digits[i] - '0';
  printf("bytes from children: %d, digit sum %d\n", got, digit_sum);
  SHOW_CALL("wait with no children", wait(&status));
  return 0;
}
