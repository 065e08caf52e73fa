// A sandbox terminal whose device side is a host terminal fd: the user's terminal under
// `cordon do`, or the slave of a host pty pair whose master went to an OCI engine's console
// socket. The host terminal must be in raw mode (the caller's job: hostsig's
// sb_tty_make_raw for a user's terminal; a console pty's slave is set raw here) so that
// every byte reaches the sentry's line discipline, which does what the guest asked for:
// ^C becomes SIGINT for the guest's foreground process group, never for the sentry.
//
// For the OCI runtime (console socket), the whole recipe is:
//   const pair = openHostPty();                    // ffi/hostsig.ts: [master, slave]
//   sendToConsoleSocket(pair[0]); close(pair[0]);  // the engine (conmon) owns the master
//   hostsig().sb_tty_set_ctty(pair[1]);            // optional: the sentry hears SIGWINCH
//   const con = HostConsole.attach(kernel, pair[1], { makeRaw: true });
//   sandbox.startInit({ ..., stdio: [pair[1], pair[1], pair[1]], terminal: con.terminal });
//   on the sentry's SIGWINCH: con.syncWinSize();
//   (or HostConsole.attach(..., { makeRaw: true, pollWinSizeMs: 250 }) instead of the
//   controlling-terminal step, e.g. for `exec -t`, with console: false);
//   when the sandbox is over: con.close() (writes what is left, hangs the terminal up).
// The guest then sees /dev/console and /dev/pts/0 as that terminal, with its own termios,
// and its init as the session leader controlling it.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { host } from "../../../ffi/host.ts";
import type { Kernel } from "../kernel.ts";
import type { Timer } from "../timers.ts";
import { ptyTable } from "./ptys.ts";
import type { Terminal, TtyDevice } from "./terminal.ts";
import { decodeWinSize, TERMIOS_SIZE } from "./termios.ts";

const EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010, EPOLLONESHOT = 1 << 30;
const CHUNK = 16384;

export interface HostConsoleOptions {
  /** Put the host terminal in raw mode (for a pty slave the sentry owns; not for a user's
   * terminal, whose settings the caller saves and restores). */
  makeRaw?: boolean;
  /** Called once when the host side hangs up (EOF or EIO on the host terminal). */
  onHangup?: () => void;
  /** Make it the sandbox's /dev/console (default true; false for the terminals of
   * processes started later, e.g. `exec -t`). */
  console?: boolean;
  /** Re-read the host terminal's window size every this many milliseconds: for a pty whose
   * resizes the sentry does not hear of as SIGWINCH (it is not the sentry's controlling
   * terminal). 0 or absent: only syncWinSize() calls. */
  pollWinSizeMs?: number;
}

export class HostConsole implements TtyDevice {
  /** st_rdev of the host terminal, to recognise the stdio fds that refer to it. */
  readonly hostRdev: number;
  private watching = 0;
  private token = 0;
  /** Output taken from the terminal that the host has not accepted yet. */
  private unsent: Uint8Array | null = null;
  /** Input read from the host that the terminal could not take yet. */
  private held: Uint8Array | null = null;
  private gone = false;
  private readonly buf = new Uint8Array(CHUNK);

  private constructor(
    readonly kernel: Kernel,
    readonly terminal: Terminal,
    /** The sentry's own non-blocking fd on the host terminal (read and write). */
    readonly fd: number,
    private readonly opts: HostConsoleOptions,
  ) {
    const st = new Uint8Array(144);
    host().sb_h_fstat(fd, st);
    const dv = new DataView(st.buffer);
    this.hostRdev = dv.getUint32(40, true) + dv.getUint32(44, true) * 4294967296;
  }

