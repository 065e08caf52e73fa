// Interactive use through a real (host) pty, as a person at a terminal: `cordon do` gives the
// guest a terminal of the sandbox on top of it. Checks line editing, ^C and ^Z for the
// foreground job, window sizes (stty size, SIGWINCH), the host terminal's settings after
// cordon exits, and signals sent to cordon itself. Every wait has a generous deadline; no
// assertion depends on timing.
import { CORDON, PtySession } from "./pty_harness.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const ENV = {
  PATH: "/usr/local/bin:/usr/bin:/bin",
  TERM: "dumb",
  HOME: "/root",
  LANG: "C",
  PS1: "PROMPT$ ",
};
const PROMPT = "PROMPT$ ";

async function withShell(
  platform: string,
  fn: (s: PtySession) => Promise<void>,
  rows = 33,
  cols = 101,
): Promise<void> {
  const s = PtySession.spawn([
    CORDON,
    "do",
    "--platform",
    platform,
    "--",
    "/bin/bash",
    "--norc",
    "--noprofile",
    "-i",
  ], {
    rows,
    cols,
    env: ENV,
  });
  try {
    await s.expect(PROMPT);
    await fn(s);
  } finally {
    s.close();
  }
}

/** Types a command line and returns what came back up to the next prompt. */
async function run(s: PtySession, line: string): Promise<string> {
  s.write(line + "\r");
  return await s.expect(PROMPT);
}

for (const platform of ["trap", "ptrace"]) {
  Deno.test(`tty (${platform}): bash in a pty: stty size, tty, line editing, ^C, exit status`, async () => {
    await withShell(platform, async (s) => {
      let out = await run(s, "stty size");
      assert(out.includes("33 101\r\n"), `stty size: ${JSON.stringify(out)}`);
      out = await run(s, "tty");
      assert(out.includes("/dev/pts/0\r\n"), `tty: ${JSON.stringify(out)}`);
      // Backspace over "x" (readline's editing; the terminal echoes nothing itself).
      out = await run(s, "echo abcx\x7fd");
      assert(/\r\nabcd\r\n/.test(out), `line editing: ${JSON.stringify(out)}`);
      // ^C interrupts the foreground job, not the shell, not cordon.
      // ^C is typed once the job says it runs (so it is the foreground group by then).
      s.write("sh -c 'echo started; exec sleep 100'; echo not-interrupted\r");
      await s.expect("started\r\n");
      s.write("\x03");
      out = await s.expect(PROMPT);
      assert(out.includes("^C") && !out.includes("not-interrupted"), `^C: ${JSON.stringify(out)}`);
      out = await run(s, "echo status $?");
      assert(out.includes("status 130"), `status after ^C: ${JSON.stringify(out)}`);
      s.write("exit 7\r");
      const status = await s.wait();
      assert((status >> 8) === 7 && (status & 0x7f) === 0, `exit status: ${status}`);
    });
  });
}

Deno.test("tty: job control: ^Z stops the foreground job, fg brings it back, ^C ends it", async () => {
  await withShell("trap", async (s) => {
    // The job says when it runs and when it is continued, so keys are typed while it is the
    // terminal's foreground group.
    s.write("sh -c 'trap \"echo cont\" CONT; echo started; while :; do sleep 1; done'\r");
    await s.expect("started\r\n");
    s.write("\x1a");
    let out = await s.expect(PROMPT);
    assert(/Stopped\s+sh -c/.test(out), `^Z: ${JSON.stringify(out)}`);
    out = await run(s, "jobs");
    assert(/\[1\]\+\s+Stopped\s+sh -c/.test(out), `jobs: ${JSON.stringify(out)}`);
    s.write("fg\r");
    await s.expect("cont\r\n");
    s.write("\x03");
    out = await s.expect(PROMPT);
    out = await run(s, "jobs; echo done");
    assert(!out.includes("Stopped") && out.includes("done"), `after ^C: ${JSON.stringify(out)}`);
    // A background job writing to the terminal with tostop is stopped by SIGTTOU.
    out = await run(s, "stty tostop; (echo bg-output) & wait; jobs; kill -KILL %1; stty -tostop");
    assert(
      /Stopped\s+\( echo bg-output \)/.test(out) && !out.includes("\r\nbg-output\r\n"),
      `tostop: ${JSON.stringify(out)}`,
    );
    s.write("exit\r");
    await s.wait();
  });
});

