// Exit status and writes to stdout: raw write(2) and buffered stdio, in a known order.
// The non-zero exit status checks that the sandbox passes the guest's status through.
#include <string.h>
#include <unistd.h>

#include "conformance.h"

int main(void) {
  static const char raw[] = "hello from write(2)\n";
  SHOW_CALL("write returns", write(STDOUT_FILENO, raw, strlen(raw)));
  SHOW_CALL("zero-length write", write(STDOUT_FILENO, raw, 0));
  SHOW_CALL("write to a bad fd", write(97, raw, 1));
  printf("hello from stdio: %d %s %.3f\n", 42, "text", 2.5);
  FLUSH();
  return 3;
}
