// /proc/[pid] and /proc/[pid]/task/[tid]: one directory per process (and per thread) of the
// sandbox's pid namespace, built from kernel state when read. A directory stays bound to the
// process it was made for: once that process is reaped (or its pid reused), lookups through
// a cached dentry fail as on Linux.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import { type Task, TaskState, type ThreadGroup } from "../../kernel/task.ts";
import { binaryToBytes, bytesToBinary } from "../../util/bytes.ts";
import { FileDescription } from "../../vfs/file.ts";
import { Dentry, type Inode, type Stat } from "../../vfs/inode.ts";
import { pathString, type VfsPath } from "../../vfs/mount.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { PipeFile } from "../pipe/pipe.ts";
import {
  GenFile,
  MagicLinkInode,
  type Owner,
  PseudoDir,
  type PseudoFS,
  PseudoInode,
  PseudoSymlink,
} from "../pseudo/nodes.ts";
import {
  limitsText,
  mainTask,
  mapsText,
  mountinfoText,
  mountsText,
  smapsText,
  statLine,
  statmLine,
  statusText,
} from "./format.ts";

const CAP_SYS_PTRACE = 19;
const CAP_SYS_RESOURCE = 24;

/** Linux's ptrace_may_access(PTRACE_MODE_READ_FSCREDS), for a sandbox without ptrace
 * relationships: the same process, or the same user (all of the target's uids and gids
 * are the reader's), or CAP_SYS_PTRACE. */
export function mayAccess(reader: Task | null, tg: ThreadGroup): boolean {
  if (!reader) return true;
  if (reader.tg === tg) return true;
  if (reader.creds.hasCap(CAP_SYS_PTRACE)) return true;
  const t = mainTask(tg);
  if (!t) return false;
  const r = reader.creds, c = t.creds;
  return r.fsuid === c.ruid && r.fsuid === c.euid && r.fsuid === c.suid &&
    r.fsgid === c.rgid && r.fsgid === c.egid && r.fsgid === c.sgid;
}

function isAlive(k: Kernel, tg: ThreadGroup): boolean {
  return !tg.reaped && k.groups.get(tg.tgid) === tg;
}

/** Owner of a process's /proc files: its effective ids. */
function ownerOf(tg: ThreadGroup): () => Owner {
  return () => {
    const t = mainTask(tg);
    return t ? { uid: t.creds.euid, gid: t.creds.egid } : { uid: 0, gid: 0 };
  };
}

/** The text a /proc/pid/fd/N link shows for an open file. */
export function fdLinkText(f: FileDescription, reader: Task | null, k: Kernel): string {
  if (f.path) {
    const root = reader?.fs.root ?? { mount: k.mounts.root, dentry: k.mounts.root.root };
    const p = pathString(f.path, root);
    if (p !== null) return p + (f.path.dentry.deleted ? " (deleted)" : "");
  }
  const named = (f as unknown as { procName?: string }).procName;
  if (typeof named === "string") return named;
  const kind = (f as unknown as { kind?: string }).kind;
  const st = f.stat();
  const ino = typeof st === "number" ? 0 : st.ino;
  const fmt = typeof st === "number" ? 0 : st.mode & L.S_IFMT;
  if (kind === "pipe" || fmt === L.S_IFIFO) return `pipe:[${ino}]`;
  if (kind === "socket" || fmt === L.S_IFSOCK) return `socket:[${ino}]`;
  if (f.inode === null && kind === undefined) return "anon_inode:[unknown]";
  return `anon_inode:[${kind ?? "file"}]`;
}

/** A node that opens an existing file description again (a path-less file reached
 * through /proc/pid/fd: host pipes donated as stdio, pipes, terminals). */
