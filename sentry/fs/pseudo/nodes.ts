// Building blocks of the sentry's synthetic filesystems (proc, sys, devpts): directories
// whose entries are computed, files whose contents are generated when read, symlinks whose
// targets are computed, and magic links (/proc/pid/fd/N, exe, cwd) that jump to an object
// rather than to a path.
//
// Entries may come and go behind the VFS's back (a process exits, a file descriptor is
// closed), so these filesystems run without the dentry cache: every cached name is
// revalidated on each walk.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Task } from "../../kernel/task.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import { binaryToBytes } from "../../util/bytes.ts";
import { FileDescription } from "../../vfs/file.ts";
import {
  anonDev,
  type DirEntry,
  dtype,
  FileSystem,
  Inode,
  type SetAttr,
  type Stat,
} from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import type { MagicLink } from "../../vfs/resolve.ts";
import type { UserIO } from "../../vfs/userio.ts";

export class PseudoFS extends FileSystem {
  readonly dev = anonDev();
  override dentryCache = false;
  private nextIno = 1;
  readonly createdNs: number;

  constructor(readonly type: string, readonly kernel: Kernel, readonly magic: number) {
    super();
    this.source = type;
    this.createdNs = kernel.realtimeNs();
  }

  allocIno(): number {
    return this.nextIno++;
  }

  override statfs() {
    return { ...super.statfs(), type: this.magic, bsize: 4096, frsize: 4096, namelen: 255 };
  }

  /** The task making the current call (its /proc/self, its root for paths). */
  get current(): Task | null {
    return this.kernel.current;
  }
}

export interface Owner {
  uid: number;
  gid: number;
}

const ROOT: Owner = { uid: 0, gid: 0 };

export abstract class PseudoInode extends Inode {
  readonly ino: number;
  constructor(
    readonly fs: PseudoFS,
    public imode: number,
    public owner: () => Owner = () => ROOT,
    ino = 0,
  ) {
    super();
    this.ino = ino || fs.allocIno();
  }

  override get mode(): number {
    return this.imode;
  }

  /** Size reported by stat (0 for generated files, as procfs does). */
  size(): number {
    return 0;
  }

  rdev(): number {
    return 0;
  }

  nlink(): number {
    return 1;
  }

  times(): number {
    return this.fs.createdNs;
  }

  stat(): Stat {
    const o = this.owner();
    const t = this.times();
    return {
      dev: this.fs.dev,
      ino: this.ino,
      mode: this.imode,
      nlink: this.nlink(),
      uid: o.uid,
      gid: o.gid,
      rdev: this.rdev(),
      size: this.size(),
      blksize: 1024,
      blocks: 0,
      atimeNs: t,
      mtimeNs: t,
      ctimeNs: t,
    };
  }

  override setattr(_a: SetAttr): number {
    return -E.EPERM;
  }
}

/** A directory: `names()` lists the entries, `make(name)` builds one. Built children are
 * kept while `alive(name, child)` says they are still what the name means. */
export class PseudoDir extends PseudoInode {
  private readonly built = new Map<string, Inode>();

  constructor(
    fs: PseudoFS,
    mode: number,
    readonly names: () => string[],
    readonly make: (name: string) => Inode | null,
    owner?: () => Owner,
    ino = 0,
    readonly alive: (name: string, child: Inode) => boolean = () => true,
  ) {
    super(fs, L.S_IFDIR | (mode & 0o7777), owner, ino);
  }

  override nlink(): number {
    let n = 2;
    for (const name of this.names()) {
      const c = this.lookup(name);
      if (typeof c !== "number" && c.isDir()) n++;
    }
    return n;
  }

  override lookup(name: string): Inode | number {
    const have = this.built.get(name);
    if (have && this.alive(name, have)) return have;
    this.built.delete(name);
    if (!this.names().includes(name) && !this.hidden(name)) return -E.ENOENT;
    const made = this.make(name);
    if (!made) return -E.ENOENT;
    this.built.set(name, made);
    return made;
  }

  /** Names that can be looked up without being listed (/proc/<tid> of threads). */
  hidden(_name: string): boolean {
    return false;
  }

  override revalidate(name: string, cached: Inode): Inode | number {
    const now = this.lookup(name);
    return now === cached ? cached : now;
  }

  override readdir(): DirEntry[] | number {
    const out: DirEntry[] = [
      { name: ".", ino: this.ino, type: 4 },
      { name: "..", ino: this.ino, type: 4 },
    ];
    for (const name of this.names()) {
      const c = this.lookup(name);
      if (typeof c === "number") continue;
      const ino = c instanceof PseudoInode ? c.ino : c.stat().ino;
      out.push({ name, ino, type: dtype(c.mode) });
    }
    return out;
  }

  open(flags: number, path: VfsPath): FileDescription | number {
    if ((flags & L.O_ACCMODE) !== L.O_RDONLY) return -E.EISDIR;
    return new PseudoDirFile(flags, path, this);
  }
}

