// The host filesystem: a host directory tree seen through directory fds the sentry holds.
//
// Invariant 3: a guest path is never handed to the host. The VFS resolves paths itself; this
// filesystem only ever asks the host about one name inside a directory fd it holds
// (fstatat/openat with AT_SYMLINK_NOFOLLOW / O_NOFOLLOW, *at calls relative to that fd), and
// symlinks are read, not followed, so nothing in the host tree can lead a lookup outside it.
//
// Directory fds: every directory inode can reopen its O_PATH fd from its parent's fd and
// its name (O_NOFOLLOW | O_DIRECTORY, then the device and inode numbers must match those of
// the lookup, or the inode is stale), so only a bounded number of fds stay open (an LRU).
// Read-only opens of a regular file share one host fd per inode (I/O uses explicit
// offsets), so open+read+close costs one host read once the fd is cached.
//
// Attribute caching: the overlay's lower layer (the root filesystem, never written) keeps
// the attributes of each lookup; bind mounts the host may change revalidate each name on
// every walk (FileSystem.dentryCache = false) and stat the host on stat().
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { host, STAT_SIZE, StatOff } from "../../../ffi/host.ts";
import type { MemoryFile } from "../../mm/memfile.ts";
import { CHUNK, CHUNK_PAGES } from "../../mm/memfile.ts";
import type { Mappable, MappableIdentity } from "../../mm/objects.ts";
import { binaryToCString, bytesToBinary } from "../../util/bytes.ts";
import { FileDescription, SEEK_DATA, SEEK_HOLE } from "../../vfs/file.ts";
import {
  type DirEntry,
  FileSystem,
  Inode,
  type Owner,
  type SetAttr,
  type Stat,
  type StatFs,
} from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import { openDevice, openFifo } from "../../vfs/special.ts";
import type { UserIO } from "../../vfs/userio.ts";

const O_PATH_DIR = L.O_PATH | L.O_DIRECTORY | L.O_NOFOLLOW;
/** Host fds the LRU keeps open per filesystem (directories and shared read-only files). */
const MAX_CACHED_FDS = 512;
/** Bytes of page caches kept for host files nothing maps any more (the next exec of the
 * same program or library finds its pages there). */
const IDLE_CACHE_BYTES = 128 * 1024 * 1024;

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

function s64(off: number): number {
  return statView.getUint32(off, true) + statView.getInt32(off + 4, true) * 4294967296;
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
    atimeNs: s64(StatOff.Atime) * 1e9 + u64(StatOff.AtimeNs),
    mtimeNs: s64(StatOff.Mtime) * 1e9 + u64(StatOff.MtimeNs),
    ctimeNs: s64(StatOff.Ctime) * 1e9 + u64(StatOff.CtimeNs),
    atime: { sec: s64(StatOff.Atime), nsec: u64(StatOff.AtimeNs) },
    mtime: { sec: s64(StatOff.Mtime), nsec: u64(StatOff.MtimeNs) },
    ctime: { sec: s64(StatOff.Ctime), nsec: u64(StatOff.CtimeNs) },
  };
}

/** fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) or fstat(fd) when name is null. */
export function hostStat(dirfd: number, name: string | null): Stat | number {
  const rc = name === null
    ? host().sb_h_fstat(dirfd, statBuf)
    : host().sb_h_fstatat(dirfd, binaryToCString(name), statBuf, L.AT_SYMLINK_NOFOLLOW);
  return rc < 0 ? rc : decodeStat();
}

function sameFile(a: Stat, b: Stat): boolean {
  return a.dev === b.dev && a.ino === b.ino && (a.mode & L.S_IFMT) === (b.mode & L.S_IFMT);
}

export interface HostFsOptions {
  readonly: boolean;
  /** Revalidate names on every walk and stat the host on stat() (trees the host may
   * change: bind mounts). False: attributes of the lookup are kept (the overlay's lower
   * layer). */
  revalidate: boolean;
  type?: string;
}

