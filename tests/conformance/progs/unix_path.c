// Unix sockets bound to paths: the socket file, EADDRINUSE, names reported by getsockname
// and accept, connecting through a symlink and after unlink, permission to connect, and
// datagrams between two path-bound sockets.
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

static socklen_t path_addr(struct sockaddr_un *a, const char *path) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strncpy(a->sun_path, path, sizeof a->sun_path - 1);
  return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

int main(void) {
  char dir[] = "/tmp/usock-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char path[96], link[96], dpath[96], dpath2[96];
  snprintf(path, sizeof path, "%s/server.sock", dir);
  snprintf(link, sizeof link, "%s/link.sock", dir);
  snprintf(dpath, sizeof dpath, "%s/d1", dir);
  snprintf(dpath2, sizeof dpath2, "%s/d2", dir);
  struct sockaddr_un a, got;
  socklen_t al = path_addr(&a, path), gl;

  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  umask(022);
  SHOW_CALL("bind", bind(srv, (struct sockaddr *)&a, al));
  struct stat st;
  SHOW_CALL("stat", stat(path, &st));
  SHOW_BOOL("S_ISSOCK", S_ISSOCK(st.st_mode));
  SHOW_INT("mode after umask", st.st_mode & 07777);
  gl = sizeof got;
  getsockname(srv, (struct sockaddr *)&got, &gl);
  SHOW_BOOL("getsockname is the path", gl == al && strcmp(got.sun_path, path) == 0);
  int other = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("bind the same path", bind(other, (struct sockaddr *)&a, al));
  SHOW_CALL("open the socket file", open(path, O_RDONLY));
  SHOW_CALL("connect before listen", connect(other, (struct sockaddr *)&a, al));
  SHOW_CALL("listen", listen(srv, 8));

  SHOW_CALL("connect", connect(other, (struct sockaddr *)&a, al));
  struct sockaddr_un peer;
  socklen_t pl = sizeof peer;
  int conn = accept(srv, (struct sockaddr *)&peer, &pl);
  SHOW_BOOL("accept", conn >= 0);
  SHOW_INT("peer name length (unnamed client)", pl);
  send(other, "over a path", 11, 0);
  char buf[64];
  ssize_t n = recv(conn, buf, sizeof buf, 0);
  printf("received: %zd [%.*s]\n", n, (int)(n > 0 ? n : 0), buf);

  symlink(path, link);
  int via = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un la;
  socklen_t lal = path_addr(&la, link);
  SHOW_CALL("connect through a symlink", connect(via, (struct sockaddr *)&la, lal));
  int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
  SHOW_CALL("datagram socket to a stream socket's path", connect(dg, (struct sockaddr *)&a, al));

  // A client bound to a path shows up by name at the server.
  char cpath[96];
  snprintf(cpath, sizeof cpath, "%s/client.sock", dir);
  struct sockaddr_un ca;
  socklen_t cal = path_addr(&ca, cpath);
  int named = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(named, (struct sockaddr *)&ca, cal);
  connect(named, (struct sockaddr *)&a, al);
  accept(srv, NULL, NULL);
  pl = sizeof peer;
  int conn2 = accept(srv, (struct sockaddr *)&peer, &pl);
  SHOW_BOOL("accept reports the client's path", conn2 >= 0 && pl == cal && strcmp(peer.sun_path, cpath) == 0);

  // Unprivileged clients need write permission on the socket file.
  chmod(path, 0);
  FLUSH();
  pid_t child = fork();
  if (child == 0) {
    setgid(65534);
    setuid(65534);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    int rc = connect(s, (struct sockaddr *)&a, al);
    printf("unprivileged connect to a 0000 socket: %d (%s)\n", rc, errno_name(rc < 0 ? errno : 0));
    FLUSH();
    _exit(0);
  }
  waitpid(child, NULL, 0);
  chmod(path, 0777);

  // Unlinked: the name is gone for new clients, and free for a new socket.
  SHOW_CALL("unlink", unlink(path));
  int late = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("connect after unlink", connect(late, (struct sockaddr *)&a, al));
  int again = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("bind the path again", bind(again, (struct sockaddr *)&a, al));
  close(srv);
  listen(again, 1);
  SHOW_CALL("connect to the new socket", connect(late, (struct sockaddr *)&a, al));
  close(again);
  int after = socket(AF_UNIX, SOCK_STREAM, 0);
  SHOW_CALL("connect after the socket closed (file still there)", connect(after, (struct sockaddr *)&a, al));

  // Datagrams between path names.
  struct sockaddr_un d1, d2, from;
  socklen_t d1l = path_addr(&d1, dpath), d2l = path_addr(&d2, dpath2), fl;
  int s1 = socket(AF_UNIX, SOCK_DGRAM, 0), s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
  bind(s1, (struct sockaddr *)&d1, d1l);
  bind(s2, (struct sockaddr *)&d2, d2l);
  SHOW_CALL("sendto a path", sendto(s2, "dgram", 5, 0, (struct sockaddr *)&d1, d1l));
  fl = sizeof from;
  n = recvfrom(s1, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
  printf("recvfrom: %zd [%.*s] from d2: %s\n", n, (int)(n > 0 ? n : 0), buf, fl == d2l && strcmp(from.sun_path, dpath2) == 0 ? "yes" : "no");
  SHOW_CALL("sendto a missing path", sendto(s2, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "/tmp/no/such/socket"}, sizeof(struct sockaddr_un)));
  SHOW_CALL("sendto a regular file", sendto(s2, "x", 1, 0, (struct sockaddr *)&(struct sockaddr_un){AF_UNIX, "/etc/hostname"}, sizeof(struct sockaddr_un)));

  unlink(link);
  unlink(cpath);
  unlink(path);
  unlink(dpath);
  unlink(dpath2);
  SHOW_CALL("rmdir", rmdir(dir));
  return 0;
}
