// The line discipline (Linux's N_TTY): what happens to the bytes between a terminal's device
// side (a pty master, the user's terminal) and the programs reading and writing the
// terminal. Input: signals for ^C ^\ ^Z, canonical line editing (erase, word erase, kill,
// reprint, literal next, EOF), CR/NL mapping, echo; output: OPOST processing (NL -> CR NL,
// tab expansion, ...) with the column tracking that erasing needs.
//
// Pure bookkeeping: no tasks, no blocking. The Terminal (terminal.ts) decides who may read
// and write and when to wait; this class only says how many bytes can move.
import * as T from "./termios.ts";

/** Size of the buffer of input the slave side has not read yet (N_TTY_BUF_SIZE). */
export const INPUT_BUFFER = 4096;
/** Bytes the device side may queue ahead of the line discipline (the tty flip buffers). */
export const PENDING_LIMIT = 65536;
/** Bytes of output the device side may leave unread before slave writes wait. */
export const OUTPUT_LIMIT = 65536;

export interface LdiscHooks {
  /** ISIG: send sig to the terminal's foreground process group. */
  signal(sig: number): void;
}

const SIGINT = 2, SIGQUIT = 3, SIGTSTP = 20;

function isCntrl(c: number): boolean {
  return c < 32 || c === 127;
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** A queue of bytes kept as chunks. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private first = 0;
  length = 0;

  push(b: Uint8Array): void {
    if (b.length === 0) return;
    this.chunks.push(b);
    this.length += b.length;
  }

  /** Removes and returns up to n bytes. */
  take(n: number): Uint8Array {
    n = Math.min(n, this.length);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length - this.first, n - done);
      out.set(c.subarray(this.first, this.first + k), done);
      done += k;
      this.first += k;
      if (this.first === c.length) {
        this.chunks.shift();
        this.first = 0;
      }
    }
    this.length -= n;
    return out;
  }

  /** The first byte (the queue must not be empty). */
  peek(): number {
    return this.chunks[0][this.first];
  }

  clear(): void {
    this.chunks = [];
    this.first = 0;
    this.length = 0;
  }
}

export class LineDiscipline {
  termios: T.Termios;
  /** Input the slave side can read, with absolute positions: [tail, head) is buffered;
   * [tail, canonHead) is complete lines in canonical mode, [canonHead, head) the line being
   * edited. data[0] is absolute position `base`. */
  private data = new Uint8Array(INPUT_BUFFER);
  private base = 0;
  private tail = 0;
  private head = 0;
  private canonHead = 0;
  /** Canonical mode: where each complete line ends (EOF lines end without a byte). */
  private lineEnds: number[] = [];
  /** Bytes from the device side not yet processed (no room in the input buffer). */
  readonly pending = new ByteQueue();
  /** Processed output the device side may take. */
  readonly output = new ByteQueue();
  /** Output made while stopped (^S, TCOOFF): delivered when output starts again. */
  private readonly held = new ByteQueue();
  /** Output column, and the column where the line being edited started (for erasing). */
  private column = 0;
  private canonColumn = 0;
  /** ECHOPRT: inside a "\...". */
  private erasing = false;
  /** The next input byte is literal (after VLNEXT). */
  private lnext = false;
  /** Output stopped by ^S (IXON) or TCOOFF: what is already out stays readable, new output
   * waits (Linux's pty stops writing to its master). */
  private stoppedFlag = false;
  /** Bytes that need the slow path (Linux's char_map), rebuilt when termios changes. */
  private special = new Uint8Array(256);
  private raw = false;

  constructor(termios: T.Termios, private readonly hooks: LdiscHooks) {
    this.termios = termios;
    this.rebuild(null);
  }

  private get icanon(): boolean {
    return (this.termios.lflag & T.ICANON) !== 0;
  }

  // ---- termios changes ---------------------------------------------------------------

  /** Takes a new termios (TCSETS*), as n_tty_set_termios does. */
  setTermios(next: T.Termios): void {
    const old = this.termios;
    this.termios = next;
    this.rebuild(old);
  }