export class HostFS extends FileSystem {
  readonly type: string;
  readonly dev: number;
  readonly root: HostInode;
  readonly readonly: boolean;
  /** Page caches of mapped files, by host inode. */
  readonly caches = new Map<string, HostPageCache>();
  /** Caches no mapping uses, least recently used first, and their size. */
  private readonly idleCaches = new Set<HostPageCache>();
  private idleBytes = 0;
  /** Inodes holding a cached host fd, least recently used first. */
  private readonly lru = new Map<HostInode, true>();

  /** rootFd: an O_PATH fd of the tree's root, a directory or a file (owned by the
   * filesystem from now on). */
  constructor(rootFd: number, readonly memfile: MemoryFile, opts: HostFsOptions) {
    super();
    this.type = opts.type ?? "hostfs";
    this.readonly = opts.readonly;
    this.dentryCache = !opts.revalidate;
    const st = hostStat(rootFd, null);
    if (typeof st === "number") throw new Error(`hostfs: cannot stat root: errno ${-st}`);
    this.dev = st.dev;
    this.root = new HostInode(this, null, "", st);
    this.root.fd = rootFd;
    this.root.pinned = true;
  }

  /** Opens a host path given by the sandbox's configuration (never a guest's). */
  static open(path: string, memfile: MemoryFile, opts: HostFsOptions): HostFS | number {
    const fd = host().sb_h_openat(L.AT_FDCWD, binaryToCString(path), L.O_PATH, 0);
    if (fd < 0) return fd;
    const st = hostStat(fd, null);
    if (typeof st === "number") {
      host().sb_h_close(fd);
      return st;
    }
    const fmt = st.mode & L.S_IFMT;
    if (fmt !== L.S_IFDIR && fmt !== L.S_IFREG) {
      host().sb_h_close(fd);
      return -E.EINVAL;
    }
    if (DENIED_FS_MAGIC.has(fsMagic(fd))) {
      host().sb_h_close(fd);
      return -E.EACCES;
    }
    return new HostFS(fd, memfile, opts);
  }

  override statfs(): StatFs {
    const buf = new Uint8Array(120);
    const rc = host().sb_h_fstatfs(this.root.fd, buf);
    const dv = new DataView(buf.buffer);
    const g = (o: number) => dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 4294967296;
    if (rc < 0) return super.statfs();
    return {
      type: g(0),
      bsize: g(8),
      blocks: g(16),
      bfree: g(24),
      bavail: g(32),
      files: g(40),
      ffree: g(48),
      namelen: g(64),
      frsize: g(72),
      flags: g(80) | (this.readonly ? 1 : 0),
    };
  }

  /** Records that inode's fd was used (and keeps at most MAX_CACHED_FDS open). */
  touch(inode: HostInode): void {
    if (inode.pinned && inode.readFd < 0) return;
    this.lru.delete(inode);
    this.lru.set(inode, true);
    if (this.lru.size <= MAX_CACHED_FDS) return;
    for (const victim of this.lru.keys()) {
      if (this.lru.size <= MAX_CACHED_FDS) break;
      if (victim === inode || victim.fdUsers > 0) continue;
      this.lru.delete(victim);
      victim.closeFd();
    }
  }

  forget(inode: HostInode): void {
    this.lru.delete(inode);
  }

  /** A page cache lost its last mapping: keep it while the idle budget allows. */
  cacheIdle(c: HostPageCache): void {
    if (this.caches.get(c.key) !== c) {
      // Replaced (the host file changed): nobody will look it up again.
      c.release();
      return;
    }
    this.idleCaches.add(c);
    this.idleBytes += c.bytes();
    for (const old of this.idleCaches) {
      if (this.idleBytes <= IDLE_CACHE_BYTES) break;
      this.idleCaches.delete(old);
      this.idleBytes -= old.bytes();
      this.caches.delete(old.key);
      old.release();
    }
  }

  /** The host file changed: the old cache stays for the mappings that use it. */
  cacheReplaced(c: HostPageCache): void {
    this.caches.delete(c.key);
    if (this.idleCaches.delete(c)) {
      this.idleBytes -= c.bytes();
      c.release();
    }
  }

  /** A cache is mapped again. */
  cacheUsed(c: HostPageCache): void {
    if (this.idleCaches.delete(c)) this.idleBytes -= c.bytes();
  }
}

