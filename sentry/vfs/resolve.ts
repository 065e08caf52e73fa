// Path resolution: a guest path string to a (mount, dentry), walking one component at a
// time through the dentry cache, crossing mounts, following symlinks (at most 40 in one
// resolution), keeping ".." inside the task's root. Linux's namei, small.
import { E } from "../abi/errno.ts";
import { S_IFDIR, S_IFMT } from "../abi/linux.ts";
import type { Credentials, Dentry, Inode } from "./inode.ts";
import type { MountNamespace, VfsPath } from "./mount.ts";

export const MAX_SYMLINKS = 40;
export const PATH_MAX = 4096;
export const NAME_MAX = 255;

export interface FsContext {
  root: VfsPath;
  cwd: VfsPath;
  umask: number;
  ns: MountNamespace;
}

export interface ResolveOptions {
  /** Follow a symlink in the last component. */
  follow: boolean;
  /** openat2 RESOLVE_BENEATH: fail with EXDEV if the walk would leave `start`. */
  beneath?: boolean;
  /** openat2 RESOLVE_IN_ROOT: `start` acts as the root for "/", ".." and symlinks. */
  inRoot?: boolean;
  /** RESOLVE_NO_SYMLINKS: any symlink fails with ELOOP. */
  noSymlinks?: boolean;
  /** RESOLVE_NO_XDEV: crossing a mount fails with EXDEV. */
  noXdev?: boolean;
  /** RESOLVE_NO_MAGICLINKS: /proc magic links fail with ELOOP. */
  noMagicLinks?: boolean;
}

/** Inodes whose "symlink" is a jump to a known path (/proc/pid/fd/N, /proc/pid/cwd...). */
export interface MagicLink {
  magicTarget(): VfsPath | number;
}

function isMagic(i: Inode): i is Inode & MagicLink {
  return typeof (i as unknown as MagicLink).magicTarget === "function";
}

const CAP_DAC_OVERRIDE = 1;
const CAP_DAC_READ_SEARCH = 2;

/** Permission bits: 4 read, 2 write, 1 execute/search. Uses the inode's cached attributes
 * (the walk's hot path). */
export function permission(inode: Inode, creds: Credentials, want: number): number {
  const st = inode.permInfo();
  const mode = st.mode;
  let bits: number;
  if (creds.fsuid === st.uid) bits = (mode >> 6) & 7;
  else if (creds.fsgid === st.gid || creds.groups.includes(st.gid)) bits = (mode >> 3) & 7;
  else bits = mode & 7;
  if ((bits & want) === want) return 0;
  const isDir = (mode & S_IFMT) === S_IFDIR;
  if (creds.hasCap(CAP_DAC_OVERRIDE)) {
    // Root may do anything, except execute a file nobody may execute.
    if ((want & 1) && !isDir && (mode & 0o111) === 0) return -E.EACCES;
    return 0;
  }
  if (creds.hasCap(CAP_DAC_READ_SEARCH) && (want & 2) === 0 && (!(want & 1) || isDir)) return 0;
  return -E.EACCES;
}

export interface ParentResult {
  dir: VfsPath;
  name: string;
  trailingSlash: boolean;
}

/** resolveCreate's result: the file exists (`found`), or it may be created as `name` in
 * `dir`. */
export type CreateResult =
  | { found: VfsPath; dir?: undefined; name?: undefined; trailingSlash: boolean }
  | { found?: undefined; dir: VfsPath; name: string; trailingSlash: boolean };

interface Walk {
  root: VfsPath;
  opts: ResolveOptions;
  links: number;
  /** Resolving for creation: a missing last component is not an error. */
  create: boolean;
  missing: { dir: VfsPath; name: string; trailingSlash: boolean } | null;
}

export class Resolver {
  constructor(private readonly ctx: FsContext, private readonly creds: Credentials) {}

  /** Resolves path from start (used when the path is relative; with inRoot/beneath, start
   * is also the root). */
  resolve(start: VfsPath, path: string, opts: ResolveOptions): VfsPath | number {
    if (path.length === 0) return -E.ENOENT;
    if (path.length >= PATH_MAX) return -E.ENAMETOOLONG;
    const w = this.newWalk(start, opts, false);
    const from = this.startOf(w, start, path);
    if (typeof from === "number") return from;
    return this.walk(w, from, path);
  }

  /** Resolves for O_CREAT: follows a symlink in the last component if opts.follow (so a
   * dangling symlink's target is what gets created). */
  resolveCreate(start: VfsPath, path: string, opts: ResolveOptions): CreateResult | number {
    if (path.length === 0) return -E.ENOENT;
    if (path.length >= PATH_MAX) return -E.ENAMETOOLONG;
    const w = this.newWalk(start, opts, true);
    const from = this.startOf(w, start, path);
    if (typeof from === "number") return from;
    const r = this.walk(w, from, path);
    if (typeof r === "number") {
      if (r === -E.ENOENT && w.missing) {
        return { dir: w.missing.dir, name: w.missing.name, trailingSlash: w.missing.trailingSlash };
      }
      return r;
    }
    let end = path.length;
    while (end > 1 && path.charCodeAt(end - 1) === 47) end--;
    return { found: r, trailingSlash: end < path.length };
  }