  private rebuild(old: T.Termios | null): void {
    const t = this.termios;
    const canonChanged = !old || ((old.lflag ^ t.lflag) & T.ICANON) !== 0;
    if (canonChanged) {
      this.lineEnds = [];
      if (!this.icanon || this.head === this.tail) {
        this.canonHead = this.tail;
      } else {
        // Switching to canonical mode with unread input: it becomes one line.
        this.lineEnds.push(this.head);
        this.canonHead = this.head;
      }
      this.erasing = false;
      this.lnext = false;
    }
    if (!this.icanon) this.canonHead = this.head;
    const m = this.special;
    m.fill(0);
    const cc = t.cc;
    const i = t.iflag, l = t.lflag;
    this.raw = !((i & (T.ISTRIP | T.IUCLC | T.IGNCR | T.ICRNL | T.INLCR | T.IXON | T.PARMRK)) ||
      (l & (T.ICANON | T.ISIG | T.ECHO)));
    if (i & (T.IGNCR | T.ICRNL)) m[13] = 1;
    if (i & T.INLCR) m[10] = 1;
    if (l & T.ICANON) {
      m[cc[T.VERASE]] =
        m[cc[T.VKILL]] =
        m[cc[T.VEOF]] =
        m[10] =
        m[cc[T.VEOL]] =
          1;
      if (l & T.IEXTEN) {
        m[cc[T.VWERASE]] = m[cc[T.VLNEXT]] = m[cc[T.VEOL2]] = 1;
        if (l & T.ECHO) m[cc[T.VREPRINT]] = 1;
      }
    }
    if (i & T.IXON) m[cc[T.VSTART]] = m[cc[T.VSTOP]] = 1;
    if (l & T.ISIG) m[cc[T.VINTR]] = m[cc[T.VQUIT]] = m[cc[T.VSUSP]] = 1;
    m[T.DISABLED_CHAR] = 0;
    if (!(i & T.IXON)) this.setStopped(false);
  }

  // ---- the input side ------------------------------------------------------------------

  /** Bytes buffered for the slave side (all of them, complete lines or not). */
  get buffered(): number {
    return this.head - this.tail;
  }

  private get room(): number {
    return INPUT_BUFFER - 1 - (this.head - this.tail);
  }

  /** What a read could return now: canonical mode needs a complete line. */
  readable(): number {
    if (this.icanon) return this.lineEnds.length ? Math.max(1, this.canonHead - this.tail) : 0;
    return this.head - this.tail;
  }

  /** Whether a canonical read would return something (a line, or an EOF). */
  hasLine(): boolean {
    return this.lineEnds.length > 0;
  }

  /** FIONREAD: bytes of complete lines (canonical) or all bytes. */
  inq(): number {
    return this.icanon ? this.canonHead - this.tail : this.head - this.tail;
  }

  /** Queues input from the device side; returns how many bytes were taken (0 when the
   * pending queue is full). Processes what fits in the input buffer. */
  receive(b: Uint8Array): number {
    const n = Math.min(b.length, PENDING_LIMIT - this.pending.length);
    if (n > 0) this.pending.push(b.slice(0, n));
    this.processPending();
    return n;
  }

  /** Room for device input (what receive() would take). */
  receiveRoom(): number {
    return PENDING_LIMIT - this.pending.length;
  }

  /** Runs pending input through the discipline while the input buffer has room. Returns
   * true if anything was processed. */
  processPending(): boolean {
    let any = false;
    while (this.pending.length > 0) {
      if (this.room <= 0) {
        // Canonical mode with a full buffer and no complete line: keep going so a line end
        // can still get through (characters are dropped meanwhile), as N_TTY does.
        if (!(this.icanon && this.lineEnds.length === 0)) break;
      }
      const c = this.pending.take(1)[0];
      this.receiveByte(c);
      any = true;
    }
    return any;
  }

  private receiveByte(c: number): void {
    const t = this.termios;
    if (t.iflag & T.ISTRIP) c &= 0x7f;
    if ((t.iflag & T.IUCLC) && (t.lflag & T.IEXTEN) && c >= 65 && c <= 90) c += 32;
    if (this.lnext) {
      this.lnext = false;
      this.receiveNormal(c);
      return;
    }
    if (!this.raw && this.special[c]) {
      this.receiveSpecial(c);
      return;
    }
    this.receiveNormal(c);
  }

  private receiveNormal(c: number): void {
    const t = this.termios;
    this.maybeRestart();
    if (t.lflag & T.ECHO) {
      this.finishErasing();
      if (this.canonHead === this.head) this.canonColumn = this.column;
      this.echoChar(c);
    }
    if (c === 0xff && (t.iflag & T.PARMRK)) this.put(c);
    this.put(c);
  }

