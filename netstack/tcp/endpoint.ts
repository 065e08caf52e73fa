// One TCP socket: the RFC 9293 state machine with RFC 5961 protections, RFC 7323 window
// scaling, timestamps and PAWS, SACK (RFC 2018), RTO (RFC 6298), NewReno fast recovery
// (RFC 6582) or SACK/RACK-TLP loss recovery (RFC 6675, RFC 8985), delayed ACKs, Nagle, cork,
// keepalive, zero-window probes and receive-buffer autotuning. It is also the Socket the
// sentry sees.
import {
  AF_INET,
  AF_INET6,
  IPAddress,
  IPV4_ANY,
  IPV6_ANY,
  isMulticast,
  isUnspecified,
  SockAddr,
} from "../addr.ts";
import { finishChecksum, pseudoHeaderSum, sumBytes } from "../checksum.ts";
import * as E from "../errno.ts";
import { PortOwner, toSocketAddress, toWireAddress } from "../ports.ts";
import type { Route } from "../route.ts";
import * as S from "../socket.ts";
import { NetError, NetErrorKind, Stack, TX_L4_OFFSET } from "../stack.ts";
import { Timer } from "../timer.ts";
import { RecvBuffer, SendBuffer } from "./buffers.ts";
import type { TcpConfig } from "./config.ts";
import { CongestionControl, createCongestionControl } from "./congestion.ts";
import type { TcpLayer } from "./layer.ts";
import { RttEstimator } from "./rtt.ts";
import { HAS_FIN, LOST, RETRANS, SACKED, Scoreboard, SegRecord } from "./scoreboard.ts";
import {
  ACK,
  FIN,
  OPT_MSS,
  OPT_NOP,
  OPT_SACK,
  OPT_SACK_PERM,
  OPT_TS,
  OPT_WS,
  PSH,
  put32,
  RST,
  Segment,
  SYN,
  TCP_HLEN,
  writeHeader,
} from "./segment.ts";
import { seqAdd, seqDiff, seqGE, seqGT, seqLE, seqLT, seqMax } from "./seq.ts";

/** Linux's TCP state numbers (they show through TCP_INFO). */
export const enum State {
  Established = 1,
  SynSent = 2,
  SynRcvd = 3,
  FinWait1 = 4,
  FinWait2 = 5,
  TimeWait = 6,
  Closed = 7,
  CloseWait = 8,
  LastAck = 9,
  Listen = 10,
  Closing = 11,
}

const enum RtxMode {
  None,
  Rto,
  Tlp,
  Reorder,
  Persist,
}

const TS_OPTION_SPACE = 12;

export class TcpSocket implements S.Socket, PortOwner {
  readonly type = S.SOCK_STREAM;
  readonly protocol = S.IPPROTO_TCP;
  state = State.Closed;
  localAddr: IPAddress;
  localPort = 0;
  remoteAddr: IPAddress = IPV4_ANY;
  remotePort = 0;
  route: Route | null = null;
  key: string | null = null;
  bound = false;
  onReadiness: (() => void) | null = null;

  // Options.
  v6only = false;
  reuseAddr = false;
  reusePort = false;
  keepalive = false;
  nodelay = false;
  cork = false;
  lingerOn = false;
  lingerSec = 0;
  userMss = 0;
  ttl = -1;
  tos = 0;
  keepIdleNs: number;
  keepIntvlNs: number;
  keepCnt: number;
  synRetries: number;
  userTimeoutNs = 0;
  rcvbufLocked = false;
  sndbufLocked = false;
  windowClamp = 0;
  rcvLowat = 1;

  // Listening.
  backlog = 0;
  acceptQueue: TcpSocket[] = [];
  synQueue = 0;
  parent: TcpSocket | null = null;

  // Send side.
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  maxSndWnd = 0;
  sndWs = 0;
  sndMss = 536;
  peerMss = 536;
  sendBuf: SendBuffer;
  sb = new Scoreboard();
  cc: CongestionControl;
  rtt: RttEstimator;
  finQueued = false;
  finSent = false;
  finSeq = 0;
  shutWrite = false;
  dupAcks = 0;
  inRecovery = false;
  recoveryPoint = 0;
  backoff = 0;
  rtxMode = RtxMode.None;
  tlpOutstanding = false;
  rackXmit = -1;
  rackEnd = 0;
  rackRtt = 0;
  cwndLimited = false;
  retransTotal = 0;
  firstRtxTime = 0;

  // Receive side.
  irs = 0;
  rcvNxt = 0;
  rcvWs = 0;
  rcvAdvEdge = 0;
  recvBuf: RecvBuffer;
  finReceived = false;
  peerFinSeq = -1;
  shutRead = false;
  pendingAckSegs = 0;
  quickAcks: number;
  ackNow = false;
  lastAckSent = 0;

  // Negotiated options.
  wsOk = false;
  sackOk = false;
  tsOk = false;
  tsRecent = 0;
  tsOffset = 0;

  // Errors, lifetime.
  error = 0;
  orphan = false;
  everConnected = false;
  lastRecvTime = 0;
  lastSendTime = 0;
  keepProbes = 0;

  // Receive autotuning (a simplified Linux DRS): bytes the application consumed per RTT.
  private rcvSpaceBytes = 0;
  private rcvSpaceTime = 0;

  readonly rtxTimer: Timer;
  readonly delackTimer: Timer;
  readonly miscTimer: Timer;
  private readonly stack: Stack;
  private readonly cfg: TcpConfig;
  private sackScratch: number[] = [0, 0, 0, 0, 0, 0, 0, 0];

  constructor(readonly layer: TcpLayer, readonly family: number) {
    this.stack = layer.stack;
    const cfg = this.cfg = layer.config;
    this.localAddr = family === AF_INET ? IPV4_ANY.slice() : IPV6_ANY.slice();
    this.keepIdleNs = cfg.keepIdleNs;
    this.keepIntvlNs = cfg.keepIntvlNs;
    this.keepCnt = cfg.keepCnt;
    this.synRetries = cfg.synRetries;
    this.quickAcks = cfg.quickAcks;
    this.sendBuf = new SendBuffer(cfg.sndbufDefault);
    this.recvBuf = new RecvBuffer(cfg.rcvbufDefault, cfg.maxOooRanges);
    this.cc = createCongestionControl(cfg.congestion, 536, cfg.initialCwndSegments);
    this.rtt = new RttEstimator(cfg.initialRtoNs, cfg.minRtoNs, cfg.maxRtoNs);
    this.rtxTimer = new Timer((now) => this.onRtxTimer(now));
    this.delackTimer = new Timer(() => this.onDelackTimer());
    this.miscTimer = new Timer((now) => this.onMiscTimer(now));
  }

  isListening(): boolean {
    return this.state === State.Listen;
  }

  private notify(): void {
    if (this.onReadiness) this.onReadiness();
    if (this.parent && this.parent.onReadiness && this.state !== State.SynRcvd) {
      this.parent.onReadiness();
    }
  }

  // ==== Socket API ==========================================================================

  bind(addr: SockAddr): number {
    if (this.state !== State.Closed || this.bound) return -E.EINVAL;
    if (addr.family !== this.family) return this.family === AF_INET6 ? -E.EINVAL : -E.EAFNOSUPPORT;
    const ip = toWireAddress(this.family, addr.addr, this.v6only);
    if (!ip) return -E.EADDRNOTAVAIL;
    if (isMulticast(ip)) return -E.EADDRNOTAVAIL;
    if (!isUnspecified(ip) && !this.stack.isLocalAddress(ip)) return -E.EADDRNOTAVAIL;
    let port = addr.port;
    const ports = this.layer.ports;
    if (port === 0) {
      port = ports.allocate(this, ip);
      if (port === 0) return -E.EADDRINUSE;
    } else if (!ports.canBind(this, ip, port)) return -E.EADDRINUSE;
    this.localAddr = ip.slice();
    this.localPort = port;
    ports.add(this);
    this.bound = true;
    return 0;
  }

  listen(backlog: number): number {
    if (this.state === State.Listen) {
      this.backlog = Math.max(0, Math.min(backlog, 4096));
      return 0;
    }
    if (this.state !== State.Closed) return -E.EINVAL;
    if (!this.bound) {
      const port = this.layer.ports.allocate(this, this.localAddr);
      if (port === 0) return -E.EADDRINUSE;
      this.localPort = port;
      this.layer.ports.add(this);
      this.bound = true;
    } else if (this.layer.ports.listenerConflict(this)) {
      // Another socket listens on an overlapping address (SO_REUSEADDR never allows two
      // listeners, only SO_REUSEPORT does).
      return -E.EADDRINUSE;
    }
    this.backlog = Math.max(0, Math.min(backlog, 4096));
    this.state = State.Listen;
    return 0;
  }

  accept(): S.Socket | number {
    if (this.state !== State.Listen) return -E.EINVAL;
    const child = this.acceptQueue.shift();
    if (!child) return -E.EAGAIN;
    child.parent = null;
    return child;
  }