Deno.test("tty: window size changes reach the guest's foreground job (SIGWINCH)", async () => {
  await withShell("trap", async (s) => {
    await run(s, "trap 'echo WINCH $(stty size)' WINCH");
    s.resize(40, 120);
    await s.expect("WINCH 40 120");
    const out = await run(s, "stty size");
    assert(out.includes("40 120\r\n"), `stty size after resize: ${JSON.stringify(out)}`);
    s.write("exit\r");
    await s.wait();
  });
});

Deno.test("tty: canonical mode for a program that reads lines: erase, kill, ^D", async () => {
  // Typing starts once the guest runs (input typed earlier meets the host terminal's own
  // line discipline, before cordon makes it raw).
  const s = PtySession.spawn([CORDON, "do", "--", "/bin/sh", "-c", "echo ready; exec cat"], {
    env: ENV,
  });
  try {
    await s.expect("ready\r\n");
    s.write("abcx\x7fd\r");
    await s.expect("abcx\b \bd\r\nabcd\r\n");
    s.write("junk\x15kept\r");
    await s.expect("kept\r\nkept\r\n");
    s.write("\x04");
    const status = await s.wait();
    assert(status === 0, `cat exit status: ${status}`);
  } finally {
    s.close();
  }
});

Deno.test("tty: the host terminal's settings come back when cordon exits", async () => {
  // A shell on the pty runs cordon in between two `stty -g`: they must be equal, whether
  // the guest exits, is killed by a signal, or cordon itself gets SIGTERM.
  const script = [
    "stty -g",
    `${CORDON} do -- /bin/true`,
    "stty -g",
    `${CORDON} do -- /bin/sh -c 'kill -KILL $$'`,
    "stty -g",
    `(${CORDON} do -- /bin/sleep 100 & p=$!; sleep 1; kill -TERM $p; wait $p; echo "term status $?")`,
    "stty -g",
    "echo END",
  ].join("; ");
  const s = PtySession.spawn(["/bin/sh", "-c", script], { env: ENV });
  try {
    const out = await s.expect("END");
    const settings = out.split(/\r?\n/).filter((l) =>
      /^[0-9a-f]+(:[0-9a-f]+){20,}$/.test(l.trim())
    );
    assert(settings.length === 4, `stty -g lines: ${JSON.stringify(out)}`);
    assert(
      settings.every((l) => l === settings[0]),
      `settings changed: ${JSON.stringify(settings)}`,
    );
    assert(
      out.includes("term status 143"),
      `SIGTERM forwarded to the guest: ${JSON.stringify(out)}`,
    );
  } finally {
    s.close();
  }
});

Deno.test("tty: SIGINT sent to cordon goes to the guest's init (no terminal)", async () => {
  const child = new Deno.Command(CORDON, {
    args: [
      "do",
      "--",
      "/bin/sh",
      "-c",
      "trap 'echo got INT; exit 5' INT; echo ready; while :; do sleep 0.2; done",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let seen = "";
  const dec = new TextDecoder();
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += dec.decode(value);
  }
  child.kill("SIGINT");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += dec.decode(value);
  }
  const status = await child.status;
  await child.stderr.cancel();
  assert(seen.includes("got INT"), `guest output: ${JSON.stringify(seen)}`);
  assert(status.code === 5, `exit status ${status.code} (signal ${status.signal})`);
});

Deno.test("tty: a lot of output reaches the terminal, to the last line, before cordon exits", async () => {
  const s = PtySession.spawn([CORDON, "do", "--", "/usr/bin/seq", "1", "100000"], { env: ENV });
  try {
    const status = await s.wait();
    assert(status === 0, `seq exit status ${status}`);
    const lines = s.output.split("\r\n");
    assert(
      lines.length === 100001 && lines[99999] === "100000",
      `got ${lines.length} lines, last ${JSON.stringify(s.output.slice(-20))}`,
    );
  } finally {
    s.close();
  }
});
