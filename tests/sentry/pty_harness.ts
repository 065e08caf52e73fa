// A pty harness for interactive tests: runs a program on a fresh host pty (libsandbox's
// sb_pty_spawn: a new session with the pty as its controlling terminal), types into it and
// waits for output, as a person at a terminal would. Output is matched, never timed: every
// wait has a generous deadline and fails with the transcript so far.
import { hostsig } from "../../ffi/hostsig.ts";
import { host } from "../../ffi/host.ts";

const TIOCSWINSZ = 0x5414;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The program under test: dist/cordon unless CORDON_TEST_DIST says otherwise. */
export const CORDON = Deno.env.get("CORDON_TEST_DIST") ??
  new URL("../../dist/cordon", import.meta.url).pathname;

function packStrings(list: string[]): Uint8Array {
  const parts = list.map((s) => enc.encode(s + "\0"));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export class PtySession {
  /** Everything the program wrote so far (terminal output, as text). */
  output = "";
  private consumed = 0;
  private status: number | null = null;

  private constructor(readonly pid: number, readonly master: number) {}

  /** Starts argv (argv[0] an absolute path) on a rows x cols pty. */
  static spawn(
    argv: string[],
    opts: { rows?: number; cols?: number; env?: Record<string, string> } = {},
  ): PtySession {
    const env = opts.env ??
      { PATH: "/usr/local/bin:/usr/bin:/bin", TERM: "xterm", HOME: "/root", LANG: "C" };
    const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const masterOut = new Int32Array(1);
    const pid = hostsig().sb_pty_spawn(
      packStrings(argv),
      argv.length,
      packStrings(envList),
      envList.length,
      opts.rows ?? 24,
      opts.cols ?? 80,
      new Uint8Array(masterOut.buffer),
    );
    if (pid < 0) throw new Error(`sb_pty_spawn: errno ${-pid}`);
    return new PtySession(pid, masterOut[0]);
  }

  /** Reads whatever output is there (the master is non-blocking). */
  private drain(): void {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = host().sb_h_read(this.master, buf, buf.length);
      if (n <= 0) return;
      this.output += dec.decode(buf.subarray(0, n), { stream: true });
    }
  }

  /** Types s (bytes as given: "\x03" is ^C, "\r" is Enter). */
  write(s: string): void {
    const b = enc.encode(s);
    let off = 0;
    while (off < b.length) {
      const n = host().sb_h_write(this.master, b.subarray(off), b.length - off);
      if (n < 0) throw new Error(`write to pty: errno ${-n}`);
      off += n;
    }
  }

  /** Sets the pty's window size (the program's foreground job gets SIGWINCH). */
  resize(rows: number, cols: number): void {
    const ws = new Uint16Array([rows, cols, 0, 0]);
    const rc = host().sb_h_ioctl(this.master, TIOCSWINSZ, new Uint8Array(ws.buffer));
    if (rc < 0) throw new Error(`TIOCSWINSZ: errno ${-rc}`);
  }

  /** Waits until the output after the last expect() matches; returns the new output up to
   * the end of the match. */
  async expect(pattern: RegExp | string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.drain();
      const rest = this.output.slice(this.consumed);
      let end = -1;
      if (typeof pattern === "string") {
        const i = rest.indexOf(pattern);
        if (i >= 0) end = i + pattern.length;
      } else {
        const m = pattern.exec(rest);
        if (m) end = m.index + m[0].length;
      }
      if (end >= 0) {
        this.consumed += end;
        return rest.slice(0, end);
      }
      if (
        this.exited() !== null && (this.drain(), this.output.length === this.consumed + rest.length)
      ) {
        throw new Error(
          `program exited (status ${this.status}) before ${pattern}; output:\n${rest}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${pattern}; output:\n${rest}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The wait status once the program has exited, else null. */
  exited(): number | null {
    if (this.status !== null) return this.status;
    const r = hostsig().sb_pty_wait(this.pid, 1);
    if (r >= 0) this.status = r;
    return this.status;
  }

  /** Waits for the program to exit; returns its wait status. */
  async wait(timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.exited() === null) {
      this.drain();
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for exit; output:\n${this.output.slice(this.consumed)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    this.drain();
    return this.status!;
  }

  /** Kills the program if it still runs and closes the master. */
  close(): void {
    if (this.exited() === null) {
      try {
        Deno.kill(this.pid, "SIGKILL");
      } catch {
        // already gone
      }
      hostsig().sb_pty_wait(this.pid, 0);
    }
    host().sb_h_close(this.master);
  }
}
