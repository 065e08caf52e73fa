// tmpfs: files kept in the sandbox's memory. File data lives in the memory file
// (filedata.ts); names and attributes are JS objects. The same node classes serve memfd
// (an unmounted instance) and the overlay's upper layer (fs/overlay extends them with a
// lower layer).
//
// Limits: each instance has a size limit (file data and extended attributes, in bytes) and
// an inode limit; going over either gives ENOSPC, never a host OOM.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { host } from "../../../ffi/host.ts";
import type { MemoryFile } from "../../mm/memfile.ts";
import type { Mappable } from "../../mm/objects.ts";
import { FileDescription, SEEK_DATA, SEEK_HOLE } from "../../vfs/file.ts";
import {
  anonDev,
  type DirEntry,
  dtype,
  FileSystem,
  Inode,
  type Owner,
  type PermInfo,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  type SetAttr,
  type Stat,
  type StatFs,
  type Timespec,
  tsFromNs,
  tsToNs,
} from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import { openDevice, openFifo } from "../../vfs/special.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { FileData, type SpaceAccount } from "./filedata.ts";

export const TMPFS_MAGIC = 0x01021994;
const PAGE = 4096;
/** Directory sizes as Linux's tmpfs reports them: a bogus 20 bytes per entry. */
const BOGO_DIRENT_SIZE = 20;
const XATTR_SIZE_MAX = 65536;
const XATTR_LIST_MAX = 65536;

/** An entry hiding a lower layer's name (overlay). Never present in a plain tmpfs. */
export const WHITEOUT = Symbol("whiteout");
export type Whiteout = typeof WHITEOUT;

export interface TmpfsOptions {
  /** "tmpfs", or "overlay" for the overlay's upper layer. */
  type?: string;
  /** Size limit in bytes (default: half the host's memory, as Linux). */
  maxBytes?: number;
  maxInodes?: number;
  /** Mode, owner of the root directory. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** First inode number handed out (the overlay keeps its new inodes clear of the lower
   * layer's). */
  firstIno?: number;
}

let hostHalf = 0;

/** Linux's default tmpfs size: half of the (host's) memory. */
export function defaultTmpfsSize(): number {
  if (hostHalf === 0) {
    try {
      hostHalf = Math.floor(Deno.systemMemoryInfo().total / 2);
    } catch {
      hostHalf = 2 ** 31;
    }
  }
  return hostHalf;
}

export function nowNs(): number {
  return host().sb_h_clock_ns(L.CLOCK_REALTIME);
}

export function nowTs(): Timespec {
  return tsFromNs(nowNs());
}

export class TmpFS extends FileSystem implements SpaceAccount {
  readonly type: string;
  readonly dev = anonDev();
  root!: MemDir;
  readonly maxBytes: number;
  readonly maxInodes: number;
  usedBytes = 0;
  usedInodes = 0;
  private nextIno: number;

  constructor(readonly memfile: MemoryFile, opts: TmpfsOptions = {}) {
    super();
    this.type = opts.type ?? "tmpfs";
    this.maxBytes = opts.maxBytes ?? defaultTmpfsSize();
    this.maxInodes = opts.maxInodes ?? 1 << 20;
    this.nextIno = opts.firstIno ?? 1;
    this.source = this.type === "tmpfs" ? "tmpfs" : this.type;
    if (this.type !== "overlay") {
      const ino = this.allocIno();
      this.root = new MemDir(this, ino as number, L.S_IFDIR | (opts.mode ?? 0o1777), {
        uid: opts.uid ?? 0,
        gid: opts.gid ?? 0,
      }, null);
    }
  }

