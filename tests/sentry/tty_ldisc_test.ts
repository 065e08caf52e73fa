// The line discipline on its own (sentry/kernel/tty/ldisc.ts): canonical editing, echo,
// signals, output processing, mode switches. No sandbox: bytes in, bytes out.
import { LineDiscipline } from "../../sentry/kernel/tty/ldisc.ts";
import * as T from "../../sentry/kernel/tty/termios.ts";

function assertEq<V>(actual: V, expected: V, what: string): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: got ${a}, want ${e}`);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function make(edit?: (t: T.Termios) => void) {
  const signals: number[] = [];
  const t = new T.Termios();
  edit?.(t);
  const ld = new LineDiscipline(t, { signal: (s) => signals.push(s) });
  const type = (s: string) => ld.receive(enc.encode(s));
  const echo = () => dec.decode(ld.takeOutput(1 << 20));
  const read = (n = 4096) => dec.decode(ld.read(n));
  return { ld, signals, type, echo, read };
}

Deno.test("ldisc: canonical mode returns whole lines, with CR mapped to NL and echoed as CR NL", () => {
  const { ld, type, echo, read } = make();
  type("hello");
  assertEq(ld.hasLine(), false, "no line before Enter");
  assertEq(echo(), "hello", "echo");
  type("\r");
  assertEq(echo(), "\r\n", "echo of Enter");
  assertEq(read(), "hello\n", "line");
  type("one\ntwo\n");
  assertEq(read(), "one\n", "first line only");
  assertEq(read(2), "tw", "partial read");
  assertEq(read(), "o\n", "rest of the line");
});

Deno.test("ldisc: erase, word erase and kill edit the line and echo the erasure", () => {
  const { type, echo, read } = make();
  type("abcx\x7fd");
  assertEq(echo(), "abcx\b \bd", "erase echo");
  type("\r");
  echo();
  assertEq(read(), "abcd\n", "erase");
  type("foo bar_1 baz\x17\x17qux\n");
  echo();
  assertEq(read(), "foo qux\n", "word erase (two words)");
  type("junk\x15ok\n");
  assertEq(read(), "ok\n", "kill");
});

Deno.test("ldisc: EOF ends a line without a byte; at the start of a line it reads as 0 bytes", () => {
  const { ld, type, read } = make();
  type("abc\x04");
  assertEq(read(), "abc", "line ended by EOF");
  type("\x04");
  assertEq(ld.hasLine(), true, "EOF is readable");
  assertEq(ld.read(100).length, 0, "end of file");
  assertEq(ld.hasLine(), false, "consumed");
});

Deno.test("ldisc: ^C, ^\\ and ^Z signal the foreground group, echo as ^C, and flush input and output", () => {
  const { ld, signals, type, echo } = make();
  type("partial\x03");
  assertEq(signals, [2], "SIGINT");
  // Output the device had not taken (the echo of "partial") goes too.
  assertEq(echo(), "^C", "echo");
  assertEq(ld.buffered, 0, "input flushed");
  type("\x1c\x1a");
  assertEq(signals, [2, 3, 20], "SIGQUIT, SIGTSTP");
});

Deno.test("ldisc: without ISIG, ^C is data; with NOFLSH, input survives a signal", () => {
  const a = make((t) => (t.lflag &= ~T.ISIG));
  a.type("\x03\n");
  assertEq(a.signals, [], "no signal");
  assertEq(a.read(), "\x03\n", "^C as data");
  const b = make((t) => (t.lflag |= T.NOFLSH));
  b.type("keep\x03\n");
  assertEq(b.read(), "keep\n", "input kept");
});

Deno.test("ldisc: raw mode (no ICANON, no ECHO) passes bytes through at once", () => {
  const { ld, type, echo, read } = make((t) => {
    t.lflag &= ~(T.ICANON | T.ECHO);
    t.iflag &= ~T.ICRNL;
  });
  type("a\rb\x7f");
  assertEq(echo(), "", "no echo");
  assertEq(ld.readable(), 4, "all readable");
  assertEq(read(), "a\rb\x7f", "bytes as typed");
});

Deno.test("ldisc: switching to raw mode makes a partial line readable", () => {
  const { ld, type, read } = make();
  type("half");
  assertEq(ld.readable(), 0, "canonical: not yet");
  const t = ld.termios.clone();
  t.lflag &= ~T.ICANON;
  ld.setTermios(t);
  assertEq(read(), "half", "now readable");
});

Deno.test("ldisc: output processing turns NL into CR NL and expands tabs only under XTABS", () => {
  const { ld, echo } = make();
  ld.write(enc.encode("a\nb\tc"));
  assertEq(echo(), "a\r\nb\tc", "ONLCR");
  const t = ld.termios.clone();
  t.oflag |= T.XTABS;
  ld.setTermios(t);
  ld.write(enc.encode("\rab\tc"));
  assertEq(echo(), "\rab      c", "XTABS from column 2");
  t.oflag &= ~T.OPOST;
  ld.setTermios(t.clone());
  ld.write(enc.encode("x\ny"));
  assertEq(echo(), "x\ny", "no OPOST");
});

Deno.test("ldisc: erasing a tab backs up to where the tab started", () => {
  const { type, echo } = make();
  type("ab\t");
  echo();
  type("\x7f");
  assertEq(echo(), "\b\b\b\b\b\b", "six columns back (tab from column 2 to 8)");
});

Deno.test("ldisc: literal next (^V) quotes a special character", () => {
  const { signals, type, read } = make();
  type("\x16\x03\n");
  assertEq(signals, [], "no signal");
  assertEq(read(), "\x03\n", "quoted ^C");
});

Deno.test("ldisc: ECHOCTL shows control characters as ^X; ECHOE off echoes the erase character", () => {
  const { type, echo } = make();
  type("\x01");
  assertEq(echo(), "^A", "^A");
  const b = make((t) => (t.lflag &= ~T.ECHOE));
  b.type("x\x7f");
  assertEq(b.echo(), "x^?", "erase shown as ^?");
});

Deno.test("ldisc: ^S stops output and ^Q restarts it (IXON)", () => {
  const { ld, type } = make();
  type("\x13");
  ld.write(enc.encode("held"));
  assertEq(ld.takeOutput(100).length, 0, "stopped");
  type("\x11");
  assertEq(dec.decode(ld.takeOutput(100)), "held", "restarted");
});

Deno.test("ldisc: a full canonical buffer still takes the line end", () => {
  const { ld, type, read } = make((t) => (t.lflag &= ~T.ECHO));
  type("x".repeat(5000));
  type("\n");
  const line = read(8192);
  assertEq(line.length, 4095, "line length (4094 bytes and NL)");
  assertEq(line.endsWith("x\n"), true, "ends with NL");
  assertEq(ld.buffered, 0, "nothing left");
});

Deno.test("termios: encode and decode round trip; speeds follow CBAUD", () => {
  const t = new T.Termios();
  const b = t.encode(T.TERMIOS2_SIZE);
  const u = new T.Termios();
  u.decode(b);
  assertEq([u.iflag, u.oflag, u.cflag, u.lflag, [...u.cc], u.ospeed], [
    t.iflag,
    t.oflag,
    t.cflag,
    t.lflag,
    [...t.cc],
    38400,
  ], "round trip");
  assertEq(
    [t.iflag, t.oflag, t.cflag, t.lflag],
    [0o2400, 0o5, 0o2277, 0o105073],
    "Linux's defaults",
  );
});

Deno.test("ldisc: output already out stays readable when ^S stops output; new output waits", () => {
  const { ld, type } = make();
  ld.write(enc.encode("before\n"));
  type("\x13");
  ld.write(enc.encode("after\n"));
  assertEq(dec.decode(ld.takeOutput(100)), "before\r\n", "delivered before ^S");
  type("\x11");
  assertEq(dec.decode(ld.takeOutput(100)), "after\r\n", "held until ^Q");
});
