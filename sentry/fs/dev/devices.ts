// Character devices by number, as Linux numbers them: 1:3 null, 1:5 zero, 1:7 full,
// 1:8 random, 1:9 urandom, 5:0 tty (the caller's controlling terminal), 5:1 console,
// 5:2 ptmx, 136:N pty slaves. A device node on any filesystem (devfs, a tmpfs where the
// guest ran mknod, the overlay) opens through vfs/special.ts's openDevice hook, set here.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Task } from "../../kernel/task.ts";
import { controllingTty } from "../../kernel/tty/jobs.ts";
import { ptyTable } from "../../kernel/tty/ptys.ts";
import { makeDev, Terminal, UNIX98_PTY_SLAVE_MAJOR } from "../../kernel/tty/terminal.ts";
import { FileDescription, type IoctlContext } from "../../vfs/file.ts";
import type { Inode } from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import { special } from "../../vfs/special.ts";
import type { UserIO } from "../../vfs/userio.ts";
import type { MemoryFile } from "../../mm/memfile.ts";
import { AnonMemory, type Mappable } from "../../mm/objects.ts";
import { devptsOf } from "../devpts/devpts.ts";

export const MEM_MAJOR = 1;
export const TTYAUX_MAJOR = 5;
export const RDEV = {
  null: makeDev(1, 3),
  zero: makeDev(1, 5),
  full: makeDev(1, 7),
  random: makeDev(1, 8),
  urandom: makeDev(1, 9),
  tty: makeDev(5, 0),
  console: makeDev(5, 1),
  ptmx: makeDev(5, 2),
};

const RNDGETENTCNT = 0x80045200;
const ZEROS = new Uint8Array(65536);

function majorOf(rdev: number): number {
  return (rdev >> 8) & 0xfff;
}
function minorOf(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
}

/** A device file with no data of its own (null, zero, full, random). */
abstract class DeviceFile extends FileDescription {
  override seek(): number {
    // Linux: these devices accept any seek and stay at 0.
    return 0;
  }
  override readiness(mask: number): number {
    return mask & (L.POLLIN | L.POLLOUT | L.POLLRDNORM | L.POLLWRNORM);
  }
}

/** /dev/null: reads end at once, writes vanish. */
export class NullFile extends DeviceFile {
  override read(): number {
    return 0;
  }
  override write(io: UserIO): number {
    return io.total;
  }
  override readAt(): number {
    return 0;
  }
}

/** Fills a reader's buffers with zeros. */
function readZeros(io: UserIO): number {
  let done = 0;
  while (done < io.total) {
    const n = Math.min(ZEROS.length, io.total - done);
    const rc = io.copyOut(ZEROS.subarray(0, n), done);
    if (rc < 0) return done > 0 ? done : rc;
    done += rc;
    if (rc < n) break;
  }
  return done;
}

/** /dev/zero: endless zeros; writes vanish; mmap gives fresh anonymous memory (shared
 * mappings share it with forked children, as Linux's shmem_zero_setup does). */
export class ZeroFile extends DeviceFile {
  private readonly objects: AnonMemory[] = [];

  constructor(
    flags: number,
    path: VfsPath,
    inode: Inode,
    private readonly memfile: MemoryFile | null,
  ) {
    super(flags, path, inode);
  }

  override mappable(): Mappable | number {
    if (!this.memfile) return -E.ENODEV;
    const m = new AnonMemory(this.memfile);
    m.identity = { path: "/dev/zero (deleted)", dev: 0, ino: 0 };
    // This file holds the first reference until it is closed; the mappings hold theirs.
    this.objects.push(m);
    return m;
  }

  protected override release(): void {
    for (const m of this.objects) m.decRef();
    this.objects.length = 0;
  }

  override read(io: UserIO): number {
    return readZeros(io);
  }
  override write(io: UserIO): number {
    return io.total;
  }
  override readAt(buf: Uint8Array): number {
    buf.fill(0);
    return buf.length;
  }
}

/** /dev/full: zeros to read, no space to write. */
export class FullFile extends DeviceFile {
  override read(io: UserIO): number {
    return readZeros(io);
  }
  override write(io: UserIO): number {
    return io.total === 0 ? 0 : -E.ENOSPC;
  }
}

/** /dev/random and /dev/urandom: the host's CSPRNG (never blocks, as on Linux >= 5.6 once
 * seeded). Writes are accepted and ignored. */
export class RandomFile extends DeviceFile {
  override read(io: UserIO): number {
    let done = 0;
    const buf = new Uint8Array(65536);
    while (done < io.total) {
      const n = Math.min(buf.length, io.total - done);
      crypto.getRandomValues(buf.subarray(0, n));
      const rc = io.copyOut(buf.subarray(0, n), done);
      if (rc < 0) return done > 0 ? done : rc;
      done += rc;
      if (rc < n || done >= 1 << 25) break;
    }
    return done;
  }
  override write(io: UserIO): number {
    return io.total;
  }
  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    if (cmd === RNDGETENTCNT) return ctx.mm.writeU32(arg, 256);
    return -E.EINVAL;
  }
}

/** Opens character device rdev for task t. */
export function openCharDevice(
  rdev: number,
  flags: number,
  path: VfsPath,
  inode: Inode,
  t: Task | null,
): FileDescription | number {
  const major = majorOf(rdev), minor = minorOf(rdev);
  if (major === MEM_MAJOR) {
    switch (minor) {
      case 3:
        return new NullFile(flags, path, inode);
      case 5:
        return new ZeroFile(flags, path, inode, t?.kernel.memfile ?? null);
      case 7:
        return new FullFile(flags, path, inode);
      case 8:
      case 9:
        return new RandomFile(flags, path, inode);
    }
    return -E.ENXIO;
  }
  if (!t) return -E.ENXIO;
  if (major === TTYAUX_MAJOR) {
    switch (minor) {
      case 0: {
        // /dev/tty: the caller's controlling terminal, whatever it is.
        const tty = controllingTty(t.tg);
        if (!(tty instanceof Terminal)) return -E.ENXIO;
        return tty.open(flags | L.O_NOCTTY, path, inode, t);
      }
      case 1: {
        const con = ptyTable(t.kernel).console;
        if (!con) return -E.ENXIO;
        return con.open(flags | L.O_NOCTTY, path, inode, t);
      }
      case 2:
        return devptsOf(t.kernel).openMaster(flags, path, inode, t);
    }
    return -E.ENXIO;
  }
  if (major === UNIX98_PTY_SLAVE_MAJOR) {
    const tty = ptyTable(t.kernel).terminals.get(minor);
    if (!tty) return -E.ENXIO;
    return tty.open(flags, path, inode, t);
  }
  return -E.ENXIO;
}

special.openDevice = (rdev, isBlock, flags, path, task) => {
  if (isBlock) return -E.ENXIO;
  return openCharDevice(rdev, flags, path, path.dentry.inode, (task as Task | undefined) ?? null);
};
