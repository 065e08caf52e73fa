// File metadata and the namespace: mkdir, rmdir, unlink, rename (and renameat2 flags),
// link, symlink, readlink, chmod, chown, utimensat, truncate, mknod (FIFOs), umask, sticky
// directories, and their errors. Run twice: in a directory under /tmp (a tmpfs in the
// sandbox) and one next to argv[1] (the host tree through the overlay in the sandbox).
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "conformance.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE 2
#endif

static const char *ftype(mode_t m) {
  if (S_ISREG(m)) return "regular";
  if (S_ISDIR(m)) return "directory";
  if (S_ISLNK(m)) return "symlink";
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISSOCK(m)) return "socket";
  return "other";
}

static void show_stat(const char *what, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    printf("%s: lstat %s\n", what, errno_name(errno));
    return;
  }
  printf("%s: %s mode %o nlink %ld uid %d gid %d size %lld\n", what, ftype(st.st_mode),
         (unsigned)(st.st_mode & 07777), (long)st.st_nlink, (int)st.st_uid, (int)st.st_gid,
         S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  if (write(fd, text, strlen(text)) < 0) perror("write");
  close(fd);
}

static void show_file(const char *what, const char *path) {
  char buf[128] = {0};
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    printf("%s: open %s\n", what, errno_name(errno));
    return;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("%s: [%.*s]\n", what, (int)(n > 0 ? n : 0), buf);
}

