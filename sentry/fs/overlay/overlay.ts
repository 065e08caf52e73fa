// The overlay: a read-only lower tree (the host's root, through HostFS) under an in-memory
// upper layer (tmpfs nodes). The guest may change anything; the lower tree is never written.
//
// Every name the guest reaches is a tmpfs node. A node made from a lower file keeps a
// reference to it and takes its attributes from the lookup; until its data changes it
// reads from the lower file:
// - regular files are copied up (whole, straight from the host into the memory file) when
//   opened for writing or truncated; attribute changes need no copy (metadata is the
//   node's own);
// - directories list the lower directory's names merged with their own entries; a removed
//   lower name leaves a WHITEOUT entry; a directory removed and made again starts empty
//   (its new node has no lower directory), which is what an opaque directory is;
// - a renamed directory keeps its lower directory wherever it moves (like overlayfs's
//   redirect_dir), so renames never need EXDEV.
// Limits: the upper layer's data and inode count are limited like a tmpfs (ENOSPC).
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import { host } from "../../../ffi/host.ts";
import type { MemoryFile } from "../../mm/memfile.ts";
import type { Mappable } from "../../mm/objects.ts";
import type { FileDescription } from "../../vfs/file.ts";
import { type DirEntry, type Inode, type Stat, type StatFs, tsFromNs } from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import { HostInode } from "../host/hostfs.ts";
import {
  MemDir,
  MemInode,
  MemReg,
  MemSpecial,
  MemSymlink,
  TmpFS,
  type TmpfsOptions,
  WHITEOUT,
} from "../tmpfs/tmpfs.ts";

export const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
/** New upper inodes are numbered from here, clear of the lower layer's numbers. */
const UPPER_INO_BASE = 2 ** 48;
/** Lower files on other host devices than the root's get this many bits of device index. */
const DEV_SHIFT = 2 ** 40;

export class Overlay extends TmpFS {
  private readonly lowerDev: number;
  private readonly devIndex = new Map<number, number>();
  /** Nodes of lower files with several links, by device and inode. */
  private readonly lowerLinks = new Map<string, WeakRef<OvlReg>>();

  constructor(memfile: MemoryFile, readonly lowerRoot: Inode, opts: TmpfsOptions = {}) {
    super(memfile, { ...opts, type: "overlay", firstIno: UPPER_INO_BASE });
    const st = lowerRoot.attrs();
    this.lowerDev = st.dev;
    this.root = new OvlDir(this, this.mapIno(st), st, null, lowerRoot, null, "");
  }

  /** The inode number a lower file shows through the overlay (stable across copy-up). */
  mapIno(st: Stat): number {
    if (st.dev === this.lowerDev) return st.ino;
    let idx = this.devIndex.get(st.dev);
    if (idx === undefined) {
      idx = this.devIndex.size + 1;
      this.devIndex.set(st.dev, idx);
    }
    return idx * DEV_SHIFT + (st.ino % DEV_SHIFT);
  }

  /** The node for lower inode `lower`, named `name` in `parent`. */
  wrap(lower: Inode, parent: OvlDir, name: string): MemInode {
    const st = lower.attrs();
    const ino = this.mapIno(st);
    switch (st.mode & L.S_IFMT) {
      case L.S_IFDIR:
        return new OvlDir(this, ino, st, parent, lower, parent, name);
      case L.S_IFREG: {
        // Hard links of the lower layer stay one file: every name gets the same node.
        if (st.nlink <= 1) return new OvlReg(this, ino, st, lower, parent, name);
        const key = `${st.dev}:${st.ino}`;
        const known = this.lowerLinks.get(key)?.deref();
        if (known && known.nlink > 0) return known;
        const node = new OvlReg(this, ino, st, lower, parent, name);
        this.lowerLinks.set(key, new WeakRef(node));
        return node;
      }
      case L.S_IFLNK:
        return new OvlSymlink(this, ino, st, lower, parent, name);
      default: {
        const n = new MemSpecial(this, ino, st.mode, { uid: st.uid, gid: st.gid });
        copyMeta(n, st);
        n.xattrSource = lower;
        n.rdev = st.rdev;
        n.countsInode = false;
        return n;
      }
    }
  }