  connect(addr: SockAddr): number {
    switch (this.state) {
      case State.SynSent:
      case State.SynRcvd:
        return -E.EALREADY;
      case State.Listen:
        return -E.EISCONN;
      case State.Closed:
        break;
      default:
        return -E.EISCONN;
    }
    if (this.everConnected) {
      if (this.error) return -this.takeError();
      return -E.EISCONN;
    }
    if (addr.family !== this.family) return -E.EAFNOSUPPORT;
    const dst = toWireAddress(this.family, addr.addr, this.v6only);
    if (!dst) return -E.ENETUNREACH;
    if (isMulticast(dst) || (dst.length === 4 && dst[0] === 255 && dst[3] === 255)) {
      return -E.ENETUNREACH;
    }
    if (addr.port === 0) return -E.ECONNREFUSED;
    const remote = isUnspecified(dst)
      ? (dst.length === 4 ? new Uint8Array([127, 0, 0, 1]) : IPV6_ANY_LOOP())
      : dst.slice();
    if (!isUnspecified(this.localAddr) && this.localAddr.length !== remote.length) {
      return -E.ENETUNREACH;
    }
    const route = this.stack.findRoute(
      remote,
      isUnspecified(this.localAddr) ? null : this.localAddr,
    );
    if (typeof route === "number") return route;
    this.stack.enter();
    try {
      if (isUnspecified(this.localAddr) || this.localAddr.length !== remote.length) {
        this.localAddr = route.src.slice();
      }
      if (!this.bound) {
        const port = this.layer.allocateConnectPort(this, this.localAddr, remote, addr.port);
        if (port === 0) return -E.EADDRNOTAVAIL;
        this.localPort = port;
        this.layer.ports.add(this);
        this.bound = true;
      } else if (this.layer.lookupConnection(this.localAddr, this.localPort, remote, addr.port)) {
        return -E.EADDRNOTAVAIL;
      }
      this.remoteAddr = remote;
      this.remotePort = addr.port;
      this.route = route;
      this.layer.register(this);
      this.iss = this.stack.isn(this.localAddr, this.localPort, remote, addr.port);
      this.sndUna = this.iss;
      this.sndNxt = seqAdd(this.iss, 1);
      this.state = State.SynSent;
      this.everConnected = true;
      this.setupMss();
      this.chooseWindowScale();
      this.tsOffset = this.stack.randomU32();
      this.sendSyn(false);
      this.backoff = 0;
      this.armRto();
      return -E.EINPROGRESS;
    } finally {
      this.stack.leave();
    }
  }

  sendto(data: Uint8Array, flags: number, _to?: SockAddr | null): number {
    if (flags & S.MSG_OOB) return -E.EOPNOTSUPP;
    if (this.error) return -this.takeError();
    if (this.shutWrite) return -E.EPIPE;
    switch (this.state) {
      case State.Established:
      case State.CloseWait:
        break;
      case State.SynSent:
      case State.SynRcvd:
        return -E.EAGAIN;
      case State.Listen:
      case State.Closed:
        return this.everConnected ? -E.EPIPE : -E.ENOTCONN;
      default:
        return -E.EPIPE;
    }
    if (data.length === 0) return 0;
    this.autotuneSendBuffer();
    const n = this.sendBuf.append(data);
    if (n === 0) return -E.EAGAIN;
    this.stack.enter();
    try {
      const more = (flags & S.MSG_MORE) !== 0;
      this.output(more);
    } finally {
      this.stack.leave();
    }
    return n;
  }

  recvfrom(buf: Uint8Array, flags: number, from?: SockAddr | null): number {
    if (flags & S.MSG_OOB) return -E.EOPNOTSUPP;
    if (this.state === State.Listen) return -E.ENOTCONN;
    const peek = (flags & S.MSG_PEEK) !== 0;
    if (this.recvBuf.readable > 0 && buf.length > 0) {
      const n = this.recvBuf.read(buf, peek);
      if (from) this.fillPeer(from);
      if (!peek) this.afterRead(n);
      return n;
    }
    if (buf.length === 0 && this.recvBuf.readable > 0) return 0;
    if (this.error) return -this.takeError();
    if (this.finReceived || this.shutRead) return 0;
    if (this.state === State.Closed) return this.everConnected ? 0 : -E.ENOTCONN;
    if (this.state === State.SynSent || this.state === State.SynRcvd) return -E.EAGAIN;
    return -E.EAGAIN;
  }

  private fillPeer(from: SockAddr): void {
    from.family = this.family;
    from.addr = toSocketAddress(this.family, this.remoteAddr);
    from.port = this.remotePort;
  }

  shutdown(how: number): number {
    if (how < 0 || how > 2) return -E.EINVAL;
    switch (this.state) {
      case State.Closed:
      case State.SynSent:
      case State.Listen:
        if (this.state === State.Listen && how !== S.SHUT_WR) {
          this.closeListener();
          return 0;
        }
        if (this.state === State.SynSent) {
          this.stack.enter();
          try {
            this.destroy(0, true);
          } finally {
            this.stack.leave();
          }
          return 0;
        }
        return -E.ENOTCONN;
    }
    this.stack.enter();
    try {
      if (how !== S.SHUT_WR) {
        this.shutRead = true;
      }
      if (how !== S.SHUT_RD) this.closeWrite();
      this.notify();
    } finally {
      this.stack.leave();
    }
    return 0;
  }

  close(): void {
    this.stack.enter();
    try {
      this.orphan = true;
      this.onReadiness = null;
      switch (this.state) {
        case State.Listen:
          this.closeListener();
          return;
        case State.Closed:
          this.release();
          return;
        case State.SynSent:
          this.destroy(0, true);
          return;
        case State.TimeWait:
          return;
      }
      if (this.recvBuf.readable > 0 || (this.lingerOn && this.lingerSec === 0)) {
        // RFC 9293 3.10.4 / RFC 2525: data would be lost, so tell the peer with a reset.
        this.sendRst(this.sndNxt);
        this.destroy(0, true);
        return;
      }
      this.shutRead = true;
      this.closeWrite();
      if (this.state === State.FinWait2) this.armFinTimeout();
    } finally {
      this.stack.leave();
    }
  }

  /** A fresh unconnected socket with this one's options, for a connect after a failed one
   * (Linux's tcp_disconnect lets the same socket try again). Precondition: this socket is
   * Closed; the caller closes it and rebinds the new one if the user had bound it. */
  cloneUnconnected(): TcpSocket {
    const n = this.layer.createSocket(this.family);
    n.v6only = this.v6only;
    n.reuseAddr = this.reuseAddr;
    n.reusePort = this.reusePort;
    n.keepalive = this.keepalive;
    n.nodelay = this.nodelay;
    n.cork = this.cork;
    n.lingerOn = this.lingerOn;
    n.lingerSec = this.lingerSec;
    n.userMss = this.userMss;
    n.ttl = this.ttl;
    n.tos = this.tos;
    n.keepIdleNs = this.keepIdleNs;
    n.keepIntvlNs = this.keepIntvlNs;
    n.keepCnt = this.keepCnt;
    n.synRetries = this.synRetries;
    n.userTimeoutNs = this.userTimeoutNs;
    n.windowClamp = this.windowClamp;
    n.rcvLowat = this.rcvLowat;
    n.rcvbufLocked = this.rcvbufLocked;
    n.sndbufLocked = this.sndbufLocked;
    if (this.rcvbufLocked) n.recvBuf.capacity = this.recvBuf.capacity;
    if (this.sndbufLocked) n.sendBuf.capacity = this.sendBuf.capacity;
    if (this.cc.name !== n.cc.name) {
      n.cc = createCongestionControl(this.cc.name, 536, this.cfg.initialCwndSegments);
    }
    return n;
  }

  getsockname(): SockAddr {
    return {
      family: this.family,
      addr: toSocketAddress(this.family, this.localAddr),
      port: this.localPort,
    };
  }

  getpeername(): SockAddr | number {
    if (
      this.state === State.Closed || this.state === State.Listen || this.state === State.SynSent
    ) {
      if (!(this.state === State.Closed && this.everConnected && this.remotePort)) {
        return -E.ENOTCONN;
      }
    }
    return {
      family: this.family,
      addr: toSocketAddress(this.family, this.remoteAddr),
      port: this.remotePort,
    };
  }

  readiness(): number {
    let m = 0;
    if (this.error) m |= S.POLLERR;
    switch (this.state) {
      case State.Listen:
        return m | (this.acceptQueue.length ? S.POLLIN | S.POLLRDNORM : 0);
      case State.SynSent:
      case State.SynRcvd:
        return m;
    }
    const readShut = this.finReceived || this.shutRead;
    if (this.recvBuf.readable >= this.rcvLowat || this.recvBuf.readable > 0 && readShut) {
      m |= S.POLLIN | S.POLLRDNORM;
    }
    if (readShut) m |= S.POLLIN | S.POLLRDNORM | S.POLLRDHUP;
    if ((readShut && this.shutWrite) || this.state === State.Closed) m |= S.POLLHUP;
    if (this.state === State.Closed) {
      m |= S.POLLIN | S.POLLRDNORM | S.POLLRDHUP;
      if (!this.everConnected) m = (m & ~(S.POLLIN | S.POLLRDNORM | S.POLLRDHUP)) | S.POLLOUT;
    } else if (
      !this.shutWrite && (this.state === State.Established || this.state === State.CloseWait)
    ) {
      const free = this.sendBuf.free;
      if (free > 0 && free >= (this.sendBuf.length >> 1)) m |= S.POLLOUT | S.POLLWRNORM;
    }
    return m;
  }

  pendingInput(): number {
    return this.recvBuf.readable;
  }

  pendingOutput(): number {
    return this.sendBuf.length;
  }

  private takeError(): number {
    const e = this.error;
    this.error = 0;
    return e;
  }

  // ---- Options -------------------------------------------------------------------------------