  charge(bytes: number): boolean {
    if (bytes <= 0) {
      this.usedBytes += bytes;
      return true;
    }
    if (this.usedBytes + bytes > this.maxBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  uncharge(bytes: number): void {
    this.usedBytes -= bytes;
  }

  /** An inode number for a new file, or -ENOSPC at the inode limit. */
  allocIno(): number {
    if (this.usedInodes >= this.maxInodes) return -E.ENOSPC;
    this.usedInodes++;
    return this.nextIno++;
  }

  freeIno(): void {
    this.usedInodes--;
  }

  /** Options for /proc/mounts. */
  mountOptions(): string {
    const parts: string[] = [];
    if (this.maxBytes !== Infinity) parts.push(`size=${Math.floor(this.maxBytes / 1024)}k`);
    if (this.maxInodes !== 1 << 20) parts.push(`nr_inodes=${this.maxInodes}`);
    if (this.root) parts.push(`mode=${(this.root.imode & 0o7777).toString(8)}`);
    return parts.join(",");
  }

  override statfs(): StatFs {
    const blocks = this.maxBytes === Infinity
      ? Math.floor(this.memfile.platform.memSize / PAGE)
      : Math.floor(this.maxBytes / PAGE);
    const used = Math.ceil(this.usedBytes / PAGE);
    return {
      type: TMPFS_MAGIC,
      bsize: PAGE,
      blocks,
      bfree: Math.max(0, blocks - used),
      bavail: Math.max(0, blocks - used),
      files: this.maxInodes,
      ffree: this.maxInodes - this.usedInodes,
      namelen: 255,
      frsize: PAGE,
      flags: 0x20, /* ST_RELATIME */
    };
  }

  /** A new regular file that no directory names (memfd_create, O_TMPFILE). */
  newUnnamedFile(mode: number, owner: Owner): MemReg | number {
    const ino = this.allocIno();
    if (ino < 0) return ino;
    const f = new MemReg(this, ino, L.S_IFREG | (mode & 0o7777), owner);
    f.nlink = 0;
    return f;
  }
}

/** What every in-memory node keeps. */
export abstract class MemInode extends Inode {
  imode: number;
  uid: number;
  gid: number;
  nlink = 1;
  rdev = 0;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  btime: Timespec;
  xattrs: Map<string, Uint8Array> | null = null;
  /** The overlay's lower file whose extended attributes this node has not read yet. */
  xattrSource: Inode | null = null;
  /** File descriptions open on this node (an unlinked file lives while any is). */
  openCount = 0;
  /** Set when the node has been freed (unlinked and closed). */
  freed = false;
  /** An O_TMPFILE file may get a name with linkat; other unlinked files may not. */
  linkable = false;
  /** Counted against the inode limit (the overlay's lower-backed nodes are not, until
   * copied up). */
  countsInode = true;

  constructor(readonly fs: TmpFS, public ino: number, mode: number, owner: Owner) {
    super();
    this.imode = mode;
    this.uid = owner.uid;
    this.gid = owner.gid;
    const now = nowTs();
    this.atime =
      this.mtime =
      this.ctime =
      this.btime =
        now;
  }

  override get mode(): number {
    return this.imode;
  }

  abstract size(): number;

  /** Bytes charged to the filesystem for this node's contents. */
  usedBytes(): number {
    return 0;
  }

  stat(): Stat {
    return {
      dev: this.fs.dev,
      ino: this.ino,
      mode: this.imode,
      nlink: this.nlink,
      uid: this.uid,
      gid: this.gid,
      rdev: this.rdev,
      size: this.size(),
      blksize: PAGE,
      blocks: Math.ceil(this.usedBytes() / 512),
      atimeNs: tsToNs(this.atime),
      mtimeNs: tsToNs(this.mtime),
      ctimeNs: tsToNs(this.ctime),
      btimeNs: tsToNs(this.btime),
      atime: this.atime,
      mtime: this.mtime,
      ctime: this.ctime,
      btime: this.btime,
    };
  }

  override attrs(): Stat {
    return this.stat();
  }

  /** The node itself: its mode getter and uid/gid fields are what checks read. */
  override permInfo(): PermInfo {
    return this;
  }

  override setattr(a: SetAttr): number {
    if (a.size !== undefined) {
      const rc = this.setSize(a.size);
      if (rc < 0) return rc;
    }
    if (a.mode !== undefined) this.imode = (this.imode & L.S_IFMT) | (a.mode & 0o7777);
    if (a.uid !== undefined) this.uid = a.uid;
    if (a.gid !== undefined) this.gid = a.gid;
    if (a.atime !== undefined) this.atime = a.atime;
    if (a.mtime !== undefined) this.mtime = a.mtime;
    this.ctime = nowTs();
    return 0;
  }

  setSize(_size: number): number {
    return this.isDir() ? -E.EISDIR : -E.EINVAL;
  }

  /** Content changed: mtime and ctime. */
  touchModified(): void {
    this.mtime = this.ctime = nowTs();
  }

  // ---- extended attributes (user.*, trusted.*, security.*) ----

  /** Takes the lower file's attributes over, the first time any is asked for (they are
   * the lower layer's: not charged to this filesystem). */
  private loadXattrs(): void {
    const src = this.xattrSource;
    if (!src) return;
    this.xattrSource = null;
    const names = src.listxattr();
    if (typeof names === "number") return;
    for (const n of names) {
      const v = src.getxattr(n);
      if (typeof v !== "number") (this.xattrs ??= new Map()).set(n, v);
    }
  }

  override getxattr(name: string): Uint8Array | number {
    this.loadXattrs();
    if (name.startsWith("system.")) return -E.EOPNOTSUPP;
    const v = this.xattrs?.get(name);
    return v ?? -E.ENODATA;
  }

  override setxattr(name: string, value: Uint8Array, flags: number): number {
    if (name.startsWith("system.")) return -E.EOPNOTSUPP;
    this.loadXattrs();
    if (value.length > XATTR_SIZE_MAX) return -E.E2BIG;
    const old = this.xattrs?.get(name);
    if ((flags & 1) && old) return -E.EEXIST;
    if ((flags & 2) && !old) return -E.ENODATA;
    const cost = name.length + value.length - (old ? name.length + old.length : 0);
    if (!this.fs.charge(cost)) return -E.ENOSPC;
    let listLen = 0;
    for (const k of this.xattrs?.keys() ?? []) if (k !== name) listLen += k.length + 1;
    if (listLen + name.length + 1 > XATTR_LIST_MAX) {
      this.fs.uncharge(cost);
      return -E.ENOSPC;
    }
    (this.xattrs ??= new Map()).set(name, value.slice());
    this.ctime = nowTs();
    return 0;
  }

  override listxattr(): string[] | number {
    this.loadXattrs();
    return this.xattrs ? [...this.xattrs.keys()] : [];
  }

  override removexattr(name: string): number {
    if (name.startsWith("system.")) return -E.EOPNOTSUPP;
    this.loadXattrs();
    const old = this.xattrs?.get(name);
    if (!old) return -E.ENODATA;
    this.xattrs!.delete(name);
    this.fs.uncharge(name.length + old.length);
    // (A lower attribute was never charged: the count may dip, which only frees room.)
    this.ctime = nowTs();
    return 0;
  }

  /** Checks before another name is linked to this node (the overlay copies up). */
  beforeLink(): number {
    return 0;
  }

  /** Checks before the node moves to another name. */
  beforeMove(): number {
    return 0;
  }

  /** Lost its last name: freed once nothing has it open. */
  dropLink(): void {
    this.nlink = Math.max(0, this.nlink - 1);
    this.ctime = nowTs();
    this.maybeFree();
  }

  maybeFree(): void {
    if (this.nlink > 0 || this.openCount > 0 || this.freed) return;
    this.freed = true;
    this.release();
    if (this.xattrs) {
      for (const [k, v] of this.xattrs) this.fs.uncharge(k.length + v.length);
      this.xattrs = null;
    }
    if (this.countsInode) this.fs.freeIno();
  }

  /** Frees the node's contents (file data). */
  protected release(): void {}
}

export class MemDir extends MemInode {
  /** Names in this directory. In the overlay, lower names appear here once looked up, and
   * WHITEOUT hides a lower name. */
  readonly entries = new Map<string, MemInode | Whiteout>();
  /** Number of subdirectories (for nlink). */
  subdirs = 0;

  constructor(fs: TmpFS, ino: number, mode: number, owner: Owner, public parent: MemDir | null) {
    super(fs, ino, mode, owner);
    this.nlink = 2;
  }

  size(): number {
    return (this.entries.size + 2) * BOGO_DIRENT_SIZE;
  }

  override stat(): Stat {
    const st = super.stat();
    st.nlink = this.dirLinks();
    return st;
  }

  /** nlink of a directory: 2 + subdirectories (0 once removed). */
  dirLinks(): number {
    return this.nlink === 0 ? 0 : 2 + this.subdirs;
  }

  override lookup(name: string): Inode | number {
    const e = this.entries.get(name);
    if (e === WHITEOUT) return -E.ENOENT;
    if (e !== undefined) return e;
    return this.lookupLower(name);
  }

  /** A name not in entries: the overlay looks in the lower layer. */
  protected lookupLower(_name: string): MemInode | number {
    return -E.ENOENT;
  }

  /** Whether removing `name` must leave a whiteout (the lower layer has the name). */
  protected lowerHas(_name: string): boolean {
    return false;
  }

  /** Names of the lower layer not in entries (the overlay merges them into listings). */
  protected lowerEntries(): DirEntry[] {
    return [];
  }

  override readdir(): DirEntry[] | number {
    const out: DirEntry[] = [
      { name: ".", ino: this.ino, type: 4 },
      { name: "..", ino: this.parent ? this.parent.ino : this.ino, type: 4 },
    ];
    for (const e of this.lowerEntries()) out.push(e);
    for (const [name, node] of this.entries) {
      if (node === WHITEOUT) continue;
      out.push({ name, ino: node.ino, type: dtype(node.imode) });
    }
    return out;
  }

  /** Empty as seen through the overlay (whiteouts and hidden lower names do not count). */
  isEmpty(): boolean {
    for (const e of this.entries.values()) if (e !== WHITEOUT) return false;
    return this.lowerEntries().length === 0;
  }

  private exists(name: string): boolean {
    return typeof this.lookup(name) !== "number";
  }

  /** Adds a new node under name (which must be free). */
  private add(name: string, make: (ino: number) => MemInode): MemInode | number {
    if (this.nlink === 0) return -E.ENOENT;
    if (this.exists(name)) return -E.EEXIST;
    const ino = this.fs.allocIno();
    if (ino < 0) return ino;
    const node = make(ino);
    this.entries.set(name, node);
    if (node instanceof MemDir) this.subdirs++;
    this.touchModified();
    return node;
  }

  override create(name: string, mode: number, owner: Owner): Inode | number {
    return this.add(name, (ino) => new MemReg(this.fs, ino, L.S_IFREG | (mode & 0o7777), owner));
  }

  override mkdir(name: string, mode: number, owner: Owner): Inode | number {
    return this.add(
      name,
      (ino) => new MemDir(this.fs, ino, L.S_IFDIR | (mode & 0o7777), owner, this),
    );
  }

  override mknod(name: string, mode: number, rdev: number, owner: Owner): Inode | number {
    const fmt = mode & L.S_IFMT;
    if (fmt === L.S_IFREG || fmt === 0) return this.create(name, mode, owner);
    if (fmt !== L.S_IFIFO && fmt !== L.S_IFSOCK && fmt !== L.S_IFCHR && fmt !== L.S_IFBLK) {
      return -E.EINVAL;
    }
    return this.add(name, (ino) => {
      const n = new MemSpecial(this.fs, ino, mode, owner);
      n.rdev = fmt === L.S_IFCHR || fmt === L.S_IFBLK ? rdev : 0;
      return n;
    });
  }

  override symlink(name: string, target: string, owner: Owner): Inode | number {
    return this.add(name, (ino) => new MemSymlink(this.fs, ino, owner, target));
  }

  override link(name: string, target: Inode): number {
    if (!(target instanceof MemInode) || target.fs !== this.fs) return -E.EXDEV;
    if (target instanceof MemDir) return -E.EPERM;
    if (this.nlink === 0) return -E.ENOENT;
    if (this.exists(name)) return -E.EEXIST;
    if (target.nlink === 0 && !target.linkable) return -E.ENOENT;
    const rc = target.beforeLink();
    if (rc < 0) return rc;
    target.nlink++;
    target.linkable = false;
    target.ctime = nowTs();
    this.entries.set(name, target);
    this.touchModified();
    return 0;
  }

  /** Takes name out of the directory, leaving a whiteout if the lower layer has it. */
  protected removeEntry(name: string): void {
    const node = this.entries.get(name);
    if (this.lowerHas(name)) this.entries.set(name, WHITEOUT);
    else this.entries.delete(name);
    if (node instanceof MemDir) this.subdirs--;
    this.touchModified();
  }

  /** The node a name refers to (looked up into entries). */
  private node(name: string): MemInode | number {
    const n = this.lookup(name);
    if (typeof n === "number") return n;
    return n as MemInode;
  }

  override unlink(name: string): number {
    const node = this.node(name);
    if (typeof node === "number") return node;
    if (node instanceof MemDir) return -E.EISDIR;
    this.removeEntry(name);
    node.dropLink();
    return 0;
  }

  override rmdir(name: string): number {
    const node = this.node(name);
    if (typeof node === "number") return node;
    if (!(node instanceof MemDir)) return -E.ENOTDIR;
    if (!node.isEmpty()) return -E.ENOTEMPTY;
    this.removeEntry(name);
    node.nlink = 0;
    node.ctime = nowTs();
    node.maybeFree();
    return 0;
  }

  override rename(oldName: string, newDirInode: Inode, newName: string, flags: number): number {
    if (!(newDirInode instanceof MemDir) || newDirInode.fs !== this.fs) return -E.EXDEV;
    const newDir = newDirInode;
    if (newDir.nlink === 0) return -E.ENOENT;
    const src = this.node(oldName);
    if (typeof src === "number") return src;
    const dstOrErr = newDir.node(newName);
    const dst = typeof dstOrErr === "number" ? null : dstOrErr;
    if (typeof dstOrErr === "number" && dstOrErr !== -E.ENOENT) return dstOrErr;
    if (flags & RENAME_EXCHANGE) {
      if (!dst) return -E.ENOENT;
      if (src === dst) return 0;
      this.entries.set(oldName, dst);
      newDir.entries.set(newName, src);
      if (src instanceof MemDir && this !== newDir) {
        src.parent = newDir;
        this.subdirs--, newDir.subdirs++;
      }
      if (dst instanceof MemDir && this !== newDir) {
        dst.parent = this;
        newDir.subdirs--, this.subdirs++;
      }
      const now = nowTs();
      src.ctime = dst.ctime = now;
      this.touchModified();
      newDir.touchModified();
      return 0;
    }
    if (dst) {
      if (flags & RENAME_NOREPLACE) return -E.EEXIST;
      if (src === dst) return 0;
      if (src instanceof MemDir) {
        if (!(dst instanceof MemDir)) return -E.ENOTDIR;
        if (!dst.isEmpty()) return -E.ENOTEMPTY;
      } else if (dst instanceof MemDir) {
        return -E.EISDIR;
      }
    }
    const rc = src.beforeMove();
    if (rc < 0) return rc;
    // Take the source out first (a whiteout may be needed where it was), then put it in
    // its new place, replacing what was there.
    this.removeEntry(oldName);
    if (dst) {
      if (dst instanceof MemDir) {
        newDir.subdirs--;
        dst.nlink = 0;
        dst.ctime = nowTs();
        dst.maybeFree();
      } else {
        dst.dropLink();
      }
    }
    newDir.entries.set(newName, src);
    if (src instanceof MemDir) {
      newDir.subdirs++;
      src.parent = newDir;
    }
    src.ctime = nowTs();
    newDir.touchModified();
    return 0;
  }

  open(flags: number, path: VfsPath): FileDescription | number {
    if ((flags & L.O_ACCMODE) !== L.O_RDONLY) return -E.EISDIR;
    return new MemDirFile(flags, path, this);
  }
}

export class MemReg extends MemInode {
  data: FileData;
  /** memfd seals (F_SEAL_*); memfds without MFD_ALLOW_SEALING start with F_SEAL_SEAL. */
  seals = 0;
  constructor(fs: TmpFS, ino: number, mode: number, owner: Owner) {
    super(fs, ino, mode, owner);
    this.data = new FileData(fs.memfile, fs);
  }

  size(): number {
    return this.data.size;
  }

  override usedBytes(): number {
    return this.data.chargedBytes;
  }

  override setSize(size: number): number {
    if (size < 0) return -E.EINVAL;
    const cur = this.data.size;
    if (size < cur && (this.seals & F_SEAL_SHRINK)) return -E.EPERM;
    if (size > cur && (this.seals & F_SEAL_GROW)) return -E.EPERM;
    const rc = this.prepareWrite();
    if (rc < 0) return rc;
    if (size === cur) return 0;
    const r = this.data.resize(size);
    if (r < 0) return r;
    this.touchModified();
    return 0;
  }

  /** Called before the data changes (the overlay copies a lower file up here). */
  prepareWrite(): number {
    return 0;
  }

  override mappable(): Mappable | null {
    return this.data;
  }

  open(flags: number, path: VfsPath): FileDescription | number {
    if ((flags & L.O_ACCMODE) !== L.O_RDONLY) {
      const rc = this.prepareWrite();
      if (rc < 0) return rc;
    }
    return new MemRegFile(flags, path, this);
  }

  protected override release(): void {
    this.data.decRef();
  }
}

export const F_SEAL_SEAL = 0x1;
export const F_SEAL_SHRINK = 0x2;
export const F_SEAL_GROW = 0x4;
export const F_SEAL_WRITE = 0x8;
export const F_SEAL_FUTURE_WRITE = 0x10;

export class MemSymlink extends MemInode {
  constructor(fs: TmpFS, ino: number, owner: Owner, public target: string) {
    super(fs, ino, L.S_IFLNK | 0o777, owner);
  }
  size(): number {
    return this.target.length;
  }
  override readlink(): string | number {
    return this.target;
  }
  open(flags: number, path: VfsPath): FileDescription | number {
    void flags, path;
    return -E.ELOOP;
  }
}

/** FIFOs, sockets and device nodes. */
export class MemSpecial extends MemInode {
  size(): number {
    return 0;
  }
  open(flags: number, path: VfsPath, task?: unknown): FileDescription | number {
    const fmt = this.imode & L.S_IFMT;
    if (fmt === L.S_IFIFO) return openFifo(this, flags, path, task);
    if (fmt === L.S_IFCHR || fmt === L.S_IFBLK) {
      return openDevice(this.rdev, fmt === L.S_IFBLK, flags, path, task);
    }
    return -E.ENXIO;
  }
}

/** An open in-memory regular file. */
export class MemRegFile extends FileDescription {
  constructor(flags: number, path: VfsPath | null, readonly node: MemReg) {
    super(flags, path, node);
    node.openCount++;
  }

  override read(io: UserIO, off: number): number {
    const pos = off >= 0 ? off : this.offset;
    const data = this.node.data;
    const n = Math.min(io.total, Math.max(0, data.size - pos));
    if (n === 0) return 0;
    const ranges = io.memRanges(true, 0, n);
    if (typeof ranges === "number") return ranges;
    const done = data.readTo(pos, ranges);
    if (off < 0) this.offset += done;
    return done;
  }

  override write(io: UserIO, off: number): number {
    const node = this.node;
    if (node.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -E.EPERM;
    const data = node.data;
    const pos = this.append ? data.size : off >= 0 ? off : this.offset;
    if (io.total === 0) return 0;
    if ((node.seals & F_SEAL_GROW) && pos + io.total > data.size) {
      if (pos >= data.size) return -E.EPERM;
    }
    const ranges = io.memRanges(
      false,
      0,
      (node.seals & F_SEAL_GROW) ? Math.min(io.total, data.size - pos) : io.total,
    );
    if (typeof ranges === "number") return ranges;
    const n = data.writeFrom(pos, ranges);
    if (n > 0) {
      node.touchModified();
      if (off < 0 || this.append) this.offset = pos + n;
      // Writing by someone without CAP_FSETID drops set-user-ID (done by the VFS caller).
    }
    return n;
  }

  override readAt(buf: Uint8Array, off: number): number {
    return this.node.data.readInto(buf, off);
  }

  override seek(off: number, whence: number): number {
    if (whence === SEEK_DATA || whence === SEEK_HOLE) {
      if (off < 0) return -E.ENXIO;
      const r = this.node.data.seekData(off, whence === SEEK_HOLE);
      if (r >= 0) this.offset = r;
      return r;
    }
    return super.seek(off, whence);
  }

  override truncate(len: number): number {
    return this.node.setSize(len);
  }

  override fallocate(mode: number, off: number, len: number): number {
    const node = this.node;
    const KEEP_SIZE = 1, PUNCH_HOLE = 2, ZERO_RANGE = 0x10;
    if (mode & ~(KEEP_SIZE | PUNCH_HOLE | ZERO_RANGE)) return -E.EOPNOTSUPP;
    if ((mode & PUNCH_HOLE) && !(mode & KEEP_SIZE)) return -E.EOPNOTSUPP;
    if (node.seals & F_SEAL_WRITE) return -E.EPERM;
    const rc = node.prepareWrite();
    if (rc < 0) return rc;
    if (mode & (PUNCH_HOLE | ZERO_RANGE)) {
      node.data.zeroRange(off, len);
      if ((mode & ZERO_RANGE) && !(mode & KEEP_SIZE) && off + len > node.data.size) {
        if (node.seals & F_SEAL_GROW) return -E.EPERM;
        const r = node.data.resize(off + len);
        if (r < 0) return r;
      }
      node.touchModified();
      return 0;
    }
    if (!(mode & KEEP_SIZE) && off + len > node.data.size && (node.seals & F_SEAL_GROW)) {
      return -E.EPERM;
    }
    const r = node.data.allocate(off, len, (mode & KEEP_SIZE) !== 0);
    if (r < 0) return r;
    node.touchModified();
    return 0;
  }

  override mappable(): Mappable | number {
    return this.node.data;
  }

  protected override release(): void {
    this.node.openCount--;
    this.node.maybeFree();
  }
}

export class MemDirFile extends FileDescription {
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

/** Parses tmpfs mount options (size=, nr_inodes=, mode=, uid=, gid=). */
export function parseTmpfsOptions(
  options: string[],
  defaults: TmpfsOptions,
): TmpfsOptions | number {
  const o: TmpfsOptions = { ...defaults };
  for (const opt of options) {
    const [k, v] = opt.split("=", 2);
    switch (k) {
      case "size": {
        const m = /^(\d+)([kmgt%]?)$/i.exec(v ?? "");
        if (!m) return -E.EINVAL;
        if (m[2] === "%") {
          o.maxBytes = Math.floor(defaultTmpfsSize() * 2 * Number(m[1]) / 100) || Infinity;
          break;
        }
        const mult = {
          "": 1,
          k: 1024,
          m: 1024 ** 2,
          g: 1024 ** 3,
          t: 1024 ** 4,
        }[m[2].toLowerCase()]!;
        // size=0: no limit, as Linux.
        o.maxBytes = Number(m[1]) * mult || Infinity;
        break;
      }
      case "nr_inodes":
        o.maxInodes = Number(v) || 1 << 20;
        break;
      case "mode":
        o.mode = parseInt(v ?? "", 8) & 0o7777;
        break;
      case "uid":
        o.uid = Number(v);
        break;
      case "gid":
        o.gid = Number(v);
        break;
      default:
        // rw, ro, nosuid, nodev, noexec, relatime...: generic mount flags.
        break;
    }
  }
  return o;
}

export { dtype };
