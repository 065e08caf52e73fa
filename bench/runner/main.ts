// The benchmark runner: `bench/run.sh [options]` (or `./compile.sh bench`). Runs the selected
// benchmarks on every selected peer, round after round, prints one table and writes
// bench/RESULTS.md. Benchmarks print figures; they never assert.
import { allBenchmarks, Cell, Context, Results } from "./benchmarks.ts";
import { prepareBundles, writeSmallFile } from "./bundles.ts";
import { makePeers, PEER_NAMES, PeerName, sweepStaleContainers, versionOf } from "./peers.ts";
import { pathsFrom, plainRun, which } from "./process.ts";
import { renderTable, Statistic } from "./table.ts";

const USAGE = `Usage: bench/run.sh [options]

Runs the micro-benchmarks and whole-command benchmarks on each peer (native, runc, runsc,
proot, cordon-trap, cordon-ptrace), prints one table and writes bench/RESULTS.md.

Options:
  --quick             fewer rounds and shorter runs (about 1-2 minutes)
  --rounds N          rounds per benchmark (default 5, quick 3)
  --stat median|best  how rounds are combined (default median)
  --budget SECONDS    time cap of one micro-benchmark run (default 0.5, quick 0.1)
  --only LIST         run only these benchmarks (comma-separated ids, see --list)
  --skip LIST         leave these benchmarks out
  --peers LIST        run only on these peers
  --cpus LIST         pin every process of every run to these CPUs (taskset -c LIST)
  --cordon PATH       the cordon binary (default dist/cordon, or $CORDON_BENCH_BINARY)
  --no-write          do not write bench/RESULTS.md
  --results PATH      write the results there instead
  --verbose           log every round's figure (on stderr)
  --list              list the benchmarks and exit
  -h, --help          this help
`;

interface Options {
  quick: boolean;
  rounds: number;
  statistic: Statistic;
  budgetSeconds: number;
  only: string[] | null;
  skip: string[];
  peers: PeerName[];
  cpus?: string;
  cordon: string;
  write: boolean;
  resultsPath: string | null;
  list: boolean;
  verbose: boolean;
}

function parseOptions(args: string[], repo: string): Options | string {
  const o: Options = {
    quick: false,
    rounds: 0,
    statistic: "median",
    budgetSeconds: 0,
    only: null,
    skip: [],
    peers: [...PEER_NAMES],
    cordon: Deno.env.get("CORDON_BENCH_BINARY") || `${repo}/dist/cordon`,
    write: true,
    resultsPath: null,
    list: false,
    verbose: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const list = () => value().split(",").map((s) => s.trim()).filter((s) => s);
    try {
      switch (arg) {
        case "--quick":
          o.quick = true;
          break;
        case "--rounds":
          o.rounds = Number(value());
          break;
        case "--stat": {
          const s = value();
          if (s !== "median" && s !== "best") return `--stat must be median or best`;
          o.statistic = s;
          break;
        }
        case "--budget":
          o.budgetSeconds = Number(value());
          break;
        case "--only":
          o.only = list();
          break;
        case "--skip":
          o.skip = list();
          break;
        case "--peers": {
          const names = list();
          const unknown = names.filter((n) => !(PEER_NAMES as readonly string[]).includes(n));
          if (unknown.length) {
            return `unknown peer(s): ${unknown.join(", ")} (known: ${PEER_NAMES.join(", ")})`;
          }
          o.peers = PEER_NAMES.filter((n) => names.includes(n));
          break;
        }
        case "--cpus":
          o.cpus = value();
          break;
        case "--cordon":
          o.cordon = value();
          break;
        case "--no-write":
          o.write = false;
          break;
        case "--results":
          o.resultsPath = value();
          break;
        case "--verbose":
          o.verbose = true;
          break;
        case "--list":
          o.list = true;
          break;
        case "-h":
        case "--help":
          return "help";
        default:
          return `unknown option ${arg}`;
      }
    } catch (error) {
      return (error as Error).message;
    }
  }
  if (!o.rounds) o.rounds = o.quick ? 3 : 5;
  if (!o.budgetSeconds) o.budgetSeconds = o.quick ? 0.1 : 0.5;
  if (!(o.rounds >= 1) || !(o.budgetSeconds > 0)) return "--rounds and --budget must be positive";
  return o;
}