  setsockopt(level: number, name: number, value: Uint8Array): number {
    const v = S.optInt(value);
    if (level === S.SOL_SOCKET) {
      if (name === S.SO_LINGER) {
        if (value.length < 8) return -E.EINVAL;
        const dv = new DataView(value.buffer, value.byteOffset, 8);
        this.lingerOn = dv.getInt32(0, true) !== 0;
        this.lingerSec = Math.max(0, dv.getInt32(4, true));
        return 0;
      }
      if (v === null) return -E.EINVAL;
      switch (name) {
        case S.SO_REUSEADDR:
          this.reuseAddr = v !== 0;
          return 0;
        case S.SO_REUSEPORT:
          this.reusePort = v !== 0;
          return 0;
        case S.SO_KEEPALIVE:
          this.keepalive = v !== 0;
          if (this.keepalive && this.isSynchronized()) this.armKeepalive();
          return 0;
        case S.SO_RCVBUF:
        case S.SO_RCVBUFFORCE: {
          const size = Math.max(2304, Math.min(Math.max(v, 0), this.cfg.rcvbufMax) * 2);
          this.rcvbufLocked = true;
          // The window may not shrink once advertised; only a larger buffer takes effect then.
          if (this.state === State.Closed || this.state === State.Listen) {
            this.recvBuf.capacity = size;
          } else this.recvBuf.grow(size);
          return 0;
        }
        case S.SO_SNDBUF:
        case S.SO_SNDBUFFORCE:
          this.sndbufLocked = true;
          this.sendBuf.capacity = Math.max(
            4608,
            Math.min(Math.max(v, 0), this.cfg.sndbufMax) * 2,
            this.sendBuf.length,
          );
          return 0;
        case S.SO_RCVLOWAT:
          this.rcvLowat = Math.max(1, v);
          return 0;
        case S.SO_OOBINLINE:
        case S.SO_DEBUG:
        case S.SO_DONTROUTE:
        case S.SO_BROADCAST:
          return 0;
      }
      return -E.ENOPROTOOPT;
    }
    if (level === S.IPPROTO_TCP) {
      if (name === S.TCP_CONGESTION) {
        const nm = new TextDecoder().decode(value).replace(/\0.*$/s, "");
        if (nm !== "cubic" && nm !== "reno") return -E.ENOENT;
        if (nm !== this.cc.name) {
          const next = createCongestionControl(nm, this.sndMss, this.cfg.initialCwndSegments);
          next.cwnd = this.cc.cwnd;
          next.ssthresh = this.cc.ssthresh;
          this.cc = next;
        }
        return 0;
      }
      if (v === null) return -E.EINVAL;
      switch (name) {
        case S.TCP_NODELAY:
          this.nodelay = v !== 0;
          if (this.nodelay) this.kick();
          return 0;
        case S.TCP_CORK:
          this.cork = v !== 0;
          if (!this.cork) this.kick();
          return 0;
        case S.TCP_MAXSEG:
          if (v !== 0 && (v < 88 || v > 65535)) return -E.EINVAL;
          this.userMss = v;
          return 0;
        case S.TCP_KEEPIDLE:
          if (v < 1 || v > 32767) return -E.EINVAL;
          this.keepIdleNs = v * 1e9;
          if (this.keepalive && this.isSynchronized()) this.armKeepalive();
          return 0;
        case S.TCP_KEEPINTVL:
          if (v < 1 || v > 32767) return -E.EINVAL;
          this.keepIntvlNs = v * 1e9;
          return 0;
        case S.TCP_KEEPCNT:
          if (v < 1 || v > 127) return -E.EINVAL;
          this.keepCnt = v;
          return 0;
        case S.TCP_SYNCNT:
          if (v < 1 || v > 127) return -E.EINVAL;
          this.synRetries = v;
          return 0;
        case S.TCP_USER_TIMEOUT:
          if (v < 0) return -E.EINVAL;
          this.userTimeoutNs = v * 1e6;
          return 0;
        case S.TCP_QUICKACK:
          if (v) {
            this.quickAcks = Math.max(this.quickAcks, 16);
            if (this.pendingAckSegs > 0) this.kickAck();
          }
          return 0;
        case S.TCP_WINDOW_CLAMP:
          if (v < 0) return -E.EINVAL;
          this.windowClamp = v;
          return 0;
        case S.TCP_LINGER2:
        case S.TCP_DEFER_ACCEPT:
          return 0;
      }
      return -E.ENOPROTOOPT;
    }
    if (level === S.IPPROTO_IP) {
      switch (name) {
        case S.IP_TTL:
          if (v === null || v < -1 || v === 0 || v > 255) return -E.EINVAL;
          this.ttl = v;
          return 0;
        case S.IP_TOS:
          this.tos = (v ?? 0) & 0xfc;
          return 0;
      }
      return -E.ENOPROTOOPT;
    }
    if (level === S.IPPROTO_IPV6 && this.family === AF_INET6) {
      switch (name) {
        case S.IPV6_V6ONLY:
          if (this.bound) return -E.EINVAL;
          this.v6only = (v ?? 0) !== 0;
          return 0;
        case S.IPV6_UNICAST_HOPS:
          if (v === null || v < -1 || v > 255) return -E.EINVAL;
          this.ttl = v;
          return 0;
        case S.IPV6_TCLASS:
          this.tos = (v ?? 0) & 0xff;
          return 0;
      }
    }
    return -E.ENOPROTOOPT;
  }

  getsockopt(level: number, name: number): Uint8Array | number {
    const iv = S.intValue;
    if (level === S.SOL_SOCKET) {
      switch (name) {
        case S.SO_TYPE:
          return iv(S.SOCK_STREAM);
        case S.SO_PROTOCOL:
          return iv(S.IPPROTO_TCP);
        case S.SO_DOMAIN:
          return iv(this.family);
        case S.SO_ERROR:
          return iv(this.takeError());
        case S.SO_REUSEADDR:
          return iv(this.reuseAddr ? 1 : 0);
        case S.SO_REUSEPORT:
          return iv(this.reusePort ? 1 : 0);
        case S.SO_KEEPALIVE:
          return iv(this.keepalive ? 1 : 0);
        case S.SO_RCVBUF:
          return iv(this.recvBuf.capacity);
        case S.SO_SNDBUF:
          return iv(this.sendBuf.capacity);
        case S.SO_LINGER:
          return S.lingerValue(this.lingerOn, this.lingerSec);
        case S.SO_ACCEPTCONN:
          return iv(this.state === State.Listen ? 1 : 0);
        case S.SO_RCVLOWAT:
          return iv(this.rcvLowat);
        case S.SO_OOBINLINE:
          return iv(0);
      }
      return -E.ENOPROTOOPT;
    }
    if (level === S.IPPROTO_TCP) {
      switch (name) {
        case S.TCP_NODELAY:
          return iv(this.nodelay ? 1 : 0);
        case S.TCP_CORK:
          return iv(this.cork ? 1 : 0);
        case S.TCP_MAXSEG:
          return iv(this.isSynchronized() ? this.sndMss : (this.userMss || this.cfg.defaultMss));
        case S.TCP_KEEPIDLE:
          return iv(Math.round(this.keepIdleNs / 1e9));
        case S.TCP_KEEPINTVL:
          return iv(Math.round(this.keepIntvlNs / 1e9));
        case S.TCP_KEEPCNT:
          return iv(this.keepCnt);
        case S.TCP_SYNCNT:
          return iv(this.synRetries);
        case S.TCP_USER_TIMEOUT:
          return iv(Math.round(this.userTimeoutNs / 1e6));
        case S.TCP_WINDOW_CLAMP:
          return iv(this.windowClamp);
        case S.TCP_QUICKACK:
          return iv(this.quickAcks > 0 ? 1 : 0);
        case S.TCP_CONGESTION: {
          const b = new Uint8Array(16);
          b.set(new TextEncoder().encode(this.cc.name));
          return b;
        }
        case S.TCP_INFO:
          return this.tcpInfo();
      }
      return -E.ENOPROTOOPT;
    }
    if (level === S.IPPROTO_IP) {
      if (name === S.IP_TTL) return iv(this.ttl < 0 ? 64 : this.ttl);
      if (name === S.IP_TOS) return iv(this.tos);
      return -E.ENOPROTOOPT;
    }
    if (level === S.IPPROTO_IPV6 && this.family === AF_INET6) {
      if (name === S.IPV6_V6ONLY) return iv(this.v6only ? 1 : 0);
      if (name === S.IPV6_UNICAST_HOPS) return iv(this.ttl < 0 ? 64 : this.ttl);
      if (name === S.IPV6_TCLASS) return iv(this.tos);
    }
    return -E.ENOPROTOOPT;
  }

  /** struct tcp_info, the fields up to tcpi_total_retrans (104 bytes) that Linux fills. */
  tcpInfo(): Uint8Array {
    const b = new Uint8Array(104);
    const v = new DataView(b.buffer);
    v.setUint8(0, this.state);
    v.setUint8(1, this.inRecovery ? 3 : 0); // ca_state: TCP_CA_Recovery
    v.setUint8(2, this.backoff);
    v.setUint8(3, this.keepProbes);
    v.setUint8(4, this.backoff);
    v.setUint8(5, (this.tsOk ? 1 : 0) | (this.sackOk ? 2 : 0) | (this.wsOk ? 4 : 0));
    v.setUint8(6, (this.sndWs & 0xf) | ((this.rcvWs & 0xf) << 4));
    const us = (ns: number) => Math.min(0xffffffff, Math.round(ns / 1000));
    v.setUint32(8, us(this.rtt.rto), true);
    v.setUint32(12, us(this.cfg.delayedAckNs), true);
    v.setUint32(16, this.sndMss, true);
    v.setUint32(20, this.sndMss, true);
    v.setUint32(24, this.sb.count, true); // unacked
    v.setUint32(28, 0, true);
    v.setUint32(32, 0, true);
    v.setUint32(36, 0, true);
    v.setUint32(40, 0, true);
    v.setUint32(44, us(this.stack.now - this.lastSendTime) / 1000 | 0, true);
    v.setUint32(52, us(this.stack.now - this.lastRecvTime) / 1000 | 0, true);
    v.setUint32(60, this.route ? this.route.mtu : 0, true);
    v.setUint32(64, this.recvBuf.capacity, true);
    v.setUint32(68, us(this.rtt.srtt), true);
    v.setUint32(72, us(this.rtt.rttvar), true);
    v.setUint32(76, Math.min(0x7fffffff, Math.floor(this.cc.ssthresh / this.sndMss)), true);
    v.setUint32(80, Math.floor(this.cc.cwnd / this.sndMss), true);
    v.setUint32(84, this.advertisedMss(), true);
    v.setUint32(88, 3, true);
    v.setUint32(92, this.recvBuf.capacity, true);
    v.setUint32(96, this.recvBuf.window, true);
    v.setUint32(100, this.retransTotal, true);
    return b;
  }

