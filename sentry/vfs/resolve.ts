// Path resolution: a guest path string to a (mount, dentry), walking one component at a
// time through the dentry cache, crossing mounts, following symlinks (at most 40), keeping
// ".." inside the task's root. Linux's namei, small.
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
  /** openat2 RESOLVE_BENEATH: fail with EXDEV if the walk leaves `start`. */
  beneath?: boolean;
  /** openat2 RESOLVE_IN_ROOT: `start` acts as the root for "/" and "..". */
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

/** Permission bits: 4 read, 2 write, 1 execute/search. */
export function permission(inode: Inode, creds: Credentials, want: number): number {
  const st = inode.stat();
  const isDir = (st.mode & S_IFMT) === S_IFDIR;
  if (creds.hasCap(1 /* CAP_DAC_OVERRIDE */)) {
    // Root may do anything, except execute a file nobody may execute.
    if ((want & 1) && !isDir && (st.mode & 0o111) === 0) return -E.EACCES;
    return 0;
  }
  if (creds.hasCap(2 /* CAP_DAC_READ_SEARCH */) && (want & 2) === 0 && (!(want & 1) || isDir)) {
    return 0;
  }
  let bits: number;
  if (creds.fsuid === st.uid) bits = (st.mode >> 6) & 7;
  else if (creds.fsgid === st.gid || creds.groups.includes(st.gid)) bits = (st.mode >> 3) & 7;
  else bits = st.mode & 7;
  return (bits & want) === want ? 0 : -E.EACCES;
}

export interface ParentResult {
  dir: VfsPath;
  name: string;
  trailingSlash: boolean;
}

export class Resolver {
  constructor(private readonly ctx: FsContext, private readonly creds: Credentials) {}

  /** Resolves path from start (used when the path is relative). */
  resolve(start: VfsPath, path: string, opts: ResolveOptions): VfsPath | number {
    if (path.length === 0) return -E.ENOENT;
    if (path.length >= PATH_MAX) return -E.ENAMETOOLONG;
    const root = opts.inRoot || opts.beneath ? start : this.ctx.root;
    const links = { n: 0 };
    return this.walk(root, path.charCodeAt(0) === 47 ? root : start, path, opts, links, start);
  }

  /** Resolves all but the last component; for creat, mkdir, unlink, rename... The last
   * component is returned as a name ("." and ".." are refused by callers as needed). */
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

  private walk(
    root: VfsPath,
    cur: VfsPath,
    path: string,
    opts: ResolveOptions,
    links: { n: number },
    start: VfsPath,
  ): VfsPath | number {
    const ns = this.ctx.ns;
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
        const up = this.parentOf(cur, root);
        if (up === null) {
          if (opts.beneath) return -E.EXDEV;
          continue;
        }
        if (opts.noXdev && up.mount !== cur.mount) return -E.EXDEV;
        cur = up;
        continue;
      }
      const child = cur.dentry.child(name);
      if (typeof child === "number") return child;
      let next: VfsPath = { mount: cur.mount, dentry: child };
      const crossed = ns.crossDown(next);
      if (crossed.mount !== next.mount && opts.noXdev) return -E.EXDEV;
      next = crossed;
      const isLast = i === last;
      const inode = next.dentry.inode;
      if (inode.isSymlink() && (!isLast || opts.follow || trailingSlash)) {
        if (opts.noSymlinks) return -E.ELOOP;
        if (++links.n > MAX_SYMLINKS) return -E.ELOOP;
        if (isMagic(inode)) {
          if (opts.noMagicLinks) return -E.ELOOP;
          const target = inode.magicTarget();
          if (typeof target === "number") return target;
          cur = target;
          continue;
        }
        const target = inode.readlink();
        if (typeof target === "number") return target;
        if (target.length === 0) return -E.ENOENT;
        const rest = comps.slice(i + 1, comps.length).join("/");
        const joined = rest.length > 0 || trailingSlash ? `${target}/${rest}` : target;
        if (target.charCodeAt(0) === 47 && opts.beneath) return -E.EXDEV;
        const from = target.charCodeAt(0) === 47 ? root : cur;
        return this.walk(root, from, joined, opts, links, start);
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