export class HostInode extends Inode {
  /** Cached O_PATH fd of a directory (or of the tree's root); -1 when not open. */
  fd = -1;
  /** Cached O_RDONLY fd of a regular file, shared by read-only opens; -1 when not open. */
  readFd = -1;
  /** Open file descriptions using readFd (it is not closed while > 0). */
  fdUsers = 0;
  /** Never closed (the tree's root). */
  pinned = false;
  private st: Stat;

  constructor(
    readonly fs: HostFS,
    public parent: HostInode | null,
    public name: string,
    st: Stat,
  ) {
    super();
    this.st = st;
  }

  override get mode(): number {
    return this.st.mode;
  }

  override attrs(): Stat {
    return this.st;
  }

  override permInfo(): Stat {
    return this.st;
  }

  override identity(): unknown {
    return `host:${this.st.dev}:${this.st.ino}`;
  }

  stat(): Stat {
    if (!this.fs.dentryCache) {
      const st = this.fd >= 0 && this.isDir()
        ? hostStat(this.fd, null)
        : this.parent
        ? this.hostStatByName()
        : hostStat(this.fd, null);
      if (typeof st !== "number" && sameFile(st, this.st)) this.st = st;
    }
    return this.st;
  }

  private hostStatByName(): Stat | number {
    const pfd = this.parent!.dirFd();
    if (pfd < 0) return pfd;
    return hostStat(pfd, this.name);
  }

  /** Closes the cached fds (the LRU evicted this inode). */
  closeFd(): void {
    if (this.fd >= 0 && !this.pinned) {
      host().sb_h_close(this.fd);
      this.fd = -1;
    }
    if (this.readFd >= 0 && this.fdUsers === 0) {
      host().sb_h_close(this.readFd);
      this.readFd = -1;
    }
  }

  /** The O_PATH fd of this directory (reopened from the parent if it was closed), or
   * -errno; -ESTALE if the name now refers to something else. */
  dirFd(): number {
    if (this.fd >= 0) {
      this.fs.touch(this);
      return this.fd;
    }
    if (!this.parent) return -E.ESTALE;
    const pfd = this.parent.dirFd();
    if (pfd < 0) return pfd;
    const fd = host().sb_h_openat(pfd, binaryToCString(this.name), O_PATH_DIR, 0);
    if (fd < 0) return fd === -E.ENOENT || fd === -E.ENOTDIR ? -E.ESTALE : fd;
    const st = hostStat(fd, null);
    if (typeof st === "number" || !this.acceptReplaced(st, L.S_IFDIR)) {
      host().sb_h_close(fd);
      return -E.ESTALE;
    }
    this.fd = fd;
    this.fs.touch(this);
    return fd;
  }

  /** Is st (what the name is now) still this inode? In a tree the sandbox caches (the
   * overlay's lower layer), a file the host replaced is taken as the new version when it
   * has the same type; trees that revalidate notice replacements on their walks instead. */
  private acceptReplaced(st: Stat, type: number): boolean {
    if ((st.mode & L.S_IFMT) !== type) return false;
    if (sameFile(st, this.st)) return true;
    if (!this.fs.dentryCache) return false;
    this.st = st;
    return true;
  }

  /** An O_PATH fd of this file, verified to be the inode of the lookup; the caller closes
   * it (unless it is this directory's own cached fd: see `owned`). */
  private pathFd(): { fd: number; owned: boolean } | number {
    if (this.isDir() || !this.parent) {
      const fd = this.isDir() ? this.dirFd() : this.fd;
      return fd < 0 ? fd : { fd, owned: false };
    }
    const pfd = this.parent.dirFd();
    if (pfd < 0) return pfd;
    const fd = host().sb_h_openat(pfd, binaryToCString(this.name), L.O_PATH | L.O_NOFOLLOW, 0);
    if (fd < 0) return fd;
    const st = hostStat(fd, null);
    if (typeof st === "number" || !sameFile(st, this.st)) {
      host().sb_h_close(fd);
      return -E.ESTALE;
    }
    return { fd, owned: true };
  }

  private withPathFd(fn: (fd: number) => number): number {
    const p = this.pathFd();
    if (typeof p === "number") return p;
    try {
      return fn(p.fd);
    } finally {
      if (p.owned) host().sb_h_close(p.fd);
    }
  }