  // ==== Connection set-up ===================================================================

  private advertisedMss(): number {
    const mtu = this.route ? this.route.mtu : 1500;
    let mss = Math.min(mtu, 65535) - (this.remoteAddr.length === 4 ? 40 : 60);
    if (this.userMss) mss = Math.min(mss, this.userMss);
    return Math.max(mss, 88);
  }

  /** Sets sndMss from the path MTU, the peer's MSS and our header options. */
  setupMss(): void {
    const hdr = this.remoteAddr.length === 4 ? 40 : 60;
    const mtu = this.route ? this.route.mtu : 1500;
    let mss = Math.min(this.peerMss, Math.min(mtu, 65535) - hdr);
    if (this.userMss) mss = Math.min(mss, this.userMss);
    if (this.tsOk) mss -= TS_OPTION_SPACE;
    this.sndMss = Math.max(mss, 64);
    this.cc.setMss(this.sndMss);
  }

  private chooseWindowScale(): void {
    let ws = 0;
    const max = this.rcvbufLocked
      ? this.recvBuf.capacity
      : Math.max(this.cfg.rcvbufMax, this.recvBuf.capacity);
    while (ws < 14 && (max >> ws) > 65535) ws++;
    this.rcvWs = this.cfg.windowScaling ? ws : 0;
  }

  /** Initialises a child of `listener` from a SYN (passive open). */
  acceptSyn(
    listener: TcpSocket,
    seg: Segment,
    local: IPAddress,
    remote: IPAddress,
    route: Route,
  ): void {
    this.parent = listener;
    this.localAddr = local.slice();
    this.localPort = seg.dstPort;
    this.remoteAddr = remote.slice();
    this.remotePort = seg.srcPort;
    this.route = route;
    this.nodelay = listener.nodelay;
    this.keepalive = listener.keepalive;
    this.keepIdleNs = listener.keepIdleNs;
    this.keepIntvlNs = listener.keepIntvlNs;
    this.keepCnt = listener.keepCnt;
    this.userMss = listener.userMss;
    this.ttl = listener.ttl;
    this.tos = listener.tos;
    this.v6only = listener.v6only;
    this.lingerOn = listener.lingerOn;
    this.lingerSec = listener.lingerSec;
    if (listener.rcvbufLocked) {
      this.rcvbufLocked = true;
      this.recvBuf.capacity = listener.recvBuf.capacity;
    }
    if (listener.sndbufLocked) {
      this.sndbufLocked = true;
      this.sendBuf.capacity = listener.sendBuf.capacity;
    }
    this.everConnected = true;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.iss = this.stack.isn(this.localAddr, this.localPort, this.remoteAddr, this.remotePort);
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.negotiate(seg);
    this.sndWnd = seg.window; // never scaled in a SYN
    this.sndWl1 = seg.seq;
    this.sndWl2 = this.iss;
    this.maxSndWnd = this.sndWnd;
    this.state = State.SynRcvd;
    this.lastRecvTime = this.stack.now;
    this.sendSyn(true);
    this.armRto();
  }

  private negotiate(seg: Segment): void {
    this.peerMss = seg.hasMss
      ? Math.max(seg.mss, 64)
      : (this.remoteAddr.length === 4 ? this.cfg.defaultMss : 1220);
    if (seg.hasWs && this.cfg.windowScaling) {
      this.wsOk = true;
      this.sndWs = seg.ws;
      if (this.state !== State.SynSent) this.chooseWindowScale();
    } else {
      this.wsOk = false;
      this.sndWs = 0;
      this.rcvWs = 0;
    }
    this.sackOk = seg.sackPermitted && this.cfg.sack;
    this.tsOk = seg.hasTs && this.cfg.timestamps;
    if (this.tsOk) {
      this.tsRecent = seg.tsVal;
      if (this.state !== State.SynSent) this.tsOffset = this.stack.randomU32();
    }
    this.setupMss();
  }

  private sendSyn(withAck: boolean): void {
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    let p = o + TCP_HLEN;
    b[p++] = OPT_MSS;
    b[p++] = 4;
    const mss = this.advertisedMss();
    b[p++] = mss >> 8;
    b[p++] = mss & 0xff;
    const active = !withAck;
    if (active ? this.cfg.sack : this.sackOk) {
      b[p++] = OPT_SACK_PERM;
      b[p++] = 2;
    } else {
      b[p++] = OPT_NOP;
      b[p++] = OPT_NOP;
    }
    if (active ? this.cfg.timestamps : this.tsOk) {
      b[p++] = OPT_TS;
      b[p++] = 10;
      put32(b, p, this.tsNow());
      put32(b, p + 4, active ? 0 : this.tsRecent);
      p += 8;
    }
    if (active ? this.cfg.windowScaling : this.wsOk) {
      b[p++] = OPT_NOP;
      b[p++] = OPT_WS;
      b[p++] = 3;
      b[p++] = this.rcvWs;
    }
    while ((p - o) & 3) b[p++] = OPT_NOP;
    const hlen = p - o;
    const window = Math.min(this.recvBuf.window, 65535);
    this.rcvAdvEdge = seqAdd(this.rcvNxt, window);
    writeHeader(
      b,
      o,
      this.localPort,
      this.remotePort,
      this.iss,
      withAck ? this.rcvNxt : 0,
      hlen,
      withAck ? SYN | ACK : SYN,
      window,
    );
    this.transmit(hlen);
  }

  private tsNow(): number {
    return (Math.floor(this.stack.now / 1e6) + this.tsOffset) >>> 0;
  }

  // ==== Output ==============================================================================

  /** Checksums and sends the segment of `len` bytes built at TX_L4_OFFSET. */
  private transmit(len: number, gsoMss = 0): void {
    const route = this.route;
    if (!route) return;
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    // A super-frame's checksum is finished by the host as it cuts the segments.
    if (!route.nic.link.checksumOffload && gsoMss === 0) {
      const c = finishChecksum(sumBytes(b, o, len, pseudoHeaderSum(route.src, route.dst, 6, len)));
      b[o + 16] = c >> 8;
      b[o + 17] = c & 0xff;
    }
    this.lastSendTime = this.stack.now;
    const ttl = this.ttl >= 0 ? this.ttl : 64;
    const r = this.stack.ipOutput(route, 6, b, o, len, ttl, this.tos, true, gsoMss);
    if (r === -E.EMSGSIZE) this.stack.stats.inc("tcp.emsgsize");
  }

  /** The window field for an outgoing segment; remembers the right edge it promises. */
  private windowField(): number {
    let wnd = this.recvBuf.window;
    if (this.windowClamp && wnd > this.windowClamp) wnd = this.windowClamp;
    const promised = seqDiff(this.rcvAdvEdge, this.rcvNxt);
    if (wnd < promised) wnd = promised; // never move the right edge left (RFC 7323 2.4)
    const field = Math.min(wnd >>> this.rcvWs, 65535);
    const edge = seqAdd(this.rcvNxt, field << this.rcvWs);
    if (seqGT(edge, this.rcvAdvEdge)) this.rcvAdvEdge = edge;
    return field;
  }

  /** Writes timestamp and SACK options after the fixed header; returns the header length. */
  private writeOptions(withSack: boolean): number {
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    let p = o + TCP_HLEN;
    if (this.tsOk) {
      b[p++] = OPT_NOP;
      b[p++] = OPT_NOP;
      b[p++] = OPT_TS;
      b[p++] = 10;
      put32(b, p, this.tsNow());
      put32(b, p + 4, this.tsRecent);
      p += 8;
    }
    if (withSack && this.sackOk && this.recvBuf.ooo.length) {
      const max = this.tsOk ? 3 : 4;
      const n = this.recvBuf.sackBlocks(this.sackScratch, max);
      if (n > 0) {
        b[p++] = OPT_NOP;
        b[p++] = OPT_NOP;
        b[p++] = OPT_SACK;
        b[p++] = 2 + 8 * n;
        for (let i = 0; i < n; i++) {
          put32(b, p, this.sackScratch[2 * i]);
          put32(b, p + 4, this.sackScratch[2 * i + 1]);
          p += 8;
        }
      }
    }
    return p - o;
  }

  /** Sends a segment carrying send-buffer bytes [seq, seq+len) and maybe FIN. */
  private sendData(seq: number, len: number, fin: boolean, push: boolean, gsoMss = 0): void {
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    const hlen = this.writeOptions(true);
    if (len > 0) this.sendBuf.copy(seqDiff(seq, this.sndUna), b, o + hlen, len);
    let flags = ACK;
    if (fin) flags |= FIN;
    if (push) flags |= PSH;
    writeHeader(
      b,
      o,
      this.localPort,
      this.remotePort,
      seq,
      this.rcvNxt,
      hlen,
      flags,
      this.windowField(),
    );
    this.ackSent();
    this.transmit(hlen + len, len > gsoMss ? gsoMss : 0);
  }

  /** Sends a bare ACK (also window updates, duplicate ACKs with SACK, challenge ACKs). */
  sendAck(): void {
    if (!this.route) return;
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    const hlen = this.writeOptions(true);
    writeHeader(
      b,
      o,
      this.localPort,
      this.remotePort,
      this.sndNxt,
      this.rcvNxt,
      hlen,
      ACK,
      this.windowField(),
    );
    this.ackSent();
    this.transmit(hlen);
  }

