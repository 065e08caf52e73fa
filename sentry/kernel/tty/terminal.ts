// A terminal as the guest sees it: the slave side of a pty (/dev/pts/N), or the sandbox's
// console bridged to a host terminal (host.ts). It owns the line discipline, the window
// size, the session it controls and its foreground process group; its device side (a pty
// master inside the sandbox, a host fd) is a TtyDevice that moves bytes in and out.
//
// Guest files open on the terminal are TtyFiles. Reads and writes follow n_tty: canonical
// reads return whole lines, VMIN/VTIME govern raw reads, background process groups get
// SIGTTIN/SIGTTOU, and a hangup (the master closed, the host terminal went away) turns every
// open file into end-of-file for reads and EIO for writes.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { FileDescription, type IoctlContext } from "../../vfs/file.ts";
import type { Inode, Stat } from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import type { UserIO } from "../../vfs/userio.ts";
import type { Kernel } from "../kernel.ts";
import type { Task } from "../task.ts";
import {
  checkChange,
  clearSession,
  controllingTty,
  detachProcess,
  isSessionLeader,
  type JobTerminal,
  killPgrp,
  sessionOfPgrp,
  setControllingTty,
} from "./jobs.ts";
import { LineDiscipline } from "./ldisc.ts";
import * as T from "./termios.ts";

// ioctl numbers (asm-generic/ioctls.h) not in abi/linux.ts.
export const TCGETA = 0x5405, TCSETA = 0x5406, TCSETAW = 0x5407, TCSETAF = 0x5408;
export const TCSBRK = 0x5409, TCXONC = 0x540a, TCFLSH = 0x540b, TIOCEXCL = 0x540c;
export const TIOCNXCL = 0x540d, TIOCSTI = 0x5412, TIOCMGET = 0x5415, TIOCMBIS = 0x5416;
export const TIOCMBIC = 0x5417, TIOCMSET = 0x5418, TIOCCONS = 0x541d, TIOCPKT = 0x5420;
export const TIOCSETD = 0x5423, TIOCGETD = 0x5424, TCSBRKP = 0x5425, TIOCSBRK = 0x5427;
export const TIOCCBRK = 0x5428, TCGETS2 = 0x802c542a, TCSETS2 = 0x402c542b;
export const TCSETSW2 = 0x402c542c, TCSETSF2 = 0x402c542d, TIOCGDEV = 0x80045432;
export const TIOCSIG = 0x40045436, TIOCVHANGUP = 0x5437, TIOCGPKT = 0x80045438;
export const TIOCGPTLCK = 0x80045439, TIOCGEXCL = 0x80045440, TIOCGPTPEER = 0x5441;
const TCIFLUSH = 0, TCOFLUSH = 1, TCIOFLUSH = 2;
const TCOOFF = 0, TCOON = 1, TCIOFF = 2, TCION = 3;
const CAP_SYS_ADMIN = 21;

const READ_EVENTS = L.POLLIN | L.POLLRDNORM;
const WRITE_EVENTS = L.POLLOUT | L.POLLWRNORM;

/** The device side of a terminal. */
export interface TtyDevice {
  /** Output is queued in the line discipline; take it when possible. */
  outputReady(): void;
  /** The line discipline took input: more may be pushed. */
  inputRoom(): void;
  /** The last slave-side file closed (a pty master then reads EIO). */
  slaveClosed(): void;
}

/** Linux's major numbers: pty slaves are 136+, /dev/tty 5:0, /dev/console 5:1. */
export const UNIX98_PTY_SLAVE_MAJOR = 136;

/** Device number in the kernel's encoding (new_encode_dev). */
export function makeDev(major: number, minor: number): number {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12);
}

export class Terminal implements JobTerminal {
  readonly ldisc: LineDiscipline;
  winsize: T.WinSize = { rows: 0, cols: 0, xpixel: 0, ypixel: 0 };
  session = 0;
  pgrp = 0;
  /** Hung up: the device side is gone. New opens fail with EIO. */
  hungUp = false;
  /** TIOCEXCL: new opens need CAP_SYS_ADMIN. */
  exclusive = false;
  /** TIOCSPTLCK: a pty slave cannot be opened while locked. */
  locked = false;
  /** Slave-side open files. */
  readonly files = new Set<TtyFile>();
  /** A slave-side file was opened at least once (before that a master read just waits). */
  everOpened = false;
  device: TtyDevice | null = null;