  /** IXANY: any character restarts stopped output. */
  private maybeRestart(): void {
    const i = this.termios.iflag;
    if (this.stopped && (i & T.IXON) && (i & T.IXANY)) this.setStopped(false);
  }

  private receiveSpecial(c: number): void {
    const t = this.termios;
    const cc = t.cc;
    const l = t.lflag;
    if (t.iflag & T.IXON) {
      if (c === cc[T.VSTART]) {
        this.setStopped(false);
        return;
      }
      if (c === cc[T.VSTOP]) {
        this.setStopped(true);
        return;
      }
    }
    if (l & T.ISIG) {
      const sig = c === cc[T.VINTR]
        ? SIGINT
        : c === cc[T.VQUIT]
        ? SIGQUIT
        : c === cc[T.VSUSP]
        ? SIGTSTP
        : 0;
      if (sig) {
        this.isig(sig);
        if (t.iflag & T.IXON) this.setStopped(false);
        if (l & T.ECHO) this.echoChar(c);
        return;
      }
    }
    this.maybeRestart();
    if (c === 13) {
      if (t.iflag & T.IGNCR) return;
      if (t.iflag & T.ICRNL) c = 10;
    } else if (c === 10 && (t.iflag & T.INLCR)) {
      c = 13;
    }
    if (this.icanon) {
      if (c === cc[T.VERASE] || c === cc[T.VKILL] || (c === cc[T.VWERASE] && (l & T.IEXTEN))) {
        this.eraser(c);
        return;
      }
      if (c === cc[T.VLNEXT] && (l & T.IEXTEN)) {
        this.lnext = true;
        if (l & T.ECHO) {
          this.finishErasing();
          if (l & T.ECHOCTL) {
            this.echoRaw(0x5e); // '^'
            this.echoRaw(8);
          }
        }
        return;
      }
      if (c === cc[T.VREPRINT] && (l & T.ECHO) && (l & T.IEXTEN)) {
        this.finishErasing();
        this.echoChar(c);
        this.echoRaw(10);
        for (let p = this.canonHead; p < this.head; p++) this.echoChar(this.at(p));
        return;
      }
      if (c === 10) {
        if (l & (T.ECHO | T.ECHONL)) this.echoRaw(10);
        this.put(c);
        this.endLine();
        return;
      }
      if (c === cc[T.VEOF]) {
        this.endLine();
        return;
      }
      if (c === cc[T.VEOL] || (c === cc[T.VEOL2] && (l & T.IEXTEN))) {
        if (l & T.ECHO) {
          if (this.canonHead === this.head) this.canonColumn = this.column;
          this.echoChar(c);
        }
        if (c === 0xff && (t.iflag & T.PARMRK)) this.put(c);
        this.put(c);
        this.endLine();
        return;
      }
    }
    if (l & T.ECHO) {
      this.finishErasing();
      if (c === 10) {
        this.echoRaw(10);
      } else {
        if (this.canonHead === this.head) this.canonColumn = this.column;
        this.echoChar(c);
      }
    }
    if (c === 0xff && (t.iflag & T.PARMRK)) this.put(c);
    this.put(c);
  }

  private isig(sig: number): void {
    // Typed-ahead input goes, and output the device has not taken yet (as Linux flushes the
    // driver's buffers); bytes still queued behind the signal character stay.
    if (!(this.termios.lflag & T.NOFLSH)) {
      this.flushInput(false);
      this.flushOutput();
    }
    this.hooks.signal(sig);
  }

  /** Appends a byte to the input buffer (dropped when full, as N_TTY does). */
  private put(c: number): void {
    if (this.head - this.tail >= INPUT_BUFFER - 1) {
      // Full: in canonical mode the last byte gives way to a line end.
      if (!(this.icanon && c === 10)) return;
      this.head--;
    }
    let idx = this.head - this.base;
    if (idx >= this.data.length) {
      this.compact();
      idx = this.head - this.base;
    }
    this.data[idx] = c;
    this.head++;
    if (!this.icanon) this.canonHead = this.head;
  }

  private at(p: number): number {
    return this.data[p - this.base];
  }

  private compact(): void {
    const off = this.tail - this.base;
    this.data.copyWithin(0, off, this.head - this.base);
    this.base = this.tail;
  }