  private ackSent(): void {
    this.pendingAckSegs = 0;
    this.ackNow = false;
    this.lastAckSent = this.rcvNxt;
    if (this.delackTimer.armed) this.stack.timers.cancel(this.delackTimer);
  }

  sendRst(seq: number): void {
    if (!this.route) return;
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    writeHeader(b, o, this.localPort, this.remotePort, seq, this.rcvNxt, TCP_HLEN, RST | ACK, 0);
    this.transmit(TCP_HLEN);
  }

  /** Bytes in flight per RFC 6675's pipe: outstanding, less SACKed and lost-not-resent. */
  inFlight(): number {
    const outstanding = seqDiff(this.sndNxt, this.sndUna);
    return Math.max(0, outstanding - this.sb.sackedBytes - this.sb.lostBytes);
  }

  private kick(): void {
    this.stack.enter();
    try {
      this.output(false);
    } finally {
      this.stack.leave();
    }
  }

  private kickAck(): void {
    this.stack.enter();
    try {
      this.sendAck();
    } finally {
      this.stack.leave();
    }
  }

  /** Sends what the windows allow: retransmissions of lost segments first, then new data,
   * then FIN; and a pure ACK if one is owed and nothing carried it. */
  output(more = false): void {
    const st = this.state;
    if (
      st !== State.Established && st !== State.CloseWait && st !== State.FinWait1 &&
      st !== State.Closing && st !== State.LastAck
    ) {
      if (this.ackNow && this.isSynchronized()) this.sendAck();
      return;
    }
    const now = this.stack.now;
    const cwnd = Math.max(this.cc.cwnd, this.sndMss);
    let sentSomething = false;
    // 1. Retransmit segments judged lost.
    if (this.sb.lostBytes > 0) {
      for (let i = 0; i < this.sb.count; i++) {
        const r = this.sb.at(i);
        if (!(r.flags & LOST)) continue;
        if (this.inFlight() + r.length > cwnd && this.inFlight() > 0) break;
        this.retransmit(r, now);
        sentSomething = true;
      }
    }
    // 2. New data.
    this.cwndLimited = false;
    for (;;) {
      const offset = seqDiff(this.sndNxt, this.sndUna);
      const avail = this.sendBuf.length - offset;
      const wndLeft = this.sndWnd - offset;
      if (avail <= 0) {
        if (this.finQueued && !this.finSent) {
          if (this.inFlight() >= cwnd && this.inFlight() > 0) break;
          this.sendData(this.sndNxt, 0, true, false);
          this.recordSent(0, true, now);
          sentSomething = true;
        }
        break;
      }
      let len = Math.min(this.sndMss, avail);
      if (wndLeft < len) {
        if (
          wndLeft <= 0 || (wndLeft < this.sndMss && wndLeft < (this.maxSndWnd >> 1) && offset > 0)
        ) {
          // Sender SWS avoidance; the persist timer covers a window that stays shut.
          if (seqDiff(this.sndNxt, this.sndUna) === 0 && this.sndWnd === 0) this.armPersist();
          break;
        }
        len = wndLeft;
      }
      const flight = this.inFlight();
      if (flight + len > cwnd) {
        if (flight > 0) {
          this.cwndLimited = true;
          break;
        }
      }
      // Segmentation offload: several full segments in one frame when the link takes them.
      let gso = 0;
      const gsoMax = this.route!.nic.link.gsoMaxSize ?? 0;
      if (gsoMax > 0 && len === this.sndMss && avail > this.sndMss) {
        const maxSegs = Math.floor((gsoMax - 14 - 60 - 60) / this.sndMss);
        let big = Math.min(
          avail,
          wndLeft,
          maxSegs * this.sndMss,
          Math.max(cwnd - flight, this.sndMss),
        );
        big -= big % this.sndMss;
        if (big > len) {
          len = big;
          gso = this.sndMss;
        }
      }
      const last = len === avail;
      if (len < this.sndMss && last && offset > 0) {
        // Nagle (RFC 896) holds a small segment while data is unacknowledged; TCP_CORK and
        // MSG_MORE hold it regardless.
        if (!this.nodelay && !(this.finQueued)) break;
      }
      if (len < this.sndMss && last && (this.cork || more) && !this.finQueued) break;
      const fin = last && this.finQueued && !this.finSent;
      this.sendData(this.sndNxt, len, fin, last, gso);
      if (gso) {
        // Keep the scoreboard at segment granularity, as the wire will see it.
        for (let done = 0; done < len; done += gso) {
          const piece = Math.min(gso, len - done);
          this.recordSent(piece, fin && done + piece === len, now);
        }
      } else this.recordSent(len, fin, now);
      sentSomething = true;
    }
    if (sentSomething) this.armAfterSend();
    if (this.ackNow) this.sendAck();
  }

  private recordSent(len: number, fin: boolean, now: number): void {
    const start = this.sndNxt;
    const end = seqAdd(start, len + (fin ? 1 : 0));
    this.sb.push(start, end, now, fin);
    this.sndNxt = end;
    if (fin) {
      this.finSent = true;
      this.finSeq = start + len;
    }
  }

  private retransmit(r: SegRecord, now: number): void {
    // The MSS may have shrunk (path MTU) since the segment was first sent.
    const dataLen = r.length - ((r.flags & HAS_FIN) ? 1 : 0);
    if (dataLen > this.sndMss) this.sb.split(r, seqAdd(r.start, this.sndMss));
    const fin = (r.flags & HAS_FIN) !== 0;
    const len = r.length - (fin ? 1 : 0);
    // A record may start below SND.UNA only if it was trimmed; ackTo keeps that from happening.
    this.sendData(r.start, Math.max(0, len), fin, true);
    this.sb.markRetransmitted(r, now);
    this.retransTotal++;
    if (!this.firstRtxTime) this.firstRtxTime = now;
  }

  // ==== Timers ==============================================================================

  private armTimer(mode: RtxMode, at: number): void {
    this.rtxMode = mode;
    this.stack.timers.arm(this.rtxTimer, at);
  }

  private armRto(): void {
    const rto = Math.min(this.rtt.rto * Math.pow(2, this.backoff), this.cfg.maxRtoNs);
    this.armTimer(RtxMode.Rto, this.stack.now + rto);
  }

  private armPersist(): void {
    if (this.rtxTimer.armed && this.rtxMode === RtxMode.Persist) return;
    const t = Math.min(
      Math.max(this.rtt.rto, this.cfg.minRtoNs) * Math.pow(2, this.backoff),
      this.cfg.maxRtoNs,
    );
    this.armTimer(RtxMode.Persist, this.stack.now + t);
  }

  /** After sending: a tail-loss probe while all is well, else the retransmission timer. */
  private armAfterSend(): void {
    if (seqDiff(this.sndNxt, this.sndUna) === 0) return;
    if (
      this.cfg.tlp && !this.inRecovery && !this.tlpOutstanding && this.rtt.samples > 0 &&
      this.backoff === 0
    ) {
      let pto = 2 * this.rtt.srtt;
      if (this.sb.count === 1) pto += Math.max(this.cfg.delayedAckNs * 5, 200e6) / 1; // WCDelAckT
      pto = Math.max(pto, 10e6);
      const rtoAt = this.stack.now + this.rtt.rto;
      const at = Math.min(this.stack.now + pto, rtoAt);
      if (!this.rtxTimer.armed || this.rtxMode !== RtxMode.Tlp || at < this.rtxTimer.deadline) {
        this.armTimer(RtxMode.Tlp, at);
      }
      return;
    }
    if (!this.rtxTimer.armed || this.rtxMode === RtxMode.Persist || this.rtxMode === RtxMode.None) {
      this.armRto();
    }
  }

  private onRtxTimer(now: number): void {
    this.stack.enter();
    try {
      const mode = this.rtxMode;
      this.rtxMode = RtxMode.None;
      switch (this.state) {
        case State.SynSent:
        case State.SynRcvd:
          return this.synTimeout();
        case State.Closed:
        case State.Listen:
        case State.TimeWait:
          return;
      }
      if (mode === RtxMode.Persist) return this.persistProbe();
      if (seqDiff(this.sndNxt, this.sndUna) === 0) return;
      if (mode === RtxMode.Tlp) return this.tailLossProbe(now);
      if (mode === RtxMode.Reorder) {
        this.rackDetect(now);
        if (this.sb.lostBytes > 0) this.enterRecovery(now);
        this.output();
        if (!this.rtxTimer.armed) this.armRto();
        return;
      }
      this.retransmitTimeout(now);
    } finally {
      this.stack.leave();
    }
  }

  private synTimeout(): void {
    const limit = this.state === State.SynSent ? this.synRetries : this.cfg.synAckRetries;
    if (this.backoff >= limit) {
      if (this.state === State.SynSent) this.destroy(E.ETIMEDOUT, false);
      else this.destroy(0, false);
      return;
    }
    this.backoff++;
    this.retransTotal++;
    // RFC 6298 5.7: after a lost SYN the data-phase RTO starts at 3 s... Linux keeps 1 s.
    this.sendSyn(this.state === State.SynRcvd);
    this.armRto();
  }

  private retransmitTimeout(now: number): void {
    const limitReached = this.userTimeoutNs > 0
      ? this.firstRtxTime > 0 && now - this.firstRtxTime >= this.userTimeoutNs
      : this.backoff >= this.cfg.retries2;
    if (limitReached) {
      this.sendRst(this.sndNxt);
      this.destroy(E.ETIMEDOUT, false);
      return;
    }
    this.backoff++;
    this.cc.onRto(now, this.inFlight());
    this.sb.markAllLost();
    this.inRecovery = false;
    this.tlpOutstanding = false;
    this.recoveryPoint = this.sndNxt;
    this.dupAcks = 0;
    this.stack.stats.inc("tcp.rto");
    // Retransmit the first lost segment now (cwnd is one segment).
    for (let i = 0; i < this.sb.count; i++) {
      const r = this.sb.at(i);
      if (r.flags & LOST) {
        this.retransmit(r, now);
        break;
      }
    }
    this.armRto();
  }

