// Inodes and dentries: the objects every filesystem (sentry/fs/*) provides.
//
// Conventions (as in all of the sentry): operations return a value or a negative errno;
// they never throw for a guest's mistake. Names are binary strings (util/bytes.ts).
//
// Division of labour: the VFS (resolve.ts, the syscalls) checks permissions, read-only
// mounts, sticky directories and name validity, and computes the owner and mode of new
// files (umask, set-group-ID directories); a filesystem only carries operations out.
import { E } from "../abi/errno.ts";
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "../abi/linux.ts";
import type { Mappable } from "../mm/objects.ts";
import type { FileDescription } from "./file.ts";

/** A time as Linux keeps it: seconds and nanoseconds since the epoch (exact, unlike a
 * float64 count of nanoseconds). */
export interface Timespec {
  sec: number;
  nsec: number;
}

export function tsFromNs(ns: number): Timespec {
  const sec = Math.floor(ns / 1e9);
  return { sec, nsec: Math.min(999999999, Math.max(0, Math.round(ns - sec * 1e9))) };
}

export function tsToNs(ts: Timespec): number {
  return ts.sec * 1e9 + ts.nsec;
}

export interface Stat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  /** Times in nanoseconds since the epoch. */
  atimeNs: number;
  mtimeNs: number;
  ctimeNs: number;
  /** Creation time, if the filesystem knows it (statx STATX_BTIME). */
  btimeNs?: number;
  /** The same times exactly, when the filesystem keeps them (stat reports these). */
  atime?: Timespec;
  mtime?: Timespec;
  ctime?: Timespec;
  btime?: Timespec;
}

export interface DirEntry {
  name: string;
  ino: number;
  /** DT_* type. */
  type: number;
}

/** Attribute changes (chmod, chown, truncate, utimensat). The VFS resolves UTIME_NOW
 * before calling. ctime is updated by the filesystem. */
export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: Timespec;
  mtime?: Timespec;
}

