// inotify: watches on a directory and a file; the events of create, open, modify, attrib,
// close, rename (with matching cookies), delete, delete of the watched file itself;
// IN_ONESHOT, inotify_rm_watch and the errors.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conformance.h"

static int wd_dir, wd_file;
static unsigned last_cookie;

static const char *wdname(int wd) {
  return wd == wd_dir ? "dir" : wd == wd_file ? "file" : "?";
}

static void names(unsigned m) {
  static const struct {
    unsigned bit;
    const char *name;
  } bits[] = {{IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
              {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
              {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
              {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
              {IN_MOVE_SELF, "MOVE_SELF"}, {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
              {IN_Q_OVERFLOW, "OVERFLOW"}};
  const char *sep = "";
  for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++) {
    if (m & bits[i].bit) {
      printf("%s%s", sep, bits[i].name);
      sep = "|";
    }
  }
}

/** Prints every queued event. */
static void drain(int in, const char *when) {
  printf("-- %s\n", when);
  char buf[4096] __attribute__((aligned(8)));
  for (;;) {
    struct pollfd p = {.fd = in, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) break;
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0) break;
    for (char *q = buf; q < buf + n;) {
      struct inotify_event *e = (struct inotify_event *)q;
      printf("%s ", wdname(e->wd));
      names(e->mask);
      if (e->len) printf(" %s", e->name);
      if (e->mask & (IN_MOVED_FROM | IN_MOVED_TO)) {
        if (e->mask & IN_MOVED_FROM) last_cookie = e->cookie;
        else printf(" cookie %s", e->cookie == last_cookie && e->cookie ? "matches" : "differs");
      }
      printf("\n");
      q += sizeof *e + e->len;
    }
  }
}

int main(void) {
  char tmpl[] = "/tmp/fs_inotify_XXXXXX";
  char *dir = mkdtemp(tmpl);
  if (!dir || chdir(dir) < 0) return 1;
  int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  SHOW_BOOL("inotify_init1", in >= 0);
  char b[64];
  SHOW_CALL("read with nothing queued", read(in, b, sizeof b));
  wd_dir = inotify_add_watch(in, ".", IN_ALL_EVENTS);
  SHOW_BOOL("watch dir", wd_dir > 0);
  int fd = open("f", O_CREAT | O_WRONLY, 0644);
  drain(in, "create");
  SHOW_CALL("write", write(fd, "abc", 3));
  drain(in, "write");
  close(fd);
  drain(in, "close");
  wd_file = inotify_add_watch(in, "f", IN_ALL_EVENTS);
  SHOW_BOOL("watch file", wd_file > 0 && wd_file != wd_dir);
  SHOW_CALL("watching again gives the same wd", inotify_add_watch(in, "f", IN_MODIFY) == wd_file);
  SHOW_CALL("IN_MASK_CREATE on a watched file", inotify_add_watch(in, "f", IN_MODIFY | IN_MASK_CREATE));
  inotify_add_watch(in, "f", IN_ALL_EVENTS);
  fd = open("f", O_RDONLY);
  SHOW_CALL("read", read(fd, b, sizeof b));
  close(fd);
  drain(in, "read and close");
  SHOW_CALL("chmod", chmod("f", 0600));
  drain(in, "chmod");
  mkdir("sub", 0755);
  drain(in, "mkdir");
  SHOW_CALL("rename", rename("f", "g"));
  drain(in, "rename");
  SHOW_CALL("truncate", truncate("g", 0));
  drain(in, "truncate");
  SHOW_CALL("link", link("g", "h"));
  drain(in, "link");
  SHOW_CALL("unlink h", unlink("h"));
  drain(in, "unlink a link");
  SHOW_CALL("unlink g", unlink("g"));
  drain(in, "unlink the last link");
  rmdir("sub");
  drain(in, "rmdir");
  int one = inotify_add_watch(in, ".", IN_CREATE | IN_ONESHOT);
  SHOW_BOOL("oneshot watch replaces the dir watch", one == wd_dir);
  close(open("x", O_CREAT | O_WRONLY, 0644));
  close(open("y", O_CREAT | O_WRONLY, 0644));
  drain(in, "oneshot");
  SHOW_CALL("rm_watch of a removed watch", inotify_rm_watch(in, wd_dir));
  wd_dir = inotify_add_watch(in, ".", IN_DELETE);
  SHOW_CALL("rm_watch", inotify_rm_watch(in, wd_dir));
  drain(in, "rm_watch");
  SHOW_CALL("add_watch with no events", inotify_add_watch(in, ".", 0));
  SHOW_CALL("add_watch missing", inotify_add_watch(in, "missing", IN_ALL_EVENTS));
  SHOW_CALL("add_watch IN_ONLYDIR on a file", inotify_add_watch(in, "x", IN_ALL_EVENTS | IN_ONLYDIR));
  SHOW_CALL("add_watch on a non-inotify fd", inotify_add_watch(0, ".", IN_ALL_EVENTS));
  SHOW_CALL("inotify_init1 bad flags", inotify_init1(1));
  wd_file = inotify_add_watch(in, "x", IN_ALL_EVENTS);
  struct pollfd p = {.fd = in, .events = POLLIN};
  SHOW_CALL("poll empty", poll(&p, 1, 0));
  close(open("x", O_WRONLY));
  SHOW_CALL("poll with events", poll(&p, 1, 0));
  char tiny[8];
  SHOW_CALL("read into too small a buffer", read(in, tiny, sizeof tiny));
  drain(in, "open for writing");
  unlink("x");
  unlink("y");
  drain(in, "delete the watched file");
  if (chdir("/") < 0) return 1;
  rmdir(dir);
  return 0;
}