  private tailLossProbe(now: number): void {
    this.tlpOutstanding = true;
    this.stack.stats.inc("tcp.tlp");
    const offset = seqDiff(this.sndNxt, this.sndUna);
    const avail = this.sendBuf.length - offset;
    if (avail > 0 && this.sndWnd - offset > 0) {
      const len = Math.min(this.sndMss, avail, this.sndWnd - offset);
      const fin = len === avail && this.finQueued && !this.finSent;
      this.sendData(this.sndNxt, len, fin, true);
      this.recordSent(len, fin, now);
    } else {
      const last = this.sb.last();
      if (last) this.retransmit(last, now);
    }
    this.armRto();
  }

  private persistProbe(): void {
    if (this.sndWnd > 0 || this.sendBuf.length === 0) return;
    // A zero-window probe: an old sequence number elicits an ACK with the current window.
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    const hlen = this.writeOptions(false);
    writeHeader(
      b,
      o,
      this.localPort,
      this.remotePort,
      seqAdd(this.sndUna, -1),
      this.rcvNxt,
      hlen,
      ACK,
      this.windowField(),
    );
    this.transmit(hlen);
    this.backoff = Math.min(this.backoff + 1, 15);
    this.stack.stats.inc("tcp.zeroWindowProbe");
    this.armPersist();
  }

  private onDelackTimer(): void {
    if (!this.isSynchronized() || this.pendingAckSegs === 0) return;
    this.stack.enter();
    try {
      this.sendAck();
    } finally {
      this.stack.leave();
    }
  }

  private armKeepalive(): void {
    if (!this.keepalive) return;
    this.stack.timers.arm(
      this.miscTimer,
      Math.max(this.lastRecvTime, this.stack.now - this.keepIdleNs) + this.keepIdleNs,
    );
  }

  private armFinTimeout(): void {
    this.stack.timers.arm(this.miscTimer, this.stack.now + this.cfg.finTimeoutNs);
  }

  private onMiscTimer(now: number): void {
    this.stack.enter();
    try {
      switch (this.state) {
        case State.TimeWait:
          this.destroy(0, false);
          return;
        case State.FinWait2:
          if (this.orphan) {
            this.destroy(0, false);
            return;
          }
          break;
        case State.Established:
        case State.CloseWait:
          break;
        default:
          return;
      }
      if (!this.keepalive) return;
      const idle = now - this.lastRecvTime;
      if (seqDiff(this.sndNxt, this.sndUna) > 0 || this.sendBuf.length > 0) {
        // Data outstanding: the retransmission timer watches the peer.
        this.stack.timers.arm(this.miscTimer, now + this.keepIdleNs);
        return;
      }
      if (idle < this.keepIdleNs && this.keepProbes === 0) {
        this.stack.timers.arm(this.miscTimer, this.lastRecvTime + this.keepIdleNs);
        return;
      }
      if (this.keepProbes >= this.keepCnt) {
        this.sendRst(this.sndNxt);
        this.destroy(E.ETIMEDOUT, false);
        return;
      }
      this.keepProbes++;
      this.stack.stats.inc("tcp.keepaliveProbe");
      const b = this.stack.txBuf;
      const o = TX_L4_OFFSET;
      const hlen = this.writeOptions(false);
      writeHeader(
        b,
        o,
        this.localPort,
        this.remotePort,
        seqAdd(this.sndUna, -1),
        this.rcvNxt,
        hlen,
        ACK,
        this.windowField(),
      );
      this.transmit(hlen);
      this.stack.timers.arm(this.miscTimer, now + this.keepIntvlNs);
    } finally {
      this.stack.leave();
    }
  }

  // ==== Input ===============================================================================

  isSynchronized(): boolean {
    return this.state !== State.Closed && this.state !== State.Listen &&
      this.state !== State.SynSent;
  }

  /** Processes one segment addressed to this connection. Precondition: the checksum was
   * verified and the segment parsed; `seg.data` is a view valid during the call. */
  receive(seg: Segment): void {
    const now = this.stack.now;
    if (this.state === State.SynSent) return this.receiveInSynSent(seg);
    if (this.state === State.Closed || this.state === State.Listen) return;
    const flags = seg.flags;
    // PAWS (RFC 7323 5.3): drop old duplicates by timestamp.
    // Pure ACKs are exempt, as Linux exempts "disordered ACKs": reordered ACKs are common and
    // the ACK acceptability test below already bounds what they can do.
    if (
      this.tsOk && seg.hasTs && !(flags & RST) && seqLT(seg.tsVal, this.tsRecent) &&
      this.state !== State.SynRcvd && seg.seqLength > 0
    ) {
      this.stack.stats.inc("tcp.pawsDrop");
      if (seg.seqLength > 0) this.challengeAck();
      return;
    }
    // Sequence acceptability (RFC 9293 3.10.7.4).
    const wnd = seqDiff(this.rcvAdvEdge, this.rcvNxt) > 0
      ? seqDiff(this.rcvAdvEdge, this.rcvNxt)
      : 0;
    const segLen = seg.seqLength;
    let acceptable: boolean;
    if (segLen === 0) {
      acceptable = wnd === 0
        ? seg.seq === this.rcvNxt
        : inWindow(seg.seq, this.rcvNxt, wnd) || seg.seq === this.rcvNxt;
    } else if (wnd === 0) {
      acceptable = false;
    } else {
      acceptable = inWindow(seg.seq, this.rcvNxt, wnd) ||
        inWindow(seqAdd(seg.seq, segLen - 1), this.rcvNxt, wnd) ||
        (seqLT(seg.seq, this.rcvNxt) && seqGT(seqAdd(seg.seq, segLen), this.rcvNxt));
    }
    if (this.state === State.TimeWait && (flags & SYN) && !(flags & ACK) && !(flags & RST)) {
      // A new connection attempt on a TIME_WAIT 4-tuple; the layer decides (RFC 6191 style).
      return;
    }
    if (!acceptable) {
      // A zero window still accepts ACK information from segments at RCV.NXT.
      if (!(wnd === 0 && seg.seq === this.rcvNxt && (flags & ACK) && !(flags & (RST | SYN)))) {
        if (!(flags & RST)) {
          this.stack.stats.inc("tcp.outOfWindow");
          if (this.state === State.TimeWait && (flags & FIN)) this.restartTimeWait();
          this.challengeAck();
        }
        return;
      }
    }
    this.lastRecvTime = now;
    this.keepProbes = 0;
    // RST (RFC 5961 3.2): only the exact next sequence number resets; others in the window
    // get a challenge ACK.
    if (flags & RST) {
      if (seg.seq !== this.rcvNxt) {
        this.stack.stats.inc("tcp.rstChallenged");
        this.challengeAck();
        return;
      }
      this.stack.stats.inc("tcp.rstReceived");
      switch (this.state) {
        case State.SynRcvd:
          if (this.parent) return this.destroy(0, false); // back to LISTEN, silently
          return this.destroy(E.ECONNREFUSED, false);
        case State.Closing:
        case State.LastAck:
        case State.TimeWait:
          return this.destroy(0, false);
        default:
          return this.destroy(this.state === State.CloseWait ? E.EPIPE : E.ECONNRESET, false);
      }
    }
    // SYN in a synchronized state (RFC 5961 4.2): challenge ACK. A retransmitted SYN in
    // SYN-RECEIVED gets the SYN-ACK again.
    if (flags & SYN) {
      if (this.state === State.SynRcvd && seg.seq === this.irs && !(flags & ACK)) {
        this.sendSyn(true);
        return;
      }
      this.stack.stats.inc("tcp.synChallenged");
      this.challengeAck();
      return;
    }
    if (!(flags & ACK)) return;
    // Timestamps: remember the peer's clock (RFC 7323 4.3).
    if (this.tsOk && seg.hasTs && seqLE(seg.seq, this.lastAckSent)) this.tsRecent = seg.tsVal;
    if (this.state === State.SynRcvd) {
      if (!(seqLT(this.sndUna, seg.ack) && seqLE(seg.ack, this.sndNxt))) {
        this.layer.sendRstFor(
          this.route!,
          this.localAddr,
          this.localPort,
          this.remoteAddr,
          this.remotePort,
          seg.ack,
          0,
          false,
        );
        return;
      }
      if (this.parent && !this.parent.canAcceptChild()) {
        // Accept queue full: act as if the ACK was lost; the SYN-ACK timer retries.
        this.stack.stats.inc("tcp.acceptQueueFull");
        return;
      }
      this.establish(seg);
    }
    if (!this.processAck(seg, now)) return;
    // Data and FIN.
    if (seg.data.length > 0 || (flags & FIN)) {
      switch (this.state) {
        case State.Established:
        case State.FinWait1:
        case State.FinWait2:
          if (seg.data.length > 0 && this.orphan && this.shutRead) {
            // Nobody will read it: RFC 9293 says reset (Linux: LINUX_MIB_TCPABORTONDATA).
            this.sendRst(this.sndNxt);
            return this.destroy(0, false);
          }
          this.receiveData(seg);
          break;
        case State.TimeWait:
          if (flags & FIN) {
            this.ackNow = true;
            this.restartTimeWait();
          }
          break;
        default:
          // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; ignore and re-ACK.
          if (seqGT(seqAdd(seg.seq, segLen), this.rcvNxt)) this.stack.stats.inc("tcp.dataAfterFin");
          this.ackNow = true;
      }
    }
    if ((this.state as State) === State.Closed) return;
    this.output();
    if (this.pendingAckSegs > 0 && !this.delackTimer.armed && !this.ackNow) {
      this.stack.timers.arm(this.delackTimer, now + this.cfg.delayedAckNs);
    }
  }