  /** Resolves all but the last component; for mkdir, unlink, rename... The last
   * component is returned as a name ("." and ".." included: callers refuse them as
   * needed; "/" gives "."). */
  resolveParent(start: VfsPath, path: string, opts: ResolveOptions): ParentResult | number {
    if (path.length === 0) return -E.ENOENT;
    if (path.length >= PATH_MAX) return -E.ENAMETOOLONG;
    let end = path.length;
    while (end > 1 && path.charCodeAt(end - 1) === 47) end--;
    const trailingSlash = end < path.length;
    const trimmed = path.slice(0, end);
    const slash = trimmed.lastIndexOf("/");
    const name = slash < 0 ? trimmed : trimmed.slice(slash + 1);
    if (name.length > NAME_MAX) return -E.ENAMETOOLONG;
    const dirPart = slash < 0 ? "." : slash === 0 ? "/" : trimmed.slice(0, slash);
    const dir = this.resolve(start, dirPart, { ...opts, follow: true });
    if (typeof dir === "number") return dir;
    if (!dir.dentry.inode.isDir()) return -E.ENOTDIR;
    return { dir, name: name === "/" || name === "" ? "." : name, trailingSlash };
  }

  private newWalk(start: VfsPath, opts: ResolveOptions, create: boolean): Walk {
    const root = opts.inRoot || opts.beneath ? start : this.ctx.root;
    return { root, opts, links: 0, create, missing: null };
  }

  private startOf(w: Walk, start: VfsPath, path: string): VfsPath | number {
    if (path.charCodeAt(0) !== 47) return start;
    if (w.opts.beneath) return -E.EXDEV;
    return w.root;
  }

  private walk(w: Walk, cur: VfsPath, path: string): VfsPath | number {
    const ns = this.ctx.ns;
    const opts = w.opts;
    const comps = path.split("/");
    // A trailing slash means the result must be a directory (and symlinks are followed).
    let last = comps.length - 1;
    while (last > 0 && comps[last] === "") last--;
    const trailingSlash = last < comps.length - 1;
    cur = ns.crossDown(cur);
    for (let i = 0; i <= last; i++) {
      const name = comps[i];
      if (name === "" || name === ".") {
        if (!cur.dentry.inode.isDir()) return -E.ENOTDIR;
        continue;
      }
      if (name.length > NAME_MAX) return -E.ENAMETOOLONG;
      const dir = cur.dentry.inode;
      if (!dir.isDir()) return -E.ENOTDIR;
      const perm = permission(dir, this.creds, 1);
      if (perm < 0) return perm;
      if (name === "..") {
        const up = this.parentOf(cur, w.root);
        if (up === null) {
          if (opts.beneath) return -E.EXDEV;
          continue;
        }
        if (opts.noXdev && up.mount !== cur.mount) return -E.EXDEV;
        cur = up;
        continue;
      }
      const isLast = i === last;
      const child = cur.dentry.child(name);
      if (typeof child === "number") {
        if (child === -E.ENOENT && isLast && w.create) {
          w.missing = { dir: cur, name, trailingSlash };
        }
        return child;
      }
      let next: VfsPath = { mount: cur.mount, dentry: child };
      const crossed = ns.crossDown(next);
      if (crossed.mount !== next.mount && opts.noXdev) return -E.EXDEV;
      next = crossed;
      const inode = next.dentry.inode;
      if (inode.isSymlink() && (!isLast || opts.follow || trailingSlash)) {
        if (opts.noSymlinks) return -E.ELOOP;
        if (++w.links > MAX_SYMLINKS) return -E.ELOOP;
        if (isMagic(inode)) {
          if (opts.noMagicLinks) return -E.ELOOP;
          if (opts.beneath || opts.inRoot) return -E.EXDEV;
          const target = inode.magicTarget();
          if (typeof target === "number") return target;
          if (opts.noXdev && target.mount !== cur.mount) return -E.EXDEV;
          cur = target;
          if (isLast && trailingSlash && !cur.dentry.inode.isDir()) return -E.ENOTDIR;
          continue;
        }
        const target = inode.readlink();
        if (typeof target === "number") return target;
        if (target.length === 0) return -E.ENOENT;
        const rest = comps.slice(i + 1, comps.length).join("/");
        const joined = rest.length > 0 || trailingSlash ? `${target}/${rest}` : target;
        let from = cur;
        if (target.charCodeAt(0) === 47) {
          if (opts.beneath) return -E.EXDEV;
          from = w.root;
        }
        return this.walk(w, from, joined);
      }
      cur = next;
    }
    if (trailingSlash && !cur.dentry.inode.isDir()) return -E.ENOTDIR;
    return cur;
  }

  /** The parent of cur, staying at root (returns null at root). */
  private parentOf(cur: VfsPath, root: VfsPath): VfsPath | null {
    let { mount, dentry } = cur;
    if (mount === root.mount && dentry === root.dentry) return null;
    while (dentry === mount.root && mount.parent && mount.mountpoint) {
      dentry = mount.mountpoint;
      mount = mount.parent;
      if (mount === root.mount && dentry === root.dentry) return { mount, dentry };
    }
    const parent: Dentry | null = dentry.parent;
    return { mount, dentry: parent ?? dentry };
  }
}