  private endLine(): void {
    this.lineEnds.push(this.head);
    this.canonHead = this.head;
  }

  /** VERASE, VWERASE, VKILL: n_tty's eraser(). */
  private eraser(c: number): void {
    const t = this.termios;
    const l = t.lflag;
    const cc = t.cc;
    if (this.head === this.canonHead) return;
    let kill: "erase" | "werase" | "kill";
    if (c === cc[T.VERASE]) kill = "erase";
    else if (c === cc[T.VWERASE]) kill = "werase";
    else {
      if (!(l & T.ECHO)) {
        this.head = this.canonHead;
        return;
      }
      if (!(l & T.ECHOK) || !(l & T.ECHOKE) || !(l & T.ECHOE)) {
        this.head = this.canonHead;
        this.finishErasing();
        this.echoChar(c);
        if (l & T.ECHOK) this.echoRaw(10);
        return;
      }
      kill = "kill";
    }
    const utf8 = (t.iflag & T.IUTF8) !== 0;
    const isCont = (b: number) => utf8 && (b & 0xc0) === 0x80;
    let seenAlnums = 0;
    while (this.head !== this.canonHead) {
      let h = this.head;
      let b: number;
      do {
        h--;
        b = this.at(h);
      } while (isCont(b) && h !== this.canonHead);
      if (isCont(b)) break;
      if (kill === "werase") {
        if (isAlnum(b) || b === 95) seenAlnums++;
        else if (seenAlnums) break;
      }
      let cnt = this.head - h;
      this.head = h;
      if (l & T.ECHO) {
        if (l & T.ECHOPRT) {
          if (!this.erasing) {
            this.echoRaw(0x5c);
            this.erasing = true;
          }
          this.echoChar(b);
          while (--cnt > 0) this.echoRaw(this.at(++h));
        } else if (kill === "erase" && !(l & T.ECHOE)) {
          this.echoChar(cc[T.VERASE]);
        } else if (b === 9) {
          this.eraseTab();
        } else {
          if (isCntrl(b) && (l & T.ECHOCTL)) this.emitRaw([8, 32, 8]);
          if (!isCntrl(b) || (l & T.ECHOCTL)) this.emitRaw([8, 32, 8]);
        }
      }
      if (kill === "erase") break;
    }
    if (this.head === this.canonHead && (l & T.ECHO)) this.finishErasing();
  }

  /** Backs up over a tab: the columns it took depend on what precedes it on the line. */
  private eraseTab(): void {
    const l = this.termios.lflag;
    const utf8 = (this.termios.iflag & T.IUTF8) !== 0;
    let cols = 0;
    let afterTab = false;
    for (let p = this.head; p !== this.canonHead;) {
      p--;
      const b = this.at(p);
      if (b === 9) {
        afterTab = true;
        break;
      } else if (isCntrl(b)) {
        if (l & T.ECHOCTL) cols += 2;
      } else if (!(utf8 && (b & 0xc0) === 0x80)) {
        cols++;
      }
    }
    if (!afterTab) cols += this.canonColumn;
    let bs = 8 - (cols & 7);
    const out: number[] = [];
    while (bs--) {
      out.push(8);
      if (this.column > 0) this.column--;
    }
    this.emit(Uint8Array.from(out));
  }

  private finishErasing(): void {
    if (this.erasing) {
      this.echoRaw(0x2f); // '/'
      this.erasing = false;
    }
  }

  /** Echoes c, showing control characters as ^X under ECHOCTL. */
  private echoChar(c: number): void {
    if ((this.termios.lflag & T.ECHOCTL) && isCntrl(c) && c !== 9) {
      this.emit(Uint8Array.of(0x5e, c ^ 0o100));
      this.column += 2;
      return;
    }
    this.echoRaw(c);
  }

  /** Echoes c through output processing. */
  private echoRaw(c: number): void {
    this.emit(this.processOutput(Uint8Array.of(c)));
  }

  /** Backspace-space-backspace sequences: written as is, moving the column back. */
  private emitRaw(bytes: number[]): void {
    for (const b of bytes) {
      if (b === 8) {
        if (this.column > 0) this.column--;
      } else {
        this.column++;
      }
    }
    this.emit(Uint8Array.from(bytes));
  }

