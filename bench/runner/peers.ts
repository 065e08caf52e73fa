// The peers a benchmark runs on: directly on the host, under runc, runsc, proot, and cordon
// (trap and ptrace platforms). Each says how to run a program inside its sandbox and, for the
// OCI runtimes, how to drive a bundle and podman.
import { Bundles, CONTAINER_BENCH_DIR, RootfsKind } from "./bundles.ts";
import { Paths, plainRun, which } from "./process.ts";

export const PEER_NAMES = [
  "native",
  "runc",
  "runsc",
  "proot",
  "cordon-trap",
  "cordon-ptrace",
] as const;
export type PeerName = typeof PEER_NAMES[number];

/** A program to run inside a sandbox; `argv` gets the folder where the bench programs are. */
export interface SandboxCommand {
  rootfs: RootfsKind;
  argv(benchDir: string): string[];
}

export interface Prepared {
  argv: string[];
  cleanup(): Promise<void>;
}

export interface OciRuntime {
  binary: string;
  globalFlags: string[];
  run(bundle: string, id: string): string[]; // foreground: returns when the container exits
  runDetached(bundle: string, id: string): string[];
  kill(id: string): string[];
  remove(id: string): string[];
  podmanFlags: string[]; // `podman [these] run ...`
}

export interface Peer {
  name: PeerName;
  unavailable: string | null; // why this peer cannot run anything at all, or null
  oci: OciRuntime | null; // null: not an OCI runtime (native, proot)
  prepare(command: SandboxCommand, id: string): Promise<Prepared>;
}

const nothingToClean = () => Promise.resolve();

export interface PeerSetup {
  paths: Paths;
  bundles: Bundles | string; // a reason when the bundles could not be built
  cordon: string; // path of the cordon binary
}

export async function makePeers(setup: PeerSetup): Promise<Peer[]> {
  const { paths } = setup;
  const state = `${paths.build}/state`;
  const peers: Peer[] = [];

  peers.push({
    name: "native",
    unavailable: null,
    oci: null,
    prepare: (command) =>
      Promise.resolve({ argv: command.argv(paths.bin), cleanup: nothingToClean }),
  });

  const runc = await which("runc");
  peers.push(ociPeer("runc", runc, setup, {
    globalFlags: ["--root", `${state}/runc`],
    podmanRuntimeFlags: [],
  }));

  // runsc: no network stack of its own (`none` keeps a loopback), and the ptrace platform:
  // KVM hangs on these machines and this build has no systrap.
  const runsc = await which("runsc");
  peers.push(ociPeer("runsc", runsc, setup, {
    globalFlags: ["--root", `${state}/runsc`, "--network=none", "--platform=ptrace"],
    podmanRuntimeFlags: ["network=none", "platform=ptrace"],
  }));

  const proot = await which("proot");
  peers.push({
    name: "proot",
    unavailable: proot ? null : "proot is not installed",
    oci: null,
    prepare: (command) =>
      Promise.resolve({ argv: [proot!, ...command.argv(paths.bin)], cleanup: nothingToClean }),
  });

  const cordon = await which(setup.cordon);
  for (const platform of ["trap", "ptrace"] as const) {
    const name = `cordon-${platform}` as const;
    const unavailable = cordon ? null : `${setup.cordon} does not exist (not built yet)`;
    const oci = ociRuntime(cordon ?? setup.cordon, {
      globalFlags: ["--root", `${state}/cordon`, `--platform=${platform}`],
      podmanRuntimeFlags: [`platform=${platform}`],
    });
    peers.push({
      name,
      unavailable,
      oci,
      // `cordon do` runs the program with the host's root (read-only, in-memory overlay), so the
      // bench programs are at their host paths for either root filesystem kind.
      prepare: (command) =>
        Promise.resolve({
          argv: [
            cordon ?? setup.cordon,
            "do",
            "--platform",
            platform,
            "--",
            ...command.argv(paths.bin),
          ],
          cleanup: nothingToClean,
        }),
    });
  }
  return peers;
}

interface OciFlags {
  globalFlags: string[];
  podmanRuntimeFlags: string[];
}

function ociRuntime(binary: string, flags: OciFlags): OciRuntime {
  const g = flags.globalFlags;
  return {
    binary,
    globalFlags: g,
    run: (bundle, id) => [binary, ...g, "run", "--bundle", bundle, id],
    runDetached: (bundle, id) => [binary, ...g, "run", "--detach", "--bundle", bundle, id],
    kill: (id) => [binary, ...g, "kill", id, "KILL"],
    remove: (id) => [binary, ...g, "delete", "--force", id],
    podmanFlags: [
      "--runtime",
      binary,
      ...flags.podmanRuntimeFlags.flatMap((f) => ["--runtime-flag", f]),
    ],
  };
}

function ociPeer(name: PeerName, binary: string | null, setup: PeerSetup, flags: OciFlags): Peer {
  const bundles = setup.bundles;
  const unavailable = !binary
    ? `${name} is not installed`
    : typeof bundles === "string"
    ? `no OCI bundle: ${bundles}`
    : null;
  // Not null even when the binary is missing: it marks this peer as an OCI runtime, whose
  // container rows then say n/a rather than "-".
  const oci = ociRuntime(binary ?? name, flags);
  return {
    name,
    unavailable,
    oci,
    async prepare(command, id) {
      const b = bundles as Bundles;
      await b.writeConfig(command.rootfs, command.argv(CONTAINER_BENCH_DIR));
      return { argv: oci.run(b.dir(command.rootfs), id), cleanup: () => removeContainer(oci, id) };
    },
  };
}

/** Kills and deletes a container, ignoring errors (it may be gone already). */
export async function removeContainer(oci: OciRuntime, id: string): Promise<void> {
  await plainRun(oci.remove(id));
}

/** The first line of `BINARY --version`, for the notes. */
export async function versionOf(argv: string[]): Promise<string> {
  const run = await plainRun(argv);
  const lines = (run.stdout + run.stderr).split("\n").map((l) => l.trim()).filter((l) => l);
  // Prefer a line with a version number (proot opens with ASCII art, its version at the end).
  const line = lines.find((l) => /^\S+ version /i.test(l)) ??
    lines.map((l) => /\d+\.\d+[\w.~+-]*/.exec(l)?.[0]).find((v) => v) ?? lines[0];
  return run.ok && line ? line : "unknown";
}

/**
 * Deletes containers that an earlier, interrupted run left in our state folders: their ids are
 * cordon-bench-RUNNERPID-N, and RUNNERPID no longer exists. Returns the ids removed.
 */
export async function sweepStaleContainers(peers: Peer[]): Promise<string[]> {
  const removed: string[] = [];
  for (const peer of peers) {
    if (!peer.oci || peer.unavailable) continue;
    const listed = await plainRun([peer.oci.binary, ...peer.oci.globalFlags, "list"]);
    if (!listed.ok) continue;
    for (const line of listed.stdout.split("\n")) {
      const match = /^(cordon-bench-(\d+)-\d+)\s/.exec(line);
      if (!match || Number(match[2]) === Deno.pid) continue;
      try {
        await Deno.stat(`/proc/${match[2]}`);
        continue; // that run is still going
      } catch {
        // its runner is gone
      }
      await plainRun(peer.oci.kill(match[1]));
      await removeContainer(peer.oci, match[1]);
      removed.push(`${peer.name} ${match[1]}`);
    }
  }
  return removed;
}
