// /proc, /sys and /dev as real programs use them, through dist/cordon: procps (ps, pgrep,
// top, free), util-linux (findmnt), lsof, python's pty module and script(1) on the
// sandbox's own ptys. The conformance programs check the exact formats; these check that
// the tools people run get sensible answers.
import { CORDON } from "./pty_harness.ts";

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

async function cordon(
  script: string,
  stdin: "null" | "piped" = "null",
  input = "",
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(CORDON, {
    args: ["do", "--", "/bin/bash", "-c", script],
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C" },
    clearEnv: true,
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  if (stdin === "piped") {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const o = await child.output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

Deno.test("proc: ps, pgrep and top see the sandbox's processes with consistent ids", async () => {
  const r = await cordon([
    "sleep 60 & S=$!",
    "echo shell $$ sleeper $S",
    "ps -eo pid=,ppid=,pgid=,sid=,stat=,comm=",
    "echo pgrep $(pgrep -x sleep)",
    "top -b -n1 | head -2",
    "kill $S; wait $S; echo after $(pgrep -x sleep | wc -l)",
  ].join("\n"));
  assert(r.code === 0, `exit ${r.code}: ${r.err}`);
  const ids = /shell (\d+) sleeper (\d+)/.exec(r.out);
  assert(ids, `no ids in: ${r.out}`);
  const [shell, sleeper] = [ids[1], ids[2]];
  assert(shell === "1", `the shell is pid 1: ${shell}`);
  const rows = r.out.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) =>
    f.length === 6 && /^\d+$/.test(f[0])
  );
  const sleepRow = rows.find((f) => f[0] === sleeper);
  assert(sleepRow, `ps did not list the sleeper: ${r.out}`);
  assert(
    sleepRow[1] === shell && sleepRow[2] === "1" && sleepRow[3] === "1",
    `sleeper ids: ${sleepRow}`,
  );
  assert(sleepRow[4].startsWith("S") && sleepRow[5] === "sleep", `sleeper state/comm: ${sleepRow}`);
  const shellRow = rows.find((f) => f[0] === shell);
  assert(
    shellRow && shellRow[4].startsWith("S") && shellRow[4].includes("s"),
    `shell is a session leader: ${shellRow}`,
  );
  assert(r.out.includes(`pgrep ${sleeper}\n`), `pgrep: ${r.out}`);
  assert(
    /^top - .* load average: /m.test(r.out) && /^Tasks: +\d+ total/m.test(r.out),
    `top: ${r.out}`,
  );
  assert(r.out.includes("after 0\n"), `the killed sleeper is gone: ${r.out}`);
});

Deno.test("proc: free, findmnt, nproc, /proc/self/fd for pipes, and lsof", async () => {
  const r = await cordon(
    [
      "free | head -2",
      "findmnt -n -o TARGET,FSTYPE /proc; findmnt -n -o TARGET,FSTYPE /dev/pts; findmnt -n -o TARGET,FSTYPE /sys",
      "echo nproc $(nproc) $(getconf _NPROCESSORS_ONLN)",
      "readlink /proc/self/fd/0",
      "cat /dev/stdin",
      "lsof -p $$ -a -d cwd,rtd -Fn | grep '^n'",
    ].join("\n"),
    "piped",
    "from the pipe\n",
  );
  assert(r.code === 0, `exit ${r.code}: ${r.err}`);
  assert(/^Mem: +\d+ +\d+ +\d+/m.test(r.out), `free: ${r.out}`);
  assert(
    /^\/proc +proc$/m.test(r.out) && /^\/dev\/pts +devpts$/m.test(r.out) &&
      /^\/sys +sysfs$/m.test(r.out),
    `findmnt: ${r.out}`,
  );
  const n = /nproc (\d+) (\d+)/.exec(r.out);
  assert(n && n[1] === n[2] && Number(n[1]) >= 1, `nproc: ${r.out}`);
  assert(/^pipe:\[\d+\]$/m.test(r.out), `stdin link: ${r.out}`);
  assert(r.out.includes("from the pipe\n"), `cat /dev/stdin: ${r.out}`);
  assert(/^n\/$/m.test(r.out), `lsof root dir: ${r.out}`);
});

Deno.test("pty: python's pty module and script(1) use the sandbox's /dev/ptmx", async () => {
  const py = [
    "import os, pty",
    "m, s = os.openpty()",
    "os.write(m, b'typed\\n')",
    "print('slave read', os.read(s, 100), os.ttyname(s))",
    "pid, fd = pty.fork()",
    "if pid == 0:",
    "    os.write(1, f'child {os.ttyname(0)} {os.getsid(0) == os.getpid()} {os.tcgetpgrp(0) == os.getpgrp()}\\n'.encode())",
    "    os._exit(3)",
    "out = b''",
    "while True:",
    "    try:",
    "        d = os.read(fd, 100)",
    "    except OSError as e:",
    "        print('master read errno', e.errno)",
    "        break",
    "    if not d: break",
    "    out += d",
    "print(out, os.waitpid(pid, 0)[1] >> 8)",
  ].join("\n");
  const r = await cordon(
    `python3 -c "$(cat <<'EOF'\n${py}\nEOF\n)"; script -qc 'tty; echo in-script' /dev/null`,
  );
  assert(r.code === 0, `exit ${r.code}: ${r.err}`);
  assert(/slave read b'typed\\n' \/dev\/pts\/\d+/.test(r.out), `openpty: ${r.out}`);
  assert(r.out.includes("master read errno 5"), `EIO at the end: ${r.out}`);
  assert(/b'child \/dev\/pts\/\d+ True True\\r\\n' 3/.test(r.out), `pty.fork: ${r.out}`);
  assert(
    /^\/dev\/pts\/\d+\r$/m.test(r.out) && r.out.includes("in-script\r\n"),
    `script: ${JSON.stringify(r.out)}`,
  );
});
