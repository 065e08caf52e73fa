// Running commands on the host: through hostmeasure (wall and host CPU time of a whole process
// tree, with a timeout) and parsing what the benchmark programs print.

export interface Paths {
  repo: string; // the repository root
  bench: string; // <repo>/bench
  build: string; // <repo>/bench/build
  bin: string; // programs that run inside sandboxes
  host: string; // host-side helpers
}

export function pathsFrom(repo: string): Paths {
  const bench = `${repo}/bench`;
  const build = `${bench}/build`;
  return { repo, bench, build, bin: `${build}/bin`, host: `${build}/host` };
}

export interface HostRun {
  exit: number;
  stdout: string;
  stderr: string; // without the HOSTMEASURE line
  wallNs: number; // until the command itself exited
  cpuNs: number; // user + system time of the command and all it started (see hostmeasure.c)
  drained: boolean; // false: something it started outlived it by 10 s
  timedOut: boolean;
}

export interface RunOptions {
  timeoutSeconds: number;
  env?: Record<string, string>;
  cpus?: string; // taskset CPU list applied to the whole process tree
}

const decoder = new TextDecoder();

export async function hostRun(paths: Paths, argv: string[], options: RunOptions): Promise<HostRun> {
  const wrapped = options.cpus ? ["taskset", "-c", options.cpus, ...argv] : argv;
  const output = await new Deno.Command(`${paths.host}/hostmeasure`, {
    args: wrapped,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { ...options.env, HOSTMEASURE_TIMEOUT: String(Math.ceil(options.timeoutSeconds)) },
  }).output();
  const stdout = decoder.decode(output.stdout);
  const stderrLines = decoder.decode(output.stderr).split("\n");
  const measureLine = stderrLines.findLast((line) => line.startsWith("HOSTMEASURE "));
  const stderr = stderrLines.filter((line) => !line.startsWith("HOSTMEASURE ")).join("\n");
  const fields = parseFields(measureLine ?? "");
  return {
    exit: output.code,
    stdout,
    stderr,
    wallNs: Number(fields.wall_ns ?? NaN),
    cpuNs: Number(fields.cpu_ns ?? NaN),
    drained: fields.drained === "1",
    timedOut: fields.timeout === "1",
  };
}

/** Runs a command plainly (setup and clean-up steps), never throwing. */
export async function plainRun(
  argv: string[],
  env?: Record<string, string>,
): Promise<{ ok: boolean; exit: number; stdout: string; stderr: string }> {
  try {
    const output = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env,
    }).output();
    return {
      ok: output.success,
      exit: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (error) {
    return { ok: false, exit: -1, stdout: "", stderr: String(error) };
  }
}

function parseFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of line.trim().split(/\s+/)) {
    const eq = part.indexOf("=");
    if (eq > 0) fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return fields;
}

export interface ProgramResult {
  name: string;
  unit: string;
  value: number;
  iterations: number;
}

/** The RESULT lines of a benchmark program's output (see bench/progs/bench.h). */
export function parseResults(stdout: string): ProgramResult[] {
  return stdout.split("\n").filter((line) => line.startsWith("RESULT ")).map((line) => {
    const f = parseFields(line.slice("RESULT ".length));
    return { name: f.name, unit: f.unit, value: Number(f.value), iterations: Number(f.iterations) };
  });
}

/** The first line worth showing from a failed command, for an `n/a` footnote. */
export function firstErrorLine(
  run: { exit: number; stdout: string; stderr: string; timedOut?: boolean },
): string {
  if (run.timedOut) return "timed out";
  const line = [...run.stderr.split("\n"), ...run.stdout.split("\n")]
    .map((l) => l.trim()).find((l) => l.length > 0 && !l.startsWith("RESULT "));
  const text = line ?? `exit status ${run.exit}, no output`;
  return text.length > 110 ? text.slice(0, 107) + "..." : text;
}

export async function which(command: string): Promise<string | null> {
  if (command.includes("/")) return (await isExecutable(command)) ? command : null;
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    if (dir && await isExecutable(`${dir}/${command}`)) return `${dir}/${command}`;
  }
  return null;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