  constructor(
    readonly kernel: Kernel,
    /** pts number (the console bridged to the host is pts 0 as well: a devpts entry). */
    readonly index: number,
    readonly rdev: number,
  ) {
    // A pty slave starts with tty_std_termios, minus HUPCL (Linux's pts driver).
    const termios = new T.Termios();
    termios.cflag = T.B38400 | T.CS8 | T.CREAD;
    this.ldisc = new LineDiscipline(termios, {
      signal: (sig) => killPgrp(this.kernel, this.pgrp, sig),
    });
  }

  get termios(): T.Termios {
    return this.ldisc.termios;
  }

  /** "/dev/pts/N": what ttyname() and ps show. */
  get name(): string {
    return `pts/${this.index}`;
  }

  // ---- notifications ------------------------------------------------------------------

  /** Tells slave-side waiters (readers, writers, poll, epoll) that something changed. */
  notifySlaves(mask: number): void {
    for (const f of this.files) f.waitQueue.notify(mask);
  }

  /** After input was pushed into the line discipline: wake readers, flush echoes. */
  inputPushed(): void {
    if (this.ldisc.readable() > 0 || this.ldisc.buffered > 0) this.notifySlaves(READ_EVENTS);
    if (this.ldisc.output.length > 0) this.device?.outputReady();
  }

  /** Device input: returns the bytes taken (0: the terminal's buffers are full). */
  deviceWrite(b: Uint8Array): number {
    if (this.hungUp) return b.length;
    const n = this.ldisc.receive(b);
    this.inputPushed();
    return n;
  }

  /** Device output: takes up to max bytes of what the slave side wrote (and echoes). */
  deviceRead(max: number): Uint8Array {
    const out = this.ldisc.takeOutput(max);
    if (out.length > 0) this.notifySlaves(WRITE_EVENTS);
    return out;
  }

  // ---- opening and closing the slave side ---------------------------------------------

  /** Opens the slave side for task t (null: the sandbox itself, at start-up). A session
   * leader without a controlling terminal acquires this one unless O_NOCTTY. */
  open(flags: number, path: VfsPath | null, inode: Inode | null, t: Task | null): TtyFile | number {
    if (this.hungUp) return -E.EIO;
    if (this.locked) return -E.EIO;
    if (this.exclusive && t && !t.creds.hasCap(CAP_SYS_ADMIN)) return -E.EBUSY;
    const f = new TtyFile(this, flags, path, inode);
    if (
      t && !(flags & L.O_NOCTTY) && isSessionLeader(t.tg) && !controllingTty(t.tg) &&
      !this.session &&
      (flags & L.O_ACCMODE) !== L.O_WRONLY
    ) {
      setControllingTty(t.tg, this);
    }
    return f;
  }

  attach(f: TtyFile): void {
    this.files.add(f);
    this.everOpened = true;
  }

  detach(f: TtyFile): void {
    this.files.delete(f);
    if (this.files.size === 0) this.device?.slaveClosed();
  }

  // ---- sessions -------------------------------------------------------------------------

  /** The session leader exited (disassociate_ctty on exit): a pty's foreground group gets
   * SIGHUP, and the terminal controls no session any more. */
  leaderExited(): void {
    const pg = this.pgrp;
    clearSession(this.kernel, this);
    if (pg) killPgrp(this.kernel, pg, L.SIGHUP);
  }

  /** The device side went away (__tty_hangup): open files read end-of-file and fail
   * writes with EIO; the session leader gets SIGHUP and SIGCONT. */
  hangup(): void {
    if (this.hungUp) return;
    this.hungUp = true;
    for (const f of this.files) f.hungUp = true;
    const sid = this.session;
    clearSession(this.kernel, this);
    if (sid) {
      const leader = this.kernel.groups.get(sid);
      if (leader && !leader.zombie && leader.sid === sid) {
        this.kernel.signals.sendToGroup(leader, { signo: L.SIGHUP, errno: 0, code: L.SI_KERNEL });
        this.kernel.signals.sendToGroup(leader, { signo: L.SIGCONT, errno: 0, code: L.SI_KERNEL });
      }
    }
    this.notifySlaves(~0);
  }

  /** Sets the window size; the foreground process group hears of a change (SIGWINCH). */
  setWinSize(ws: T.WinSize): void {
    const w = this.winsize;
    if (
      w.rows === ws.rows && w.cols === ws.cols && w.xpixel === ws.xpixel && w.ypixel === ws.ypixel
    ) return;
    this.winsize = { ...ws };
    killPgrp(this.kernel, this.pgrp, L.SIGWINCH);
  }

  // ---- slave reads and writes ---------------------------------------------------------