  private receiveInSynSent(seg: Segment): void {
    const flags = seg.flags;
    if (flags & ACK) {
      if (seqLE(seg.ack, this.iss) || seqGT(seg.ack, this.sndNxt)) {
        if (!(flags & RST)) {
          this.layer.sendRstFor(
            this.route!,
            this.localAddr,
            this.localPort,
            this.remoteAddr,
            this.remotePort,
            seg.ack,
            0,
            false,
          );
        }
        return;
      }
    }
    if (flags & RST) {
      if (flags & ACK) this.destroy(E.ECONNREFUSED, false);
      return;
    }
    if (!(flags & SYN)) return;
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    // Our SYN promised a window before RCV.NXT was known: anchor that promise now.
    this.rcvAdvEdge = seqAdd(this.rcvNxt, Math.min(this.recvBuf.window, 65535));
    this.negotiate(seg);
    this.lastRecvTime = this.stack.now;
    if (flags & ACK) {
      this.sndWnd = seg.window << this.sndWs;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.maxSndWnd = this.sndWnd;
      // The SYN-ACK's timestamp echo or the SYN's send time gives the first RTT sample.
      if (this.backoff === 0) this.rtt.sample(this.stack.now - this.lastSendTime, this.stack.now);
      this.sndUna = seg.ack;
      this.backoff = 0;
      this.stack.timers.cancel(this.rtxTimer);
      this.state = State.Established;
      this.cc = createCongestionControl(this.cc.name, this.sndMss, this.cfg.initialCwndSegments);
      this.armKeepalive();
      this.ackNow = true;
      this.notify();
      if (seg.data.length > 0) this.receiveData(seg);
      this.output();
      return;
    }
    // Simultaneous open (RFC 9293 3.5 figure 8).
    this.state = State.SynRcvd;
    this.sndWnd = seg.window;
    this.sndWl1 = seg.seq;
    this.sendSyn(true);
    this.armRto();
  }

  private establish(seg: Segment): void {
    this.state = State.Established;
    this.sndWnd = seg.window << this.sndWs;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.maxSndWnd = this.sndWnd;
    if (this.backoff === 0) this.rtt.sample(this.stack.now - this.lastSendTime, this.stack.now);
    this.backoff = 0;
    this.cc = createCongestionControl(this.cc.name, this.sndMss, this.cfg.initialCwndSegments);
    this.armKeepalive();
    const parent = this.parent;
    if (parent) {
      parent.synQueue--;
      parent.acceptQueue.push(this);
      parent.notify();
    }
    this.notify();
  }

  canAcceptChild(): boolean {
    return this.state === State.Listen && this.acceptQueue.length <= this.backlog;
  }

