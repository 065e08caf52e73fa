// A sandbox: one kernel, its filesystem tree, and the processes in it. This is the sentry's
// public face: `cordon do`, the OCI runtime and the TypeScript API all come through here.
import { E, ERRNO_NAMES } from "./abi/errno.ts";
import * as L from "./abi/linux.ts";
import { Mechanism } from "../ffi/platform.ts";
import { Creds, DEFAULT_CONTAINER_CAPS } from "./kernel/creds.ts";
import type { SyscallPolicy } from "./kernel/syscall_policy.ts";
import { Kernel } from "./kernel/kernel.ts";
import { defaultRlimits, SigHand, Task, TaskState, ThreadGroup } from "./kernel/task.ts";
import { execve } from "./loader/exec.ts";
import { MM } from "./mm/mm.ts";
import { HostFS } from "./fs/host/hostfs.ts";
import { Overlay } from "./fs/overlay/overlay.ts";
import { stdioFiles } from "./fs/host/stream.ts";
import { devptsOf } from "./fs/devpts/devpts.ts";
import type { HostConsole } from "./kernel/tty/host.ts";
import { setControllingTty } from "./kernel/tty/jobs.ts";
import { buildSyscallTable } from "./syscalls/index.ts";
import { FdTable } from "./vfs/fdtable.ts";
import { Dentry, type FileSystem, type Inode } from "./vfs/inode.ts";
import { Mount, MNT_NODEV, MNT_NOEXEC, MNT_NOSUID, MNT_READONLY, MountNamespace, type VfsPath } from "./vfs/mount.ts";
import { type FsContext, Resolver } from "./vfs/resolve.ts";
import { BLOCK } from "./kernel/task.ts";
import { textToBinary } from "./util/bytes.ts";

export interface MountSpec {
  /** "bind" (a host directory or file), or a filesystem the sentry provides. */
  type: string;
  source: string;
  destination: string;
  options: string[];
}

export interface ProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  groups: number[];
  /** Capability set (bigint bits); default: a container root's default set for uid 0. */
  caps?: bigint;
  noNewPrivileges?: boolean;
  umask?: number;
  rlimits?: Array<{ type: number; soft: number; hard: number }>;
  /** Host fds for stdin, stdout, stderr (the sandbox takes ownership of dups of them). */
  stdio: [number, number, number];
  /** All five capability sets (OCI process.capabilities); overrides caps when given. */
  capSets?: { effective: bigint; permitted: bigint; inheritable: bigint; bounding: bigint; ambient: bigint };
  /** A console on a host terminal (kernel/tty/host.ts): the stdio fds on that terminal
   * become the sandbox's terminal, and the process leads a session it controls. */
  console?: HostConsole;
  /** A seccomp profile the process and all its descendants are held to. */
  syscallPolicy?: SyscallPolicy | null;
}

export interface SandboxSpec {
  /** Host path of the root filesystem. */
  rootfs: string;
  /** The host's root tree is never written. */
  rootReadonly: boolean;
  /** Writes to the root go to an in-memory layer on top of it (cordon do's default). */
  overlay?: boolean;
  /** Size limit of that layer in bytes (default: defaultOverlaySize). */
  overlaySize?: number;
  mounts: MountSpec[];
  hostname: string;
  platform: "trap" | "ptrace";
  /** Bytes of guest memory the sandbox may use in all (Infinity: no limit). */
  memoryLimit?: number;
  strace?: ((line: string) => void) | null;
  debug?: ((line: string) => void) | null;
}

/** The sandbox could not be set up (a configuration or host problem, not the guest's). */
export class SandboxError extends Error {}

/** A filesystem type the sentry can mount (registered by sentry/fs/*). */
export type FsFactory = (sb: Sandbox, m: MountSpec) => { fs: FileSystem; root: Dentry; flags: number; options?: string } | number;
export const FILESYSTEMS = new Map<string, FsFactory>();

export class Sandbox {
  readonly kernel: Kernel;
  readonly root: VfsPath;

  constructor(readonly spec: SandboxSpec) {
    const k = new Kernel({
      mechanism: spec.platform === "ptrace" ? Mechanism.Ptrace : Mechanism.Trap,
      memorySize: 64 * 2 ** 30,
      memoryLimit: spec.memoryLimit ?? Infinity,
      hostname: spec.hostname,
      strace: spec.strace ?? null,
      debug: spec.debug ?? null,
    });
    this.kernel = k;
    k.syscalls = buildSyscallTable();
    const rootFs = this.openRootFs();
    const rootDentry = new Dentry("", null, rootFs.root);
    const rootFlags = spec.rootReadonly && !spec.overlay ? MNT_READONLY : 0;
    const rootMount = new Mount(rootFs, rootDentry, null, null, rootFlags, rootFs instanceof Overlay ? rootFs.mountOptions() : "");
    k.mounts = new MountNamespace(rootMount);
    this.root = { mount: rootMount, dentry: rootDentry };
    for (const m of spec.mounts) this.mount(m);
  }

