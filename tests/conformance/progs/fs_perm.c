// Permission checks from the caller's credentials: a child drops to uid/gid 1000 and
// meets read/write/search bits, a sticky directory, chmod/chown/utimes rules for a
// non-owner, set-group-ID directories, the set-user-ID bit dropped by a write, and
// access() with real versus effective ids.
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

static void put(const char *path, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd >= 0) {
    if (write(fd, "data", 4) < 0) perror("write");
    close(fd);
  }
  chmod(path, mode);
}

static void as_user(void) {
  SHOW_CALL("read a 600 root file", open("rootonly", O_RDONLY));
  SHOW_CALL("read a 644 root file", open("public", O_RDONLY) >= 0);
  SHOW_CALL("write a 644 root file", open("public", O_WRONLY));
  SHOW_CALL("create in a 755 root dir", open("locked/new", O_CREAT | O_WRONLY, 0644));
  SHOW_CALL("list a 711 dir", open("searchonly", O_RDONLY | O_DIRECTORY));
  SHOW_CALL("walk through a 711 dir", open("searchonly/inner", O_RDONLY) >= 0);
  SHOW_CALL("walk through a 700 dir", open("private/inner", O_RDONLY));
  SHOW_CALL("stat through a 700 dir", access("private/inner", F_OK));
  SHOW_CALL("create in sticky /tmp-like dir", open("sticky/mine", O_CREAT | O_WRONLY, 0644) >= 0);
  SHOW_CALL("unlink own file in sticky dir", unlink("sticky/mine"));
  SHOW_CALL("unlink root's file in sticky dir", unlink("sticky/roots"));
  SHOW_CALL("rename root's file in sticky dir", rename("sticky/roots", "sticky/x"));
  SHOW_CALL("chmod a root file", chmod("public", 0666));
  SHOW_CALL("chown a root file to me", chown("public", 1000, 1000));
  SHOW_CALL("utimes now on a writable root file", utimensat(AT_FDCWD, "shared", NULL, 0));
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  SHOW_CALL("utimes explicit on a writable root file", utimensat(AT_FDCWD, "shared", ts, 0));
  SHOW_CALL("utimes now on a read-only root file", utimensat(AT_FDCWD, "public", NULL, 0));
  put("mine", 0644);
  SHOW_CALL("chgrp own file to my group", chown("mine", -1, 1000));
  SHOW_CALL("chgrp own file to another group", chown("mine", -1, 0));
  SHOW_CALL("chown own file away", chown("mine", 0, -1));
  SHOW_CALL("chmod g+s own file, group not mine", chmod("mine", 02755) == 0);
  SHOW_CALL("truncate a read-only root file", truncate("public", 0));
  SHOW_CALL("rmdir in a 755 root dir", rmdir("locked/sub"));
  SHOW_CALL("access W_OK", access("public", W_OK));
  SHOW_CALL("access R_OK", access("public", R_OK));
  SHOW_CALL("faccessat AT_EACCESS X_OK", faccessat(AT_FDCWD, "public", X_OK, AT_EACCESS));
  SHOW_CALL("O_NOATIME on someone else's file", open("public", O_RDONLY | O_NOATIME));
  SHOW_CALL("setxattr user.* on a root file", setxattr("public", "user.a", "1", 1, 0));
  SHOW_CALL("mknod a device", mknod("dev", S_IFCHR | 0600, makedev(1, 3)));
  SHOW_CALL("chroot", chroot("."));
  unlink("mine");
}

int main(void) {
  char tmpl[] = "/tmp/fs_perm_XXXXXX";
  char *base = mkdtemp(tmpl);
  if (!base || chdir(base) < 0) return 1;
  chmod(".", 0777);
  umask(0);
  put("rootonly", 0600);
  put("public", 0644);
  put("shared", 0666);
  mkdir("locked", 0755);
  mkdir("locked/sub", 0755);
  mkdir("searchonly", 0711);
  put("searchonly/inner", 0644);
  mkdir("private", 0700);
  put("private/inner", 0644);
  mkdir("sticky", 01777);
  put("sticky/roots", 0666);
  mkdir("sgid", 02775);
  chown("sgid", 0, 4242);
  chmod("sgid", 02775);
  put("sgid/file", 0644);
  mkdir("sgid/subdir", 0755);
  struct stat st;
  stat("sgid/file", &st);
  SHOW_INT("group inherited from a set-group-ID dir", st.st_gid);
  stat("sgid/subdir", &st);
  SHOW_BOOL("subdir inherits set-group-ID", (st.st_mode & S_ISGID) != 0);
  put("suid", 04755);
  FLUSH();
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(0, NULL) < 0 || setgid(1000) < 0 || setuid(1000) < 0) _exit(9);
    as_user();
    // A write by the owner without CAP_FSETID drops set-user-ID.
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  SHOW_INT("child exit", WEXITSTATUS(status));
  // Root writing keeps set-user-ID (CAP_FSETID).
  int fd = open("suid", O_WRONLY);
  SHOW_CALL("root writes a set-user-ID file", write(fd, "x", 1));
  close(fd);
  stat("suid", &st);
  printf("mode after root's write: %o\n", (unsigned)(st.st_mode & 07777));
  chown("suid", 1000, 1000);
  stat("suid", &st);
  printf("mode after chown: %o\n", (unsigned)(st.st_mode & 07777));
  chmod("suid", 04777);
  FLUSH();
  pid = fork();
  if (pid == 0) {
    if (setgroups(0, NULL) < 0 || setgid(1000) < 0 || setuid(1000) < 0) _exit(9);
    fd = open("suid", O_WRONLY);
    SHOW_CALL("owner writes a set-user-ID file", write(fd, "y", 1));
    close(fd);
    stat("suid", &st);
    printf("mode after the owner's write: %o\n", (unsigned)(st.st_mode & 07777));
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, &status, 0);
  // Clean up.
  const char *files[] = {"rootonly", "public", "shared", "searchonly/inner", "private/inner", "sticky/roots",
                         "sgid/file", "suid", "dev", NULL};
  for (int i = 0; files[i]; i++) unlink(files[i]);
  const char *dirs[] = {"locked/sub", "locked", "searchonly", "private", "sticky", "sgid/subdir", "sgid", NULL};
  for (int i = 0; dirs[i]; i++) rmdir(dirs[i]);
  if (chdir("/") < 0) return 1;
  SHOW_CALL("rmdir base", rmdir(base));
  return 0;
}
