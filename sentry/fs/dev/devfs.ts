// /dev: a tmpfs holding the standard device nodes and links, as Linux's devtmpfs and
// container runtimes set it up. The nodes open through devices.ts; /dev/pts and /dev/shm
// are mount points for devpts and a tmpfs.
import * as L from "../../abi/linux.ts";
import type { Inode, Owner } from "../../vfs/inode.ts";
import { Dentry } from "../../vfs/inode.ts";
import { TmpFS } from "../tmpfs/tmpfs.ts";
import type { MemoryFile } from "../../mm/memfile.ts";
import { RDEV } from "./devices.ts";

const TTY_GID = 5;

/** The device nodes, directories and links of a container's /dev, made in directory dir
 * (any filesystem that supports mknod: devfs, or an OCI bundle's /dev tmpfs). Entries that
 * already exist are left alone. */
export function populateDev(dir: Inode, owner: Owner = { uid: 0, gid: 0 }): void {
  const nodes: Array<[string, number, number, number]> = [
    ["null", 0o666, RDEV.null, owner.gid],
    ["zero", 0o666, RDEV.zero, owner.gid],
    ["full", 0o666, RDEV.full, owner.gid],
    ["random", 0o666, RDEV.random, owner.gid],
    ["urandom", 0o666, RDEV.urandom, owner.gid],
    ["tty", 0o666, RDEV.tty, TTY_GID],
    ["console", 0o620, RDEV.console, TTY_GID],
    ["ptmx", 0o666, RDEV.ptmx, TTY_GID],
  ];
  for (const [name, mode, rdev, gid] of nodes) {
    dir.mknod(name, L.S_IFCHR | mode, rdev, { uid: owner.uid, gid });
  }
  dir.mkdir("pts", 0o755, owner);
  dir.mkdir("shm", 0o1777, owner);
  dir.mkdir("mqueue", 0o1777, owner);
  const links: Array<[string, string]> = [
    ["fd", "/proc/self/fd"],
    ["stdin", "/proc/self/fd/0"],
    ["stdout", "/proc/self/fd/1"],
    ["stderr", "/proc/self/fd/2"],
    ["core", "/proc/kcore"],
  ];
  for (const [name, target] of links) dir.symlink(name, target, owner);
}

/** A new /dev: a small tmpfs (64 MiB, mode 755) with the standard nodes. */
export function makeDevfs(memfile: MemoryFile): { fs: TmpFS; root: Dentry } {
  const fs = new TmpFS(memfile, { type: "devtmpfs", mode: 0o755, maxBytes: 64 * 1024 * 1024 });
  populateDev(fs.root);
  return { fs, root: new Dentry("", null, fs.root) };
}