  /** The root filesystem: the host tree (never written when rootReadonly), under an
   * in-memory overlay when spec.overlay. */
  private openRootFs(): HostFS | Overlay {
    const spec = this.spec;
    const fs = HostFS.open(textToBinary(spec.rootfs), this.kernel.memfile, {
      readonly: spec.rootReadonly || spec.overlay === true,
      revalidate: false,
    });
    if (typeof fs === "number") {
      throw new SandboxError(`root filesystem ${spec.rootfs}: ${errnoText(fs)}`);
    }
    if (!fs.root.isDir()) throw new SandboxError(`root filesystem ${spec.rootfs}: not a directory`);
    if (!spec.overlay) return fs;
    const limit = spec.overlaySize ?? defaultOverlaySize(spec.memoryLimit);
    return new Overlay(this.kernel.memfile, fs.root, { maxBytes: limit });
  }

  /** Mounts m at its destination. A destination missing from the tree is created (a
   * directory, or an empty file for a file bind mount) in the filesystem that holds its
   * parent: the overlay's upper layer, never the host's root. */
  mount(m: MountSpec): void {
    const k = this.kernel;
    let made: { fs: FileSystem; root: Dentry; flags: number; options?: string } | number;
    const ro = m.options.includes("ro") ? MNT_READONLY : 0;
    let fileMount = false;
    if (m.type === "bind") {
      const fs = HostFS.open(textToBinary(m.source), k.memfile, { readonly: ro !== 0, revalidate: true });
      if (typeof fs === "number") throw new SandboxError(`mount ${m.source}: ${errnoText(fs)}`);
      fileMount = !fs.root.isDir();
      made = { fs, root: new Dentry("", null, fs.root), flags: ro };
    } else {
      const factory = FILESYSTEMS.get(m.type);
      if (!factory) throw new SandboxError(`mount ${m.destination}: filesystem type ${m.type} is not supported`);
      made = factory(this, m);
      if (typeof made === "number") throw new SandboxError(`mount ${m.destination}: ${errnoText(made)}`);
      made.flags |= ro;
    }
    for (const o of m.options) {
      if (o === "nosuid") made.flags |= MNT_NOSUID;
      else if (o === "nodev") made.flags |= MNT_NODEV;
      else if (o === "noexec") made.flags |= MNT_NOEXEC;
    }
    const dest = this.makeMountPoint(m.destination, fileMount);
    if (typeof dest === "number") {
      throw new SandboxError(`mount ${m.destination}: ${errnoText(dest)}`);
    }
    if (fileMount === dest.dentry.inode.isDir()) {
      throw new SandboxError(`mount ${m.destination}: ${fileMount ? "is a directory" : "not a directory"}`);
    }
    k.mounts.mount(made.fs, made.root, dest, made.flags, made.options ?? "");
  }