/** A directory with a fixed set of entries. */
export function staticDir(
  fs: PseudoFS,
  mode: number,
  entries: Record<string, Inode>,
  owner?: () => Owner,
): PseudoDir {
  const names = Object.keys(entries);
  return new PseudoDir(fs, mode, () => names, (n) => entries[n] ?? null, owner);
}

export class PseudoDirFile extends FileDescription {
  override read(): number {
    return -E.EISDIR;
  }
  override write(): number {
    return -E.EBADF;
  }
}

export interface GenOptions {
  /** Size shown by stat (sysfs files say 4096). */
  size?: number;
  /** Called with the bytes of a write at offset 0 (binary string); returns -errno or 0. */
  write?: (data: string, task: Task | null) => number;
  owner?: () => Owner;
}

/** A file whose contents are generated (a binary string, or null for an I/O error such as
 * reading the environ of a process that has exited) each time it is read from the start. */
export class GenFile extends PseudoInode {
  constructor(
    fs: PseudoFS,
    mode: number,
    readonly generate: (reader: Task | null) => string | Uint8Array | number,
    readonly opts: GenOptions = {},
  ) {
    super(fs, L.S_IFREG | (mode & 0o7777), opts.owner);
  }

  override size(): number {
    return this.opts.size ?? 0;
  }

  open(flags: number, path: VfsPath, task?: unknown): FileDescription | number {
    if ((flags & L.O_ACCMODE) !== L.O_RDONLY && !this.opts.write) return -E.EACCES;
    return new GenFileDescription(flags, path, this, (task as Task | undefined) ?? this.fs.current);
  }
}

/** An open generated file: the contents are made on the first read (and again whenever a
 * read starts at offset 0, so `lseek(0); read()` sees fresh values, like seq_file). */
export class GenFileDescription extends FileDescription {
  private snapshot: Uint8Array | null = null;

  constructor(flags: number, path: VfsPath, readonly node: GenFile, readonly opener: Task | null) {
    super(flags, path, node);
  }

  private contents(fresh: boolean): Uint8Array | number {
    if (this.snapshot && !fresh) return this.snapshot;
    const g = this.node.generate(this.node.fs.current ?? this.opener);
    if (typeof g === "number") return g;
    this.snapshot = typeof g === "string" ? binaryToBytes(g) : g;
    return this.snapshot;
  }

  override read(io: UserIO, off: number): number {
    if (!this.readable) return -E.EBADF;
    const pos = off >= 0 ? off : this.offset;
    const data = this.contents(pos === 0);
    if (typeof data === "number") return data;
    if (pos >= data.length) return 0;
    const n = io.copyOut(data.subarray(pos, Math.min(data.length, pos + io.total)));
    if (n > 0 && off < 0) this.offset += n;
    return n;
  }

  override readAt(buf: Uint8Array, off: number): number {
    const data = this.contents(off === 0);
    if (typeof data === "number") return data;
    const part = data.subarray(Math.min(off, data.length), Math.min(data.length, off + buf.length));
    buf.set(part);
    return part.length;
  }

  override write(io: UserIO, _off: number): number {
    if (!this.writable) return -E.EBADF;
    const w = this.node.opts.write;
    if (!w) return -E.EINVAL;
    const data = io.copyIn(Math.min(io.total, 65536));
    if (typeof data === "number") return data;
    let s = "";
    for (const b of data) s += String.fromCharCode(b);
    const rc = w(s, this.node.fs.current ?? this.opener);
    return rc < 0 ? rc : data.length;
  }

  override seek(off: number, whence: number): number {
    if (whence === 2) {
      // SEEK_END on a generated file: relative to what it holds now.
      const data = this.contents(false);
      if (typeof data === "number") return data;
      const n = data.length + off;
      if (n < 0) return -E.EINVAL;
      this.offset = n;
      return n;
    }
    return super.seek(off, whence);
  }
}

/** A symlink whose target is computed when read. */
export class PseudoSymlink extends PseudoInode {
  constructor(
    fs: PseudoFS,
    readonly target: () => string | number,
    owner?: () => Owner,
    mode = 0o777,
  ) {
    super(fs, L.S_IFLNK | mode, owner);
  }

  override readlink(): string | number {
    return this.target();
  }

  override size(): number {
    const t = this.target();
    return typeof t === "string" ? t.length : 0;
  }

  open(): FileDescription | number {
    return -E.ELOOP;
  }
}

/** A /proc magic link: following it lands on an object (an open file's path, a process's
 * working directory), not on a path looked up again. */
export class MagicLinkInode extends PseudoSymlink implements MagicLink {
  constructor(
    fs: PseudoFS,
    target: () => string | number,
    readonly jump: () => VfsPath | number,
    owner?: () => Owner,
    mode = 0o777,
    /** What lstat reports: Linux gives 64 for /proc/PID/fd/N and 0 for the others. Never
     * the target's length: naming an O_PATH file that is itself such a link would stat the
     * link again, without end. */
    private readonly linkSize = 0,
  ) {
    super(fs, target, owner, mode);
  }

  override size(): number {
    return this.linkSize;
  }

  magicTarget(): VfsPath | number {
    return this.jump();
  }
}