async function machineDescription(): Promise<string[]> {
  const uname = (await plainRun(["uname", "-srvm"])).stdout.trim();
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown CPU";
  const cpus = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  return [
    `Machine: ${uname}; ${cpus} x ${model}; ${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
  ];
}

async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text.split(" ").slice(0, 3).join(" ") || "unknown";
}

async function main(args: string[]): Promise<number> {
  const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const options = parseOptions(args, repo);
  if (options === "help") {
    console.log(USAGE.trimEnd());
    return 0;
  }
  if (typeof options === "string") {
    console.error(`bench: ${options}\n\n${USAGE.trimEnd()}`);
    return 2;
  }
  const benchmarks = allBenchmarks();
  if (options.list) {
    for (const b of benchmarks) {
      console.log(`${b.id.padEnd(16)} ${b.rows.map((r) => r.label).join("; ")}`);
    }
    return 0;
  }
  const knownIds = benchmarks.map((b) => b.id);
  const unknown = [...(options.only ?? []), ...options.skip].filter((id) => !knownIds.includes(id));
  if (unknown.length) {
    console.error(`bench: unknown benchmark(s): ${unknown.join(", ")} (see --list)`);
    return 2;
  }
  const selected = benchmarks.filter((b) =>
    (options.only ? options.only.includes(b.id) : true) && !options.skip.includes(b.id)
  );

  const startedAt = new Date();
  const started = performance.now();
  const load = await loadAverage();
  const machine = await machineDescription();
  const paths = pathsFrom(repo);
  const log = (message: string) => console.error(message);

  log(`bench: ${machine[0]}`);
  log(
    `bench: load average at start ${load}; ${options.rounds} rounds, ${options.statistic} of rounds`,
  );
  await writeSmallFile(paths);
  const bundles = await prepareBundles(paths);
  if (typeof bundles === "string") log(`bench: no OCI bundles: ${bundles}`);
  const allPeers = await makePeers({ paths, bundles, cordon: options.cordon });
  const peers = allPeers.filter((p) => options.peers.includes(p.name));
  for (const p of peers) if (p.unavailable) log(`bench: ${p.name}: n/a (${p.unavailable})`);
  const swept = await sweepStaleContainers(allPeers.filter((p) => p.name !== "cordon-ptrace"));
  if (swept.length) {
    log(`bench: removed containers left by an interrupted run: ${swept.join(", ")}`);
  }

  let counter = 0;
  const context: Context = {
    paths,
    bundles,
    peers: peers.filter((p) => !p.unavailable),
    rounds: options.rounds,
    quick: options.quick,
    verbose: options.verbose,
    budgetSeconds: options.budgetSeconds,
    cpus: options.cpus,
    log,
    uniqueId: () => `cordon-bench-${Deno.pid}-${++counter}`,
    timeouts: new Map(),
  };
  const results: Results = new Map();
  for (const benchmark of selected) {
    const t0 = performance.now();
    log(`bench: ${benchmark.id} ...`);
    try {
      await benchmark.run(context, results);
    } catch (error) {
      // A bug or a broken peer must not lose the other rows.
      for (const row of benchmark.rows) {
        for (const p of context.peers) {
          const byPeer = results.get(row.id) ?? new Map<PeerName, Cell>();
          results.set(row.id, byPeer);
          const c = byPeer.get(p.name) ?? { values: [] };
          if (!c.values.length && !c.notApplicable) {
            c.error ??= `runner error: ${(error as Error).message}`;
          }
          byPeer.set(p.name, c);
        }
      }
      log(`bench: ${benchmark.id} failed: ${(error as Error).stack}`);
    }
    log(`bench: ${benchmark.id} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  for (const p of peers) {
    if (!p.unavailable) continue;
    for (const benchmark of selected) {
      for (const row of benchmark.rows) {
        const byPeer = results.get(row.id) ?? new Map<PeerName, Cell>();
        results.set(row.id, byPeer);
        byPeer.set(
          p.name,
          benchmark.containersOnly && !p.oci
            ? { values: [], notApplicable: true }
            : { values: [], error: p.unavailable },
        );
      }
    }
  }

  const table = renderTable({
    rows: selected.flatMap((b) => b.rows),
    peers: peers.map((p) => p.name),
    results,
    statistic: options.statistic,
  });
  const footnotes = table.footnotes.map((f, i) => `[${i + 1}] ${f}`);
  const seconds = (performance.now() - started) / 1000;
  const netstack = await runNetstackBench(paths.bench, options.quick, log);

  console.log(table.markdown);
  if (footnotes.length) console.log("\n" + footnotes.join("\n"));
  if (netstack) console.log(`\n${netstack}`);
  console.log(
    `\n${options.statistic} of ${options.rounds} rounds; run took ${seconds.toFixed(0)} s`,
  );

  if (options.write) {
    const versions = await peerVersions(options.cordon);
    const path = options.resultsPath ?? `${paths.bench}/RESULTS.md`;
    await Deno.writeTextFile(
      path,
      resultsMarkdown({
        date: startedAt,
        machine,
        load,
        options,
        args,
        table: table.markdown,
        footnotes,
        netstack,
        seconds,
        versions,
        describe: selected.map((b) => `- ${b.rows.map((r) => r.label).join("; ")}: ${b.describe}`),
        cordonNote: cordonNotMeasured(results),
      }),
    );
    // Keep the file as `deno fmt` would write it, so a format check of the tree stays clean.
    await plainRun([Deno.execPath(), "fmt", "--quiet", path]);
    log(`bench: wrote ${path}`);
  }
  return 0;
}

// The reason cordon has no figure in any row, or null when it has at least one.
function cordonNotMeasured(results: Results): string | null {
  const reasons = new Set<string>();
  for (const byPeer of results.values()) {
    for (const name of ["cordon-trap", "cordon-ptrace"] as PeerName[]) {
      const c = byPeer.get(name);
      if (!c || c.notApplicable) continue;
      if (c.values.length) return null;
      if (c.error) reasons.add(c.error);
    }
  }
  return reasons.size ? [...reasons].join("; ") : null;
}

async function peerVersions(cordon: string): Promise<string[]> {
  const out: string[] = [];
  for (
    const [name, argv] of [
      ["runc", ["runc", "--version"]],
      ["runsc", ["runsc", "--version"]],
      ["proot", ["proot", "--version"]],
      ["podman", ["podman", "--version"]],
      ["python3", ["/usr/bin/python3", "--version"]],
      ["cordon", [cordon, "--version"]],
    ] as [string, string[]][]
  ) {
    if (!(await which(argv[0]))) {
      out.push(`${name}: not installed`);
      continue;
    }
    out.push(`${name}: ${await versionOf(argv)}`);
  }
  return out;
}

// bench/netstack_bench.ts belongs to the netstack; when it exists its output joins the report.
async function runNetstackBench(
  benchDir: string,
  quick: boolean,
  log: (m: string) => void,
): Promise<string | null> {
  const script = Deno.env.get("CORDON_BENCH_NETSTACK_SCRIPT") || `${benchDir}/netstack_bench.ts`;
  try {
    await Deno.stat(script);
  } catch {
    return null;
  }
  log("bench: netstack_bench.ts ...");
  const run = await plainRun(
    [Deno.execPath(), "run", "-A", script],
    quick ? { CORDON_BENCH_QUICK: "1" } : undefined,
  );
  if (!run.ok) {
    const line = (run.stderr + run.stdout).split("\n").map((l) => l.trim()).find((l) => l) ??
      `exit ${run.exit}`;
    return `## netstack (bench/netstack_bench.ts)\n\nn/a: ${line}`;
  }
  return `## netstack (bench/netstack_bench.ts)\n\n${run.stdout.trim()}`;
}

interface Report {
  date: Date;
  machine: string[];
  load: string;
  options: Options;
  args: string[];
  table: string;
  footnotes: string[];
  netstack: string | null;
  seconds: number;
  versions: string[];
  describe: string[];
  cordonNote: string | null; // why cordon has no figure at all, when it has none
}

function resultsMarkdown(r: Report): string {
  const command = ["bench/run.sh", ...r.args].join(" ");
  return `# Benchmark results

Written by \`${command}\` (see bench/README.md); the last run overwrites it.

- Date: ${r.date.toISOString().replace(/\.\d+Z$/, "Z")}
- ${r.machine.join("\n- ")}
- Load average at start: ${r.load}
- Rounds: ${r.options.rounds}, ${r.options.statistic} of rounds${
    r.options.statistic === "median" ? "" : " (lowest time, highest throughput)"
  }; ` +
    `micro-benchmark time cap ${r.options.budgetSeconds} s per run${
      r.options.cpus ? `; pinned to CPUs ${r.options.cpus}` : "; not pinned"
    }; the whole run took ${r.seconds.toFixed(0)} s
- Peers: ${r.versions.join("; ")}${
      r.cordonNote ? `\n- **Cordon: not measured in this run** (${r.cordonNote})` : ""
    }

${r.table}
${r.footnotes.length ? "\n" + r.footnotes.map((f) => `- ${f}`).join("\n") + "\n" : ""}
\`-\`: does not apply to this peer. \`n/a\`: no figure, with the reason in the note. Ratios are
cordon's cost over the peer's (time over time; for throughput, the peer's over cordon's), so
above 1 means cordon is slower; they use cordon-trap, or cordon-ptrace where marked.
${r.netstack ? "\n" + r.netstack + "\n" : ""}
## Method

Micro-benchmarks are static programs (bench/progs) that warm up, then time themselves with
CLOCK_MONOTONIC inside the sandbox, so a sandbox's start-up is not in their figures. Each run
stops at its iteration count or its time cap, whichever comes first. Rounds are interleaved:
for each benchmark, each round runs every peer once, so the figures of a row are taken close
together in time. Whole-command figures are timed from outside by bench/host/hostmeasure.

${r.describe.join("\n")}

Peers: native runs the programs directly; runc and runsc run them in an OCI bundle made from
\`runc spec\` (busybox-static root, read-only, CAP_NET_ADMIN added so the TCP programs can bring
up \`lo\`; for python3 a root with the host's /usr and /etc bind-mounted read-only); runsc runs
with \`--network=none --platform=ptrace\` (its KVM platform hangs on these machines, and this
build has no systrap); proot runs them with the host's root; cordon runs them with
\`cordon do --platform trap|ptrace -- PROG\`, and the OCI rows with
\`cordon --platform=trap|ptrace run --bundle DIR ID\`.
`;
}

Deno.exit(await main(Deno.args));
