// busybox-static sandboxed (issue 4's "done when"): sh scripts with pipes, subshells, loops,
// traps, background jobs and wait, and a spread of applets, on both mechanisms. Each script's
// output is compared with the same script run natively.
const CORDON = Deno.env.get("CORDON_BIN") ?? new URL("../../dist/cordon", import.meta.url).pathname;
const BUSYBOX = "/bin/busybox";

const SCRIPTS: Record<string, string> = {
  pipes_and_subshells: `
    echo one two three | tr ' ' '\\n' | sort -r | head -2
    x=$( (echo inner; echo sub) | wc -l ); echo "lines: $x"
    (cd /; pwd); pwd >/dev/null
    { echo a; echo b; } | cat -n | sed 's/^ *//'
  `,
  loops_and_arithmetic: `
    i=0; s=0; while [ $i -lt 50 ]; do s=$((s + i)); i=$((i + 1)); done; echo "sum $s"
    for w in alpha beta gamma; do printf '%s:%d\\n' "$w" "\${#w}"; done
    case foo.tar.gz in *.gz) echo gz;; *) echo other;; esac
    seq 1 5 | while read n; do [ $((n % 2)) -eq 0 ] && echo "even $n"; done; true
  `,
  traps_and_signals: `
    trap 'echo caught USR1' USR1
    kill -USR1 $$
    trap 'echo bye' EXIT
    ( trap 'echo child term; exit 3' TERM; kill -TERM $(sh -c 'echo $PPID'); sleep 5 ); echo "child status $?"
  `,
  background_and_wait: `
    (sleep 0.2; echo first) &
    p1=$!
    (echo second) &
    p2=$!
    wait $p2; echo "p2 done $?"
    wait $p1; echo "p1 done $?"
    (exit 7) & wait $!; echo "status $?"
    # (whether the shell also reports "Terminated" depends on timing: not compared)
    { sleep 10 & k=$!; kill $k; wait $k; echo "killed $?"; } 2>/dev/null
  `,
  applets: `
    echo hello > $T/f && cat $T/f && wc -c < $T/f
    mkdir -p $T/d/e && touch $T/d/e/x && ls $T/d/e && find $T/d -type f | sed "s|$T|T|"
    echo 'b a c' | awk '{print $2, $1}'
    printf 'line1\\nline2\\n' | grep -n line2
    echo abc | md5sum | cut -c1-8
    expr 6 \\* 7; basename /a/b/c.txt .txt; dirname /a/b/c.txt
    ln -s $T/f $T/l && readlink $T/l | sed "s|$T|T|" && rm $T/l $T/f
    tar -cf $T/t.tar -C $T d && tar -tf $T/t.tar | sort | head -3
    echo compress | gzip | gunzip
    seq 1 20000 | sort -rn | head -2; seq 1 20000 | sort | tail -1
    id -u; uname -s; test -d /proc/self && echo proc
  `,
};

/** Runs script with $T naming a scratch directory (/tmp inside the sandbox, a temporary
 * directory natively, so the native run leaves the host's /tmp alone). */
async function sh(args: string[], script: string, tmp: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(args[0], {
    args: [...args.slice(1), BUSYBOX, "sh", "-c", script],
    stdout: "piped",
    stderr: "piped",
    env: { PATH: "/usr/bin:/bin", LANG: "C", T: tmp },
    clearEnv: true,
  }).output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

for (const platform of ["trap", "ptrace"]) {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    Deno.test(`busybox sh (${platform}): ${name}`, async () => {
      const scratch = Deno.makeTempDirSync();
      const native = await sh(["/usr/bin/env"], script, scratch);
      Deno.removeSync(scratch, { recursive: true });
      const boxed = await sh([CORDON, "do", "--platform", platform, "--"], script, "/tmp");
      const expected = native.out;
      if (boxed.code !== native.code || boxed.out !== expected) {
        throw new Error(
          `native (exit ${native.code}):\n${expected}\nsandboxed (exit ${boxed.code}):\n${boxed.out}`,
        );
      }
    });
  }
}