  read(f: TtyFile, io: UserIO): number {
    const t = this.kernel.current;
    if (f.hungUp) return 0;
    const jc = checkChange(t, this, L.SIGTTIN);
    if (jc < 0) return jc;
    const ld = this.ldisc;
    const max = io.total;
    if (ld.termios.lflag & T.ICANON) {
      if (!ld.hasLine()) return this.hungUp ? 0 : -E.EAGAIN;
      return this.copyToReader(io, ld.read(max));
    }
    const avail = ld.buffered;
    const vmin = ld.termios.cc[T.VMIN], vtime = ld.termios.cc[T.VTIME];
    if (f.nonblocking) return avail > 0 ? this.copyToReader(io, ld.read(max)) : -E.EAGAIN;
    if (vmin === 0 && vtime === 0) return this.copyToReader(io, ld.read(max));
    const need = vmin === 0 ? 1 : Math.min(vmin, max);
    if (avail >= need) return this.copyToReader(io, ld.read(max));
    if (vtime === 0 || (vmin > 0 && avail === 0)) return -E.EAGAIN;
    // VTIME: for VMIN 0 a timeout for the whole read, else a timer between bytes that starts
    // with the first one. The deadline survives retries in the task's syscall state.
    if (!t) return -E.EAGAIN;
    const now = this.kernel.nowNs();
    let st = t.sysState as TtyReadState | undefined;
    if (st === undefined || typeof st !== "object" || !("ttyDeadline" in st)) {
      st = { ttyDeadline: now + vtime * 1e8, ttySeen: avail };
      t.sysState = st;
      this.armTimer(st.ttyDeadline);
    } else if (vmin > 0 && avail !== st.ttySeen) {
      st.ttySeen = avail;
      st.ttyDeadline = now + vtime * 1e8;
      this.armTimer(st.ttyDeadline);
    }
    if (now >= st.ttyDeadline) return this.copyToReader(io, ld.read(max));
    return -E.EAGAIN;
  }

  private armTimer(deadline: number): void {
    this.kernel.timers.add(deadline, () => this.notifySlaves(READ_EVENTS));
  }

  private copyToReader(io: UserIO, data: Uint8Array): number {
    if (data.length > 0 || this.ldisc.pending.length > 0) {
      this.ldisc.processPending();
      this.device?.inputRoom();
      if (this.ldisc.output.length > 0) this.device?.outputReady();
    }
    if (data.length === 0) return 0;
    return io.copyOut(data);
  }

  write(f: TtyFile, io: UserIO): number {
    if (f.hungUp || this.hungUp) return -E.EIO;
    if (this.termios.lflag & T.TOSTOP) {
      const jc = checkChange(this.kernel.current, this, L.SIGTTOU);
      if (jc < 0) return jc;
    }
    if (io.total === 0) return 0;
    const room = this.ldisc.outputRoom();
    if (room <= 0) return -E.EAGAIN;
    const data = io.copyIn(Math.min(io.total, 65536));
    if (typeof data === "number") return data;
    const n = this.ldisc.write(data);
    if (n > 0) this.device?.outputReady();
    return n > 0 ? n : -E.EAGAIN;
  }

  readiness(f: TtyFile, mask: number): number {
    if (f.hungUp) return mask & (READ_EVENTS | WRITE_EVENTS) | L.POLLERR | L.POLLHUP;
    let r = 0;
    const ld = this.ldisc;
    const vmin = ld.termios.cc[T.VMIN], vtime = ld.termios.cc[T.VTIME];
    if (ld.termios.lflag & T.ICANON) {
      if (ld.hasLine()) r |= READ_EVENTS;
    } else if (ld.buffered >= (vtime === 0 && vmin > 0 ? vmin : 1)) {
      r |= READ_EVENTS;
    }
    if (ld.outputRoom() > 0) r |= WRITE_EVENTS;
    return r & mask;
  }

  // ---- ioctls ----------------------------------------------------------------------------

