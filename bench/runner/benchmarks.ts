// What is measured. Each benchmark fills one or more rows of the table with one figure per
// round for each peer; the runner aggregates the rounds (median or best).
import { Bundles, busyboxTar } from "./bundles.ts";
import { measureSleepingSandboxes } from "./memory.ts";
import { Peer, PeerName, removeContainer } from "./peers.ts";
import {
  firstErrorLine,
  HostRun,
  hostRun,
  parseResults,
  Paths,
  plainRun,
  RunOptions,
  which,
} from "./process.ts";

export type Unit = "ns" | "ms" | "GiB/s" | "MiB/s" | "MiB";

export interface Row {
  id: string;
  label: string;
  unit: Unit;
  higherIsBetter: boolean;
}

/** One row's figures for one peer: the value of each round, or why there is none. */
export interface Cell {
  values: number[];
  error?: string; // the run failed: shown as n/a with this reason
  notApplicable?: boolean; // this benchmark has no meaning for this peer: shown as "-"
}

export interface Context {
  paths: Paths;
  bundles: Bundles | string;
  peers: Peer[]; // the selected, available peers
  rounds: number;
  quick: boolean;
  budgetSeconds: number; // per micro-benchmark run
  cpus?: string;
  verbose: boolean; // log every round's figure
  log(message: string): void;
  uniqueId(): string;
  timeouts: Map<string, number>; // timed-out runs so far, by peer and way of running
}

/** After this many timed-out runs, a peer's way of running (a program inside it, or an OCI
 * container) is skipped for the rest of the run: a hanging sandbox must not turn a ten-minute
 * run into an hour. A benchmark already stops trying a peer after its first failure. */
const TIMEOUTS_BEFORE_GIVING_UP = 3;

type Way = "program" | "container";

// hostRun for a peer's command, counting its timeouts; a failed HostRun when that peer's way of
// running has been given up on.
async function peerRun(
  context: Context,
  peer: PeerName,
  way: Way,
  argv: string[],
  options: RunOptions,
): Promise<HostRun> {
  const key = `${peer} ${way}`;
  const timeouts = context.timeouts.get(key) ?? 0;
  if (timeouts >= TIMEOUTS_BEFORE_GIVING_UP) {
    return {
      exit: -1,
      stdout: "",
      wallNs: NaN,
      cpuNs: NaN,
      drained: true,
      timedOut: false,
      stderr: `skipped: ${timeouts} earlier ${way} runs on ${peer} timed out`,
    };
  }
  const run = await hostRun(context.paths, argv, { cpus: context.cpus, ...options });
  if (run.timedOut) context.timeouts.set(key, timeouts + 1);
  return run;
}

export type Results = Map<string, Map<PeerName, Cell>>; // row id -> peer -> cell

export interface Benchmark {
  id: string;
  rows: Row[];
  describe: string; // for the notes
  containersOnly?: boolean; // only OCI runtimes have a figure; other peers show "-"
  run(context: Context, results: Results): Promise<void>;
}

// Adds one round's figure; with --verbose, also logs it.
function record(context: Context, row: string, peer: PeerName, target: Cell, value: number): void {
  target.values.push(value);
  if (context.verbose) {
    context.log(`  ${row} ${peer} round ${target.values.length}: ${value.toPrecision(4)}`);
  }
}

function cell(results: Results, row: string, peer: PeerName): Cell {
  let byPeer = results.get(row);
  if (!byPeer) results.set(row, byPeer = new Map());
  let c = byPeer.get(peer);
  if (!c) byPeer.set(peer, c = { values: [] });
  return c;
}

const MICRO_TIMEOUT_SECONDS = 30; // a run is capped at a few seconds; the rest is start-up