static void run(const char *base) {
  if (chdir(base) < 0) {
    perror("chdir");
    exit(1);
  }
  umask(022);
  // mkdir and its errors.
  SHOW_CALL("mkdir d", mkdir("d", 0777));
  show_stat("d", "d");
  SHOW_CALL("mkdir d again", mkdir("d", 0777));
  SHOW_CALL("mkdir missing/x", mkdir("missing/x", 0777));
  SHOW_CALL("mkdir d/sub/", mkdir("d/sub/", 0700));
  show_stat("d after subdir", "d");
  show_stat("d/sub", "d/sub");
  SHOW_CALL("mkdir .", mkdir(".", 0777));
  // Files, links.
  write_file("d/f", "content");
  show_stat("d/f", "d/f");
  SHOW_CALL("link d/f d/g", link("d/f", "d/g"));
  show_stat("d/f after link", "d/f");
  SHOW_CALL("link d/f d/g again", link("d/f", "d/g"));
  SHOW_CALL("link to a directory", link("d/sub", "d/subl"));
  SHOW_CALL("symlink f d/s", symlink("f", "d/s"));
  show_stat("d/s", "d/s");
  char target[64] = {0};
  SHOW_CALL("readlink d/s", readlink("d/s", target, sizeof target));
  printf("target: [%s]\n", target);
  SHOW_CALL("readlink d/f", readlink("d/f", target, sizeof target));
  SHOW_CALL("readlink size 2", readlink("d/s", target, 2));
  show_file("through symlink", "d/s");
  SHOW_CALL("symlink over existing", symlink("x", "d/f"));
  SHOW_CALL("dangling symlink", symlink("nowhere", "d/dangle"));
  show_file("dangling", "d/dangle");
  // unlink
  SHOW_CALL("unlink d/g", unlink("d/g"));
  show_stat("d/f after unlink", "d/f");
  SHOW_CALL("unlink d/g again", unlink("d/g"));
  SHOW_CALL("unlink a directory", unlink("d/sub"));
  SHOW_CALL("unlink d/f/", unlink("d/f/"));
  SHOW_CALL("rmdir a file", rmdir("d/f"));
  SHOW_CALL("rmdir non-empty", rmdir("d"));
  SHOW_CALL("rmdir d/sub/.", rmdir("d/sub/."));
  SHOW_CALL("rmdir d/sub/..", rmdir("d/sub/.."));
  // rename
  write_file("d/a", "A");
  write_file("d/b", "B");
  SHOW_CALL("rename a b", rename("d/a", "d/b"));
  show_file("b now", "d/b");
  show_stat("a gone", "d/a");
  SHOW_CALL("rename missing", rename("d/a", "d/c"));
  SHOW_CALL("rename file over dir", rename("d/b", "d/sub"));
  mkdir("d/e", 0755);
  SHOW_CALL("rename dir over file", rename("d/e", "d/b"));
  SHOW_CALL("rename dir into itself", rename("d", "d/sub/x"));
  SHOW_CALL("rename dir over empty dir", rename("d/e", "d/sub"));
  show_stat("d/sub now", "d/sub");
  mkdir("d/e", 0755);
  write_file("d/sub/inner", "i");
  SHOW_CALL("rename dir over non-empty dir", rename("d/e", "d/sub"));
  SHOW_CALL("rename to itself", rename("d/b", "d/b"));
  SHOW_CALL("rename . ", rename("d/.", "d/x"));
  write_file("d/a", "A");
  SHOW_CALL("renameat2 NOREPLACE", syscall(SYS_renameat2, AT_FDCWD, "d/a", AT_FDCWD, "d/b", RENAME_NOREPLACE));
  SHOW_CALL("renameat2 EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "d/a", AT_FDCWD, "d/b", RENAME_EXCHANGE));
  show_file("a after exchange", "d/a");
  show_file("b after exchange", "d/b");
  SHOW_CALL("renameat2 EXCHANGE missing", syscall(SYS_renameat2, AT_FDCWD, "d/a", AT_FDCWD, "d/zz", RENAME_EXCHANGE));
  SHOW_CALL("renameat2 both flags", syscall(SYS_renameat2, AT_FDCWD, "d/a", AT_FDCWD, "d/b", 3));
  // A renamed directory keeps its contents.
  SHOW_CALL("rename d/sub d/moved", rename("d/sub", "d/moved"));
  show_file("moved/inner", "d/moved/inner");
  // chmod, chown
  SHOW_CALL("chmod 4755", chmod("d/a", 04755));
  show_stat("d/a", "d/a");
  SHOW_CALL("chown 1000:1000", chown("d/a", 1000, 1000));
  show_stat("d/a after chown", "d/a");
  SHOW_CALL("lchown symlink", lchown("d/s", 1234, 1234));
  show_stat("d/s after lchown", "d/s");
  show_stat("d/f after lchown of link", "d/f");
  SHOW_CALL("chmod missing", chmod("d/nope", 0644));
  SHOW_CALL("fchmodat NOFOLLOW on a symlink", fchmodat(AT_FDCWD, "d/s", 0600, AT_SYMLINK_NOFOLLOW));
  // times
  struct timespec ts[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  SHOW_CALL("utimensat", utimensat(AT_FDCWD, "d/a", ts, 0));
  struct stat st;
  stat("d/a", &st);
  printf("atime: %lld.%09ld mtime: %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  struct timespec omit[2] = {{0, UTIME_OMIT}, {5, 0}};
  SHOW_CALL("utimensat omit atime", utimensat(AT_FDCWD, "d/a", omit, 0));
  stat("d/a", &st);
  printf("atime: %lld mtime: %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  SHOW_CALL("utimensat bad nsec", utimensat(AT_FDCWD, "d/a", bad, 0));
  struct timeval tv[2] = {{2000000000, 5}, {2000000001, 6}};
  SHOW_CALL("utimes", utimes("d/a", tv));
  stat("d/a", &st);
  printf("atime: %lld.%09ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
  // truncate
  SHOW_CALL("truncate 3", truncate("d/a", 3));
  show_stat("after truncate 3", "d/a");
  SHOW_CALL("truncate 10000", truncate("d/a", 10000));
  show_stat("after truncate 10000", "d/a");
  int fd = open("d/a", O_RDONLY);
  char buf[16];
  SHOW_CALL("pread zeros", pread(fd, buf, 4, 5000));
  SHOW_BOOL("zeros", buf[0] == 0 && buf[3] == 0);
  SHOW_CALL("ftruncate read-only fd", ftruncate(fd, 0));
  close(fd);
  SHOW_CALL("truncate a directory", truncate("d", 0));
  SHOW_CALL("truncate negative", truncate("d/a", -1));
  // FIFOs
  SHOW_CALL("mkfifo", mkfifo("d/fifo", 0666));
  show_stat("d/fifo", "d/fifo");
  SHOW_CALL("open fifo nonblocking for writing", open("d/fifo", O_WRONLY | O_NONBLOCK));
  SHOW_CALL("mknod regular", mknod("d/reg", S_IFREG | 0600, 0));
  show_stat("d/reg", "d/reg");
  SHOW_CALL("mknod directory", mknod("d/dir", S_IFDIR | 0700, 0));
  // umask
  umask(077);
  write_file("d/private", "p");
  show_stat("with umask 077", "d/private");
  umask(022);
  // Clean up.
  const char *files[] = {"d/a", "d/b", "d/s", "d/f", "d/dangle", "d/fifo", "d/reg", "d/private", "d/moved/inner", NULL};
  for (int i = 0; files[i]; i++) unlink(files[i]);
  rmdir("d/moved");
  rmdir("d/e");
  SHOW_CALL("rmdir d at the end", rmdir("d"));
  if (chdir("/") < 0) perror("chdir /");
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  char tmpl[] = "/tmp/fs_meta_XXXXXX";
  char *t = mkdtemp(tmpl);
  if (!t) return 1;
  printf("== in /tmp\n");
  run(t);
  SHOW_CALL("rmdir base", rmdir(t));
  char *copy = strdup(argv[1]);
  char base[4096];
  snprintf(base, sizeof base, "%s/fs_meta_XXXXXX", dirname(copy));
  t = mkdtemp(base);
  if (!t) return 1;
  printf("== next to the input\n");
  run(t);
  SHOW_CALL("rmdir base", rmdir(t));
  return 0;
}
