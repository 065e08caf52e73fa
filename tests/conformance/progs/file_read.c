// Reading a regular file the harness created (its path is argv[1]): open, fstat, read,
// lseek, pread, close, and the errors of the same calls on bad arguments.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conformance.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: file_read PATH\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  SHOW_BOOL("open works", fd >= 0);
  struct stat st;
  SHOW_CALL("fstat", fstat(fd, &st));
  SHOW_INT("size", st.st_size);
  SHOW_BOOL("is a regular file", S_ISREG(st.st_mode));
  SHOW_INT("fd flags", fcntl(fd, F_GETFD));
  char buffer[256];
  ssize_t n = read(fd, buffer, sizeof buffer - 1);
  SHOW_INT("read returns", n);
  buffer[n > 0 ? n : 0] = '\0';
  printf("content: [%s]\n", buffer);
  SHOW_CALL("read at end of file", read(fd, buffer, sizeof buffer));
  SHOW_CALL("lseek to 6", lseek(fd, 6, SEEK_SET));
  n = read(fd, buffer, 5);
  printf("after lseek: [%.*s]\n", (int)(n > 0 ? n : 0), buffer);
  SHOW_CALL("lseek from end", lseek(fd, -4, SEEK_END));
  SHOW_CALL("pread at 0", pread(fd, buffer, 5, 0));
  printf("pread content: [%.5s]\n", buffer);
  SHOW_CALL("offset unchanged by pread", lseek(fd, 0, SEEK_CUR));
  SHOW_CALL("write to a read-only fd", write(fd, "x", 1));
  SHOW_CALL("close", close(fd));
  SHOW_CALL("read after close", read(fd, buffer, 1));
  SHOW_CALL("open a missing file", open("/nonexistent/conformance", O_RDONLY));
  SHOW_CALL("open a directory for writing", open("/", O_WRONLY));
  return 0;
}
