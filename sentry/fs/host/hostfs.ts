// The host filesystem: a host directory tree seen through directory fds the sentry holds.
//
// Invariant 3: a guest path is never handed to the host. The VFS resolves paths itself; this
// filesystem only ever asks the host about one name inside a directory fd it holds
// (fstatat/openat with AT_SYMLINK_NOFOLLOW / O_NOFOLLOW), and symlinks are read, not
// followed, so nothing in the host tree can lead a lookup outside it.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { host, STAT_SIZE, StatOff } from "../../../ffi/host.ts";
import type { MemoryFile } from "../../mm/memfile.ts";
import { CHUNK, CHUNK_PAGES } from "../../mm/memfile.ts";
import type { Mappable, MappableIdentity } from "../../mm/objects.ts";
import { binaryToCString, bytesToBinary } from "../../util/bytes.ts";
import { FileDescription } from "../../vfs/file.ts";
import {
  type Owner,
  type DirEntry,
  FileSystem,
  Inode,
  type SetAttr,
  type Stat,
  type StatFs,
} from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import type { UserIO } from "../../vfs/userio.ts";

const O_PATH_DIR = L.O_PATH | L.O_DIRECTORY | L.O_NOFOLLOW;

/** Host pseudo-filesystems a sandbox must never see through a host tree: they describe the
 * host (and the sentry: /proc/<sentry>/mem), not files. A directory where one is mounted
 * shows up empty; the sandbox mounts its own proc, sys and dev instead. */
const DENIED_FS_MAGIC = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x64626720, // debugfs
  0x74726163, // tracefs
  0x73636673, // securityfs
  0xcafe4a11, // bpf
  0x27e0eb, // cgroup
  0x63677270, // cgroup2
  0x62656570, // configfs
  0xde5e81e4, // efivarfs
  0x6165676c, // pstore
  0x42494e4d, // binfmt_misc
  0x65735543, // fusectl
  0x1cd1, // devpts
  0x19800202, // mqueue
  0x6e736673, // nsfs
  0x50495045, // pipefs
]);

function fsMagic(fd: number): number {
  const buf = new Uint8Array(120);
  if (host().sb_h_fstatfs(fd, buf) < 0) return 0;
  return new DataView(buf.buffer).getUint32(0, true);
}
const statBuf = new Uint8Array(STAT_SIZE);
const statView = new DataView(statBuf.buffer);
const EMPTY = new Uint8Array([0]);

function u64(off: number): number {
  return statView.getUint32(off, true) + statView.getUint32(off + 4, true) * 4294967296;
}

function decodeStat(): Stat {
  return {
    dev: u64(StatOff.Dev),
    ino: u64(StatOff.Ino),
    nlink: u64(StatOff.Nlink),
    mode: statView.getUint32(StatOff.Mode, true),
    uid: statView.getUint32(StatOff.Uid, true),
    gid: statView.getUint32(StatOff.Gid, true),
    rdev: u64(StatOff.Rdev),
    size: u64(StatOff.Size),
    blksize: u64(StatOff.Blksize),
    blocks: u64(StatOff.Blocks),
    atimeNs: u64(StatOff.Atime) * 1e9 + u64(StatOff.AtimeNs),
    mtimeNs: u64(StatOff.Mtime) * 1e9 + u64(StatOff.MtimeNs),
    ctimeNs: u64(StatOff.Ctime) * 1e9 + u64(StatOff.CtimeNs),
  };
}

/** fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) or fstat(fd) when name is null. */
export function hostStat(dirfd: number, name: string | null): Stat | number {
  const rc = name === null
    ? host().sb_h_fstat(dirfd, statBuf)
    : host().sb_h_fstatat(dirfd, binaryToCString(name), statBuf, L.AT_SYMLINK_NOFOLLOW);
  return rc < 0 ? rc : decodeStat();
}

export class HostFS extends FileSystem {
  readonly type: string;
  readonly dev: number;
  readonly root: HostInode;
  /** Page caches of mapped files, by host inode. */
  readonly caches = new Map<string, HostPageCache>();

  /** rootFd: an O_PATH directory fd of the tree's root (owned by the filesystem). */
  constructor(rootFd: number, readonly memfile: MemoryFile, readonly readonly: boolean, type = "hostfs") {
    super();
    this.type = type;
    const st = hostStat(rootFd, null);
    if (typeof st === "number") throw new Error(`hostfs: cannot stat root: errno ${-st}`);
    this.dev = st.dev;
    this.root = new HostInode(this, null, "", st, rootFd);
  }