/** What permission checks read. */
export interface PermInfo {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** Owner of a new file, as the VFS computed it (fsuid, and fsgid or the set-group-ID
 * directory's group). */
export interface Owner {
  uid: number;
  gid: number;
}

/** Who is asking (the task's filesystem credentials), for permission checks. */
export interface Credentials {
  fsuid: number;
  fsgid: number;
  groups: readonly number[];
  /** CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_CHOWN, ... as a bit set. */
  hasCap(cap: number): boolean;
}

export interface StatFs {
  type: number;
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  namelen: number;
  frsize: number;
  flags: number;
}

/** renameat2 flags. */
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;

export abstract class FileSystem {
  /** Name as in /proc/filesystems and /proc/mounts ("tmpfs", "proc", "overlay", ...). */
  abstract readonly type: string;
  /** Device number reported by stat for this filesystem's inodes. */
  abstract readonly dev: number;
  /** Source column of /proc/mounts. */
  source = "none";
  /** Lookups are cached in dentries until the VFS itself changes the directory. False for
   * filesystems whose names change behind the VFS's back (procfs, host trees the host may
   * modify): a cached dentry is then revalidated (Inode.revalidate) on every walk. */
  dentryCache = true;
  statfs(): StatFs {
    return {
      type: 0x01021994,
      bsize: 4096,
      blocks: 0,
      bfree: 0,
      bavail: 0,
      files: 0,
      ffree: 0,
      namelen: 255,
      frsize: 4096,
      flags: 0,
    };
  }
}

let nextAnonMinor = 16;

/** A device number of its own for a filesystem with no device (major 0, as Linux gives
 * tmpfs, proc, overlay...), in the kernel's encoding (new_encode_dev). */
export function anonDev(): number {
  const minor = nextAnonMinor++;
  return (minor & 0xff) | ((minor & ~0xff) << 12);
}

export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;

export function dtype(mode: number): number {
  return (mode & S_IFMT) >> 12;
}

/** An inode. Subclasses override what their kind of file supports; the defaults are the
 * errors Linux gives for an operation the file type does not have. */
export abstract class Inode {
  abstract readonly fs: FileSystem;
  /** Current attributes (may cost a host call for host files). */
  abstract stat(): Stat;

  /** Attributes for permission checks during path walks: may be cached (host files keep
   * the attributes of their last lookup or revalidation). */
  attrs(): Stat {
    return this.stat();
  }

  /** Mode and owner, for permission checks: the cheapest view a filesystem has (the hot
   * path of every walk). */
  permInfo(): PermInfo {
    return this.attrs();
  }

  /** What identifies the file across inode objects (file locks, inotify watches). An
   * object identity unless a filesystem can make several objects for one file. */
  identity(): unknown {
    return this;
  }

  /** A unix socket bound to this file (sockets' owner sets it when bind() creates the
   * file, reads it on connect()). */
  boundSocket: unknown = null;
  /** State of a named pipe (the pipes' owner keeps the pipe shared by every opener here;
   * see vfs/special.ts). */
  fifoState: unknown = null;

  get mode(): number {
    return this.attrs().mode;
  }
  isDir(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isSymlink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
  isRegular(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }

  // Directories.
  lookup(_name: string): Inode | number {
    return -E.ENOTDIR;
  }
  /** For filesystems without a dentry cache: is `cached` still what `name` names here?
   * Returns cached (refreshed), another inode, or -errno. */
  revalidate(name: string, _cached: Inode): Inode | number {
    return this.lookup(name);
  }
  /** Entries, "." and ".." included. */
  readdir(): DirEntry[] | number {
    return -E.ENOTDIR;
  }
  /** Creates a regular file (mode: permission bits only). */
  create(_name: string, _mode: number, _owner: Owner): Inode | number {
    return -E.ENOTDIR;
  }
  mkdir(_name: string, _mode: number, _owner: Owner): Inode | number {
    return -E.ENOTDIR;
  }
  /** Creates a FIFO, socket or device node (mode includes the S_IFMT type). */
  mknod(_name: string, _mode: number, _rdev: number, _owner: Owner): Inode | number {
    return -E.ENOTDIR;
  }
  symlink(_name: string, _target: string, _owner: Owner): Inode | number {
    return -E.ENOTDIR;
  }
  /** Adds a name for target (same filesystem, not a directory). */
  link(_name: string, _target: Inode): number {
    return -E.ENOTDIR;
  }
  unlink(_name: string): number {
    return -E.ENOTDIR;
  }
  /** Removes an empty directory. */
  rmdir(_name: string): number {
    return -E.ENOTDIR;
  }
  /** Moves entry oldName of this directory to newName in newDir (same filesystem), with
   * RENAME_* flags. The VFS has checked permissions, loops and the source's existence; the
   * filesystem checks type compatibility and emptiness of a replaced directory. */
  rename(_oldName: string, _newDir: Inode, _newName: string, _flags: number): number {
    return -E.ENOTDIR;
  }

  /** This inode's name is now newName in newDir (after a rename by the VFS): filesystems
   * that reach files by name (host trees) follow it. */
  moved(_newDir: Inode, _newName: string): void {}

  // Symlinks.
  readlink(): string | number {
    return -E.EINVAL;
  }

  // Every inode.
  /** Opens the inode. `path` is how it was reached (for /proc/pid/fd and fstat); `task` is
   * the opening task (kernel Task; special files may block it). The VFS has checked
   * permissions; O_TRUNC is applied by the VFS through setattr. */
  abstract open(
    flags: number,
    path: import("./mount.ts").VfsPath,
    task?: unknown,
  ): FileDescription | number;
  setattr(_a: SetAttr): number {
    return -E.EPERM;
  }
  /** The pages of a regular file, for mmap; null if the file cannot be mapped. */
  mappable(): Mappable | null {
    return null;
  }
  getxattr(_name: string): Uint8Array | number {
    return -E.EOPNOTSUPP;
  }
  /** flags: XATTR_CREATE (1) / XATTR_REPLACE (2). */
  setxattr(_name: string, _value: Uint8Array, _flags: number): number {
    return -E.EOPNOTSUPP;
  }
  listxattr(): string[] | number {
    return [];
  }
  removexattr(_name: string): number {
    return -E.EOPNOTSUPP;
  }
}

/** A name in the tree: the dentry cache. Dentries of one filesystem form a tree; mounts
 * (mount.ts) stitch trees together. */
export class Dentry {
  readonly children = new Map<string, Dentry>();
  /** Set when something is mounted on this dentry (see MountNamespace). */
  mountCount = 0;
  /** Unlinked while still open or in use (shown as "(deleted)"). */
  deleted = false;

  constructor(public name: string, public parent: Dentry | null, public inode: Inode) {}

  /** Looks a child up through the cache. */
  child(name: string): Dentry | number {
    const cached = this.children.get(name);
    if (cached) {
      if (cached.inode.fs.dentryCache || cached.mountCount > 0) return cached;
      const ino = this.inode.revalidate(name, cached.inode);
      if (ino === cached.inode) return cached;
      this.drop(name);
      if (typeof ino === "number") return ino;
      const d = new Dentry(name, this, ino);
      this.children.set(name, d);
      return d;
    }
    const ino = this.inode.lookup(name);
    if (typeof ino === "number") return ino;
    const d = new Dentry(name, this, ino);
    this.children.set(name, d);
    return d;
  }

  /** Records that name now names inode (after create, mkdir, link...). */
  added(name: string, inode: Inode): Dentry {
    const old = this.children.get(name);
    if (old && old.inode === inode) return old;
    if (old) this.drop(name);
    const d = new Dentry(name, this, inode);
    this.children.set(name, d);
    return d;
  }

  /** Forgets a child (after unlink, or when the filesystem says it changed). */
  drop(name: string): void {
    const d = this.children.get(name);
    if (d) {
      d.deleted = true;
      this.children.delete(name);
    }
  }

  /** A rename moved this directory's entry `name` to newParent/newName: the dentry moves
   * with it (open files and working directories follow), and whatever newName named is
   * dropped. */
  moved(name: string, newParent: Dentry, newName: string): void {
    const d = this.children.get(name);
    newParent.drop(newName);
    if (!d) return;
    this.children.delete(name);
    d.name = newName;
    d.parent = newParent;
    newParent.children.set(newName, d);
  }

  /** RENAME_EXCHANGE: this directory's `name` and other's `otherName` swapped. */
  exchanged(name: string, other: Dentry, otherName: string): void {
    const a = this.children.get(name), b = other.children.get(otherName);
    this.children.delete(name);
    other.children.delete(otherName);
    if (a) {
      a.name = otherName;
      a.parent = other;
      other.children.set(otherName, a);
    }
    if (b) {
      b.name = name;
      b.parent = this;
      this.children.set(name, b);
    }
  }

  /** Is this dentry `other` or below it? */
  isBelow(other: Dentry): boolean {
    if (this === other) return true;
    for (let d = this.parent; d; d = d.parent) if (d === other) return true;
    return false;
  }
}
