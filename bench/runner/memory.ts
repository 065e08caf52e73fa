// Memory per sandbox: ten detached busybox containers that sleep, each started under its own
// child subreaper (bench/host/subreaper.c) so that whatever its runtime leaves running is that
// subreaper's descendants, and nothing else is counted.
import { Bundles } from "./bundles.ts";
import type { Context } from "./benchmarks.ts";
import { OciRuntime } from "./peers.ts";
import { plainRun, sleep } from "./process.ts";

export interface MemoryFigures {
  pssPerSandboxMiB: number; // total PSS of all sandboxes' processes / count
  rssOfOneMiB: number; // median over the sandboxes of the summed RSS of one sandbox's processes
}

interface Launched {
  id: string;
  reaper: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
}

/** Returns the figures, or why there are none. Always removes what it started. */
export async function measureSleepingSandboxes(
  context: Context,
  oci: OciRuntime,
  bundles: Bundles,
  count: number,
): Promise<MemoryFigures | string> {
  await bundles.writeConfig("busybox", ["/bin/sleep", "1000"]);
  const launched: Launched[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const id = context.uniqueId();
      const log = `${context.paths.build}/state/launch-${id}.log`;
      await Deno.mkdir(`${context.paths.build}/state`, { recursive: true });
      const reaper = new Deno.Command(`${context.paths.host}/subreaper`, {
        args: oci.runDetached(bundles.dir("busybox"), id),
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
        env: { SUBREAPER_LOG: log },
      }).spawn();
      const entry = { id, reaper, stdin: reaper.stdin.getWriter() };
      launched.push(entry);
      const exit = await launchStatus(reaper, 60_000);
      if (exit !== 0) {
        const text = await Deno.readTextFile(log).catch(() => "");
        const line = text.split("\n").map((l) => l.trim()).find((l) => l);
        return line ?? (exit === null ? "detached run timed out" : `detached run exited ${exit}`);
      }
      await Deno.remove(log).catch(() => {});
    }
    await sleep(2000); // let the sandboxes settle into their sleep
    const table = processTable();
    let totalPssKiB = 0;
    const rssKiB: number[] = [];
    for (const entry of launched) {
      const pids = descendants(table, entry.reaper.pid);
      if (pids.length === 0) return `no process left running after a detached run of ${entry.id}`;
      let rss = 0;
      for (const pid of pids) {
        const usage = memoryOf(pid);
        totalPssKiB += usage.pssKiB;
        rss += usage.rssKiB;
      }
      rssKiB.push(rss);
      if (entry === launched[0]) {
        context.log(
          `  ${oci.binary}: one sandbox is ${
            pids.map((pid) => `${pid} ${commandName(pid)}`).join(", ")
          }`,
        );
      }
    }
    rssKiB.sort((a, b) => a - b);
    return {
      pssPerSandboxMiB: totalPssKiB / count / 1024,
      rssOfOneMiB: rssKiB[Math.floor(rssKiB.length / 2)] / 1024,
    };
  } finally {
    for (const entry of launched) await removeLaunched(context, oci, entry);
  }
}

// Deletes a detached container through its runtime. Should a process of it outlive that (seen
// once with runsc), it is killed by pid: it is a descendant of our subreaper, so ours.
async function removeLaunched(context: Context, oci: OciRuntime, entry: Launched): Promise<void> {
  await plainRun(oci.kill(entry.id));
  await plainRun(oci.remove(entry.id));
  let left: number[] = [];
  for (let waited = 0; waited < 5000; waited += 100) {
    left = descendants(processTable(), entry.reaper.pid);
    if (left.length === 0) break;
    await sleep(100);
  }
  if (left.length) {
    context.log(`  ${entry.id}: ${left.length} process(es) outlived delete; killing them by pid`);
    for (const pid of left) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
    await plainRun(oci.remove(entry.id));
  }
  await entry.stdin.close().catch(() => {});
  await entry.reaper.stdout.cancel().catch(() => {});
  await entry.reaper.status;
}

// Reads the subreaper's `LAUNCHED exit=N` line; null on timeout.
async function launchStatus(reaper: Deno.ChildProcess, timeoutMs: number): Promise<number | null> {
  const reader = reaper.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) =>
    timer = setTimeout(() => resolve(null), timeoutMs)
  );
  try {
    while (!text.includes("\n")) {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk === null || chunk.done) return null;
      text += decoder.decode(chunk.value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  const match = /LAUNCHED exit=(\d+)/.exec(text);
  return match ? Number(match[1]) : null;
}

// pid -> parent pid, for every live (not zombie) process on the host.
function processTable(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // The command name is in parentheses and may hold anything; fields follow the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // A zombie holds no memory and is only waiting for our subreaper to reap it.
      if (fields[0] !== "Z") parents.set(Number(entry.name), Number(fields[1]));
    } catch {
      // it exited meanwhile
    }
  }
  return parents;
}

function descendants(parents: Map<number, number>, root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, parent] of parents) {
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent)!.push(pid);
  }
  const found: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    found.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return found;
}

function memoryOf(pid: number): { pssKiB: number; rssKiB: number } {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
    return { pssKiB: field("Pss"), rssKiB: field("Rss") };
  } catch {
    return { pssKiB: 0, rssKiB: 0 };
  }
}

// argv[0] and the first argument that is not a flag: enough to tell a runtime's processes apart.
function commandName(pid: number): string {
  try {
    const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((a) => a);
    const verb = argv.slice(1).find((a) => !a.startsWith("-"));
    const name = [argv[0]?.split("/").pop(), verb].filter((a) => a).join(" ");
    return name || `[${Deno.readTextFileSync(`/proc/${pid}/comm`).trim()}]`;
  } catch {
    return "?";
  }
}
