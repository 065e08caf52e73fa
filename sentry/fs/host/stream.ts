// A host fd the guest uses as a stream: the sandbox's stdin, stdout and stderr (a terminal,
// a pipe, a file, a socket), donated by whoever started the sandbox.
//
// Terminals: when the sandbox has a console bridged to a host terminal (kernel/tty/host.ts),
// the stdio fds that refer to that terminal become files on the sandbox's own terminal (its
// line discipline, job control, /dev/pts/0); see stdioFiles(). A host terminal without a
// console (e.g. stdout is a terminal but stdin is not) is passed through as it is.
//
// The sentry must never block in a host read or write: pipes and terminals are reopened
// through /proc/self/fd with O_NONBLOCK (a description of our own, so the shell that
// started us keeps its blocking one); sockets are used with MSG_DONTWAIT; regular files
// never block. When the host says EAGAIN the guest blocks on this file's wait queue and a
// one-shot epoll watch wakes it.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { host } from "../../../ffi/host.ts";
import { FileDescription, type IoctlContext } from "../../vfs/file.ts";
import type { Stat } from "../../vfs/inode.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { hostStat } from "./hostfs.ts";
import type { HostConsole } from "../../kernel/tty/host.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import type { Inode } from "../../vfs/inode.ts";

const EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLONESHOT = 1 << 30;
const MSG_DONTWAIT = 0x40;

/** How a stream asks the kernel to watch its host fd. */
export interface FdWatcher {
  watchFd(fd: number, events: number, cb: (events: number) => void, token?: number): number;
  unwatchFd(fd: number, token: number): void;
}

export interface TtyState {
  /** Foreground process group of the terminal as the guest sees it. */
  foregroundPgrp: number;
  /** Session the terminal controls (0: none). */
  session: number;
}

export class HostStreamFile extends FileDescription {
  readonly kind: "tty" | "pipe" | "socket" | "file" | "other";
  /** The fd used for I/O (ours, possibly reopened non-blocking). */
  readonly fd: number;
  private watchToken = 0;
  private watching = 0;
  tty: TtyState | null = null;

  /** hostFd: an fd the sentry owns (dup it first if the original must stay). */
  constructor(hostFd: number, flags: number, private readonly watcher: FdWatcher) {
    super(flags, null, null);
    const st = hostStat(hostFd, null);
    const fmt = typeof st === "number" ? 0 : st.mode & L.S_IFMT;
    const isTty = host().sb_h_isatty(hostFd) === 1;
    this.kind = isTty
      ? "tty"
      : fmt === L.S_IFIFO
      ? "pipe"
      : fmt === L.S_IFSOCK
      ? "socket"
      : fmt === L.S_IFREG
      ? "file"
      : "other";
    let fd = hostFd;
    if (this.kind === "tty" || this.kind === "pipe" || this.kind === "other") {
      const acc = flags & L.O_ACCMODE;
      const reopened = host().sb_h_reopen(hostFd, acc | L.O_NONBLOCK | L.O_NOCTTY);
      if (reopened >= 0) {
        host().sb_h_close(hostFd);
        fd = reopened;
      } else {
        // Not reopenable (e.g. a pipe whose other end is gone): make it non-blocking.
        const fl = host().sb_h_fcntl(hostFd, L.F_GETFL, 0);
        if (fl >= 0) host().sb_h_fcntl(hostFd, L.F_SETFL, fl | L.O_NONBLOCK);
      }
    }
    this.fd = fd;
    if (isTty) this.tty = { foregroundPgrp: 1, session: 1 };
  }

  override read(io: UserIO, _off: number): number {
    if (!this.readable) return -E.EBADF;
    const ranges = io.memRanges(true, 0, io.total);
    if (typeof ranges === "number") return ranges;
    if (ranges.length === 0) return 0;
    const h = host();
    const n = this.kind === "socket"
      ? h.sb_h_recv_mem(this.fd, ranges[0], ranges[1], MSG_DONTWAIT)
      : h.sb_h_read_mem(this.fd, ranges[0], ranges[1], -1);
    if (n === -E.EAGAIN) this.arm(EPOLLIN);
    return n;
  }

  override write(io: UserIO, _off: number): number {
    if (!this.writable) return -E.EBADF;
    const ranges = io.memRanges(false, 0, io.total);
    if (typeof ranges === "number") return ranges;
    const h = host();
    let total = 0;
    for (let i = 0; i < ranges.length; i += 2) {
      const n = this.kind === "socket"
        ? h.sb_h_send_mem(this.fd, ranges[i], ranges[i + 1], MSG_DONTWAIT | 0x4000 /* NOSIGNAL */)
        : h.sb_h_write_mem(this.fd, ranges[i], ranges[i + 1], -1);
      if (n < 0) {
        if (n === -E.EAGAIN) this.arm(EPOLLOUT);
        return total > 0 ? total : n;
      }
      total += n;
      if (n < ranges[i + 1]) {
        this.arm(EPOLLOUT);
        break;
      }
    }
    return total;
  }

  /** Asks for one report when the host fd becomes ready for `events`. */
  private arm(events: number): void {
    this.watching |= events;
    this.watchToken = this.watcher.watchFd(this.fd, this.watching | EPOLLONESHOT, (ev) => {
      this.watching = 0;
      this.waitQueue.notify(ev & 0xffff);
    }, this.watchToken || undefined);
  }

