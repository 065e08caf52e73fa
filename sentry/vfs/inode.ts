// Inodes and dentries: the objects every filesystem (sentry/fs/*) provides.
//
// Conventions (as in all of the sentry): operations return a value or a negative errno;
// they never throw for a guest's mistake. Names are binary strings (util/bytes.ts).
import { E } from "../abi/errno.ts";
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "../abi/linux.ts";
import type { Mappable } from "../mm/objects.ts";
import type { FileDescription } from "./file.ts";

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
}

export interface DirEntry {
  name: string;
  ino: number;
  /** DT_* type. */
  type: number;
}

export interface SetAttr {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atimeNs?: number;
  mtimeNs?: number;
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

export abstract class FileSystem {
  /** Name as in /proc/filesystems and /proc/mounts ("tmpfs", "proc", "overlay", ...). */
  abstract readonly type: string;
  /** Device number reported by stat for this filesystem's inodes. */
  abstract readonly dev: number;
  /** Source column of /proc/mounts. */
  source = "none";
  statfs(): StatFs {
    return {
      type: 0x01021994, bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0,
      namelen: 255, frsize: 4096, flags: 0,
    };
  }
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
  abstract stat(): Stat;

  get mode(): number {
    return this.stat().mode;
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
  readdir(): DirEntry[] | number {
    return -E.ENOTDIR;
  }
  create(_name: string, _mode: number, _c: Credentials): Inode | number {
    return -E.ENOTDIR;
  }
  mkdir(_name: string, _mode: number, _c: Credentials): Inode | number {
    return -E.ENOTDIR;
  }
  mknod(_name: string, _mode: number, _rdev: number, _c: Credentials): Inode | number {
    return -E.ENOTDIR;
  }
  symlink(_name: string, _target: string, _c: Credentials): Inode | number {
    return -E.ENOTDIR;
  }
  link(_name: string, _target: Inode): number {
    return -E.ENOTDIR;
  }
  unlink(_name: string): number {
    return -E.ENOTDIR;
  }
  rmdir(_name: string): number {
    return -E.ENOTDIR;
  }
  /** Moves entry oldName of this directory to newName in newDir (same filesystem). */
  rename(_oldName: string, _newDir: Inode, _newName: string, _flags: number): number {
    return -E.ENOTDIR;
  }

  // Symlinks.
  readlink(): string | number {
    return -E.EINVAL;
  }

  // Every inode.
  /** Opens the inode. `path` is how it was reached (for /proc/pid/fd and fstat). */
  abstract open(flags: number, path: import("./mount.ts").VfsPath): FileDescription | number;
  setattr(_a: SetAttr): number {
    return -E.EPERM;
  }
  /** The pages of a regular file, for mmap; null if the file cannot be mapped. */
  mappable(): Mappable | null {
    return null;
  }
  getxattr(_name: string): Uint8Array | number {
    return -E.ENODATA;
  }
  setxattr(_name: string, _value: Uint8Array, _flags: number): number {
    return -E.EOPNOTSUPP;
  }
  listxattr(): string[] | number {
    return [];
  }
  removexattr(_name: string): number {
    return -E.ENODATA;
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
    if (cached) return cached;
    const ino = this.inode.lookup(name);
    if (typeof ino === "number") return ino;
    const d = new Dentry(name, this, ino);
    this.children.set(name, d);
    return d;
  }

  /** Forgets a child (after unlink, rename, or when the filesystem says it changed). */
  drop(name: string): void {
    const d = this.children.get(name);
    if (d) {
      d.deleted = true;
      this.children.delete(name);
    }
  }
}