  private makeChild(name: string, st: Stat, fd: number): Inode {
    if (
      (st.mode & L.S_IFMT) === L.S_IFDIR && st.dev !== this.st.dev &&
      DENIED_FS_MAGIC.has(fsMagic(fd))
    ) {
      host().sb_h_close(fd);
      return new HiddenDirInode(this.fs, st);
    }
    const child = new HostInode(this.fs, this, name, st);
    if (fd >= 0) {
      child.fd = fd;
      this.fs.touch(child);
    }
    return child;
  }

  override lookup(name: string): Inode | number {
    if (!this.isDir()) return -E.ENOTDIR;
    const dfd = this.dirFd();
    if (dfd < 0) return dfd;
    const st = hostStat(dfd, name);
    if (typeof st === "number") return st;
    let fd = -1;
    if ((st.mode & L.S_IFMT) === L.S_IFDIR) {
      fd = host().sb_h_openat(dfd, binaryToCString(name), O_PATH_DIR, 0);
      if (fd < 0) return fd;
      const st2 = hostStat(fd, null);
      if (typeof st2 === "number" || !sameFile(st, st2)) {
        // Swapped between the two calls: report what is there now as missing.
        host().sb_h_close(fd);
        return -E.ENOENT;
      }
    }
    return this.makeChild(name, st, fd);
  }

  override revalidate(name: string, cached: Inode): Inode | number {
    const dfd = this.dirFd();
    if (dfd < 0) return dfd;
    const st = hostStat(dfd, name);
    if (typeof st === "number") return st;
    if (cached instanceof HostInode && sameFile(st, cached.st)) {
      cached.st = st;
      cached.parent = this;
      cached.name = name;
      return cached;
    }
    if (cached instanceof HiddenDirInode && st.ino === cached.attrs().ino) return cached;
    return this.lookup(name);
  }

  override moved(newDir: Inode, newName: string): void {
    if (newDir instanceof HostInode && newDir.fs === this.fs) {
      this.parent = newDir;
      this.name = newName;
    }
  }

  override readdir(): DirEntry[] | number {
    const dfd = this.dirFd();
    if (dfd < 0) return dfd;
    const fd = host().sb_h_openat(
      dfd,
      binaryToCString("."),
      L.O_RDONLY | L.O_DIRECTORY | L.O_NOFOLLOW,
      0,
    );
    if (fd < 0) return fd;
    const out: DirEntry[] = [];
    const buf = direntBuf, dv = direntView;
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
    const pfd = this.parent ? this.parent.dirFd() : -E.EINVAL;
    if (pfd < 0) return pfd;
    const buf = new Uint8Array(4096);
    const n = host().sb_h_readlinkat(pfd, binaryToCString(this.name), buf, buf.length);
    if (n < 0) return n;
    return bytesToBinary(buf.subarray(0, n));
  }

  /** A new host fd for this regular file opened with flags. The file is first opened
   * O_PATH | O_NOFOLLOW and checked to be the regular file of the lookup; only then is it
   * reopened through that fd, so no host FIFO or device is ever opened, even if the host
   * swaps the name meanwhile. */
  openHost(flags: number): number {
    flags &= L.O_ACCMODE | L.O_DIRECT | L.O_SYNC | L.O_DSYNC | L.O_NOATIME | L.O_LARGEFILE;
    const h = host();
    let pfd = this.fd;
    let owned = false;
    if (this.parent) {
      const dfd = this.parent.dirFd();
      if (dfd < 0) return dfd;
      pfd = h.sb_h_openat(dfd, binaryToCString(this.name), L.O_PATH | L.O_NOFOLLOW, 0);
      if (pfd < 0) return pfd;
      owned = true;
    }
    const st = hostStat(pfd, null);
    let fd: number;
    if (typeof st === "number") fd = st;
    else if (!this.acceptReplaced(st, L.S_IFREG)) fd = -E.ESTALE;
    else fd = h.sb_h_reopen(pfd, flags);
    if (owned) h.sb_h_close(pfd);
    if (fd >= 0 && typeof st !== "number" && !this.fs.dentryCache) this.st = st;
    return fd;
  }