  override mountOptions(): string {
    const up = super.mountOptions().replace(/,?mode=[0-7]+/, "");
    return `lowerdir=/${up ? "," + up : ""}`;
  }

  override statfs(): StatFs {
    return { ...super.statfs(), type: OVERLAYFS_SUPER_MAGIC };
  }
}

function copyMeta(n: MemInode, st: Stat): void {
  n.imode = st.mode;
  n.uid = st.uid;
  n.gid = st.gid;
  n.nlink = st.nlink;
  n.atime = st.atime ?? tsFromNs(st.atimeNs);
  n.mtime = st.mtime ?? tsFromNs(st.mtimeNs);
  n.ctime = st.ctime ?? tsFromNs(st.ctimeNs);
  n.btime = n.ctime;
}

/** Where a lower-backed node came from (to know when removing a name needs a whiteout
 * without asking the host). */
interface Origin {
  dir: OvlDir;
  name: string;
}

export class OvlDir extends MemDir {
  /** nlink of the lower directory (subdirs counts the changes since). */
  private readonly baseLinks: number;
  private readonly lowerSize: number;
  readonly origin: Origin | null;

  constructor(
    fs: Overlay,
    ino: number,
    st: Stat,
    parent: MemDir | null,
    public lower: Inode | null,
    originDir: OvlDir | null,
    originName: string,
  ) {
    super(fs, ino, st.mode, { uid: st.uid, gid: st.gid }, parent);
    copyMeta(this, st);
    if (lower) this.xattrSource = lower;
    this.baseLinks = Math.max(2, st.nlink);
    this.lowerSize = st.size;
    this.countsInode = false;
    this.origin = originDir ? { dir: originDir, name: originName } : null;
  }

  override dirLinks(): number {
    return this.nlink === 0 ? 0 : this.baseLinks + this.subdirs;
  }

  /** The lower directory's size, plus the bogus size of names added since: a size that
   * does not change as lookups fill the cache (tar checks it). */
  override size(): number {
    if (!this.lower) return super.size();
    return this.lowerSize;
  }

  protected override lookupLower(name: string): MemInode | number {
    if (!this.lower) return -E.ENOENT;
    const li = this.lower.lookup(name);
    if (typeof li === "number") return li === -E.ESTALE ? -E.ENOENT : li;
    const node = (this.fs as Overlay).wrap(li, this, name);
    this.entries.set(name, node);
    return node;
  }

  protected override lowerHas(name: string): boolean {
    if (!this.lower) return false;
    const e = this.entries.get(name);
    const origin = e && e !== WHITEOUT ? (e as { origin?: Origin | null }).origin : null;
    if (origin && origin.dir === this && origin.name === name) return true;
    if (this.lower instanceof HostInode) {
      const fd = this.lower.dirFd();
      if (fd < 0) return false;
      const b = new Uint8Array(144);
      const cname = new Uint8Array(name.length + 1);
      for (let i = 0; i < name.length; i++) cname[i] = name.charCodeAt(i);
      return host().sb_h_fstatat(fd, cname, b, L.AT_SYMLINK_NOFOLLOW) === 0;
    }
    return typeof this.lower.lookup(name) !== "number";
  }

  protected override lowerEntries(): DirEntry[] {
    if (!this.lower) return [];
    const list = this.lower.readdir();
    if (typeof list === "number") return [];
    const out: DirEntry[] = [];
    for (const e of list) {
      if (e.name === "." || e.name === ".." || this.entries.has(e.name)) continue;
      out.push(e);
    }
    return out;
  }
}