/** A program from bench/progs that measures itself and prints one RESULT line. */
function micro(
  id: string,
  label: string,
  unit: Unit,
  maxIterations: number,
  extraArgs: (benchDir: string) => string[],
  describe: string,
): Benchmark {
  const higherIsBetter = unit === "GiB/s" || unit === "MiB/s";
  return {
    id,
    rows: [{ id, label, unit, higherIsBetter }],
    describe,
    async run(context, results) {
      for (let round = 0; round < context.rounds; round++) {
        for (const peer of context.peers) {
          const target = cell(results, id, peer.name);
          if (target.error) continue; // it failed in an earlier round: do not retry
          const containerId = context.uniqueId();
          const prepared = await peer.prepare({
            rootfs: "busybox",
            argv: (
              dir,
            ) => [
              `${dir}/${id}`,
              String(maxIterations),
              String(context.budgetSeconds),
              ...extraArgs(dir),
            ],
          }, containerId);
          const run = await peerRun(context, peer.name, "program", prepared.argv, {
            timeoutSeconds: MICRO_TIMEOUT_SECONDS,
          });
          await prepared.cleanup();
          const result = parseResults(run.stdout).at(-1);
          if (run.exit !== 0 || !result || !Number.isFinite(result.value)) {
            target.error = firstErrorLine(run);
            context.log(`  ${id} on ${peer.name}: n/a (${target.error})`);
            continue;
          }
          record(context, id, peer.name, target, result.value);
        }
      }
    },
  };
}

const PYTHON = "/usr/bin/python3";

/**
 * python3 start-up. Inside the sandbox `repeat K SECONDS python3 -c pass` times up to K warm
 * runs (wall). The host CPU time comes from outside: the CPU time of the whole sandbox process
 * tree for those runs minus that for `repeat 0`, over the runs done, which leaves out the
 * sandbox's own start-up.
 */
function pythonStartup(): Benchmark {
  return {
    id: "python",
    rows: [
      { id: "python_wall", label: "`python3 -c pass`, wall", unit: "ms", higherIsBetter: false },
      { id: "python_cpu", label: "`python3 -c pass`, host CPU", unit: "ms", higherIsBetter: false },
    ],
    describe:
      "`repeat K /usr/bin/python3 -c pass` (K = 10, fewer if 5 s pass first) in a root with the " +
      "host's /usr and /etc, after one warm-up run: wall time per run measured inside; host CPU " +
      "per run = (CPU time of the whole host process tree for K runs - for 0 runs) / K, so the " +
      "sandbox's start-up is left out",
    async run(context, results) {
      const runs = context.quick ? 5 : 10;
      const maxSeconds = context.quick ? 2 : 5; // a slow sandbox does fewer runs, not a longer run
      let missing: string | null = null;
      try {
        await Deno.stat(PYTHON);
      } catch {
        missing = `${PYTHON} is not on the host`;
      }
      for (let round = 0; round < context.rounds; round++) {
        for (const peer of context.peers) {
          const wall = cell(results, "python_wall", peer.name);
          const cpu = cell(results, "python_cpu", peer.name);
          if (missing) wall.error = cpu.error = missing;
          if (wall.error) continue;
          const measured: { wallNs: number; cpuNs: number; runs: number }[] = [];
          for (const count of [runs, 0]) {
            const containerId = context.uniqueId();
            const prepared = await peer.prepare({
              rootfs: "host",
              argv: (
                dir,
              ) => [`${dir}/repeat`, String(count), String(maxSeconds), PYTHON, "-c", "pass"],
            }, containerId);
            const run = await peerRun(context, peer.name, "program", prepared.argv, {
              timeoutSeconds: 120,
            });
            await prepared.cleanup();
            const result = parseResults(run.stdout).at(-1);
            if (run.exit !== 0 || !result) {
              wall.error = cpu.error = firstErrorLine(run);
              context.log(`  python on ${peer.name}: n/a (${wall.error})`);
              break;
            }
            if (!run.drained) {
              context.log(
                `  python on ${peer.name}: a process outlived the run; CPU time incomplete`,
              );
            }
            measured.push({ wallNs: result.value, cpuNs: run.cpuNs, runs: result.iterations });
          }
          if (measured.length !== 2) continue;
          record(context, "python_wall", peer.name, wall, measured[0].wallNs / 1e6);
          record(
            context,
            "python_cpu",
            peer.name,
            cpu,
            (measured[0].cpuNs - measured[1].cpuNs) / measured[0].runs / 1e6,
          );
        }
      }
    },
  };
}