  /** The shared read-only host fd (one more user), or -errno. */
  acquireReadFd(): number {
    if (this.readFd < 0) {
      const fd = this.openHost(L.O_RDONLY);
      if (fd < 0) return fd;
      this.readFd = fd;
    }
    this.fdUsers++;
    this.fs.touch(this);
    return this.readFd;
  }

  releaseReadFd(): void {
    this.fdUsers--;
  }

  open(flags: number, path: VfsPath, task?: unknown): FileDescription | number {
    const acc = flags & L.O_ACCMODE;
    if (this.fs.readonly && (acc !== L.O_RDONLY || (flags & L.O_TRUNC))) return -E.EROFS;
    const fmt = this.st.mode & L.S_IFMT;
    if (fmt === L.S_IFDIR) {
      if (acc !== L.O_RDONLY) return -E.EISDIR;
      return new HostDirFile(flags, path, this);
    }
    // Host FIFOs and devices are never opened: they behave as the sandbox's own.
    if (fmt === L.S_IFIFO) return openFifo(this, flags, path, task);
    if (fmt === L.S_IFCHR || fmt === L.S_IFBLK) {
      return openDevice(this.st.rdev, fmt === L.S_IFBLK, flags, path, task);
    }
    if (fmt !== L.S_IFREG) return -E.ENXIO;
    if (acc === L.O_RDONLY) {
      const fd = this.acquireReadFd();
      if (fd < 0) return fd;
      return new HostRegularFile(flags, path, this, fd, true);
    }
    const hostFlags = acc | (flags & (L.O_DIRECT | L.O_SYNC | L.O_DSYNC | L.O_NOATIME));
    const fd = this.openHost(hostFlags);
    if (fd < 0) return fd;
    return new HostRegularFile(flags, path, this, fd, false);
  }

  override mappable(): Mappable | null {
    if (!this.isRegular()) return null;
    const st = this.stat();
    const key = `${st.dev}:${st.ino}`;
    let c = this.fs.caches.get(key);
    if (!c || c.stale(st)) {
      if (c) this.fs.cacheReplaced(c);
      c = new HostPageCache(this, this.fs.memfile);
      this.fs.caches.set(key, c);
    }
    return c;
  }

  // ---- changes (writable bind mounts only; the VFS refuses them on read-only mounts) ----

  override setattr(a: SetAttr): number {
    if (this.fs.readonly) return -E.EROFS;
    const h = host();
    const rc = this.withPathFd((fd) => {
      if (a.size !== undefined) {
        if (!this.isRegular()) return this.isDir() ? -E.EISDIR : -E.EINVAL;
        const wfd = this.openHost(L.O_WRONLY);
        if (wfd < 0) return wfd;
        const r = h.sb_h_ftruncate(wfd, a.size);
        h.sb_h_close(wfd);
        if (r < 0) return r;
      }
      if (a.uid !== undefined || a.gid !== undefined) {
        const r = h.sb_h_fchownat(fd, EMPTY, a.uid ?? -1, a.gid ?? -1, L.AT_EMPTY_PATH);
        if (r < 0) return r;
      }
      if (a.mode !== undefined) {
        if (this.isSymlink()) return -E.EOPNOTSUPP;
        const r = h.sb_h_fchmod_fd(fd, a.mode & 0o7777);
        if (r < 0) return r;
      }
      if (a.atime !== undefined || a.mtime !== undefined) {
        const OMIT = (1 << 30) - 2;
        const t = new Float64Array([
          a.atime?.sec ?? 0,
          a.atime?.nsec ?? OMIT,
          a.mtime?.sec ?? 0,
          a.mtime?.nsec ?? OMIT,
        ]);
        const r = h.sb_h_utimensat(fd, EMPTY, new Uint8Array(t.buffer), L.AT_EMPTY_PATH);
        if (r < 0) return r;
      }
      const st = hostStat(fd, null);
      if (typeof st !== "number") this.st = st;
      return 0;
    });
    return rc;
  }

