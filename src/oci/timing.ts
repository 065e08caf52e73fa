// CORDON_OCI_TIMES=1 prints when each phase of a container's start-up is reached (wall
// clock, milliseconds), from the CLI and the sandbox process alike, to standard error: how
// the start-up cost was measured and can be measured again (see README.md).
const enabled = Deno.env.get("CORDON_OCI_TIMES") === "1";
const encoder = new TextEncoder();

let lastPid = "?";

export function mark(label: string): void {
  if (!enabled) return;
  const ms = (performance.timeOrigin + performance.now()) % 100000;
  // Not Deno.pid: that is fixed at start-up, and the sandbox process is a fork of the CLI.
  // Once the sandbox's seccomp filter refuses readlink, the last pid read stands.
  try {
    lastPid = Deno.readLinkSync("/proc/self");
  } catch {
    // keep lastPid
  }
  Deno.stderr.writeSync(encoder.encode(`cordon-times ${ms.toFixed(1)} ${lastPid} ${label}\n`));
}