  static open(path: string, memfile: MemoryFile, readonly: boolean): HostFS | number {
    const fd = host().sb_h_openat(L.AT_FDCWD, binaryToCString(path), O_PATH_DIR & ~L.O_NOFOLLOW, 0);
    if (fd < 0) return fd;
    return new HostFS(fd, memfile, readonly);
  }

  override statfs(): StatFs {
    const buf = new Uint8Array(120);
    const rc = host().sb_h_fstatfs(this.root.dirFd, buf);
    const dv = new DataView(buf.buffer);
    const g = (o: number) => dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 4294967296;
    if (rc < 0) return super.statfs();
    return {
      type: g(0), bsize: g(8), blocks: g(16), bfree: g(24), bavail: g(32), files: g(40),
      ffree: g(48), namelen: g(64), frsize: g(72),
      flags: g(80) | (this.readonly ? 1 : 0),
    };
  }
}

export class HostInode extends Inode {
  /** O_PATH fd for directories; -1 for other files (reached through parent + name). */
  dirFd: number;
  private st: Stat;

  constructor(
    readonly fs: HostFS,
    readonly parent: HostInode | null,
    readonly name: string,
    st: Stat,
    dirFd = -1,
  ) {
    super();
    this.st = st;
    this.dirFd = dirFd;
  }

  override get mode(): number {
    return this.st.mode;
  }

  stat(): Stat {
    const st = this.dirFd >= 0 ? hostStat(this.dirFd, null) : hostStat(this.parent!.dirFd, this.name);
    if (typeof st !== "number") this.st = st;
    return this.st;
  }

  /** The stat from the last lookup (no host call). */
  cachedStat(): Stat {
    return this.st;
  }

  override lookup(name: string): Inode | number {
    if (this.dirFd < 0) return -E.ENOTDIR;
    const st = hostStat(this.dirFd, name);
    if (typeof st === "number") return st;
    let fd = -1;
    if ((st.mode & L.S_IFMT) === L.S_IFDIR) {
      fd = host().sb_h_openat(this.dirFd, binaryToCString(name), O_PATH_DIR, 0);
      if (fd < 0) return fd;
      if (st.dev !== this.st.dev && DENIED_FS_MAGIC.has(fsMagic(fd))) {
        host().sb_h_close(fd);
        return new HiddenDirInode(this.fs, st);
      }
    }
    return new HostInode(this.fs, this, name, st, fd);
  }

  override readdir(): DirEntry[] | number {
    if (this.dirFd < 0) return -E.ENOTDIR;
    const fd = host().sb_h_openat(this.dirFd, binaryToCString("."), L.O_RDONLY | L.O_DIRECTORY, 0);
    if (fd < 0) return fd;
    const out: DirEntry[] = [];
    const buf = new Uint8Array(32768);
    const dv = new DataView(buf.buffer);
    for (;;) {
      const n = host().sb_h_getdents64(fd, buf, buf.length);
      if (n <= 0) break;
      for (let p = 0; p < n;) {
        const ino = dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 4294967296;
        const reclen = dv.getUint16(p + 16, true);
        const type = buf[p + 18];
        let end = p + 19;
        while (buf[end] !== 0) end++;
        out.push({ name: bytesToBinary(buf.subarray(p + 19, end)), ino, type });
        p += reclen;
      }
    }
    host().sb_h_close(fd);
    return out;
  }

  override readlink(): string | number {
    if (!this.isSymlink()) return -E.EINVAL;
    const buf = new Uint8Array(4096);
    const n = host().sb_h_readlinkat(this.parent!.dirFd, binaryToCString(this.name), buf, buf.length);
    if (n < 0) return n;
    return bytesToBinary(buf.subarray(0, n));
  }

  /** A host fd for this file opened with flags (O_NOFOLLOW always). */
  openHost(flags: number): number {
    if (this.dirFd >= 0) {
      return host().sb_h_openat(this.dirFd, binaryToCString("."), flags & ~L.O_CREAT, 0);
    }
    return host().sb_h_openat(this.parent!.dirFd, binaryToCString(this.name), flags | L.O_NOFOLLOW, 0);
  }

