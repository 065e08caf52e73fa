/* Host link endpoints for netstack: an AF_PACKET socket bound to one interface, or a TAP
 * device, moved in batches (recvmmsg/sendmmsg) between the wire and caller-provided slots.
 *
 * AF_PACKET sockets use PACKET_VNET_HDR so that frames the kernel hands over with a partial
 * checksum (veth, loopback-like offloads) or as GSO super-frames are flagged rather than
 * silently carrying a wrong checksum: the caller learns per frame that the checksum is
 * already trusted. Outgoing frames carry an empty virtio header (no offload requested).
 *
 * Every call is non-blocking; sb_netdev_wait blocks on the fd for tools and tests. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SB_NETDEV_PACKET 1
#define SB_NETDEV_TAP 2
#define SB_NETDEV_MAX_BATCH 64
#define SB_NETDEV_TRUSTED 1 /* per-frame flag: checksum need not be verified */

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static int interface_info(const char *ifname, uint8_t *mac_out, int32_t *mtu_out, int *index_out) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  int rc = 0;
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
    rc = -errno;
    goto out;
  }
  if (index_out) *index_out = ifr.ifr_ifindex;
  if (mtu_out) {
    if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
      rc = -errno;
      goto out;
    }
    *mtu_out = ifr.ifr_mtu;
  }
  if (mac_out) {
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
      rc = -errno;
      goto out;
    }
    memcpy(mac_out, ifr.ifr_hwaddr.sa_data, 6);
  }
out:
  close(s);
  return rc;
}

/* Opens a non-blocking AF_PACKET socket on `ifname`. Writes the interface's MAC (6 bytes)
 * and MTU. Returns the fd or -errno. */
int sb_netdev_open_packet(const char *ifname, uint8_t *mac_out, int32_t *mtu_out) {
  int index = 0;
  int rc = interface_info(ifname, mac_out, mtu_out, &index);
  if (rc < 0) return rc;
  /* Protocol 0 here, ETH_P_ALL at bind: a packet socket made with a protocol is hooked in at
   * once, and bind would unhook it first (a synchronize_net: ~10 ms per interface). */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) goto fail;
  /* Our own transmissions must not come back to us; older kernels lack the option, and
   * the pkttype check in recv covers them. */
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  int size = 4 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = index;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) goto fail;
  return fd;
fail:
  rc = -errno;
  close(fd);
  return rc;
}

/* Attaches to (or creates) the TAP device `ifname` in the current network namespace.
 * Writes the kernel-side interface's MAC and MTU. Returns the fd or -errno. */
int sb_netdev_open_tap(const char *ifname, uint8_t *mac_out, int32_t *mtu_out) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int rc = -errno;
    close(fd);
    return rc;
  }
  int rc = interface_info(ifr.ifr_name, mac_out, mtu_out, NULL);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  return fd;
}

/* Receives up to `max` frames into slots of `slot_size` bytes at `buf`. lens[i] gets each
 * frame's length (0 for a frame to skip: truncated, or our own outgoing one), flags[i] its
 * SB_NETDEV_* flags. Returns the number of slots filled (0 when nothing waits) or -errno. */