  /** Resolves a mount destination, creating what is missing (as root, mode 755). */
  private makeMountPoint(path: string, file: boolean): VfsPath | number {
    const found = this.resolve(path);
    if (found !== -E.ENOENT) return found;
    const ctx: FsContext = { root: this.root, cwd: this.root, umask: 0o022, ns: this.kernel.mounts };
    const r = new Resolver(ctx, Creds.root());
    const parts = textToBinary(path).split("/").filter((s) => s.length > 0);
    let cur = this.root;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      const next = r.resolve(cur, parts[i], { follow: true });
      if (typeof next !== "number") {
        cur = next;
        continue;
      }
      if (next !== -E.ENOENT) return next;
      if (cur.mount.readonly) return -E.EROFS;
      const dir = cur.dentry.inode;
      const owner = { uid: 0, gid: 0 };
      const made = last && file ? dir.create(parts[i], 0o644, owner) : dir.mkdir(parts[i], 0o755, owner);
      if (typeof made === "number") return made;
      cur = { mount: cur.mount, dentry: cur.dentry.added(parts[i], made) };
    }
    return cur;
  }

  /** Resolves a path in the sandbox (as root, from /). */
  resolve(path: string): VfsPath | number {
    const ctx: FsContext = { root: this.root, cwd: this.root, umask: 0o022, ns: this.kernel.mounts };
    return new Resolver(ctx, Creds.root()).resolve(this.root, textToBinary(path), { follow: true });
  }

  /** Starts the sandbox's first process (pid 1). Throws SandboxError if it cannot run. */
  startInit(p: ProcessSpec): Task {
    const k = this.kernel;
    const pid = k.allocPid();
    const tg = new ThreadGroup(pid, k, new SigHand(), defaultRlimits());
    k.init = tg;
    return this.startProcess(p, tg);
  }

  private startProcess(p: ProcessSpec, tg: ThreadGroup): Task {
    const k = this.kernel;
    k.groups.set(tg.tgid, tg);
    tg.startNs = k.nowNs();
    for (const r of p.rlimits ?? []) tg.rlimits[r.type] = { cur: r.soft, max: r.hard };
    const creds = p.uid === 0 ? Creds.root(p.caps ?? DEFAULT_CONTAINER_CAPS) : Creds.user(p.uid, p.gid, p.groups, p.caps ?? 0n);
    creds.rgid = creds.egid = creds.sgid = creds.fsgid = p.gid;
    creds.groups = p.groups;
    creds.noNewPrivs = p.noNewPrivileges ?? false;
    creds.syscallPolicy = p.syscallPolicy ?? null;
    if (p.capSets) Object.assign(creds, p.capSets);
    const cwd = this.resolve(p.cwd);
    if (typeof cwd === "number") throw new SandboxError(`working directory ${p.cwd}: ${errnoText(cwd)}`);
    const fs = { root: this.root, cwd, umask: p.umask ?? 0o022, ns: k.mounts, users: 1 };
    const fdTable = new FdTable();
    fdTable.limit = tg.rlimits[L.RLIMIT_NOFILE].cur;
    const con = p.console ?? null;
    const tty = con ? this.ttyNode(con) : null;
    stdioFiles(k, p.stdio, con, tty?.path ?? null, tty?.inode ?? null).forEach((f, i) => {
      if (f) fdTable.set(i, f, false);
    });
    if (con) {
      // The process leads a session of its own, with the console as its terminal.
      tg.sid = tg.pgid = tg.tgid;
      setControllingTty(tg, con.terminal);
    }
    // A placeholder image: execve replaces it at once.
    const mm = new MM(k.memfile, -1);
    mm.stubKilled = true;
    const t = new Task(tg.tgid, k, tg, mm, fdTable, fs, creds);
    tg.tasks.push(t);
    tg.live = 1;
    k.tasks.set(t.tid, t);
    t.state = TaskState.InKernel;
    const argv = p.args.map(textToBinary);
    const envp = p.env.map(textToBinary);
    const path = this.findProgram(argv[0] ?? "", envp, fs);
    const r = execve(t, L.AT_FDCWD, path, argv, envp, 0);
    if (r !== BLOCK) {
      tg.live = 0;
      k.tasks.delete(t.tid);
      k.groups.delete(tg.tgid);
      const err = new SandboxError(`exec ${p.args[0]}: ${errnoText(r)}`);
      (err as SandboxError & { errno: number }).errno = -r;
      throw err;
    }
    return t;
  }

  /** The console's node in the sandbox's /dev/pts (the inode alone if devpts is not
   * mounted there), for fstat, ttyname and /proc/self/fd of the stdio files. */
  private ttyNode(con: HostConsole): { path: VfsPath | null; inode: Inode } {
    const inode = devptsOf(this.kernel).slaveInode(con.terminal);
    const p = this.resolve(`/dev/pts/${con.terminal.index}`);
    return { path: typeof p !== "number" && p.dentry.inode === inode ? p : null, inode };
  }

  /** $PATH lookup for a command without a slash, in the sandbox's tree. */
  private findProgram(cmd: string, envp: string[], fs: FsContext): string {
    if (cmd.includes("/")) return cmd;
    const pathVar = envp.find((e) => e.startsWith("PATH="))?.slice(5) ??
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    const r = new Resolver(fs, Creds.root());
    for (const dir of pathVar.split(":")) {
      const p = `${dir || "."}/${cmd}`;
      const found = r.resolve(fs.cwd, p, { follow: true });
      if (typeof found !== "number" && found.dentry.inode.isRegular()) return p;
    }
    return cmd;
  }

  /** Runs until init exits; returns its wait status. */
  run(): number {
    this.kernel.refillStubPool();
    return this.kernel.run();
  }

  // ---- for the OCI runtime (src/oci/): a container's life cycle --------------------------

  /** Checks, without running anything, that p's program exists and may be executed: what
   * `create` reports before `start`. Throws SandboxError (with errno) otherwise. */
  checkProgram(p: Pick<ProcessSpec, "args" | "env" | "cwd">): void {
    const cwd = this.resolve(p.cwd);
    if (typeof cwd === "number") throw errnoError(`working directory ${p.cwd}`, cwd);
    const fs: FsContext = { root: this.root, cwd, umask: 0o022, ns: this.kernel.mounts };
    const path = this.findProgram(textToBinary(p.args[0] ?? ""), p.env.map(textToBinary), fs);
    const found = new Resolver(fs, Creds.root()).resolve(cwd, path, { follow: true });
    if (typeof found === "number") throw errnoError(`exec ${p.args[0]}`, found);
    const inode = found.dentry.inode;
    if (inode.isDir()) throw errnoError(`exec ${p.args[0]}`, -E.EISDIR);
    if (!inode.isRegular() || (inode.mode & 0o111) === 0) throw errnoError(`exec ${p.args[0]}`, -E.EACCES);
  }

  /** Creates a mount point at path (a directory, or an empty file when dir is false), with
   * its missing parents, as root; an existing path is left alone. */
  makeMountpoint(path: string, dir: boolean): void {
    if (typeof this.resolve(path) !== "number") return;
    const parts = path.split("/").filter((c) => c !== "" && c !== ".");
    let cur = "";
    for (let i = 0; i < parts.length; i++) {
      const next = `${cur}/${parts[i]}`;
      const r = this.resolve(next);
      if (typeof r !== "number") {
        cur = next;
        continue;
      }
      if (r !== -E.ENOENT) throw errnoError(`mount point ${path}`, r);
      const parent = this.resolve(cur || "/");
      if (typeof parent === "number") throw errnoError(`mount point ${path}`, parent);
      if (parent.mount.readonly) throw errnoError(`mount point ${path} (the root is read-only)`, -E.EROFS);
      const name = textToBinary(parts[i]);
      const owner = { uid: 0, gid: 0 };
      const made = i === parts.length - 1 && !dir
        ? parent.dentry.inode.create(name, 0o644, owner)
        : parent.dentry.inode.mkdir(name, 0o755, owner);
      if (typeof made === "number") throw errnoError(`mount point ${path}`, made);
      parent.dentry.added(name, made);
      cur = next;
    }
  }

  /** Makes a node (device, FIFO) at path, as root; an existing path is left alone. */
  makeNode(path: string, mode: number, rdev: number, uid: number, gid: number): void {
    if (typeof this.resolve(path) !== "number") return;
    const slash = path.lastIndexOf("/");
    this.makeMountpoint(path.slice(0, slash) || "/", true);
    const parent = this.resolve(path.slice(0, slash) || "/");
    if (typeof parent === "number") throw errnoError(`device ${path}`, parent);
    const name = textToBinary(path.slice(slash + 1));
    const made = parent.dentry.inode.mknod(name, mode, rdev, { uid, gid });
    if (typeof made === "number") throw errnoError(`device ${path}`, made);
    parent.dentry.added(name, made);
  }

  /** Hides path (linux.maskedPaths): a directory gets an empty read-only tmpfs on top, a
   * file the sandbox's /dev/null. A path that does not exist is skipped. */
  maskPath(path: string): void {
    const at = this.resolve(path);
    if (typeof at === "number") return;
    if (at.dentry.inode.isDir()) {
      const tmpfs = FILESYSTEMS.get("tmpfs");
      if (!tmpfs) return;
      const made = tmpfs(this, { type: "tmpfs", source: "tmpfs", destination: path, options: ["ro", "size=0", "mode=555"] });
      if (typeof made === "number") throw errnoError(`masking ${path}`, made);
      this.kernel.mounts.mount(made.fs, made.root, at, made.flags | MNT_READONLY, made.options ?? "");
      return;
    }
    const devNull = this.resolve("/dev/null");
    if (typeof devNull === "number") return;
    this.kernel.mounts.mount(devNull.mount.fs, devNull.dentry, at, MNT_READONLY);
  }

  /** Makes path and what is below it read-only (linux.readonlyPaths); missing: skipped. */
  readonlyPath(path: string): void {
    const at = this.resolve(path);
    if (typeof at === "number") return;
    this.kernel.mounts.mount(at.mount.fs, at.dentry, at, at.mount.flags | MNT_READONLY, at.mount.options);
  }

  private readonly execExits = new Map<ThreadGroup, (status: number) => void>();
  private execHooked = false;

  /** Starts another process in the running sandbox (`exec`): it leads a session of its
   * own, has no parent (getppid() is 0), and onExit gets its wait status. Returns its pid.
   * Throws SandboxError if it cannot run. */
  exec(p: ProcessSpec, onExit: (status: number) => void): number {
    const k = this.kernel;
    if (!k.init || k.finished !== null) throw new SandboxError("the sandbox's init is not running");
    if (!this.execHooked) {
      this.execHooked = true;
      k.exitHooks.push((tg) => {
        const done = this.execExits.get(tg);
        if (!done) return;
        this.execExits.delete(tg);
        done(tg.exitStatus);
      });
    }
    const pid = k.allocPid();
    if (pid < 0) throw errnoError("exec", pid);
    const tg = new ThreadGroup(pid, k, new SigHand(), defaultRlimits());
    this.execExits.set(tg, onExit);
    try {
      this.startProcess(p, tg);
    } catch (e) {
      this.execExits.delete(tg);
      throw e;
    }
    return pid;
  }

  /** Sends sig to process pid (as kill(2) from outside the sandbox). 0 or -errno. */
  signalProcess(pid: number, sig: number): number {
    const tg = this.kernel.groups.get(pid);
    if (!tg || tg.zombie) return -E.ESRCH;
    return this.kernel.signals.sendToGroup(tg, { signo: sig, errno: 0, code: L.SI_USER, pid: 0, uid: 0 });
  }

  /** Sends sig to every process of the sandbox (`kill --all`). */
  signalAll(sig: number): void {
    for (const tg of [...this.kernel.groups.values()]) {
      if (!tg.zombie) this.kernel.signals.sendToGroup(tg, { signo: sig, errno: 0, code: L.SI_USER, pid: 0, uid: 0 });
    }
  }

  /** The sandbox's processes, for `ps`. */
  processes(): Array<{ pid: number; ppid: number; uid: number; state: string; comm: string; threads: number; startNs: number }> {
    const out = [];
    for (const tg of this.kernel.groups.values()) {
      const leader = tg.tasks[0];
      const running = tg.tasks.some((t) => t.state === TaskState.Running || t.state === TaskState.InKernel);
      out.push({
        pid: tg.tgid,
        ppid: tg.parent?.tgid ?? 0,
        uid: leader?.creds.euid ?? 0,
        state: tg.zombie ? "Z" : tg.stopped || this.kernel.frozen ? "T" : running ? "R" : "S",
        comm: tg.comm || leader?.comm || "",
        threads: tg.live,
        startNs: tg.startNs,
      });
    }
    return out.sort((a, b) => a.pid - b.pid);
  }

  /** Freezes every guest thread (`pause`): each stops the next time it would run guest code
   * (see Kernel.freeze), on either platform. The sentry keeps running. */
  pause(): void {
    this.kernel.freeze();
  }

  /** Lets the guest threads run again (`resume`). */
  resume(): void {
    this.kernel.thaw();
  }

  get paused(): boolean {
    return this.kernel.frozen;
  }
}