  /** Takes up to max bytes of input for a reader. Canonical mode returns at most one line
   * and never the EOF character; a zero-length result there means end of file. */
  read(max: number): Uint8Array {
    if (this.icanon) {
      if (!this.lineEnds.length) return new Uint8Array(0);
      const end = this.lineEnds[0];
      const n = Math.min(max, end - this.tail);
      const out = this.data.slice(this.tail - this.base, this.tail - this.base + n);
      this.tail += n;
      if (this.tail === end) this.lineEnds.shift();
      this.afterRead();
      return out;
    }
    const n = Math.min(max, this.head - this.tail);
    const out = this.data.slice(this.tail - this.base, this.tail - this.base + n);
    this.tail += n;
    this.afterRead();
    return out;
  }

  private afterRead(): void {
    if (this.tail === this.head) {
      this.base = this.tail;
    }
    this.processPending();
  }

  /** Discards unread input (TCIFLUSH; signals without NOFLSH keep what is pending). */
  flushInput(pendingToo = true): void {
    this.tail = this.head = this.canonHead = this.base;
    this.lineEnds = [];
    if (pendingToo) this.pending.clear();
    this.lnext = false;
    this.erasing = false;
  }

  // ---- the output side -----------------------------------------------------------------

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** Stops or restarts output; restarting delivers what was held. */
  setStopped(on: boolean): void {
    this.stoppedFlag = on;
    if (!on && this.held.length) this.output.push(this.held.take(this.held.length));
  }

  /** Queues processed output (held while stopped). */
  private emit(b: Uint8Array): void {
    if (this.stoppedFlag) this.held.push(b);
    else this.output.push(b);
  }

  /** A character the device must get at once, stopped or not (TCIOFF/TCION). */
  sendNow(b: Uint8Array): void {
    this.output.push(b);
  }

  /** Room for slave writes before they must wait. */
  outputRoom(): number {
    return OUTPUT_LIMIT - this.output.length - this.held.length;
  }

  /** A slave write: returns how many of the bytes were taken (output processing may turn
   * them into more; the queue may overshoot its limit by one processed chunk). */
  write(b: Uint8Array): number {
    const room = this.outputRoom();
    if (room <= 0) return 0;
    if (!(this.termios.oflag & T.OPOST)) {
      const n = Math.min(b.length, room);
      this.emit(b.slice(0, n));
      return n;
    }
    let done = 0;
    while (done < b.length && this.output.length + this.held.length < OUTPUT_LIMIT) {
      const k = Math.min(512, b.length - done);
      this.emit(this.processOutput(b.subarray(done, done + k)));
      done += k;
    }
    return done;
  }

  /** OPOST processing of bytes (do_output_char), tracking the column. */
  processOutput(b: Uint8Array): Uint8Array {
    const t = this.termios;
    const o = t.oflag;
    if (!(o & T.OPOST)) return b.slice();
    const out: number[] = [];
    const utf8 = (t.iflag & T.IUTF8) !== 0;
    for (let c of b) {
      switch (c) {
        case 10:
          if (o & T.ONLRET) this.column = 0;
          if (o & T.ONLCR) {
            this.canonColumn = this.column = 0;
            out.push(13, 10);
            continue;
          }
          this.canonColumn = this.column;
          break;
        case 13:
          if ((o & T.ONOCR) && this.column === 0) continue;
          if (o & T.OCRNL) {
            c = 10;
            if (o & T.ONLRET) this.canonColumn = this.column = 0;
            break;
          }
          this.canonColumn = this.column = 0;
          break;
        case 9: {
          const spaces = 8 - (this.column & 7);
          this.column += spaces;
          if ((o & T.TABDLY) === T.XTABS) {
            for (let i = 0; i < spaces; i++) out.push(32);
            continue;
          }
          break;
        }
        case 8:
          if (this.column > 0) this.column--;
          break;
        default:
          if (!isCntrl(c)) {
            if ((o & T.OLCUC) && c >= 97 && c <= 122) c -= 32;
            if (!(utf8 && (c & 0xc0) === 0x80)) this.column++;
          }
      }
      out.push(c);
    }
    return Uint8Array.from(out);
  }

  /** Takes up to max bytes of output for the device side. */
  takeOutput(max: number): Uint8Array {
    return this.output.take(max);
  }

  flushOutput(): void {
    this.output.clear();
    this.held.clear();
  }
}