class ReopenInode extends PseudoInode {
  constructor(fs: PseudoFS, readonly file: FileDescription) {
    const st = file.stat();
    super(fs, typeof st === "number" ? L.S_IFIFO | 0o600 : st.mode);
  }
  override stat(): Stat {
    const st = this.file.stat();
    return typeof st === "number" ? super.stat() : st;
  }
  open(flags: number): FileDescription | number {
    const f = this.file as FileDescription & {
      reopen?: (flags: number) => FileDescription | number;
    };
    if (typeof f.reopen === "function") return f.reopen(flags);
    // An anonymous pipe opens like a FIFO: a new end of the same pipe.
    if (f instanceof PipeFile) return new PipeFile(f.pipe, flags & (L.O_ACCMODE | L.O_NONBLOCK));
    return -E.ENXIO;
  }
}

/** /proc/[pid]/mem: the address space, read and written at file offsets = addresses. */
class MemFile extends FileDescription {
  constructor(flags: number, path: VfsPath, inode: Inode, readonly tg: ThreadGroup) {
    super(flags, path, inode);
  }
  private mm() {
    const t = mainTask(this.tg);
    return !t || this.tg.zombie || t.mm.stubKilled ? null : t.mm;
  }
  override read(io: UserIO, off: number): number {
    const mm = this.mm();
    if (!mm) return 0;
    const pos = off >= 0 ? off : this.offset;
    const data = mm.copyIn(pos, Math.min(io.total, 1 << 20));
    if (typeof data === "number") return -E.EIO;
    const n = io.copyOut(data);
    if (n > 0 && off < 0) this.offset += n;
    return n;
  }
  override write(io: UserIO, off: number): number {
    const mm = this.mm();
    if (!mm) return 0;
    const pos = off >= 0 ? off : this.offset;
    const data = io.copyIn(Math.min(io.total, 1 << 20));
    if (typeof data === "number") return data;
    if (mm.copyOut(pos, data) < 0) return -E.EIO;
    if (off < 0) this.offset += data.length;
    return data.length;
  }
  override seek(off: number, whence: number): number {
    if (whence === 0) {
      this.offset = off;
      return off;
    }
    if (whence === 1) {
      this.offset += off;
      return this.offset;
    }
    return -E.EINVAL;
  }
}

/** Reads guest memory [start, end) of a process (cmdline, environ): empty once it is gone. */
function readRange(tg: ThreadGroup, which: "arg" | "env"): string | number {
  const t = mainTask(tg);
  if (!t || tg.zombie || t.mm.stubKilled) return "";
  const mm = t.mm;
  const start = which === "arg" ? mm.argStart : mm.envStart;
  const end = which === "arg" ? mm.argEnd : mm.envEnd;
  if (end <= start) return "";
  const b = mm.copyIn(start, Math.min(end - start, 1 << 20));
  if (typeof b === "number") return "";
  if (which === "arg" && b.length > 0 && b[b.length - 1] !== 0) {
    // setproctitle() overwrote the terminating NUL: the string runs on (to its NUL).
    const more = mm.readCString(end, 4096);
    return bytesToBinary(b) + (typeof more === "string" ? more : "");
  }
  return bytesToBinary(b);
}

/** Files of /proc/[pid]/net (and so /proc/net), provided by the network stack. */
const netFiles = new Map<string, (k: Kernel, reader: Task | null) => string>();

/** Adds /proc/[pid]/net/<name> (dev, tcp, udp, unix, route, if_inet6, ...). */
export function registerProcNet(
  name: string,
  gen: (k: Kernel, reader: Task | null) => string,
): void {
  netFiles.set(name, gen);
}

const NS_NAMES = [
  "cgroup",
  "ipc",
  "mnt",
  "net",
  "pid",
  "pid_for_children",
  "time",
  "time_for_children",
  "user",
  "uts",
];
const NS_INO: Record<string, number> = {
  cgroup: 4026531835,
  ipc: 4026531839,
  mnt: 4026531841,
  net: 4026531840,
  pid: 4026531836,
  pid_for_children: 4026531836,
  time: 4026531834,
  time_for_children: 4026531834,
  user: 4026531837,
  uts: 4026531838,
};

export interface ProcContext {
  fs: PseudoFS;
  kernel: Kernel;
}

