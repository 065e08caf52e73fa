// Special files whose behaviour lives outside the filesystems that hold them: named pipes
// (FIFOs), unix socket files and device nodes. A filesystem that stores such an inode
// (tmpfs, the overlay, a host tree) calls these hooks from its open(); the subsystem that
// implements the behaviour sets them when its module loads.
//
// Contract for FIFOs: openFifo(inode, flags, path, task) returns a FileDescription, a
// negative errno, or BLOCK / -ERESTARTSYS after calling task.block() (an open for reading
// waits for a writer, as Linux does). The handler then runs again from the start, so the
// hook must keep what it needs in task.sysState or in inode.fifoState (one pipe shared
// by every opener of the inode).
//
// Contract for sockets: bind() creates the file with mknodAt() (sys_fsmeta.ts) using
// S_IFSOCK and sets inode.boundSocket; connect() resolves the path and reads it. Opening a
// socket file gives ENXIO.
//
// Devices: openDevice(rdev, flags, path, task) gives the device's file for a character or
// block node made with mknod (e.g. /tmp/null made with `mknod c 1 3`); devfs provides its
// own inodes and need not go through here.
import { E } from "../abi/errno.ts";
import type { FileDescription } from "./file.ts";
import type { Inode } from "./inode.ts";
import type { VfsPath } from "./mount.ts";

export type FifoOpener = (
  inode: Inode,
  flags: number,
  path: VfsPath,
  task: unknown,
) => FileDescription | number;
export type DeviceOpener = (
  rdev: number,
  isBlock: boolean,
  flags: number,
  path: VfsPath,
  task: unknown,
) => FileDescription | number;

export const special: { openFifo: FifoOpener | null; openDevice: DeviceOpener | null } = {
  openFifo: null,
  openDevice: null,
};

/** What a filesystem's open() does for a FIFO. */
export function openFifo(
  inode: Inode,
  flags: number,
  path: VfsPath,
  task: unknown,
): FileDescription | number {
  return special.openFifo ? special.openFifo(inode, flags, path, task) : -E.ENXIO;
}

/** What a filesystem's open() does for a character or block device node. */
export function openDevice(
  rdev: number,
  isBlock: boolean,
  flags: number,
  path: VfsPath,
  task: unknown,
): FileDescription | number {
  return special.openDevice ? special.openDevice(rdev, isBlock, flags, path, task) : -E.ENXIO;
}