  /** ioctls of the terminal, from a slave file (fromMaster false) or from its pty master
   * (which addresses the slave for termios, window size and process groups, as Linux's
   * real_tty does). */
  ioctl(
    ctx: IoctlContext,
    file: FileDescription,
    fromMaster: boolean,
    cmd: number,
    arg: number,
  ): number {
    const t = ctx.task as Task;
    const mm = ctx.mm;
    const hung = !fromMaster && (file as TtyFile).hungUp;
    // A hung-up file answers only with errors (hung_up_tty_ioctl).
    if (hung) return cmd === L.TIOCSPGRP ? -E.ENOTTY : -E.EIO;
    const isCtty = controllingTty(t.tg) === this;
    switch (cmd) {
      case L.TCGETS:
      case TCGETS2:
        return mm.copyOut(
          arg,
          this.termios.encode(cmd === TCGETS2 ? T.TERMIOS2_SIZE : T.TERMIOS_SIZE),
        );
      case TCGETA:
        return mm.copyOut(arg, this.termios.encodeTermio());
      case L.TCSETS:
      case L.TCSETSW:
      case L.TCSETSF:
      case TCSETS2:
      case TCSETSW2:
      case TCSETSF2:
      case TCSETA:
      case TCSETAW:
      case TCSETAF: {
        const jc = fromMaster ? 0 : checkChange(t, this, L.SIGTTOU);
        if (jc < 0) return jc;
        const v2 = cmd === TCSETS2 || cmd === TCSETSW2 || cmd === TCSETSF2;
        const old = cmd === TCSETA || cmd === TCSETAW || cmd === TCSETAF;
        const b = mm.copyIn(arg, old ? T.TERMIO_SIZE : v2 ? T.TERMIOS2_SIZE : T.TERMIOS_SIZE);
        if (typeof b === "number") return b;
        const next = this.termios.clone();
        if (old) next.decodeTermio(b);
        else next.decode(b);
        if (cmd === L.TCSETSF || cmd === TCSETSF2 || cmd === TCSETAF) this.flushInput();
        this.ldisc.setTermios(next);
        this.inputPushed();
        // A change of ICANON or VMIN may make waiting readers' conditions true.
        this.notifySlaves(READ_EVENTS | WRITE_EVENTS);
        return 0;
      }
      case L.TIOCGWINSZ:
        return mm.copyOut(arg, T.encodeWinSize(this.winsize));
      case L.TIOCSWINSZ: {
        const b = mm.copyIn(arg, 8);
        if (typeof b === "number") return b;
        this.setWinSize(T.decodeWinSize(b));
        return 0;
      }
      case L.TIOCGPGRP:
        if (!fromMaster && !isCtty) return -E.ENOTTY;
        return mm.writeU32(arg, this.pgrp);
      case L.TIOCSPGRP: {
        const jc = checkChange(t, this, L.SIGTTOU);
        if (jc === -E.EIO) return -E.ENOTTY;
        if (jc < 0) return jc;
        if (!isCtty || this.session !== t.tg.sid) return -E.ENOTTY;
        const pg = mm.readU32(arg);
        if (pg < 0) return pg;
        if ((pg | 0) < 0) return -E.EINVAL;
        const sid = sessionOfPgrp(this.kernel, pg);
        if (!sid) return -E.ESRCH;
        if (sid !== t.tg.sid) return -E.EPERM;
        this.pgrp = pg;
        return 0;
      }
      case L.TIOCGSID:
        if (!fromMaster && !isCtty) return -E.ENOTTY;
        if (!this.session) return -E.ENOTTY;
        return mm.writeU32(arg, this.session);
      case L.TIOCSCTTY: {
        if (isSessionLeader(t.tg) && this.session === t.tg.sid) return 0;
        if (!isSessionLeader(t.tg) || controllingTty(t.tg)) return -E.EPERM;
        if (this.session) {
          if (arg === 1 && t.creds.hasCap(CAP_SYS_ADMIN)) clearSession(this.kernel, this);
          else return -E.EPERM;
        }
        if (!file.readable && !t.creds.hasCap(CAP_SYS_ADMIN)) return -E.EPERM;
        setControllingTty(t.tg, this);
        return 0;
      }
      case L.TIOCNOTTY:
        if (!isCtty) return -E.ENOTTY;
        if (isSessionLeader(t.tg)) {
          const pg = this.pgrp;
          clearSession(this.kernel, this);
          if (pg) {
            killPgrp(this.kernel, pg, L.SIGHUP);
            killPgrp(this.kernel, pg, L.SIGCONT);
          }
        } else {
          detachProcess(t.tg);
        }
        return 0;
      case L.FIONREAD:
        return mm.writeU32(arg, fromMaster ? this.ldisc.output.length : this.ldisc.inq());
      case L.TIOCOUTQ:
        // A pty hands output to its master at once (Linux's pty reports 0 here too).
        return mm.writeU32(arg, 0);
      case TCFLSH: {
        const jc = fromMaster ? 0 : checkChange(t, this, L.SIGTTOU);
        if (jc < 0) return jc;
        // From the master, input and output swap sides.
        let which = arg;
        if (fromMaster && which !== TCIOFLUSH) which = which === TCIFLUSH ? TCOFLUSH : TCIFLUSH;
        if (which < TCIFLUSH || which > TCIOFLUSH) return -E.EINVAL;
        if (which === TCIFLUSH || which === TCIOFLUSH) this.flushInput();
        if (which === TCOFLUSH || which === TCIOFLUSH) this.ldisc.flushOutput();
        this.notifySlaves(WRITE_EVENTS);
        this.device?.inputRoom();
        return 0;
      }
      case TCXONC: {
        const jc = fromMaster ? 0 : checkChange(t, this, L.SIGTTOU);
        return jc < 0 ? jc : this.flowControl(arg);
      }
      case TCSBRK:
      case TCSBRKP:
      case TIOCSBRK:
      case TIOCCBRK: {
        const jc = fromMaster ? 0 : checkChange(t, this, L.SIGTTOU);
        return jc < 0 ? jc : 0;
      }
      case TIOCSTI: {
        if (!isCtty && !t.creds.hasCap(CAP_SYS_ADMIN)) return -E.EPERM;
        if (!file.readable && !t.creds.hasCap(CAP_SYS_ADMIN)) return -E.EPERM;
        const b = mm.copyIn(arg, 1);
        if (typeof b === "number") return b;
        this.ldisc.receive(b);
        this.inputPushed();
        return 0;
      }
      case TIOCEXCL:
        this.exclusive = true;
        return 0;
      case TIOCNXCL:
        this.exclusive = false;
        return 0;
      case TIOCGEXCL:
        return mm.writeU32(arg, this.exclusive ? 1 : 0);
      case TIOCGETD:
        return mm.writeU32(arg, 0);
      case TIOCSETD: {
        const d = mm.readU32(arg);
        if (d < 0) return d;
        return d === 0 ? 0 : -E.EINVAL;
      }
      case TIOCVHANGUP:
        if (!t.creds.hasCap(CAP_SYS_ADMIN)) return -E.EPERM;
        this.hangup();
        return 0;
      case TIOCCONS:
        return t.creds.hasCap(CAP_SYS_ADMIN) ? 0 : -E.EPERM;
      case TIOCMGET:
      case TIOCMBIS:
      case TIOCMBIC:
      case TIOCMSET:
        return -E.ENOTTY;
      default:
        return -E.ENOTTY;
    }
  }

