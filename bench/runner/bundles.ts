// The root filesystems and OCI bundles the container peers run in.
//
// - "busybox": busybox-static with its applet links, the benchmark programs in /bench, a static
//   /bin/true and a few files in /etc. Also the source of the podman image.
// - "host": the host's /usr and /etc (and /bin, /lib, /lib64, /sbin: symlinks on a merged-/usr
//   system, bind mounts otherwise) mounted read-only, plus /bench: for python3.
//
// One bundle folder per root filesystem; its config.json is rewritten before each run, which is
// safe because runs never overlap.
import { Paths, plainRun, which } from "./process.ts";

export type RootfsKind = "busybox" | "host";

/** Where the benchmark programs are inside a container. */
export const CONTAINER_BENCH_DIR = "/bench";

/** A small file every peer can read at <bench dir>/small.txt (open_read_close). */
const SMALL_FILE_TEXT = "a small file for the open+read+close benchmark\n";

export interface Bundles {
  dir(kind: RootfsKind): string;
  rootfs(kind: RootfsKind): string;
  /** Writes <bundle>/config.json to run `args`; `detach`-style runs use the same file. */
  writeConfig(kind: RootfsKind, args: string[]): Promise<void>;
}

export async function writeSmallFile(paths: Paths): Promise<void> {
  await Deno.writeTextFile(`${paths.bin}/small.txt`, SMALL_FILE_TEXT);
}

/** Builds both root filesystems and bundle folders; returns the reason when it cannot. */
export async function prepareBundles(paths: Paths): Promise<Bundles | string> {
  const busybox = await findStaticBusybox();
  if ("problem" in busybox) return busybox.problem;
  const template = await specTemplate(paths);
  const root = `${paths.build}/oci`;
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await buildBusyboxRootfs(paths, `${root}/busybox/rootfs`, busybox.path);
  const hostMounts = await buildHostRootfs(`${root}/host/rootfs`);

  return {
    dir: (kind) => `${root}/${kind}`,
    rootfs: (kind) => `${root}/${kind}/rootfs`,
    async writeConfig(kind, args) {
      const config = structuredClone(template);
      editConfig(config, `${root}/${kind}/rootfs`, args);
      if (kind === "host") {
        for (const source of hostMounts) config.mounts.push(readOnlyBind(source, source));
        config.mounts.push(readOnlyBind(paths.bin, CONTAINER_BENCH_DIR));
      }
      await Deno.writeTextFile(`${root}/${kind}/config.json`, JSON.stringify(config, null, 2));
    },
  };
}

/** The tar of the busybox rootfs, for `podman import`. */
export async function busyboxTar(paths: Paths, bundles: Bundles): Promise<string | null> {
  const tar = `${paths.build}/oci/busybox.tar`;
  const run = await plainRun([
    "tar",
    "-C",
    bundles.rootfs("busybox"),
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "-cf",
    tar,
    ".",
  ]);
  return run.ok ? tar : null;
}

async function findStaticBusybox(): Promise<{ path: string } | { problem: string }> {
  let problem = "busybox-static is not installed";
  for (const candidate of ["/bin/busybox", "/usr/bin/busybox", await which("busybox")]) {
    if (!candidate) continue;
    try {
      const bytes = await Deno.readFile(candidate);
      // A dynamic executable names its interpreter near the start; a static one does not.
      const text = new TextDecoder("latin1").decode(bytes.subarray(0, 4096));
      if (!text.includes("ld-linux")) return { path: candidate };
      problem = `${candidate} is dynamically linked (install busybox-static)`;
    } catch {
      // try the next one
    }
  }
  return { problem };
}