/** `RUNTIME run --bundle DIR ID` of the static /bin/true, timed from outside (wall). */
function ociRun(): Benchmark {
  const id = "oci_run";
  return {
    id,
    rows: [{ id, label: "OCI bundle `run` of /bin/true", unit: "ms", higherIsBetter: false }],
    containersOnly: true,
    describe:
      "`RUNTIME run --bundle DIR ID` of a static /bin/true in the busybox bundle, wall time " +
      "from outside (create, start, wait, exit), after one warm-up run",
    async run(context, results) {
      const bundles = context.bundles;
      for (let round = -1; round < context.rounds; round++) { // round -1 warms up
        for (const peer of context.peers) {
          const target = cell(results, id, peer.name);
          if (!peer.oci) {
            target.notApplicable = true;
            continue;
          }
          if (target.error) continue;
          if (typeof bundles === "string") {
            target.error = `no OCI bundle: ${bundles}`;
            continue;
          }
          await bundles.writeConfig("busybox", ["/bin/true"]);
          const containerId = context.uniqueId();
          const run = await peerRun(
            context,
            peer.name,
            "container",
            peer.oci.run(bundles.dir("busybox"), containerId),
            {
              timeoutSeconds: 60,
            },
          );
          await removeContainer(peer.oci, containerId);
          if (run.exit !== 0) {
            target.error = firstErrorLine(run);
            context.log(`  oci_run on ${peer.name}: n/a (${target.error})`);
            continue;
          }
          if (round >= 0) record(context, id, peer.name, target, run.wallNs / 1e6);
        }
      }
    },
  };
}

const PODMAN_IMAGE_REPO = "localhost/cordon-bench-busybox";

/** `podman --runtime RUNTIME run --rm --network=none IMAGE /bin/true`, timed from outside. */
function podmanRun(): Benchmark {
  const id = "podman_run";
  return {
    id,
    rows: [{
      id,
      label: "`podman run --rm --network=none` /bin/true",
      unit: "ms",
      higherIsBetter: false,
    }],
    containersOnly: true,
    describe:
      "`podman --runtime ABS_PATH run --rm --network=none` of the busybox image (made with " +
      "`podman import`), wall time from outside, after one warm-up run",
    async run(context, results) {
      const prepared = await preparePodman(context);
      for (let round = -1; round < context.rounds; round++) { // round -1 warms up
        for (const peer of context.peers) {
          const target = cell(results, id, peer.name);
          if (!peer.oci) {
            target.notApplicable = true;
            continue;
          }
          if (target.error) continue;
          if (typeof prepared === "string") {
            target.error = prepared;
            continue;
          }
          const run = await peerRun(context, peer.name, "container", [
            prepared.podman,
            ...peer.oci.podmanFlags,
            "run",
            "--rm",
            "--network=none",
            prepared.image,
            "/bin/true",
          ], { timeoutSeconds: 60, env: prepared.env });
          if (run.exit !== 0) {
            target.error = firstErrorLine(run);
            context.log(`  podman_run on ${peer.name}: n/a (${target.error})`);
            continue;
          }
          if (round >= 0) record(context, id, peer.name, target, run.wallNs / 1e6);
        }
      }
    },
  };
}

interface PodmanSetup {
  podman: string;
  image: string;
  env: Record<string, string>;
}

// Imports the busybox rootfs as an image (tagged by content, so it is imported once) and writes
// the containers.conf these machines need (see shared/podman.md).
async function preparePodman(context: Context): Promise<PodmanSetup | string> {
  const podman = await which("podman");
  if (!podman) return "podman is not installed";
  if (typeof context.bundles === "string") return `no rootfs: ${context.bundles}`;
  const conf = `${context.paths.build}/containers.conf`;
  await Deno.writeTextFile(
    conf,
    `[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n`,
  );
  const env = { CONTAINERS_CONF: conf };
  const tar = await busyboxTar(context.paths, context.bundles);
  if (!tar) return "could not tar the busybox rootfs";
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(tar));
  const tag = Array.from(new Uint8Array(digest).slice(0, 6), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  const image = `${PODMAN_IMAGE_REPO}:${tag}`;
  const exists = await plainRun([podman, "image", "exists", image], env);
  if (!exists.ok) {
    context.log(`  podman: importing ${image}`);
    const imported = await plainRun([podman, "import", tar, image], env);
    if (!imported.ok) return `podman import failed: ${firstErrorLine(imported)}`;
    // Older builds of the image are of no further use.
    const listed = await plainRun([
      podman,
      "images",
      "--format",
      "{{.Repository}}:{{.Tag}}",
      PODMAN_IMAGE_REPO,
    ], env);
    for (const old of listed.stdout.split("\n").map((l) => l.trim())) {
      if (old.startsWith(`${PODMAN_IMAGE_REPO}:`) && old !== image) {
        await plainRun([podman, "rmi", old], env);
      }
    }
  }
  return { podman, image, env };
}