int sb_netdev_recv_batch(int fd, int kind, uint8_t *buf, int32_t slot_size, int32_t max,
                         int32_t *lens, int32_t *flags) {
  if (max > SB_NETDEV_MAX_BATCH) max = SB_NETDEV_MAX_BATCH;
  if (max <= 0) return 0;
  if (kind == SB_NETDEV_TAP) {
    int n = 0;
    for (; n < max; n++) {
      ssize_t r = read(fd, buf + (size_t)n * slot_size, slot_size);
      if (r < 0) {
        if (errno == EINTR) {
          n--;
          continue;
        }
        if (n == 0 && errno != EAGAIN) return -errno;
        break;
      }
      lens[n] = (int32_t)r;
      flags[n] = 0;
    }
    return n;
  }
  struct virtio_net_hdr hdrs[SB_NETDEV_MAX_BATCH];
  struct sockaddr_ll from[SB_NETDEV_MAX_BATCH];
  struct iovec iov[SB_NETDEV_MAX_BATCH][2];
  struct mmsghdr msgs[SB_NETDEV_MAX_BATCH];
  memset(msgs, 0, sizeof(struct mmsghdr) * max);
  for (int i = 0; i < max; i++) {
    iov[i][0].iov_base = &hdrs[i];
    iov[i][0].iov_len = sizeof hdrs[i];
    iov[i][1].iov_base = buf + (size_t)i * slot_size;
    iov[i][1].iov_len = slot_size;
    msgs[i].msg_hdr.msg_iov = iov[i];
    msgs[i].msg_hdr.msg_iovlen = 2;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int n;
  do {
    n = recvmmsg(fd, msgs, max, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    int len = (int)msgs[i].msg_len - (int)sizeof(struct virtio_net_hdr);
    if (len < 0 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || from[i].sll_pkttype == PACKET_OUTGOING) {
      lens[i] = 0;
      flags[i] = 0;
      continue;
    }
    lens[i] = len;
    flags[i] = (hdrs[i].flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
                   ? SB_NETDEV_TRUSTED
                   : 0;
  }
  return n;
}

/* Sends `count` frames from slots of `slot_size` bytes at `buf`, lengths in lens. For
 * AF_PACKET, `vnet` (may be NULL) holds one struct virtio_net_hdr per frame, so a frame can
 * ask the kernel to segment it (GSO) and finish its checksum. Returns how many were taken
 * (frames the kernel refused for lack of room are dropped, as a busy wire would) or -errno
 * on a hard error. */
int sb_netdev_send_batch(int fd, int kind, const uint8_t *buf, int32_t slot_size, int32_t count,
                         const int32_t *lens, const uint8_t *vnet) {
  if (count <= 0) return 0;
  if (kind == SB_NETDEV_TAP) {
    for (int i = 0; i < count; i++) {
      ssize_t r;
      do {
        r = write(fd, buf + (size_t)i * slot_size, lens[i]);
      } while (r < 0 && errno == EINTR);
      if (r < 0 && errno != EAGAIN && errno != ENOBUFS) return i ? i : -errno;
    }
    return count;
  }
  static struct virtio_net_hdr empty;
  int done = 0;
  while (done < count) {
    int batch = count - done;
    if (batch > SB_NETDEV_MAX_BATCH) batch = SB_NETDEV_MAX_BATCH;
    struct iovec iov[SB_NETDEV_MAX_BATCH][2];
    struct mmsghdr msgs[SB_NETDEV_MAX_BATCH];
    memset(msgs, 0, sizeof(struct mmsghdr) * batch);
    for (int i = 0; i < batch; i++) {
      iov[i][0].iov_base =
          vnet ? (void *)(vnet + (size_t)(done + i) * sizeof(struct virtio_net_hdr)) : (void *)&empty;
      iov[i][0].iov_len = sizeof empty;
      iov[i][1].iov_base = (void *)(buf + (size_t)(done + i) * slot_size);
      iov[i][1].iov_len = lens[done + i];
      msgs[i].msg_hdr.msg_iov = iov[i];
      msgs[i].msg_hdr.msg_iovlen = 2;
    }
    int n = sendmmsg(fd, msgs, batch, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == ENOBUFS) {
        done++; /* drop one frame and go on, like a full transmit queue */
        continue;
      }
      return done ? done : -errno;
    }
    done += n;
  }
  return done;
}

/* Waits until `fd` is readable or `timeout_ns` passes (negative: forever). Returns 1 when
 * readable, 0 on timeout, -errno on error. */
int sb_netdev_wait(int fd, int64_t timeout_ns) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  struct timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  int r = ppoll(&p, 1, tsp, NULL);
  if (r < 0) return errno == EINTR ? 0 : -errno;
  return r > 0 ? 1 : 0;
}

int sb_netdev_close(int fd) {
  return close(fd) < 0 ? -errno : 0;
}