  override readiness(mask: number): number {
    const r = host().sb_h_poll1(this.fd, mask & (L.POLLIN | L.POLLOUT | L.POLLPRI));
    if (r < 0) return L.POLLERR;
    const ready = r & (mask | L.POLLERR | L.POLLHUP | L.POLLNVAL);
    if (ready === 0) this.arm((mask & L.POLLIN ? EPOLLIN : 0) | (mask & L.POLLOUT ? EPOLLOUT : 0));
    return ready;
  }

  override stat(): Stat | number {
    return hostStat(this.fd, null);
  }

  override seek(off: number, whence: number): number {
    if (this.kind !== "file") return -E.ESPIPE;
    return host().sb_h_lseek(this.fd, off, whence);
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    const h = host();
    switch (cmd) {
      case L.TCGETS:
      case L.TIOCGWINSZ: {
        if (this.kind !== "tty") return -E.ENOTTY;
        const buf = new Uint8Array(cmd === L.TCGETS ? 36 : 8);
        const rc = h.sb_h_ioctl(this.fd, cmd, buf);
        if (rc < 0) return rc;
        return ctx.mm.copyOut(arg, buf);
      }
      case L.TCSETS:
      case L.TCSETSW:
      case L.TCSETSF:
      case L.TIOCSWINSZ: {
        if (this.kind !== "tty") return -E.ENOTTY;
        const buf = ctx.mm.copyIn(arg, cmd === L.TIOCSWINSZ ? 8 : 36);
        if (typeof buf === "number") return buf;
        return h.sb_h_ioctl(this.fd, cmd, buf);
      }
      case L.TIOCGPGRP:
        if (!this.tty) return -E.ENOTTY;
        return ctx.mm.writeU32(arg, this.tty.foregroundPgrp);
      case L.TIOCSPGRP: {
        if (!this.tty) return -E.ENOTTY;
        const pg = ctx.mm.readU32(arg);
        if (pg < 0) return pg;
        this.tty.foregroundPgrp = pg;
        return 0;
      }
      case L.TIOCGSID:
        if (!this.tty) return -E.ENOTTY;
        return ctx.mm.writeU32(arg, this.tty.session);
      case L.TIOCSCTTY:
      case L.TIOCNOTTY:
        return this.tty ? 0 : -E.ENOTTY;
      case L.FIONREAD: {
        const buf = new Uint8Array(4);
        const rc = h.sb_h_ioctl(this.fd, cmd, buf);
        if (rc < 0) return rc;
        return ctx.mm.copyOut(arg, buf);
      }
      default:
        return -E.ENOTTY;
    }
  }

  /** What /proc/pid/fd shows for it: the host's paths are not the guest's business. */
  get procName(): string {
    const st = this.stat();
    if (typeof st === "number") return "host:[0]";
    if (this.kind === "pipe") return `pipe:[${st.ino}]`;
    if (this.kind === "socket") return `socket:[${st.ino}]`;
    if ((st.mode & L.S_IFMT) === L.S_IFCHR && st.rdev === 0x103) return "/dev/null";
    return `host:[${st.ino}]`;
  }

  /** A new description of the same host stream (opening /proc/self/fd/N, /dev/stdin).
   * Never with more access than the donated fd had: a host file given as input must not
   * become writable (Linux would allow what the file's permissions allow). */
  reopen(flags: number): FileDescription | number {
    const acc = flags & L.O_ACCMODE;
    if (this.kind === "socket") return -E.ENXIO;
    if ((acc !== L.O_WRONLY && !this.readable) || (acc !== L.O_RDONLY && !this.writable)) {
      return -E.EACCES;
    }
    const fd = host().sb_h_reopen(this.fd, acc | L.O_NONBLOCK | L.O_NOCTTY);
    if (fd < 0) return fd;
    return new HostStreamFile(fd, acc | (flags & L.O_NONBLOCK), this.watcher);
  }

  protected override release(): void {
    if (this.watchToken) this.watcher.unwatchFd(this.fd, this.watchToken);
    host().sb_h_close(this.fd);
  }
}

/** The guest's files for the host fds donated as stdin, stdout and stderr. Fds on the
 * console's host terminal share one read-write description on the sandbox's terminal (as a
 * container runtime dup()s its console onto 0, 1 and 2); the others are host streams.
 * ttyPath/ttyInode: where the terminal shows in the sandbox (/dev/pts/N), if mounted.
 * A host fd that cannot be used gives no file (the guest's fd stays closed). */
export function stdioFiles(
  watcher: FdWatcher,
  stdio: readonly number[],
  console: HostConsole | null,
  ttyPath: VfsPath | null,
  ttyInode: Inode | null,
): Array<FileDescription | null> {
  let tty: FileDescription | null = null;
  return stdio.map((hostFd, i) => {
    if (console && console.matches(hostFd)) {
      if (tty) {
        tty.incRef();
        return tty;
      }
      const f = console.terminal.open(L.O_RDWR, ttyPath, ttyInode, null);
      if (typeof f === "number") return null;
      tty = f;
      return f;
    }
    const own = host().sb_h_dup(hostFd);
    if (own < 0) return null;
    return new HostStreamFile(own, i === 0 ? L.O_RDONLY : L.O_WRONLY, watcher);
  });
}