  /** After creating `name` in this directory: sets owner and exact mode (the sentry's own
   * umask must not apply) on an fd of the new file, and returns its inode. */
  private finishCreate(
    name: string,
    fd: number,
    mode: number | null,
    owner: Owner,
  ): Inode | number {
    const h = host();
    if (mode !== null) h.sb_h_fchmod_fd(fd, mode & 0o7777);
    if (owner.uid !== h.sb_h_getuid() || owner.gid !== h.sb_h_getgid()) {
      // Best effort: an unprivileged sentry cannot give files away.
      h.sb_h_fchownat(fd, EMPTY, owner.uid, owner.gid, L.AT_EMPTY_PATH);
    }
    const st = hostStat(fd, null);
    if (typeof st === "number") {
      h.sb_h_close(fd);
      return st;
    }
    const isDir = (st.mode & L.S_IFMT) === L.S_IFDIR;
    if (!isDir) h.sb_h_close(fd);
    return this.makeChild(name, st, isDir ? fd : -1);
  }

  private writableDirFd(): number {
    if (this.fs.readonly) return -E.EROFS;
    if (!this.isDir()) return -E.ENOTDIR;
    return this.dirFd();
  }

  override create(name: string, mode: number, owner: Owner): Inode | number {
    const dfd = this.writableDirFd();
    if (dfd < 0) return dfd;
    const fd = host().sb_h_openat(
      dfd,
      binaryToCString(name),
      L.O_CREAT | L.O_EXCL | L.O_WRONLY | L.O_NOFOLLOW,
      mode & 0o7777,
    );
    if (fd < 0) return fd;
    return this.finishCreate(name, fd, mode, owner);
  }

  override mkdir(name: string, mode: number, owner: Owner): Inode | number {
    const dfd = this.writableDirFd();
    if (dfd < 0) return dfd;
    const cname = binaryToCString(name);
    const rc = host().sb_h_mkdirat(dfd, cname, mode & 0o7777);
    if (rc < 0) return rc;
    const fd = host().sb_h_openat(dfd, cname, O_PATH_DIR, 0);
    if (fd < 0) return fd;
    return this.finishCreate(name, fd, mode, owner);
  }

  override mknod(name: string, mode: number, _rdev: number, owner: Owner): Inode | number {
    const dfd = this.writableDirFd();
    if (dfd < 0) return dfd;
    const fmt = mode & L.S_IFMT;
    if (fmt === L.S_IFREG || fmt === 0) return this.create(name, mode, owner);
    // Device nodes are the sandbox's business, never the host's.
    if (fmt !== L.S_IFIFO && fmt !== L.S_IFSOCK) return -E.EPERM;
    const cname = binaryToCString(name);
    const rc = host().sb_h_mknodat(dfd, cname, fmt | (mode & 0o7777), 0);
    if (rc < 0) return rc;
    const fd = host().sb_h_openat(dfd, cname, L.O_PATH | L.O_NOFOLLOW, 0);
    if (fd < 0) return fd;
    return this.finishCreate(name, fd, mode, owner);
  }

  override symlink(name: string, target: string, owner: Owner): Inode | number {
    const dfd = this.writableDirFd();
    if (dfd < 0) return dfd;
    const cname = binaryToCString(name);
    const rc = host().sb_h_symlinkat(binaryToCString(target), dfd, cname);
    if (rc < 0) return rc;
    const fd = host().sb_h_openat(dfd, cname, L.O_PATH | L.O_NOFOLLOW, 0);
    if (fd < 0) return fd;
    return this.finishCreate(name, fd, null, owner);
  }

  override link(name: string, target: Inode): number {
    const dfd = this.writableDirFd();
    if (dfd < 0) return dfd;
    if (!(target instanceof HostInode) || target.fs !== this.fs) return -E.EXDEV;
    if (!target.parent) return -E.EPERM;
    const tfd = target.parent.dirFd();
    if (tfd < 0) return tfd;
    const before = hostStat(tfd, target.name);
    if (typeof before === "number") return before;
    if (!sameFile(before, target.st)) return -E.ENOENT;
    const rc = host().sb_h_linkat(tfd, binaryToCString(target.name), dfd, binaryToCString(name), 0);
    if (rc < 0) return rc;
    const st = hostStat(dfd, name);
    if (typeof st !== "number") target.st = st;
    return 0;
  }