  open(flags: number, path: VfsPath): FileDescription | number {
    const acc = flags & L.O_ACCMODE;
    if (this.fs.readonly && (acc !== L.O_RDONLY || (flags & L.O_TRUNC))) return -E.EROFS;
    const fmt = this.st.mode & L.S_IFMT;
    if (fmt === L.S_IFDIR) {
      if (acc !== L.O_RDONLY) return -E.EISDIR;
      return new HostDirFile(flags, path, this);
    }
    if (fmt !== L.S_IFREG) return -E.ENXIO;
    const hostFlags = acc | (flags & (L.O_TRUNC | L.O_APPEND | L.O_DIRECT | L.O_SYNC | L.O_DSYNC | L.O_NOATIME));
    const fd = this.openHost(hostFlags);
    if (fd < 0) return fd;
    return new HostRegularFile(flags, path, this, fd);
  }

  override mappable(): Mappable | null {
    if (!this.isRegular()) return null;
    const key = `${this.st.dev}:${this.st.ino}`;
    let c = this.fs.caches.get(key);
    if (!c || c.stale(this.st)) {
      c = new HostPageCache(this, this.fs.memfile);
      this.fs.caches.set(key, c);
    }
    return c;
  }

  override setattr(a: SetAttr): number {
    if (this.fs.readonly) return -E.EROFS;
    const h = host();
    const dirfd = this.dirFd >= 0 ? this.dirFd : this.parent!.dirFd;
    const name = binaryToCString(this.dirFd >= 0 ? "" : this.name);
    const flags = this.dirFd >= 0 ? L.AT_EMPTY_PATH : L.AT_SYMLINK_NOFOLLOW;
    if (a.mode !== undefined) {
      const fd = this.openHost(L.O_PATH);
      if (fd < 0) return fd;
      const rc = h.sb_h_fchmodat(this.isSymlink() ? -1 : fd, EMPTY, a.mode & 0o7777, 0);
      h.sb_h_close(fd);
      if (rc < 0) return rc;
    }
    if (a.uid !== undefined || a.gid !== undefined) {
      const rc = h.sb_h_fchownat(dirfd, name, a.uid ?? -1, a.gid ?? -1, flags);
      if (rc < 0) return rc;
    }
    if (a.size !== undefined) {
      const fd = this.openHost(L.O_WRONLY);
      if (fd < 0) return fd;
      const rc = h.sb_h_ftruncate(fd, a.size);
      h.sb_h_close(fd);
      if (rc < 0) return rc;
    }
    if (a.atimeNs !== undefined || a.mtimeNs !== undefined) {
      const OMIT = (1 << 30) - 2;
      const t = new Float64Array([
        a.atimeNs === undefined ? 0 : Math.floor(a.atimeNs / 1e9),
        a.atimeNs === undefined ? OMIT : a.atimeNs % 1e9,
        a.mtimeNs === undefined ? 0 : Math.floor(a.mtimeNs / 1e9),
        a.mtimeNs === undefined ? OMIT : a.mtimeNs % 1e9,
      ]);
      const rc = h.sb_h_utimensat(dirfd, name, new Uint8Array(t.buffer), flags);
      if (rc < 0) return rc;
    }
    this.stat();
    return 0;
  }

  override create(_name: string, _mode: number, _owner: Owner): Inode | number {
    return this.fs.readonly ? -E.EROFS : -E.EPERM;
  }
}

/** Where a host pseudo-filesystem is mounted: an empty, read-only directory. */
class HiddenDirInode extends Inode {
  constructor(readonly fs: HostFS, private readonly st: Stat) {
    super();
  }
  stat(): Stat {
    return { ...this.st, nlink: 2, size: 0 };
  }
  override lookup(): Inode | number {
    return -E.ENOENT;
  }
  override readdir(): DirEntry[] | number {
    return [{ name: ".", ino: this.st.ino, type: 4 }, { name: "..", ino: this.st.ino, type: 4 }];
  }
  open(flags: number, path: VfsPath): FileDescription | number {
    if ((flags & L.O_ACCMODE) !== L.O_RDONLY) return -E.EISDIR;
    return new HostDirFile(flags, path, this as unknown as HostInode);
  }
}

/** An open host regular file. The offset is the sentry's; the host is read and written
 * with explicit offsets, straight from and into guest memory. */
export class HostRegularFile extends FileDescription {
  private iovBuf = new Float64Array(128);

  constructor(flags: number, path: VfsPath, readonly hostInode: HostInode, readonly fd: number) {
    super(flags, path, hostInode);
  }

