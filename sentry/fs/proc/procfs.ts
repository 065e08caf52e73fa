// procfs: the sandbox's /proc, made from kernel state when read. The top level lists one
// directory per process (threads are reachable by tid without being listed), the links self
// and thread-self (which name the reading task), and the system-wide files (system.ts).
import type { Kernel } from "../../kernel/kernel.ts";
import type { ThreadGroup } from "../../kernel/task.ts";
import { Dentry, type Inode } from "../../vfs/inode.ts";
import { PseudoDir, PseudoFS, PseudoSymlink } from "../pseudo/nodes.ts";
import { processDir } from "./pid.ts";
import { systemFiles } from "./system.ts";

export const PROC_SUPER_MAGIC = 0x9fa0;

export class ProcFS extends PseudoFS {
  readonly root: PseudoDir;

  /** fsTypes: the filesystem types the sandbox can mount (for /proc/filesystems). */
  constructor(kernel: Kernel, fsTypes: () => string[]) {
    super("proc", kernel, PROC_SUPER_MAGIC);
    const ctx = { fs: this as PseudoFS, kernel };
    const fixed: Record<string, Inode> = {
      ...systemFiles(this, kernel, fsTypes),
      self: new PseudoSymlink(this, () => {
        const t = this.current;
        return String(t ? t.tg.tgid : kernel.init?.tgid ?? 1);
      }),
      "thread-self": new PseudoSymlink(this, () => {
        const t = this.current;
        return t
          ? `${t.tg.tgid}/task/${t.tid}`
          : `${kernel.init?.tgid ?? 1}/task/${kernel.init?.tgid ?? 1}`;
      }),
      mounts: new PseudoSymlink(this, () => "self/mounts"),
      net: new PseudoSymlink(this, () => "self/net"),
    };
    const fixedNames = Object.keys(fixed).sort();
    const dirs = new WeakMap<ThreadGroup, PseudoDir>();
    const threadDirs = new WeakMap<object, PseudoDir>();
    const pidOf = (name: string): number => (/^[1-9][0-9]*$/.test(name) ? Number(name) : 0);
    const groupFor = (pid: number): ThreadGroup | null => {
      const tg = kernel.groups.get(pid);
      return tg && !tg.reaped ? tg : null;
    };
    this.root = new PseudoDir(
      this,
      0o555,
      () => [
        ...fixedNames,
        ...[...kernel.groups.values()].filter((g) => !g.reaped).map((g) => g.tgid).sort((a, b) =>
          a - b
        ).map(String),
      ],
      (name) => {
        if (fixed[name]) return fixed[name];
        const pid = pidOf(name);
        if (!pid) return null;
        const tg = groupFor(pid);
        if (tg) {
          let d = dirs.get(tg);
          if (!d) dirs.set(tg, d = processDir(ctx, tg, null));
          return d;
        }
        // A thread id: /proc/<tid> shows the thread (not listed, as on Linux).
        const t = kernel.tasks.get(pid);
        if (!t || t.tg.reaped) return null;
        let d = threadDirs.get(t);
        if (!d) threadDirs.set(t, d = processDir(ctx, t.tg, t));
        return d;
      },
      undefined,
      1,
      (name, child) => {
        if (fixed[name]) return true;
        const pid = pidOf(name);
        const tg = groupFor(pid);
        if (tg) return dirs.get(tg) === child;
        const t = kernel.tasks.get(pid);
        return !!t && !t.tg.reaped && threadDirs.get(t) === child;
      },
    );
    this.root.hidden = (name: string) => {
      const pid = pidOf(name);
      return pid > 0 && kernel.tasks.has(pid);
    };
  }

  rootDentry(): Dentry {
    return new Dentry("", null, this.root);
  }
}