  override unlink(name: string): number {
    const dfd = this.writableDirFd();
    if (dfd < 0) return dfd;
    const st = hostStat(dfd, name);
    if (typeof st === "number") return st;
    if ((st.mode & L.S_IFMT) === L.S_IFDIR) return -E.EISDIR;
    return host().sb_h_unlinkat(dfd, binaryToCString(name), 0);
  }

  override rmdir(name: string): number {
    const dfd = this.writableDirFd();
    if (dfd < 0) return dfd;
    return host().sb_h_unlinkat(dfd, binaryToCString(name), L.AT_REMOVEDIR);
  }

  override rename(oldName: string, newDir: Inode, newName: string, flags: number): number {
    const dfd = this.writableDirFd();
    if (dfd < 0) return dfd;
    if (!(newDir instanceof HostInode) || newDir.fs !== this.fs) return -E.EXDEV;
    const nfd = newDir.writableDirFd();
    if (nfd < 0) return nfd;
    return host().sb_h_renameat2(
      dfd,
      binaryToCString(oldName),
      nfd,
      binaryToCString(newName),
      flags,
    );
  }

  // ---- extended attributes ----

  private xattrFd(): number {
    // Only regular files and directories carry user xattrs; through an O_PATH fd of the
    // exact inode.
    if (!this.isRegular() && !this.isDir()) return -E.EPERM;
    return 0;
  }

  override getxattr(name: string): Uint8Array | number {
    const ok = this.xattrFd();
    if (ok < 0) return ok === -E.EPERM ? -E.ENODATA : ok;
    let out: Uint8Array | number = -E.ENODATA;
    const rc = this.withPathFd((fd) => {
      const cname = binaryToCString(name);
      const n = host().sb_h_fdgetxattr(fd, cname, new Uint8Array(0), 0);
      if (n < 0) return n;
      const buf = new Uint8Array(n);
      const m = host().sb_h_fdgetxattr(fd, cname, buf, n);
      if (m < 0) return m;
      out = buf.subarray(0, m);
      return 0;
    });
    return rc < 0 ? rc : out;
  }

  override setxattr(name: string, value: Uint8Array, flags: number): number {
    if (this.fs.readonly) return -E.EROFS;
    const ok = this.xattrFd();
    if (ok < 0) return ok;
    return this.withPathFd((fd) =>
      host().sb_h_fdsetxattr(fd, binaryToCString(name), value, value.length, flags)
    );
  }

  override listxattr(): string[] | number {
    if (!this.isRegular() && !this.isDir()) return [];
    let out: string[] = [];
    const rc = this.withPathFd((fd) => {
      const n = host().sb_h_fdlistxattr(fd, new Uint8Array(0), 0);
      if (n < 0) return n;
      const buf = new Uint8Array(n);
      const m = host().sb_h_fdlistxattr(fd, buf, n);
      if (m < 0) return m;
      out = bytesToBinary(buf.subarray(0, m)).split("\0").filter((s) => s.length > 0);
      return 0;
    });
    return rc < 0 ? rc : out;
  }

  override removexattr(name: string): number {
    if (this.fs.readonly) return -E.EROFS;
    const ok = this.xattrFd();
    if (ok < 0) return ok;
    return this.withPathFd((fd) => host().sb_h_fdremovexattr(fd, binaryToCString(name)));
  }
}

/** Where a host pseudo-filesystem is mounted: an empty, read-only directory. */
export class HiddenDirInode extends Inode {
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
  override create(): Inode | number {
    return -E.EACCES;
  }
  override mkdir(): Inode | number {
    return -E.EACCES;
  }
  override mknod(): Inode | number {
    return -E.EACCES;
  }
  override symlink(): Inode | number {
    return -E.EACCES;
  }
  override unlink(): number {
    return -E.ENOENT;
  }
  override rmdir(): number {
    return -E.ENOENT;
  }
  override rename(): number {
    return -E.ENOENT;
  }
  open(flags: number, path: VfsPath): FileDescription | number {
    if ((flags & L.O_ACCMODE) !== L.O_RDONLY) return -E.EISDIR;
    return new HostDirFile(flags, path, this);
  }
}

