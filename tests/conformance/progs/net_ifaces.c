// The loopback interface as programs find it (the only interface every network namespace
// has, so the only one compared): the SIOCGIF* ioctls on inet and unix sockets,
// SIOCGIFCONF, if_nametoindex/if_indextoname, getifaddrs' lo entries (through netlink), and
// SO_REUSEPORT binds.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conformance.h"

static void show_ioctls(const char *kind, int s) {
  struct ifreq r;
  printf("-- ioctls on a %s socket\n", kind);
  memset(&r, 0, sizeof r);
  strcpy(r.ifr_name, "lo");
  SHOW_CALL("SIOCGIFINDEX lo", ioctl(s, SIOCGIFINDEX, &r));
  SHOW_INT("  index", r.ifr_ifindex);
  int index = r.ifr_ifindex;
  memset(&r, 0, sizeof r);
  r.ifr_ifindex = index;
  SHOW_CALL("SIOCGIFNAME", ioctl(s, SIOCGIFNAME, &r));
  SHOW_STR("  name", r.ifr_name);
  strcpy(r.ifr_name, "lo");
  SHOW_CALL("SIOCGIFFLAGS", ioctl(s, SIOCGIFFLAGS, &r));
  SHOW_INT("  UP|LOOPBACK|RUNNING", r.ifr_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING));
  SHOW_CALL("SIOCGIFMTU", ioctl(s, SIOCGIFMTU, &r));
  SHOW_INT("  mtu", r.ifr_mtu);
  char a[32];
  SHOW_CALL("SIOCGIFADDR", ioctl(s, SIOCGIFADDR, &r));
  SHOW_STR("  address", inet_ntop(AF_INET, &((struct sockaddr_in *)&r.ifr_addr)->sin_addr, a, sizeof a));
  SHOW_CALL("SIOCGIFNETMASK", ioctl(s, SIOCGIFNETMASK, &r));
  SHOW_STR("  netmask", inet_ntop(AF_INET, &((struct sockaddr_in *)&r.ifr_netmask)->sin_addr, a, sizeof a));
  SHOW_CALL("SIOCGIFHWADDR", ioctl(s, SIOCGIFHWADDR, &r));
  SHOW_INT("  type", r.ifr_hwaddr.sa_family);
  SHOW_BOOL("  all zero", !memcmp(r.ifr_hwaddr.sa_data, "\0\0\0\0\0\0", 6));
  strcpy(r.ifr_name, "nonexistent0");
  SHOW_CALL("SIOCGIFINDEX of a missing interface", ioctl(s, SIOCGIFINDEX, &r));
  memset(&r, 0, sizeof r);
  r.ifr_ifindex = 100000;
  SHOW_CALL("SIOCGIFNAME of a missing index", ioctl(s, SIOCGIFNAME, &r));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  show_ioctls("UDP", s);
  int u = socket(AF_UNIX, SOCK_DGRAM, 0);
  show_ioctls("unix", u);
  close(u);

  struct ifconf ifc = {0};
  SHOW_CALL("SIOCGIFCONF size query", ioctl(s, SIOCGIFCONF, &ifc));
  SHOW_BOOL("  room for at least lo", ifc.ifc_len >= (int)sizeof(struct ifreq));
  ifc.ifc_buf = calloc(1, ifc.ifc_len + sizeof(struct ifreq));
  SHOW_CALL("SIOCGIFCONF", ioctl(s, SIOCGIFCONF, &ifc));
  int found = 0;
  for (struct ifreq *r = ifc.ifc_req; (char *)(r + 1) <= ifc.ifc_buf + ifc.ifc_len; r++) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&r->ifr_addr;
    if (!strcmp(r->ifr_name, "lo") && sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK)) found++;
  }
  SHOW_INT("  entries for lo with 127.0.0.1", found);
  ifc.ifc_len = sizeof(struct ifreq) - 1;
  SHOW_CALL("SIOCGIFCONF into less than one entry", ioctl(s, SIOCGIFCONF, &ifc));
  SHOW_INT("  length", ifc.ifc_len);
  close(s);

  SHOW_INT("if_nametoindex lo", if_nametoindex("lo"));
  char name[IF_NAMESIZE] = "";
  SHOW_STR("if_indextoname 1", if_indextoname(1, name) ? name : "(none)");
  SHOW_INT("if_nametoindex missing", if_nametoindex("nonexistent0"));

  struct ifaddrs *ifa;
  SHOW_CALL("getifaddrs", getifaddrs(&ifa));
  for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
    if (strcmp(p->ifa_name, "lo") || !p->ifa_addr) continue;
    int f = p->ifa_addr->sa_family;
    char text[64] = "";
    if (f == AF_INET) inet_ntop(f, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, text, sizeof text);
    if (f == AF_INET6) inet_ntop(f, &((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr, text, sizeof text);
    printf("  lo family %d flags UP|LOOPBACK|RUNNING %d %s\n", f == AF_PACKET ? 17 : f,
           p->ifa_flags & (IFF_UP | IFF_LOOPBACK | IFF_RUNNING), text);
  }
  freeifaddrs(ifa);

  /* SO_REUSEPORT: sockets that all set it share a port. */
  int one = 1;
  int a1 = socket(AF_INET, SOCK_STREAM, 0), a2 = socket(AF_INET, SOCK_STREAM, 0), a3 = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(a1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(a2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(a1, (struct sockaddr *)&addr, sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(a1, (struct sockaddr *)&addr, &len);
  SHOW_CALL("SO_REUSEPORT: first listens", listen(a1, 1));
  SHOW_CALL("SO_REUSEPORT: second binds", bind(a2, (struct sockaddr *)&addr, sizeof addr));
  SHOW_CALL("SO_REUSEPORT: second listens", listen(a2, 1));
  SHOW_CALL("a third without it", bind(a3, (struct sockaddr *)&addr, sizeof addr));
  int c = socket(AF_INET, SOCK_STREAM, 0);
  SHOW_CALL("a client connects", connect(c, (struct sockaddr *)&addr, sizeof addr));
  int d1 = socket(AF_INET, SOCK_DGRAM, 0), d2 = socket(AF_INET, SOCK_DGRAM, 0);
  setsockopt(d1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(d2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  addr.sin_port = 0;
  bind(d1, (struct sockaddr *)&addr, sizeof addr);
  len = sizeof addr;
  getsockname(d1, (struct sockaddr *)&addr, &len);
  SHOW_CALL("UDP SO_REUSEPORT: second binds", bind(d2, (struct sockaddr *)&addr, sizeof addr));
  return 0;
}