/** Makes the directory of process tg (whole: /proc/[pid]) or of its thread t
 * (/proc/[pid]/task/[tid]). */
export function processDir(ctx: ProcContext, tg: ThreadGroup, t: Task | null): PseudoDir {
  const { fs, kernel: k } = ctx;
  const whole = t === null;
  const owner = ownerOf(tg);
  const task = () => t ?? mainTask(tg);
  const reader = () => fs.current;
  const gen = (mode: number, g: (r: Task | null) => string | Uint8Array | number, opts = {}) =>
    new GenFile(fs, mode, g, { owner, ...opts });
  /** Contents only a process with ptrace access may read. */
  const guarded = (mode: number, g: (r: Task | null) => string | Uint8Array | number) =>
    gen(mode, (r) => mayAccess(r, tg) ? g(r) : -E.EACCES);
  const alive = () => isAlive(k, tg);

  const entries: Record<string, () => Inode> = {
    stat: () => gen(0o444, () => statLine(k, tg, task(), whole)),
    status: () => gen(0o444, () => statusText(k, tg, task(), whole, task()?.fs.umask ?? 0o22)),
    statm: () => gen(0o444, () => statmLine(tg.zombie ? null : task()?.mm ?? null)),
    maps: () => guarded(0o444, () => mapsText(tg.zombie ? null : task()?.mm ?? null)),
    smaps: () => guarded(0o444, () => smapsText(tg.zombie ? null : task()?.mm ?? null, false)),
    smaps_rollup: () =>
      guarded(0o444, () => smapsText(tg.zombie ? null : task()?.mm ?? null, true)),
    cmdline: () => gen(0o444, () => readRange(tg, "arg")),
    environ: () => guarded(0o400, () => readRange(tg, "env")),
    auxv: () =>
      guarded(0o400, () => (tg.zombie ? new Uint8Array(0) : task()?.mm.auxv ?? new Uint8Array(0))),
    comm: () =>
      gen(0o644, () => `${whole ? tg.comm : (task()?.comm ?? tg.comm)}\n`, {
        write: (data: string, r: Task | null) => {
          if (r && r.tg !== tg) return -E.EINVAL;
          // Linux keeps what was written as it is (a trailing newline included).
          const name = data.slice(0, 15);
          const tt = task();
          if (tt) tt.comm = name;
          if (whole || tt?.isLeader()) tg.comm = name;
          return 0;
        },
      }),
    limits: () => gen(0o444, () => limitsText(tg)),
    mounts: () => gen(0o444, () => mountsText(k, task()?.fs.root ?? rootPath(k))),
    mountinfo: () => gen(0o444, () => mountinfoText(k, task()?.fs.root ?? rootPath(k))),
    cgroup: () => gen(0o444, () => "0::/\n"),
    oom_score: () => gen(0o444, () => "0\n"),
    oom_score_adj: () =>
      gen(0o644, () => `${(tg.ext.get("proc.oom_score_adj") as number | undefined) ?? 0}\n`, {
        write: (data: string, r: Task | null) => {
          const v = parseInt(data.trim(), 10);
          if (!/^\s*-?\d+\s*$/.test(data) || v < -1000 || v > 1000) return -E.EINVAL;
          const old = (tg.ext.get("proc.oom_score_adj") as number | undefined) ?? 0;
          if (v < old && r && !r.creds.hasCap(CAP_SYS_RESOURCE)) return -E.EACCES;
          tg.ext.set("proc.oom_score_adj", v);
          return 0;
        },
      }),
    oom_adj: () =>
      gen(
        0o644,
        () =>
          `${
            Math.round(((tg.ext.get("proc.oom_score_adj") as number | undefined) ?? 0) * 17 / 1000)
          }\n`,
        { write: () => 0 },
      ),
    loginuid: () => gen(0o644, () => "4294967295", { write: () => -E.EPERM }),
    sessionid: () => gen(0o444, () => "4294967295"),
    uid_map: () =>
      gen(0o644, () => `${"0".padStart(10)} ${"0".padStart(10)} ${"4294967295".padStart(10)}\n`, {
        write: () => -E.EPERM,
      }),
    gid_map: () =>
      gen(0o644, () => `${"0".padStart(10)} ${"0".padStart(10)} ${"4294967295".padStart(10)}\n`, {
        write: () => -E.EPERM,
      }),
    setgroups: () => gen(0o644, () => "allow\n", { write: () => -E.EPERM }),
    personality: () => guarded(0o400, () => "00000000\n"),
    wchan: () => gen(0o444, () => "0"),
    io: () =>
      guarded(
        0o400,
        () =>
          "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n",
      ),
    schedstat: () => gen(0o444, () => "0 0 0\n"),
    mem: () => new MemInode(fs, tg, owner),
    exe: () =>
      new MagicLinkInode(fs, () => {
        if (!mayAccess(reader(), tg)) return -E.EACCES;
        const tt = task();
        const p = tt && !tg.zombie ? tt.mm.exe as VfsPath | null : null;
        if (!p) return -E.ENOENT;
        return pathString(p, reader()?.fs.root ?? rootPath(k)) ?? -E.ENOENT;
      }, () => {
        if (!mayAccess(reader(), tg)) return -E.EACCES;
        const tt = task();
        const p = tt && !tg.zombie ? tt.mm.exe as VfsPath | null : null;
        return p ?? -E.ENOENT;
      }, owner),
    cwd: () => fsLink(ctx, tg, task, "cwd", owner),
    root: () => fsLink(ctx, tg, task, "root", owner),
    fd: () => fdDir(ctx, tg, task, owner, false),
    fdinfo: () => fdDir(ctx, tg, task, owner, true),
    net: () => {
      const made = new Map<string, Inode>();
      return new PseudoDir(fs, 0o555, () => [...netFiles.keys()].sort(), (n) => {
        const gen = netFiles.get(n);
        if (!gen) return null;
        let f = made.get(n);
        if (!f) made.set(n, f = new GenFile(fs, 0o444, (r) => gen(k, r), { owner }));
        return f;
      }, owner);
    },
    ns: () => {
      const links: Record<string, Inode> = {};
      for (const n of NS_NAMES) {
        links[n] = new PseudoSymlink(
          fs,
          () => `${n.replace(/_for_children$/, "")}:[${NS_INO[n]}]`,
          owner,
        );
      }
      return new PseudoDir(fs, 0o511, () => NS_NAMES, (n) => links[n] ?? null, owner);
    },
  };
  if (whole) {
    entries.task = () =>
      new PseudoDir(
        fs,
        0o555,
        () => tg.tasks.filter((x) => x.state !== TaskState.Dead).map((x) => String(x.tid)),
        (name) => {
          const tt = tg.tasks.find((x) => String(x.tid) === name && x.state !== TaskState.Dead);
          return tt ? processDir(ctx, tg, tt) : null;
        },
        owner,
        0,
        (name, child) =>
          alive() && tg.tasks.some((x) => String(x.tid) === name && x.state !== TaskState.Dead) &&
          child !== null,
      );
  }
  const names = Object.keys(entries).sort();
  const made = new Map<string, Inode>();
  return new PseudoDir(
    fs,
    0o555,
    () => (alive() ? names : []),
    (name) => {
      if (!alive() || !entries[name]) return null;
      let i = made.get(name);
      if (!i) {
        i = entries[name]();
        made.set(name, i);
      }
      return i;
    },
    owner,
    0,
    () => alive(),
  );
}