/** An open host regular file. The offset is the sentry's; the host is read and written
 * with explicit offsets, straight from and into guest memory. */
/** Scratch for host getdents64 (the sentry runs one call at a time). */
const direntBuf = new Uint8Array(32768);
const direntView = new DataView(direntBuf.buffer);

/** Scratch for vectored host I/O (the sentry runs one call at a time). */
let iovBuf = new Float64Array(128);

export class HostRegularFile extends FileDescription {
  constructor(
    flags: number,
    path: VfsPath,
    readonly hostInode: HostInode,
    readonly fd: number,
    /** fd is the inode's shared read-only fd (not ours to close). */
    private readonly shared: boolean,
  ) {
    super(flags, path, hostInode);
  }

  override read(io: UserIO, off: number): number {
    const pos = off >= 0 ? off : this.offset;
    const ranges = io.memRanges(true, 0, io.total);
    if (typeof ranges === "number") return ranges;
    const n = this.hostIo(ranges, pos, false);
    if (n > 0 && off < 0) this.offset += n;
    return n;
  }

  override write(io: UserIO, off: number): number {
    const ranges = io.memRanges(false, 0, io.total);
    if (typeof ranges === "number") return ranges;
    let pos = off >= 0 ? off : this.offset;
    if (this.append) {
      const st = hostStat(this.fd, null);
      if (typeof st === "number") return st;
      pos = st.size;
    }
    const n = this.hostIo(ranges, pos, true);
    if (n > 0 && (off < 0 || this.append)) this.offset = pos + n;
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
    if (pairs > iovBuf.length / 2) iovBuf = new Float64Array(pairs * 2);
    iovBuf.set(ranges);
    const buf = new Uint8Array(iovBuf.buffer, 0, pairs * 16);
    return write
      ? h.sb_h_writev_mem(this.fd, buf, Math.min(pairs, 1024), pos, 0)
      : h.sb_h_readv_mem(this.fd, buf, Math.min(pairs, 1024), pos, 0);
  }

  override readAt(buf: Uint8Array, off: number): number {
    return host().sb_h_pread(this.fd, buf, buf.length, off);
  }

  override stat(): Stat | number {
    // Through the overlay, the inode the guest sees is the overlay's.
    if (this.inode !== this.hostInode) return this.inode!.stat();
    const st = hostStat(this.fd, null);
    return st;
  }

  override seek(off: number, whence: number): number {
    if (whence === SEEK_DATA || whence === SEEK_HOLE) {
      const r = host().sb_h_lseek(this.fd, off, whence);
      if (r >= 0) this.offset = r;
      return r;
    }
    return super.seek(off, whence);
  }

  override truncate(len: number): number {
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
    if (this.shared) this.hostInode.releaseReadFd();
    else host().sb_h_close(this.fd);
  }
}

export class HostDirFile extends FileDescription {
  constructor(flags: number, path: VfsPath, inode: Inode) {
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
 * shared by every mapping of it. Writes through a shared mapping stay in the sandbox. */
export class HostPageCache implements Mappable {
  private chunks = new Map<number, number>();
  private fd = -1;
  private readonly size: number;
  private readonly mtimeNs: number;
  readonly identity: MappableIdentity;
  readonly key: string;
  /** Mappings (VMAs) using the cache. */
  private refs = 0;

  constructor(readonly inode: HostInode, readonly memfile: MemoryFile) {
    const st = inode.attrs();
    this.size = st.size;
    this.mtimeNs = st.mtimeNs;
    this.identity = { path: "", dev: st.dev, ino: st.ino };
    this.key = `${st.dev}:${st.ino}`;
  }

  bytes(): number {
    return this.chunks.size * CHUNK;
  }

  /** Frees the pages and the fd (no mapping uses them). */
  release(): void {
    for (const off of this.chunks.values()) this.memfile.free(off, CHUNK);
    this.chunks.clear();
    if (this.fd >= 0) host().sb_h_close(this.fd);
    this.fd = -1;
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

  incRef(): void {
    if (this.refs++ === 0) this.inode.fs.cacheUsed(this);
  }

  decRef(): void {
    if (--this.refs === 0) this.inode.fs.cacheIdle(this);
  }
}
