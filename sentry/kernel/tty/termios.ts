// struct termios as Linux's tty layer keeps it: flag bits, control characters, the defaults
// of a fresh terminal (tty_std_termios), and the guest ABI encodings (termios for TCGETS,
// termios2 for TCGETS2, the old termio for TCGETA).

// c_iflag
export const IGNBRK = 0o1, BRKINT = 0o2, IGNPAR = 0o4, PARMRK = 0o10, INPCK = 0o20;
export const ISTRIP = 0o40, INLCR = 0o100, IGNCR = 0o200, ICRNL = 0o400, IUCLC = 0o1000;
export const IXON = 0o2000, IXANY = 0o4000, IXOFF = 0o10000, IMAXBEL = 0o20000, IUTF8 = 0o40000;
// c_oflag
export const OPOST = 0o1, OLCUC = 0o2, ONLCR = 0o4, OCRNL = 0o10, ONOCR = 0o20, ONLRET = 0o40;
export const OFILL = 0o100, OFDEL = 0o200, TABDLY = 0o14000, XTABS = 0o14000;
// c_cflag
export const CBAUD = 0o10017, B38400 = 0o17, CSIZE = 0o60, CS8 = 0o60, CSTOPB = 0o100;
export const CREAD = 0o200, PARENB = 0o400, PARODD = 0o1000, HUPCL = 0o2000, CLOCAL = 0o4000;
export const CBAUDEX = 0o10000, CIBAUD = 0o2003600000, BOTHER = 0o10000;
// c_lflag
export const ISIG = 0o1, ICANON = 0o2, XCASE = 0o4, ECHO = 0o10, ECHOE = 0o20, ECHOK = 0o40;
export const ECHONL = 0o100, NOFLSH = 0o200, TOSTOP = 0o400, ECHOCTL = 0o1000, ECHOPRT = 0o2000;
export const ECHOKE = 0o4000, FLUSHO = 0o10000, PENDIN = 0o40000, IEXTEN = 0o100000;
export const EXTPROC = 0o200000;

// c_cc indices
export const VINTR = 0, VQUIT = 1, VERASE = 2, VKILL = 3, VEOF = 4, VTIME = 5, VMIN = 6;
export const VSWTC = 7, VSTART = 8, VSTOP = 9, VSUSP = 10, VEOL = 11, VREPRINT = 12;
export const VDISCARD = 13, VWERASE = 14, VLNEXT = 15, VEOL2 = 16;
export const NCCS = 19;
/** A c_cc value that disables its function. */
export const DISABLED_CHAR = 0;

/** Size of struct termios (TCGETS), termios2 (TCGETS2) and termio (TCGETA) for x86-64. */
export const TERMIOS_SIZE = 36;
export const TERMIOS2_SIZE = 44;
export const TERMIO_SIZE = 18;

const BAUD_RATES = [
  0,
  50,
  75,
  110,
  134,
  150,
  200,
  300,
  600,
  1200,
  1800,
  2400,
  4800,
  9600,
  19200,
  38400,
  57600,
  115200,
  230400,
  460800,
  500000,
  576000,
  921600,
  1000000,
  1152000,
  1500000,
  2000000,
  2500000,
  3000000,
  3500000,
  4000000,
];

/** The speed a CBAUD code stands for (0 for an unknown code). */
export function baudOf(cflag: number): number {
  let code = cflag & CBAUD;
  if (code & CBAUDEX) code = (code & ~CBAUDEX) + 15;
  return BAUD_RATES[code] ?? 0;
}

export class Termios {
  iflag = ICRNL | IXON;
  oflag = OPOST | ONLCR;
  cflag = B38400 | CS8 | CREAD | HUPCL;
  lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  line = 0;
  /** ^C ^\ ^? ^U ^D, TIME 0, MIN 1, -, ^Q ^S ^Z, -, ^R ^O ^W ^V, - (Linux's INIT_C_CC). */
  cc = Uint8Array.from([
    3,
    0o34,
    0o177,
    0o25,
    4,
    0,
    1,
    0,
    0o21,
    0o23,
    0o32,
    0,
    0o22,
    0o17,
    0o27,
    0o26,
    0,
    0,
    0,
  ]);
  /** termios2 speeds, kept so TCGETS2 returns what TCSETS2 set. */
  ispeed = 38400;
  ospeed = 38400;