/** The overlay's default size limit: half the sandbox's memory limit, else 2 GiB, and
 * never more than half the host's memory. */
export function defaultOverlaySize(memoryLimit?: number): number {
  let host = Infinity;
  try {
    host = Deno.systemMemoryInfo().total / 2;
  } catch {
    // Not allowed to ask: keep the other bounds.
  }
  const base = memoryLimit !== undefined && memoryLimit !== Infinity ? memoryLimit / 2 : 2 * 2 ** 30;
  return Math.floor(Math.min(base, host));
}

export function errnoText(rc: number): string {
  const e = -rc;
  const names: Record<number, string> = {
    [E.ENOENT]: "no such file or directory",
    [E.EACCES]: "permission denied",
    [E.ENOEXEC]: "exec format error",
    [E.ENOTDIR]: "not a directory",
    [E.ELOOP]: "too many levels of symbolic links",
    [E.ENOMEM]: "out of memory",
    [E.EISDIR]: "is a directory",
    [E.EROFS]: "read-only file system",
  };
  return names[e] ?? ERRNO_NAMES[e] ?? `errno ${e}`;
}

/** A wait status as a shell reports it: the exit code, or 128 + the signal. */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f;
  return sig ? 128 + sig : (status >> 8) & 0xff;
}

function errnoError(what: string, rc: number): SandboxError {
  const err = new SandboxError(`${what}: ${errnoText(rc)}`);
  (err as SandboxError & { errno: number }).errno = -rc;
  return err;
}