  /** Makes a terminal on host terminal hostFd (which stays the caller's: the console
   * reopens it non-blocking for itself) and makes it the sandbox's console, pts 0 if free.
   * Returns the console or -errno. */
  static attach(k: Kernel, hostFd: number, opts: HostConsoleOptions = {}): HostConsole | number {
    const h = host();
    if (h.sb_h_isatty(hostFd) !== 1) return -E.ENOTTY;
    const fd = h.sb_h_reopen(hostFd, L.O_RDWR | L.O_NONBLOCK | L.O_NOCTTY);
    if (fd < 0) return fd;
    if (opts.makeRaw) makeRaw(fd);
    const table = ptyTable(k);
    const tty = table.allocate();
    if (!tty) {
      h.sb_h_close(fd);
      return -E.ENOSPC;
    }
    const con = new HostConsole(k, tty, fd, opts);
    tty.device = con;
    if (opts.console !== false) table.console = tty;
    con.syncWinSize();
    con.arm(EPOLLIN);
    if (opts.pollWinSizeMs && opts.pollWinSizeMs > 0) con.pollWinSize(opts.pollWinSizeMs * 1e6);
    return con;
  }

  private pollTimer: Timer | null = null;

  private pollWinSize(periodNs: number): void {
    this.pollTimer = this.kernel.timers.add(this.kernel.nowNs() + periodNs, () => {
      if (this.gone) return;
      this.syncWinSize();
      this.pollWinSize(periodNs);
    });
  }

  /** Whether host fd refers to this console's host terminal. */
  matches(hostFd: number): boolean {
    if (host().sb_h_isatty(hostFd) !== 1) return false;
    const st = new Uint8Array(144);
    if (host().sb_h_fstat(hostFd, st) < 0) return false;
    const dv = new DataView(st.buffer);
    return dv.getUint32(40, true) + dv.getUint32(44, true) * 4294967296 === this.hostRdev;
  }

  /** Reads the host terminal's window size into the sandbox's terminal (SIGWINCH to its
   * foreground group if it changed). Call on the sentry's SIGWINCH. */
  syncWinSize(): void {
    const b = new Uint8Array(8);
    if (host().sb_h_ioctl(this.fd, L.TIOCGWINSZ, b) < 0) return;
    this.terminal.setWinSize(decodeWinSize(b));
  }

  // ---- TtyDevice ----------------------------------------------------------------------

  outputReady(): void {
    this.flush();
  }

  inputRoom(): void {
    if (this.held) this.pushHeld();
    if (!this.held && !(this.watching & EPOLLIN) && !this.gone) this.arm(EPOLLIN);
  }

  slaveClosed(): void {
    // The console stays: the guest may open /dev/console again.
  }

  // ---- host I/O -----------------------------------------------------------------------

  private arm(events: number): void {
    if (this.gone) return;
    this.watching |= events;
    const rc = this.kernel.watchFd(
      this.fd,
      this.watching | EPOLLONESHOT,
      (ev) => this.onEvents(ev),
      this.token || undefined,
    );
    if (rc > 0) this.token = rc;
  }

  private onEvents(ev: number): void {
    const wanted = this.watching;
    this.watching = 0;
    if (wanted & EPOLLOUT) this.flush();
    if ((wanted & EPOLLIN) && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) this.readHost();
    else if (wanted & EPOLLIN) this.arm(EPOLLIN);
  }

  /** Moves host input into the terminal until the host has no more or the terminal is
   * full (then inputRoom() resumes). */
  private readHost(): void {
    const h = host();
    for (let i = 0; i < 16; i++) {
      if (this.held) {
        this.pushHeld();
        if (this.held) return;
      }
      const n = h.sb_h_read(this.fd, this.buf, this.buf.length);
      if (n === -E.EAGAIN || n === -E.EINTR) {
        this.arm(EPOLLIN);
        return;
      }
      if (n <= 0) {
        this.hostGone();
        return;
      }
      this.held = this.buf.slice(0, n);
    }
    if (this.held) this.pushHeld();
    if (!this.held) this.arm(EPOLLIN);
  }

  private pushHeld(): void {
    const b = this.held!;
    const n = this.terminal.deviceWrite(b);
    this.held = n >= b.length ? null : b.subarray(n);
  }