  override read(io: UserIO, off: number): number {
    if (!this.readable) return -E.EBADF;
    const pos = off >= 0 ? off : this.offset;
    const ranges = io.memRanges(true, 0, io.total);
    if (typeof ranges === "number") return ranges;
    const n = this.hostIo(ranges, pos, false);
    if (n > 0 && off < 0) this.offset += n;
    return n;
  }

  override write(io: UserIO, off: number): number {
    if (!this.writable) return -E.EBADF;
    const ranges = io.memRanges(false, 0, io.total);
    if (typeof ranges === "number") return ranges;
    const pos = this.append ? -1 : off >= 0 ? off : this.offset;
    const n = this.hostIo(ranges, pos, true);
    if (n > 0) {
      if (this.append) this.offset = this.hostInode.stat().size;
      else if (off < 0) this.offset += n;
    }
    return n;
  }

  private hostIo(ranges: Float64Array, pos: number, write: boolean): number {
    const h = host();
    const pairs = ranges.length / 2;
    if (pairs === 1) {
      return write
        ? h.sb_h_write_mem(this.fd, ranges[0], ranges[1], pos)
        : h.sb_h_read_mem(this.fd, ranges[0], ranges[1], pos);
    }
    if (pairs > this.iovBuf.length / 2) this.iovBuf = new Float64Array(pairs * 2);
    this.iovBuf.set(ranges);
    const buf = new Uint8Array(this.iovBuf.buffer, 0, pairs * 16);
    return write
      ? h.sb_h_writev_mem(this.fd, buf, Math.min(pairs, 1024), pos, 0)
      : h.sb_h_readv_mem(this.fd, buf, Math.min(pairs, 1024), pos, 0);
  }

  override readAt(buf: Uint8Array, off: number): number {
    return host().sb_h_pread(this.fd, buf, buf.length, off);
  }

  override stat(): Stat | number {
    return hostStat(this.fd, null);
  }

  override truncate(len: number): number {
    if (!this.writable) return -E.EINVAL;
    return host().sb_h_ftruncate(this.fd, len);
  }

  override fsync(): number {
    return host().sb_h_fsync(this.fd, 0);
  }

  override fallocate(mode: number, off: number, len: number): number {
    return host().sb_h_fallocate(this.fd, mode, off, len);
  }

  override mappable(): Mappable | number {
    return this.hostInode.mappable() ?? -E.ENODEV;
  }

  protected override release(): void {
    host().sb_h_close(this.fd);
  }
}

export class HostDirFile extends FileDescription {
  constructor(flags: number, path: VfsPath, inode: HostInode) {
    super(flags, path, inode);
  }
  override read(): number {
    return -E.EISDIR;
  }
  override write(): number {
    return -E.EBADF;
  }
}

/** The pages of a host file, filled from the host on first use (64 KiB at a time) and
 * shared by every mapping of it. */
export class HostPageCache implements Mappable {
  private chunks = new Map<number, number>();
  private fd = -1;
  private readonly size: number;
  private readonly mtimeNs: number;
  readonly identity: MappableIdentity;

  constructor(readonly inode: HostInode, readonly memfile: MemoryFile) {
    const st = inode.cachedStat();
    this.size = st.size;
    this.mtimeNs = st.mtimeNs;
    this.identity = { path: "", dev: st.dev, ino: st.ino };
  }

  /** The file changed on the host since the cache was made. */
  stale(st: Stat): boolean {
    return st.size !== this.size || st.mtimeNs !== this.mtimeNs;
  }

  pageOffset(pg: number): number {
    if (pg * 4096 >= Math.ceil(this.size / 4096) * 4096) return -E.EFAULT;
    const c = Math.floor(pg / CHUNK_PAGES);
    let off = this.chunks.get(c);
    if (off === undefined) {
      if (this.fd < 0) {
        this.fd = this.inode.openHost(L.O_RDONLY);
        if (this.fd < 0) {
          const e = this.fd;
          this.fd = -1;
          return e;
        }
      }
      off = this.memfile.allocChunk();
      if (off < 0) return off;
      const n = host().sb_h_read_mem(this.fd, off, CHUNK, c * CHUNK);
      if (n < 0) {
        this.memfile.free(off, CHUNK);
        return n;
      }
      this.chunks.set(c, off);
    }
    return off + (pg % CHUNK_PAGES) * 4096;
  }

  peekPage(pg: number): number {
    const off = this.chunks.get(Math.floor(pg / CHUNK_PAGES));
    return off === undefined ? -1 : off + (pg % CHUNK_PAGES) * 4096;
  }

  incRef(): void {}
  decRef(): void {}
}
