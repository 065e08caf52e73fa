// memfd_create and seals: writes, reads, fstat, MAP_SHARED mappings seeing writes both
// ways, ftruncate, F_ADD_SEALS / F_GET_SEALS and what each seal forbids.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conformance.h"

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x1
#define F_SEAL_SHRINK 0x2
#define F_SEAL_GROW 0x4
#define F_SEAL_WRITE 0x8
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1
#define MFD_ALLOW_SEALING 2
#endif

static int memfd(const char *name, unsigned flags) {
  return (int)syscall(SYS_memfd_create, name, flags);
}

int main(void) {
  int fd = memfd("conformance", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  SHOW_BOOL("memfd_create works", fd >= 0);
  SHOW_INT("FD_CLOEXEC", fcntl(fd, F_GETFD));
  struct stat st;
  fstat(fd, &st);
  printf("mode: %o size: %lld regular: %s\n", (unsigned)(st.st_mode & 0777), (long long)st.st_size,
         S_ISREG(st.st_mode) ? "yes" : "no");
  SHOW_CALL("write", write(fd, "hello memfd", 11));
  SHOW_CALL("pread", pread(fd, (char[16]){0}, 16, 6));
  SHOW_CALL("ftruncate 8192", ftruncate(fd, 8192));
  char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  SHOW_BOOL("mmap works", p != MAP_FAILED);
  printf("mapped: [%.11s]\n", p);
  memcpy(p + 4096, "via map", 7);
  char buf[16] = {0};
  SHOW_CALL("pread what the map wrote", pread(fd, buf, 7, 4096));
  printf("read: [%s]\n", buf);
  SHOW_CALL("pwrite", pwrite(fd, "HELLO", 5, 0));
  printf("map sees: [%.5s]\n", p);
  munmap(p, 8192);
  SHOW_INT("seals at first", fcntl(fd, F_GET_SEALS));
  SHOW_CALL("seal shrink", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
  SHOW_CALL("shrink", ftruncate(fd, 10));
  SHOW_CALL("grow", ftruncate(fd, 10000));
  SHOW_CALL("seal grow", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
  SHOW_CALL("grow sealed", ftruncate(fd, 20000));
  SHOW_CALL("write past the end", pwrite(fd, "x", 1, 10000));
  SHOW_CALL("write inside", pwrite(fd, "x", 1, 100));
  SHOW_CALL("seal write", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
  SHOW_CALL("write sealed", pwrite(fd, "x", 1, 100));
  SHOW_CALL("seal seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
  SHOW_CALL("add after seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
  SHOW_INT("seals now", fcntl(fd, F_GET_SEALS));
  p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  SHOW_BOOL("read-only shared map of a sealed memfd", p != MAP_FAILED);
  close(fd);
  int plain = memfd("plain", 0);
  SHOW_INT("seals without MFD_ALLOW_SEALING", fcntl(plain, F_GET_SEALS));
  SHOW_CALL("add seal without sealing", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE));
  close(plain);
  SHOW_CALL("bad flags", memfd("x", 0x100));
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  SHOW_CALL("name too long", memfd(longname, 0));
  int tmp = open("/tmp", O_RDONLY);
  SHOW_CALL("F_GET_SEALS on a directory", fcntl(tmp, F_GET_SEALS));
  return 0;
}
