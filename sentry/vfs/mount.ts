// Mounts: filesystems grafted onto dentries of other filesystems. A (mount, dentry) pair is
// a VfsPath, the sentry's struct path.
import type { Dentry, FileSystem } from "./inode.ts";

export const MNT_READONLY = 1;
export const MNT_NOSUID = 2;
export const MNT_NODEV = 4;
export const MNT_NOEXEC = 8;

let nextMountId = 20;

export class Mount {
  readonly id = nextMountId++;
  readonly children: Mount[] = [];

  constructor(
    readonly fs: FileSystem,
    readonly root: Dentry,
    public parent: Mount | null,
    public mountpoint: Dentry | null,
    public flags: number,
    /** Options shown in /proc/mounts after the generic ones (e.g. "size=65536k,mode=755"). */
    public options = "",
  ) {}

  get readonly(): boolean {
    return (this.flags & MNT_READONLY) !== 0;
  }
}

export interface VfsPath {
  mount: Mount;
  dentry: Dentry;
}

export class MountNamespace {
  constructor(public root: Mount) {}

  /** Mounts fs at (parent, mountpoint). The newest mount on a dentry hides older ones. */
  mount(fs: FileSystem, root: Dentry, at: VfsPath, flags: number, options = ""): Mount {
    const m = new Mount(fs, root, at.mount, at.dentry, flags, options);
    at.mount.children.push(m);
    at.dentry.mountCount++;
    return m;
  }

  /** Detaches m and everything mounted below it. */
  unmount(m: Mount): void {
    for (const c of m.children.slice()) this.unmount(c);
    const p = m.parent;
    if (!p) return;
    p.children.splice(p.children.indexOf(m), 1);
    if (m.mountpoint) m.mountpoint.mountCount--;
    m.parent = null;
  }

  /** The mount on top of (mount, dentry), if any: the last one mounted there. */
  mountedOn(mount: Mount, dentry: Dentry): Mount | null {
    if (dentry.mountCount === 0) return null;
    for (let i = mount.children.length - 1; i >= 0; i--) {
      const c = mount.children[i];
      if (c.mountpoint === dentry) return c;
    }
    return null;
  }

  /** Follows mounts stacked on a path down to the top one's root. */
  crossDown(p: VfsPath): VfsPath {
    let m = this.mountedOn(p.mount, p.dentry);
    while (m) {
      p = { mount: m, dentry: m.root };
      m = this.mountedOn(p.mount, p.dentry);
    }
    return p;
  }

  /** Every mount, parents before children (for /proc/mounts). */
  all(): Mount[] {
    const out: Mount[] = [];
    const walk = (m: Mount) => {
      out.push(m);
      for (const c of m.children) walk(c);
    };
    walk(this.root);
    return out;
  }
}

/** The absolute path of p as seen from root (for getcwd, /proc/pid/fd, /proc/mounts);
 * null if p is not below root. */
export function pathString(p: VfsPath, root: VfsPath): string | null {
  const parts: string[] = [];
  let { mount, dentry } = p;
  for (let guard = 0; guard < 4096; guard++) {
    if (mount === root.mount && dentry === root.dentry) {
      return "/" + parts.reverse().join("/");
    }
    if (dentry === mount.root) {
      if (!mount.parent || !mount.mountpoint) return null;
      dentry = mount.mountpoint;
      mount = mount.parent;
      continue;
    }
    if (!dentry.parent) return null;
    parts.push(dentry.name);
    dentry = dentry.parent;
  }
  return null;
}