export class OvlReg extends MemReg {
  readonly origin: Origin;
  private lowerSize: number;

  constructor(
    fs: Overlay,
    ino: number,
    st: Stat,
    public lower: Inode | null,
    originDir: OvlDir,
    originName: string,
  ) {
    super(fs, ino, st.mode, { uid: st.uid, gid: st.gid });
    copyMeta(this, st);
    this.xattrSource = lower;
    this.lowerSize = st.size;
    this.countsInode = false;
    this.origin = { dir: originDir, name: originName };
  }

  override size(): number {
    return this.lower ? this.lowerSize : this.data.size;
  }

  override stat(): Stat {
    const st = super.stat();
    if (this.lower) st.blocks = Math.ceil(this.lowerSize / 512);
    return st;
  }

  /** Copy-up: the lower file's bytes into the upper layer (once). */
  override prepareWrite(): number {
    if (!this.lower) return 0;
    const fs = this.fs as Overlay;
    if (fs.usedInodes >= fs.maxInodes) return -E.ENOSPC;
    const lower = this.lower;
    if (lower instanceof HostInode) {
      const fd = lower.openHost(L.O_RDONLY);
      if (fd < 0) return fd;
      const rc = this.data.fillFromHost(fd, this.lowerSize);
      host().sb_h_close(fd);
      if (rc < 0) return rc;
    } else {
      const f = lower.open(L.O_RDONLY, null as unknown as VfsPath);
      if (typeof f === "number") return f;
      const buf = new Uint8Array(65536);
      let pos = 0;
      let rc = this.data.resize(this.lowerSize);
      while (rc >= 0 && pos < this.lowerSize) {
        const n = f.readAt(buf, pos);
        if (n <= 0) break;
        rc = this.writeBytes(buf.subarray(0, n), pos);
        pos += n;
      }
      f.decRef();
      if (rc < 0) {
        this.data.resize(0);
        return rc;
      }
    }
    fs.usedInodes++;
    this.countsInode = true;
    this.lower = null;
    return 0;
  }

  private writeBytes(b: Uint8Array, pos: number): number {
    // Bounce through a scratch chunk of the memory file.
    const mf = this.data.memfile;
    const off = mf.allocChunk();
    if (off < 0) return off;
    mf.mem.set(b, off);
    const n = this.data.writeFrom(pos, new Float64Array([off, b.length]));
    mf.free(off, 65536);
    return n;
  }

  override mappable(): Mappable | null {
    return this.lower ? this.lower.mappable() : this.data;
  }

  override open(flags: number, path: VfsPath, task?: unknown): FileDescription | number {
    if (this.lower && (flags & L.O_ACCMODE) === L.O_RDONLY) {
      const f = this.lower.open(flags, path, task);
      if (typeof f === "number") return f;
      // fstat, locks and inotify see the overlay's inode.
      f.inode = this;
      return f;
    }
    return super.open(flags, path);
  }

  /** A hard link to a lower file: the upper layer must hold the file first. */
  override beforeLink(): number {
    return this.prepareWrite();
  }
}

export class OvlSymlink extends MemSymlink {
  readonly origin: Origin;
  private lower: Inode | null;

  constructor(
    fs: Overlay,
    ino: number,
    st: Stat,
    lower: Inode,
    originDir: OvlDir,
    originName: string,
  ) {
    super(fs, ino, { uid: st.uid, gid: st.gid }, "");
    copyMeta(this, st);
    this.lower = lower;
    this.lowerSize = st.size;
    this.countsInode = false;
    this.origin = { dir: originDir, name: originName };
  }

  private lowerSize: number;

  override size(): number {
    return this.lower ? this.lowerSize : this.target.length;
  }

  override readlink(): string | number {
    if (this.lower) {
      const t = this.lower.readlink();
      if (typeof t === "number") return t;
      this.target = t;
      this.lower = null;
    }
    return this.target;
  }
}