/** Memory of ten sleeping busybox containers per runtime (see memory.ts). */
function memory(): Benchmark {
  return {
    id: "memory",
    rows: [
      {
        id: "memory_pss",
        label: "memory per sleeping container (PSS of 10, / 10)",
        unit: "MiB",
        higherIsBetter: false,
      },
      {
        id: "memory_rss",
        label: "memory of one sleeping container (RSS)",
        unit: "MiB",
        higherIsBetter: false,
      },
    ],
    containersOnly: true,
    describe: "ten detached busybox containers running `sleep`, each started under a child " +
      "subreaper so its processes (runc: the container process; runsc: sandbox, gofer and the ptrace platform's stubs; " +
      "cordon: sentry and stubs) are the subreaper's descendants; PSS summed from " +
      "/proc/PID/smaps_rollup over all ten / 10, and the median over the ten of one " +
      "container's summed RSS; measured once per run, not per round",
    async run(context, results) {
      for (const peer of context.peers) {
        const pss = cell(results, "memory_pss", peer.name);
        const rss = cell(results, "memory_rss", peer.name);
        if (!peer.oci) {
          pss.notApplicable = rss.notApplicable = true;
          continue;
        }
        if (typeof context.bundles === "string") {
          pss.error = rss.error = `no OCI bundle: ${context.bundles}`;
          continue;
        }
        const measured = await measureSleepingSandboxes(context, peer.oci, context.bundles, 10);
        if (typeof measured === "string") {
          pss.error = rss.error = measured;
          context.log(`  memory on ${peer.name}: n/a (${measured})`);
          continue;
        }
        record(context, "memory_pss", peer.name, pss, measured.pssPerSandboxMiB);
        record(context, "memory_rss", peer.name, rss, measured.rssOfOneMiB);
      }
    },
  };
}

export function allBenchmarks(): Benchmark[] {
  const small = (dir: string) => [`${dir}/small.txt`];
  return [
    micro(
      "getpid",
      "syscall round trip (getpid)",
      "ns",
      2_000_000,
      () => [],
      "`syscall(SYS_getpid)` in a loop",
    ),
    micro(
      "open_read_close",
      "open+read+close of a small file",
      "ns",
      500_000,
      small,
      "open, read 256 bytes, close, of a 47-byte file in the bench folder",
    ),
    micro(
      "fork_exit",
      "fork+exit+wait",
      "ns",
      20_000,
      () => [],
      "fork; the child calls _exit(0); the parent waits",
    ),
    micro(
      "fork_exec",
      "fork+execve+wait of a static true",
      "ns",
      10_000,
      (dir) => [`${dir}/true`],
      "fork; the child execs a static `true`; the parent waits",
    ),
    micro(
      "pipe_pingpong",
      "pipe ping-pong round trip",
      "ns",
      200_000,
      () => [],
      "one byte to a child over a pipe and back over another",
    ),
    micro(
      "mmap_touch",
      "mmap 64 KiB + touch 16 pages + munmap",
      "ns",
      200_000,
      () => [],
      "anonymous private mapping, one write per 4 KiB page, unmap",
    ),
    micro(
      "devnull_write",
      "write to /dev/null, 64 KiB chunks",
      "GiB/s",
      16_384,
      () => [],
      "up to 1 GiB in 64 KiB writes",
    ),
    micro(
      "tcp_pingpong",
      "TCP loopback ping-pong round trip",
      "ns",
      100_000,
      () => [],
      "one byte each way between two processes over 127.0.0.1, TCP_NODELAY",
    ),
    micro(
      "tcp_stream",
      "TCP loopback stream",
      "MiB/s",
      65_536,
      () => [],
      "64 KiB writes to a child that reads and discards; the clock stops at the child's acknowledgement",
    ),
    pythonStartup(),
    ociRun(),
    podmanRun(),
    memory(),
  ];
}