  /** Writes the terminal's output to the host until done or the host would block. */
  private flush(): void {
    if (this.gone) {
      // Nobody reads any more: drop output so writers do not wait forever.
      this.terminal.deviceRead(Number.MAX_SAFE_INTEGER);
      return;
    }
    const h = host();
    for (;;) {
      if (!this.unsent || this.unsent.length === 0) {
        const out = this.terminal.deviceRead(CHUNK);
        if (out.length === 0) {
          this.unsent = null;
          return;
        }
        this.unsent = out;
      }
      const n = h.sb_h_write(this.fd, this.unsent, this.unsent.length);
      if (n === -E.EAGAIN || n === -E.EINTR) {
        this.arm(EPOLLOUT);
        return;
      }
      if (n < 0) {
        this.hostGone();
        return;
      }
      this.unsent = this.unsent.subarray(n);
    }
  }

  /** The host terminal went away: the guest's terminal hangs up. */
  private hostGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.unsent = null;
    this.held = null;
    if (this.token) this.kernel.unwatchFd(this.fd, this.token);
    this.token = 0;
    this.terminal.hangup();
    this.opts.onHangup?.();
  }

  /** Stops using the host terminal (the sandbox is over). What the guest wrote last is
   * written out first, waiting for the host terminal if it must (our own description of
   * it, so blocking is ours alone). */
  close(): void {
    if (!this.gone) {
      const h = host();
      const fl = h.sb_h_fcntl(this.fd, L.F_GETFL, 0);
      if (fl >= 0) h.sb_h_fcntl(this.fd, L.F_SETFL, fl & ~L.O_NONBLOCK);
      for (let guard = 0; guard < 1 << 16; guard++) {
        if (!this.unsent || this.unsent.length === 0) {
          this.unsent = this.terminal.deviceRead(CHUNK);
          if (this.unsent.length === 0) break;
        }
        const n = h.sb_h_write(this.fd, this.unsent, this.unsent.length);
        if (n < 0 && n !== -E.EINTR) break;
        if (n > 0) this.unsent = this.unsent.subarray(n);
      }
    }
    if (this.token) this.kernel.unwatchFd(this.fd, this.token);
    this.token = 0;
    this.gone = true;
    this.kernel.timers.cancel(this.pollTimer);
    this.pollTimer = null;
    const table = ptyTable(this.kernel);
    if (table.console === this.terminal) table.console = null;
    this.terminal.hangup();
    table.release(this.terminal);
    host().sb_h_close(this.fd);
  }
}

/** Raw mode on a host terminal fd through TCGETS/TCSETS (what cfmakeraw does). */
function makeRaw(fd: number): void {
  const b = new Uint8Array(TERMIOS_SIZE);
  if (host().sb_h_ioctl(fd, L.TCGETS, b) < 0) return;
  const dv = new DataView(b.buffer);
  const IGNBRK = 1, BRKINT = 2, PARMRK = 0o10, ISTRIP = 0o40, INLCR = 0o100, IGNCR = 0o200;
  const ICRNL = 0o400, IXON = 0o2000, OPOST = 1, ECHO = 0o10, ECHONL = 0o100, ICANON = 2;
  const ISIG = 1, IEXTEN = 0o100000, CSIZE = 0o60, PARENB = 0o400, CS8 = 0o60;
  dv.setUint32(
    0,
    dv.getUint32(0, true) & ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON),
    true,
  );
  dv.setUint32(4, dv.getUint32(4, true) & ~OPOST, true);
  dv.setUint32(12, dv.getUint32(12, true) & ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN), true);
  dv.setUint32(8, (dv.getUint32(8, true) & ~(CSIZE | PARENB)) | CS8, true);
  b[17 + 6] = 1; // VMIN
  b[17 + 5] = 0; // VTIME
  host().sb_h_ioctl(fd, L.TCSETS, b);
}