  /** TCXONC: suspend or resume output, or send STOP/START to the device. */
  private flowControl(arg: number): number {
    switch (arg) {
      case TCOOFF:
        this.ldisc.setStopped(true);
        return 0;
      case TCOON:
        this.ldisc.setStopped(false);
        if (this.ldisc.output.length) this.device?.outputReady();
        return 0;
      case TCIOFF:
      case TCION: {
        const c = this.termios.cc[arg === TCIOFF ? T.VSTOP : T.VSTART];
        if (c !== T.DISABLED_CHAR) {
          this.ldisc.sendNow(Uint8Array.of(c));
          this.device?.outputReady();
        }
        return 0;
      }
      default:
        return -E.EINVAL;
    }
  }

  private flushInput(): void {
    this.ldisc.flushInput();
    this.device?.inputRoom();
  }
}

interface TtyReadState {
  ttyDeadline: number;
  ttySeen: number;
}

/** An open file on the slave side of a terminal. */
export class TtyFile extends FileDescription {
  hungUp = false;

  constructor(readonly tty: Terminal, flags: number, path: VfsPath | null, inode: Inode | null) {
    super(flags, path, inode);
    tty.attach(this);
  }

  override read(io: UserIO, _off: number): number {
    if (!this.readable) return -E.EBADF;
    return this.tty.read(this, io);
  }

  override write(io: UserIO, _off: number): number {
    if (!this.writable) return -E.EBADF;
    return this.tty.write(this, io);
  }

  override readiness(mask: number): number {
    return this.tty.readiness(this, mask);
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    return this.tty.ioctl(ctx, this, false, cmd, arg);
  }

  override seek(): number {
    return -E.ESPIPE;
  }

  override stat(): Stat | number {
    if (this.inode) return this.inode.stat();
    const now = this.tty.kernel.realtimeNs();
    return {
      dev: makeDev(0, 22),
      ino: this.tty.index + 3,
      mode: L.S_IFCHR | 0o620,
      nlink: 1,
      uid: 0,
      gid: 5,
      rdev: this.tty.rdev,
      size: 0,
      blksize: 1024,
      blocks: 0,
      atimeNs: now,
      mtimeNs: now,
      ctimeNs: now,
    };
  }

  /** A fresh open of the same terminal (through /proc/pid/fd/N). */
  reopen(flags: number): FileDescription | number {
    return this.tty.open(flags | L.O_NOCTTY, this.path, this.inode, null);
  }

  protected override release(): void {
    this.tty.detach(this);
  }
}