  /** A pty master's termios: no processing at all (Linux's pty driver init_termios). */
  static raw(): Termios {
    const t = new Termios();
    t.iflag = 0;
    t.oflag = 0;
    t.lflag = 0;
    t.cflag = B38400 | CS8 | CREAD;
    return t;
  }

  clone(): Termios {
    const t = new Termios();
    t.iflag = this.iflag;
    t.oflag = this.oflag;
    t.cflag = this.cflag;
    t.lflag = this.lflag;
    t.line = this.line;
    t.cc = this.cc.slice();
    t.ispeed = this.ispeed;
    t.ospeed = this.ospeed;
    return t;
  }

  /** struct termios (36 bytes) or termios2 (44 bytes: plus c_ispeed, c_ospeed). */
  encode(size: number = TERMIOS_SIZE): Uint8Array {
    const b = new Uint8Array(size);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, this.iflag >>> 0, true);
    dv.setUint32(4, this.oflag >>> 0, true);
    dv.setUint32(8, this.cflag >>> 0, true);
    dv.setUint32(12, this.lflag >>> 0, true);
    b[16] = this.line;
    b.set(this.cc.subarray(0, NCCS), 17);
    if (size >= TERMIOS2_SIZE) {
      dv.setUint32(36, this.ispeed >>> 0, true);
      dv.setUint32(40, this.ospeed >>> 0, true);
    }
    return b;
  }

  /** Sets from an encoded struct termios / termios2. */
  decode(b: Uint8Array): void {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.iflag = dv.getUint32(0, true);
    this.oflag = dv.getUint32(4, true);
    this.cflag = dv.getUint32(8, true);
    this.lflag = dv.getUint32(12, true);
    this.line = b[16];
    this.cc = b.slice(17, 17 + NCCS);
    if (b.length >= TERMIOS2_SIZE && (this.cflag & CBAUD) === BOTHER) {
      this.ispeed = dv.getUint32(36, true);
      this.ospeed = dv.getUint32(40, true);
    } else {
      this.ospeed = baudOf(this.cflag);
      const ibaud = (this.cflag & CIBAUD) >>> 16;
      this.ispeed = ibaud ? baudOf(ibaud) : this.ospeed;
    }
  }

  /** The old struct termio (TCGETA): 16-bit flags, c_line, 8 control characters. */
  encodeTermio(): Uint8Array {
    const b = new Uint8Array(TERMIO_SIZE);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, this.iflag & 0xffff, true);
    dv.setUint16(2, this.oflag & 0xffff, true);
    dv.setUint16(4, this.cflag & 0xffff, true);
    dv.setUint16(6, this.lflag & 0xffff, true);
    b[8] = this.line;
    b.set(this.cc.subarray(0, 8), 9);
    return b;
  }

  /** TCSETA: the low 16 bits of each flag word and the first 8 control characters. */
  decodeTermio(b: Uint8Array): void {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.iflag = (this.iflag & ~0xffff) | dv.getUint16(0, true);
    this.oflag = (this.oflag & ~0xffff) | dv.getUint16(2, true);
    this.cflag = (this.cflag & ~0xffff) | dv.getUint16(4, true);
    this.lflag = (this.lflag & ~0xffff) | dv.getUint16(6, true);
    this.line = b[8];
    this.cc.set(b.subarray(9, 17), 0);
  }
}

export interface WinSize {
  rows: number;
  cols: number;
  xpixel: number;
  ypixel: number;
}

export function encodeWinSize(w: WinSize): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, w.rows, true);
  dv.setUint16(2, w.cols, true);
  dv.setUint16(4, w.xpixel, true);
  dv.setUint16(6, w.ypixel, true);
  return b;
}

export function decodeWinSize(b: Uint8Array): WinSize {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    rows: dv.getUint16(0, true),
    cols: dv.getUint16(2, true),
    xpixel: dv.getUint16(4, true),
    ypixel: dv.getUint16(6, true),
  };
}
