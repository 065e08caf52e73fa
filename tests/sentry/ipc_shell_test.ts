// bash from the host's Debian root, sandboxed: pipelines (data, exit statuses, SIGPIPE of
// an upstream writer), process substitution, FIFOs, here-strings, `read -t` on stdin (host
// pipe readiness through poll/select), on both platforms.
import { assert, assertEquals, cordonOk, cordonRun, PLATFORMS } from "./ipc_helpers.ts";

for (const platform of PLATFORMS) {
  Deno.test(`ipc shell (${platform}): pipelines carry data and exit statuses`, async () => {
    const out = await cordonOk([
      "/bin/bash",
      "-c",
      [
        "seq 1 20000 | sort -rn | head -3 | tr '\\n' ' '; echo",
        "seq 1 100000 | wc -l",
        "cat /etc/passwd | grep -c '^root:'",
        "false | true; echo status $?",
        "set -o pipefail; false | true; echo pipefail $?; set +o pipefail",
        "echo abc | (read x; echo got $x)",
        "printf 'x%.0s' $(seq 1 5000) | wc -c",
      ].join("\n"),
    ], { platform });
    assertEquals(
      out,
      "20000 19999 19998 \n100000\n1\nstatus 0\npipefail 1\ngot abc\n5000\n",
      "pipeline output",
    );
  });

  Deno.test(`ipc shell (${platform}): a writer whose reader exits dies of SIGPIPE`, async () => {
    const out = await cordonOk([
      "/bin/bash",
      "-c",
      'yes | head -c 100000 | wc -c; echo "${PIPESTATUS[0]} ${PIPESTATUS[1]} ${PIPESTATUS[2]}"',
    ], { platform });
    // 141 = 128 + SIGPIPE.
    assertEquals(out, "100000\n141 0 0\n", "yes | head");
  });

  Deno.test(`ipc shell (${platform}): process substitution, here-strings, FIFOs, coprocesses`, async () => {
    const out = await cordonOk([
      "/bin/bash",
      "-c",
      [
        "diff <(seq 1 5) <(seq 1 5) && echo same",
        "wc -l < <(seq 1 7)",
        "tr a-z A-Z <<< 'here string'",
        "cat <<EOF\nhere doc $((6 * 7))\nEOF",
        "mkfifo /tmp/ipc-fifo && { echo through the fifo > /tmp/ipc-fifo & } && cat /tmp/ipc-fifo; wait",
        "coproc UP { tr a-z A-Z; }; echo coprocess >&${UP[1]}; exec {UP[1]}>&-; read -r line <&${UP[0]}; echo $line; wait",
      ].join("\n"),
    ], { platform });
    assertEquals(
      out,
      "same\n7\nHERE STRING\nhere doc 42\nthrough the fifo\nCOPROCESS\n",
      "output",
    );
  });

  Deno.test(`ipc shell (${platform}): read -t on a host pipe: data, a timeout, EOF`, async () => {
    // stdin with a line waiting.
    let out = await cordonOk(["/bin/bash", "-c", "read -t 20 line && echo got: $line"], {
      platform,
      stdin: "from the host\n",
    });
    assertEquals(out, "got: from the host\n", "read -t with data");
    // stdin open but silent: read -t times out (exit status above 128).
    const r = await cordonRun(["/bin/bash", "-c", "read -t 0.3 line; echo status $?"], {
      platform,
      stdin: "open",
    });
    assert(
      r.code === 0 && /^status (1[3-9]\d|2\d\d)\n$/.test(r.stdout),
      `read -t timeout: ${JSON.stringify(r)}`,
    );
    // stdin closed: EOF.
    out = await cordonOk(["/bin/bash", "-c", "read -t 20 line; echo status $?"], {
      platform,
      stdin: "",
    });
    assertEquals(out, "status 1\n", "read -t at EOF");
  });
}