function rootPath(k: Kernel): VfsPath {
  return { mount: k.mounts.root, dentry: k.mounts.root.root };
}

/** /proc/[pid]/cwd and root: magic links to the process's working or root directory. */
function fsLink(
  ctx: ProcContext,
  tg: ThreadGroup,
  task: () => Task | undefined,
  which: "cwd" | "root",
  owner: () => Owner,
): Inode {
  const { fs, kernel: k } = ctx;
  const target = (): VfsPath | number => {
    if (!mayAccess(fs.current, tg)) return -E.EACCES;
    const t = task();
    if (!t || tg.zombie) return -E.ENOENT;
    return which === "cwd" ? t.fs.cwd : t.fs.root;
  };
  return new MagicLinkInode(
    fs,
    () => {
      const p = target();
      if (typeof p === "number") return p;
      const s = pathString(p, fs.current?.fs.root ?? rootPath(k));
      return s === null ? "/" : s + (p.dentry.deleted ? " (deleted)" : "");
    },
    target,
    owner,
  );
}

/** /proc/[pid]/fd (magic links) and /proc/[pid]/fdinfo (pos, flags, mnt_id, ino). */
function fdDir(
  ctx: ProcContext,
  tg: ThreadGroup,
  task: () => Task | undefined,
  owner: () => Owner,
  info: boolean,
): PseudoDir {
  const { fs, kernel: k } = ctx;
  const table = () => {
    const t = task();
    return t && !tg.zombie && t.fdTable.users > 0 ? t.fdTable : null;
  };
  const fileAt = (name: string): FileDescription | undefined => {
    if (!/^(0|[1-9][0-9]*)$/.test(name)) return undefined;
    return table()?.get(Number(name));
  };
  const make = (name: string): Inode | null => {
    const f = fileAt(name);
    if (!f) return null;
    const fd = Number(name);
    if (info) {
      return new GenFile(fs, 0o400, () => {
        const file = table()?.get(fd);
        if (!file) return -E.ENOENT;
        const cloexec = table()?.isCloexec(fd) ? L.O_CLOEXEC : 0;
        const largefile = file.path && file.inode?.isRegular() ? L.O_LARGEFILE : 0;
        const st = file.stat();
        const ino = typeof st === "number" ? 0 : st.ino;
        const mnt = file.path?.mount.id ?? 0;
        // f_flags keep neither the open-time-only flags nor O_CLOEXEC (an fd flag).
        const fflags = file.flags & ~(L.O_CLOEXEC | L.O_CREAT | L.O_EXCL | L.O_NOCTTY | L.O_TRUNC);
        return `pos:\t${file.offset}\nflags:\t0${
          (fflags | cloexec | largefile).toString(8)
        }\nmnt_id:\t${mnt}\nino:\t${ino}\n`;
      }, { owner });
    }
    const mode = (f.readable ? 0o500 : 0) | (f.writable ? 0o300 : 0);
    return new MagicLinkInode(
      fs,
      () => {
        const file = table()?.get(fd);
        if (!file) return -E.ENOENT;
        if (!mayAccess(fs.current, tg)) return -E.EACCES;
        return fdLinkText(file, fs.current, k);
      },
      () => {
        const file = table()?.get(fd);
        if (!file) return -E.ENOENT;
        if (!mayAccess(fs.current, tg)) return -E.EACCES;
        if (file.path) return file.path;
        const d = new Dentry(fdLinkText(file, fs.current, k), null, new ReopenInode(fs, file));
        return { mount: k.mounts.root, dentry: d };
      },
      owner,
      mode,
      64,
    );
  };
  // Each link remembers the file it was made for: a reused fd number is a new entry.
  const madeFor = new WeakMap<Inode, FileDescription>();
  return new PseudoDir(
    fs,
    0o500,
    () => table()?.fds().map(String) ?? [],
    (name) => {
      const i = make(name);
      const f = fileAt(name);
      if (i && f) madeFor.set(i, f);
      return i;
    },
    owner,
    0,
    (name, child) =>
      isAlive(k, tg) && fileAt(name) !== undefined && madeFor.get(child) === fileAt(name),
  );
}

class MemInode extends PseudoInode {
  constructor(fs: PseudoFS, readonly tg: ThreadGroup, owner: () => Owner) {
    super(fs, L.S_IFREG | 0o600, owner);
  }
  open(flags: number, path: VfsPath): FileDescription | number {
    if (!mayAccess(this.fs.current, this.tg)) return -E.EACCES;
    return new MemFile(flags, path, this, this.tg);
  }
}

export { binaryToBytes };