async function buildBusyboxRootfs(paths: Paths, rootfs: string, busybox: string): Promise<void> {
  for (const dir of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "bench"]) {
    await Deno.mkdir(`${rootfs}/${dir}`, { recursive: true });
  }
  await Deno.copyFile(busybox, `${rootfs}/bin/busybox`);
  await Deno.chmod(`${rootfs}/bin/busybox`, 0o755);
  const list = await plainRun([busybox, "--list"]);
  for (const applet of list.stdout.split("\n").map((s) => s.trim())) {
    if (!applet || applet === "busybox" || applet === "true") continue;
    await Deno.symlink("busybox", `${rootfs}/bin/${applet}`);
  }
  await Deno.symlink("bin", `${rootfs}/sbin`);
  for await (const entry of Deno.readDir(paths.bin)) {
    if (entry.isFile) {
      await Deno.copyFile(`${paths.bin}/${entry.name}`, `${rootfs}/bench/${entry.name}`);
    }
  }
  await Deno.copyFile(`${paths.bin}/true`, `${rootfs}/bin/true`);
  await Deno.writeTextFile(`${rootfs}/etc/hostname`, "bench\n");
  await Deno.writeTextFile(`${rootfs}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
  await Deno.writeTextFile(`${rootfs}/etc/group`, "root:x:0:\n");
}

// Mirrors the host's top-level /bin, /lib, /lib64, /sbin: a symlink where the host has one
// (merged /usr), else an empty folder to bind-mount over. Returns the folders to bind-mount.
async function buildHostRootfs(rootfs: string): Promise<string[]> {
  const mounts = ["/usr", "/etc"];
  for (const dir of ["proc", "sys", "dev", "tmp", "root", "bench", "usr", "etc"]) {
    await Deno.mkdir(`${rootfs}/${dir}`, { recursive: true });
  }
  for (const top of ["/bin", "/lib", "/lib64", "/sbin"]) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(top);
    } catch {
      continue;
    }
    if (info.isSymlink) {
      await Deno.symlink(await Deno.readLink(top), `${rootfs}${top}`);
    } else if (info.isDirectory) {
      await Deno.mkdir(`${rootfs}${top}`);
      mounts.push(top);
    }
  }
  return mounts;
}

// deno-lint-ignore no-explicit-any
type Config = any;

// The default configuration `runc spec` writes (or runsc's), else a minimal one of our own.
async function specTemplate(paths: Paths): Promise<Config> {
  const dir = `${paths.build}/oci-spec`;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  for (const tool of ["runc", "runsc"]) {
    if (!(await which(tool))) continue;
    const run = await plainRun([tool, "spec", "--bundle", dir]);
    if (run.ok) {
      try {
        return JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
      } catch {
        // fall through to the next tool
      }
    }
  }
  return minimalConfig();
}

function editConfig(config: Config, rootfs: string, args: string[]): void {
  config.process.terminal = false;
  config.process.args = args;
  config.process.cwd = "/";
  config.process.env = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
  ];
  // CAP_NET_ADMIN lets the TCP benchmarks bring up `lo` in runc's fresh network namespace.
  for (const set of ["bounding", "effective", "permitted"]) {
    const caps: string[] = config.process.capabilities?.[set];
    if (caps && !caps.includes("CAP_NET_ADMIN")) caps.push("CAP_NET_ADMIN");
  }
  config.root = { path: rootfs, readonly: true };
  config.hostname = "bench";
  config.mounts = (config.mounts ?? []).filter((m: { destination: string }) =>
    m.destination !== "/tmp"
  );
  config.mounts.push({
    destination: "/tmp",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "nodev", "mode=1777"],
  });
}

function readOnlyBind(source: string, destination: string) {
  return { destination, type: "bind", source, options: ["rbind", "ro", "nosuid", "nodev"] };
}

function minimalConfig(): Config {
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: [],
      cwd: "/",
      capabilities: {
        bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        effective: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "bench",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
      {
        destination: "/sys",
        type: "sysfs",
        source: "sysfs",
        options: ["nosuid", "noexec", "nodev", "ro"],
      },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, {
        type: "mount",
      }],
    },
  };
}