  /** ACK processing; false when the segment must not be processed further. */
  private processAck(seg: Segment, now: number): boolean {
    const ack = seg.ack;
    // RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
    if (seqGT(ack, this.sndNxt)) {
      this.stack.stats.inc("tcp.ackTooNew");
      this.challengeAck();
      return false;
    }
    if (seqLT(ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.stack.stats.inc("tcp.ackTooOld");
      this.challengeAck();
      return false;
    }
    const window = seg.window << this.sndWs;
    const ackedSomething = seqGT(ack, this.sndUna);
    let rackUpdated = false;
    // SACK blocks: accept only blocks within (SND.UNA, SND.NXT].
    if (this.sackOk && seg.sackCount > 0) {
      for (let i = 0; i < seg.sackCount; i++) {
        const s = seg.sack[2 * i], e = seg.sack[2 * i + 1];
        if (!seqLT(s, e) || seqLE(e, ack) || seqGT(e, this.sndNxt) || seqLT(s, this.sndUna)) {
          continue;
        }
        this.sb.sack(s, e, (r) => {
          if (this.rackUpdate(r, now)) rackUpdated = true;
        });
      }
    }
    if (ackedSomething) {
      let rttSample = -1;
      let acked = 0;
      let ackedRetransmitted = false;
      this.sb.ackTo(ack, (r, bytes) => {
        acked += bytes;
        if (r.flags & RETRANS) ackedRetransmitted = true;
        if (bytes === r.length && !(r.flags & SACKED)) {
          // The newest segment this ACK covers is the one that triggered it.
          if (!(r.flags & RETRANS)) rttSample = now - r.xmit;
          if (this.rackUpdate(r, now)) rackUpdated = true;
        }
      });
      // Karn: an ACK covering retransmitted data says nothing certain about the RTT.
      if (ackedRetransmitted) rttSample = -1;
      if (rttSample < 0 && this.tsOk && seg.hasTs && seg.tsEcr !== 0) {
        rttSample = (((this.tsNow() - seg.tsEcr) >>> 0) % 0x80000000) * 1e6;
      }
      if (rttSample >= 0) this.rtt.sample(rttSample, now);
      const dataAcked = seqDiff(ack, this.sndUna) -
        (this.finSent && seqGT(ack, this.finSeq) ? 1 : 0);
      this.sendBuf.consume(dataAcked);
      this.sndUna = ack;
      this.backoff = 0;
      this.firstRtxTime = 0;
      this.dupAcks = 0;
      this.tlpOutstanding = false;
      if (this.inRecovery) {
        if (seqGE(ack, this.recoveryPoint)) {
          this.inRecovery = false;
          this.cc.exitRecovery();
        } else if (!this.sackOk && this.sb.count > 0) {
          // NewReno partial ACK (RFC 6582): the next hole was lost too.
          this.sb.markLost(this.sb.at(0));
        }
      } else {
        this.cc.onAck(
          acked,
          now,
          this.rtt.minRtt,
          this.cwndLimited || this.inFlight() + this.sndMss >= this.cc.cwnd,
        );
      }
      if (seqDiff(this.sndNxt, this.sndUna) === 0) {
        this.stack.timers.cancel(this.rtxTimer);
        this.sb.clear();
      } else {
        this.armRto();
      }
      this.notify();
    } else if (
      seg.data.length === 0 && !(seg.flags & FIN) && window === this.sndWnd &&
      seqDiff(this.sndNxt, this.sndUna) > 0 && ack === this.sndUna
    ) {
      this.dupAcks++;
      if (!this.sackOk && this.dupAcks === 3 && !this.inRecovery && this.sb.count > 0) {
        this.sb.markLost(this.sb.at(0));
        this.enterRecovery(now);
      }
    }
    // Window update (RFC 9293 3.10.7.4, SND.WL1/WL2 rule).
    if (seqLT(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLE(this.sndWl2, ack))) {
      const opened = window > this.sndWnd;
      this.sndWnd = window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (window > this.maxSndWnd) this.maxSndWnd = window;
      if (opened && this.rtxMode === RtxMode.Persist && window > 0) {
        this.stack.timers.cancel(this.rtxTimer);
        this.backoff = 0;
      }
    }
    // RACK loss detection (SACK connections).
    if (
      this.sackOk && this.cfg.rack && (rackUpdated || this.sb.sackedBytes > 0) && this.sb.count > 0
    ) {
      this.rackDetect(now);
      if (this.sb.lostBytes > 0 && !this.inRecovery) this.enterRecovery(now);
    } else if (
      this.sackOk && !this.cfg.rack && this.sb.sackedBytes >= 3 * this.sndMss && !this.inRecovery
    ) {
      this.sb.markLost(this.sb.at(0));
      this.enterRecovery(now);
    }
    // Our FIN acknowledged?
    if (this.finSent && seqGT(ack, this.finSeq)) {
      switch (this.state) {
        case State.FinWait1:
          this.state = State.FinWait2;
          if (this.orphan) this.armFinTimeout();
          this.notify();
          break;
        case State.Closing:
          this.enterTimeWait();
          return false;
        case State.LastAck:
          this.destroy(0, false);
          return false;
      }
    }
    return true;
  }

  /** Updates RACK's most recently delivered segment; true when it advanced. */
  private rackUpdate(r: SegRecord, now: number): boolean {
    if (r.flags & RETRANS) {
      // Ambiguous: it may be the original that arrived. Trust only if it took at least the
      // minimum RTT since the retransmission (RFC 8985 6.2 step 2).
      if (now - r.xmit < this.rtt.minRtt) return false;
    }
    if (r.xmit > this.rackXmit || (r.xmit === this.rackXmit && seqGT(r.end, this.rackEnd))) {
      this.rackXmit = r.xmit;
      this.rackEnd = r.end;
      this.rackRtt = now - r.xmit;
      return true;
    }
    return false;
  }

  /** RFC 8985 6.2 step 5: segments sent before the most recently delivered one, and older
   * than it by more than the reordering window, are lost. Arms the reorder timer for the
   * rest. */
  private rackDetect(now: number): void {
    if (this.rackXmit < 0) return;
    const minRtt = Number.isFinite(this.rtt.minRtt) ? this.rtt.minRtt : this.rtt.srtt;
    const reoWnd = Math.min(minRtt / 4, this.rtt.srtt || minRtt);
    let timeout = 0;
    for (let i = 0; i < this.sb.count; i++) {
      const r = this.sb.at(i);
      if (r.flags & (SACKED | LOST)) continue;
      const before = r.xmit < this.rackXmit ||
        (r.xmit === this.rackXmit && seqLT(r.end, this.rackEnd));
      if (!before) continue;
      const remaining = r.xmit + this.rackRtt + reoWnd - now;
      if (remaining <= 0) this.sb.markLost(r);
      else if (remaining > timeout) timeout = remaining;
    }
    if (timeout > 0 && this.sb.lostBytes === 0) this.armTimer(RtxMode.Reorder, now + timeout);
  }

  private enterRecovery(now: number): void {
    if (this.inRecovery) return;
    this.inRecovery = true;
    this.recoveryPoint = this.sndNxt;
    this.stack.stats.inc("tcp.fastRecovery");
    this.cc.enterRecovery(now, this.inFlight() + this.sb.lostBytes);
  }

  private receiveData(seg: Segment): void {
    let seq = seg.seq;
    let data = seg.data;
    let fin = (seg.flags & FIN) !== 0;
    // Trim what we already have.
    if (seqLT(seq, this.rcvNxt)) {
      const skip = seqDiff(this.rcvNxt, seq);
      if (skip >= data.length) {
        // Only old data (maybe with an in-order FIN).
        if (!(fin && seqAdd(seq, data.length) === this.rcvNxt)) {
          this.ackNow = true; // a duplicate: ACK so the peer stops (RFC 9293)
          if (!fin || seqLT(seqAdd(seq, data.length), this.rcvNxt)) fin = false;
        }
        data = data.subarray(data.length);
        seq = this.rcvNxt;
      } else {
        data = data.subarray(skip);
        seq = this.rcvNxt;
      }
    }
    // Trim to the window we offered and the buffer we have.
    const room = Math.min(
      seqDiff(this.rcvAdvEdge, seq),
      this.recvBuf.window - Math.max(0, seqDiff(seq, this.rcvNxt)),
    );
    if (data.length > room) {
      data = data.subarray(0, Math.max(0, room));
      fin = false;
    }
    if (data.length > 0) {
      if (seq === this.rcvNxt) {
        const before = this.rcvNxt;
        this.rcvNxt = this.recvBuf.store(seq, this.rcvNxt, data) >>> 0;
        const filledHole = seqDiff(this.rcvNxt, before) > data.length;
        this.pendingAckSegs++;
        if (
          filledHole || this.recvBuf.ooo.length > 0 || this.quickAcks > 0 ||
          this.pendingAckSegs >= 2
        ) {
          this.ackNow = true;
          if (this.quickAcks > 0) this.quickAcks--;
        }
        this.notify();
      } else {
        const r = this.recvBuf.store(seq, this.rcvNxt, data);
        if (r < 0) this.stack.stats.inc("tcp.oooDropped");
        // Out of order: an immediate duplicate ACK with SACK tells the sender (RFC 5681 4.2).
        this.ackNow = true;
      }
    }
    if (fin) {
      const finAt = seqAdd(seq, data.length);
      if (finAt === this.rcvNxt) this.acceptFin();
      else this.peerFinSeq = finAt;
    } else if (this.peerFinSeq >= 0 && this.peerFinSeq === this.rcvNxt) {
      this.acceptFin();
    }
  }

  private acceptFin(): void {
    this.peerFinSeq = -1;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.finReceived = true;
    this.ackNow = true;
    switch (this.state) {
      case State.Established:
        this.state = State.CloseWait;
        break;
      case State.FinWait1:
        // Our FIN is not acknowledged yet (else we would be in FIN-WAIT-2): simultaneous close.
        this.state = State.Closing;
        break;
      case State.FinWait2:
        this.sendAck();
        this.enterTimeWait();
        break;
    }
    this.notify();
  }

  private challengeAck(): void {
    if (!this.layer.challengeAckAllowed()) return;
    this.sendAck();
  }

  // ==== Closing =============================================================================

  private closeWrite(): void {
    if (this.shutWrite) return;
    this.shutWrite = true;
    switch (this.state) {
      case State.SynRcvd:
      case State.Established:
        this.state = State.FinWait1;
        break;
      case State.CloseWait:
        this.state = State.LastAck;
        break;
      default:
        return;
    }
    this.finQueued = true;
    this.output();
  }

  private enterTimeWait(): void {
    if (this.layer.timeWaitCount >= this.cfg.maxTimeWait) {
      // Like Linux's "time wait bucket table overflow": close at once rather than grow.
      this.stack.stats.inc("tcp.timeWaitOverflow");
      this.destroy(0, false);
      return;
    }
    this.layer.timeWaitCount++;
    this.state = State.TimeWait;
    this.stack.timers.cancel(this.rtxTimer);
    this.stack.timers.cancel(this.delackTimer);
    this.sb.clear();
    this.sendBuf = new SendBuffer(0);
    if (this.orphan) this.recvBuf.clear();
    this.restartTimeWait();
    this.notify();
  }

  private restartTimeWait(): void {
    this.stack.timers.arm(this.miscTimer, this.stack.now + this.cfg.timeWaitNs);
  }

  /** Ends the connection. `errno` (if non-zero) becomes SO_ERROR. */
  destroy(errno: number, sendRst: boolean): void {
    if (sendRst && this.isSynchronized() && this.state !== State.TimeWait) {
      this.sendRst(this.sndNxt);
    }
    if (errno) this.error = errno;
    const wasSynRcvd = this.state === State.SynRcvd;
    if (this.state === State.TimeWait) this.layer.timeWaitCount--;
    this.state = State.Closed;
    this.finReceived = this.finReceived || errno !== 0;
    this.shutWrite = true;
    const timers = this.stack.timers;
    timers.cancel(this.rtxTimer);
    timers.cancel(this.delackTimer);
    timers.cancel(this.miscTimer);
    this.sb.clear();
    this.layer.unregister(this);
    if (this.parent) {
      if (wasSynRcvd) this.parent.synQueue--;
      const i = this.parent.acceptQueue.indexOf(this);
      if (i >= 0) this.parent.acceptQueue.splice(i, 1);
      this.parent = null;
    }
    if (errno) this.recvBuf.clear();
    if (this.orphan) this.release();
    this.notify();
  }

  private release(): void {
    if (this.bound) {
      this.layer.ports.remove(this);
      this.bound = false;
    }
    this.recvBuf.clear();
    this.sendBuf = new SendBuffer(0);
  }

  private closeListener(): void {
    for (const child of this.acceptQueue.splice(0)) {
      child.parent = null;
      child.orphan = true;
      child.destroy(0, true);
    }
    for (const child of this.layer.childrenOf(this)) {
      child.orphan = true;
      child.destroy(0, true);
    }
    this.synQueue = 0;
    this.state = State.Closed;
    this.release();
    this.notify();
  }

  // ==== Reading side effects ================================================================

  private afterRead(n: number): void {
    if (!this.isSynchronized() || this.state === State.TimeWait) return;
    this.autotuneReceive(n);
    // Tell the peer when the window opened enough to matter (receiver SWS avoidance).
    const promised = seqDiff(this.rcvAdvEdge, this.rcvNxt);
    const now = this.recvBuf.window;
    const threshold = Math.min(this.recvBuf.capacity >> 1, 2 * this.advertisedMss());
    if (
      now - promised >= threshold ||
      (promised < this.advertisedMss() && now >= this.advertisedMss() && now > promised)
    ) {
      this.kickAck();
    }
  }

  /** Grows the receive buffer when the application consumes more than half of it per RTT
   * (the idea of Linux's tcp_rcv_space_adjust). */
  private autotuneReceive(n: number): void {
    if (this.rcvbufLocked) return;
    this.rcvSpaceBytes += n;
    const now = this.stack.now;
    const rtt = this.rtt.samples ? Math.max(this.rtt.srtt, 1e5) : 1e8;
    if (now - this.rcvSpaceTime < rtt) return;
    const copied = this.rcvSpaceBytes;
    this.rcvSpaceBytes = 0;
    this.rcvSpaceTime = now;
    if (copied * 2 > this.recvBuf.capacity) {
      this.recvBuf.grow(
        Math.min(this.cfg.rcvbufMax, Math.max(copied * 4, this.recvBuf.capacity * 2)),
      );
    }
  }

  /** Lets the send buffer follow the congestion window, as Linux's sndbuf autotuning. */
  private autotuneSendBuffer(): void {
    if (this.sndbufLocked) return;
    const want = Math.min(
      this.cfg.sndbufMax,
      Math.max(this.cfg.sndbufDefault, 2 * this.cc.cwnd, 2 * this.sndWnd),
    );
    if (want > this.sendBuf.capacity) this.sendBuf.capacity = want;
  }

  // ==== Errors from ICMP ====================================================================

  handleError(quoted: Uint8Array, err: NetError): void {
    const seq = ((quoted[4] << 24) | (quoted[5] << 16) | (quoted[6] << 8) | quoted[7]) >>> 0;
    // RFC 5927: only believe errors quoting a sequence number we have in flight.
    if (!(seqLE(this.sndUna, seq) && seqLT(seq, seqMax(this.sndNxt, seqAdd(this.sndUna, 1))))) {
      this.stack.stats.inc("tcp.icmpOutOfWindow");
      return;
    }
    this.stack.enter();
    try {
      if (err.kind === NetErrorKind.FragNeeded) {
        if (this.route && err.mtu < this.route.mtu) {
          this.route = { ...this.route, mtu: err.mtu };
          this.setupMss();
          // Resend what is in flight at the new size (PMTU discovery, RFC 1191).
          this.sb.markAllLost();
          this.output();
        }
        return;
      }
      if (this.state === State.SynSent || this.state === State.SynRcvd) {
        if (err.hard) {
          this.destroy(err.errno, false);
          return;
        }
      }
      // Soft error: remembered, reported if the connection times out.
      if (this.state === State.SynSent && this.backoff > 0) this.error = err.errno;
      this.notify();
    } finally {
      this.stack.leave();
    }
  }
}

function inWindow(seq: number, start: number, len: number): boolean {
  const d = seqDiff(seq, start);
  return d >= 0 && d < len;
}

function IPV6_ANY_LOOP(): IPAddress {
  const a = new Uint8Array(16);
  a[15] = 1;
  return a;
}
