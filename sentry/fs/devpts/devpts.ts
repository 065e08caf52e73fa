// devpts: /dev/pts/ptmx and /dev/pts/N. Opening ptmx (or /dev/ptmx) makes a pty pair: the
// opener gets the master, and the slave appears as /dev/pts/N (locked until TIOCSPTLCK 0,
// as glibc's unlockpt expects). Closing the master hangs the slave up and removes it.
//
// The terminals themselves (line discipline, job control) are kernel/tty's; this file is
// the filesystem and the master side. The sandbox's console, when it has one, is listed
// here too (pts 0) but has no master inside the sandbox: its device side is on the host.
import { E } from "../../abi/errno.ts";
import * as L from "../../abi/linux.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import type { Task } from "../../kernel/task.ts";
import { killPgrp } from "../../kernel/tty/jobs.ts";
import { ptyTable } from "../../kernel/tty/ptys.ts";
import {
  makeDev,
  type Terminal,
  TIOCGPKT,
  TIOCGPTLCK,
  TIOCGPTPEER,
  TIOCPKT,
  TIOCSIG,
  type TtyDevice,
} from "../../kernel/tty/terminal.ts";
import { FileDescription, type IoctlContext } from "../../vfs/file.ts";
import type { Inode, Stat } from "../../vfs/inode.ts";
import type { VfsPath } from "../../vfs/mount.ts";
import type { UserIO } from "../../vfs/userio.ts";
import { type Owner, PseudoDir, PseudoFS, PseudoInode } from "../pseudo/nodes.ts";

export const DEVPTS_SUPER_MAGIC = 0x1cd1;
/** /dev/ptmx and /dev/pts/ptmx: 5:2. */
export const PTMX_RDEV = makeDev(5, 2);
const TTY_GID = 5;

const READ_EVENTS = L.POLLIN | L.POLLRDNORM;
const WRITE_EVENTS = L.POLLOUT | L.POLLWRNORM;

/** Owner and mode of a slave node (grantpt may change them). */
interface SlaveAttrs {
  uid: number;
  gid: number;
  mode: number;
  ctimeNs: number;
}

export interface DevptsOptions {
  /** gid= of new slaves (-1: the opener's). */
  gid: number;
  /** mode= of new slaves. */
  mode: number;
  /** ptmxmode= of the ptmx node. */
  ptmxMode: number;
}

/** The devpts instance of a sandbox: every mount of devpts shows it. */
export class DevptsFS extends PseudoFS {
  readonly root: PseudoDir;
  readonly ptmx: PtmxInode;
  private readonly slaves = new WeakMap<Terminal, SlaveInode>();
  readonly attrs = new WeakMap<Terminal, SlaveAttrs>();
  opts: DevptsOptions = { gid: TTY_GID, mode: 0o620, ptmxMode: 0o666 };

  constructor(kernel: Kernel) {
    super("devpts", kernel, DEVPTS_SUPER_MAGIC);
    this.root = new PseudoDir(
      this,
      0o755,
      () => ["ptmx", ...[...ptyTable(kernel).terminals.keys()].sort((a, b) => a - b).map(String)],
      (name) => this.make(name),
      undefined,
      1,
      (name, child) =>
        name === "ptmx" ||
        (child instanceof SlaveInode && ptyTable(kernel).terminals.get(Number(name)) === child.tty),
    );
    this.ptmx = new PtmxInode(this);
  }

  private make(name: string): Inode | null {
    if (name === "ptmx") return this.ptmx;
    if (!/^(0|[1-9][0-9]*)$/.test(name)) return null;
    const tty = ptyTable(this.kernel).terminals.get(Number(name));
    return tty ? this.slaveInode(tty) : null;
  }

  slaveInode(tty: Terminal): SlaveInode {
    let s = this.slaves.get(tty);
    if (!s) {
      s = new SlaveInode(this, tty);
      this.slaves.set(tty, s);
    }
    return s;
  }

  /** Records who owns a new slave: the opener of ptmx, group tty (gid=). */
  setOwner(tty: Terminal, t: Task | null): void {
    const uid = t?.creds.fsuid ?? 0;
    const gid = this.opts.gid >= 0 ? this.opts.gid : t?.creds.fsgid ?? 0;
    this.attrs.set(tty, { uid, gid, mode: this.opts.mode, ctimeNs: this.kernel.realtimeNs() });
  }

  mountOptions(): string {
    const o = this.opts;
    return `${o.gid >= 0 ? `gid=${o.gid},` : ""}mode=${
      o.mode.toString(8).padStart(3, "0")
    },ptmxmode=${o.ptmxMode.toString(8).padStart(3, "0")}`;
  }

  /** Opens a new pty pair; the master file, or -errno. */
  openMaster(flags: number, path: VfsPath, inode: Inode, t: Task | null): FileDescription | number {
    const table = ptyTable(this.kernel);
    const tty = table.allocate();
    if (!tty) return -E.ENOSPC;
    tty.locked = true;
    this.setOwner(tty, t);
    const m = new PtyMaster(this, tty, flags, path, inode);
    tty.device = m;
    return m;
  }
}

const instances = new WeakMap<Kernel, DevptsFS>();

/** The sandbox's devpts instance. */
export function devptsOf(k: Kernel): DevptsFS {
  let fs = instances.get(k);
  if (!fs) {
    fs = new DevptsFS(k);
    instances.set(k, fs);
  }
  return fs;
}

/** /dev/pts/ptmx. */
export class PtmxInode extends PseudoInode {
  constructor(fs: DevptsFS) {
    super(fs, L.S_IFCHR | fs.opts.ptmxMode, undefined, 2);
  }
  override get mode(): number {
    return L.S_IFCHR | (this.fs as DevptsFS).opts.ptmxMode;
  }
  override stat(): Stat {
    return { ...super.stat(), mode: this.mode };
  }
  override rdev(): number {
    return PTMX_RDEV;
  }
  open(flags: number, path: VfsPath, task?: unknown): FileDescription | number {
    const fs = this.fs as DevptsFS;
    return fs.openMaster(flags, path, this, (task as Task | undefined) ?? fs.current);
  }
}

/** /dev/pts/N. */
export class SlaveInode extends PseudoInode {
  constructor(fs: DevptsFS, readonly tty: Terminal) {
    super(fs, L.S_IFCHR | 0o620, () => {
      const a = fs.attrs.get(tty);
      return a ? { uid: a.uid, gid: a.gid } : { uid: 0, gid: TTY_GID };
    }, tty.index + 3);
  }

  private get slaveAttrs(): SlaveAttrs | undefined {
    return (this.fs as DevptsFS).attrs.get(this.tty);
  }

  override get mode(): number {
    return L.S_IFCHR | (this.slaveAttrs?.mode ?? 0o620);
  }

  override stat(): Stat {
    const a = this.slaveAttrs;
    const t = a?.ctimeNs ?? this.fs.createdNs;
    return { ...super.stat(), mode: this.mode, atimeNs: t, mtimeNs: t, ctimeNs: t };
  }

  override rdev(): number {
    return this.tty.rdev;
  }

  override setattr(a: import("../../vfs/inode.ts").SetAttr): number {
    const fs = this.fs as DevptsFS;
    const cur = fs.attrs.get(this.tty) ?? { uid: 0, gid: TTY_GID, mode: 0o620, ctimeNs: 0 };
    const next = { ...cur, ctimeNs: fs.kernel.realtimeNs() };
    if (a.mode !== undefined) next.mode = a.mode & 0o7777;
    if (a.uid !== undefined) next.uid = a.uid;
    if (a.gid !== undefined) next.gid = a.gid;
    fs.attrs.set(this.tty, next);
    return 0;
  }

  open(flags: number, path: VfsPath, task?: unknown): FileDescription | number {
    return this.tty.open(flags, path, this, (task as Task | undefined) ?? this.fs.current);
  }
}

/** Packet mode (TIOCPKT): each master read starts with a status byte. */
const TIOCPKT_DATA = 0;

/** The master side of a pty pair. */
export class PtyMaster extends FileDescription implements TtyDevice {
  private packet = false;

  constructor(
    readonly devpts: DevptsFS,
    readonly tty: Terminal,
    flags: number,
    path: VfsPath,
    inode: Inode,
  ) {
    super(flags, path, inode);
  }

  private get slaveGone(): boolean {
    return this.tty.everOpened && this.tty.files.size === 0;
  }

  override read(io: UserIO, _off: number): number {
    if (!this.readable) return -E.EBADF;
    const ld = this.tty.ldisc;
    if (ld.output.length === 0) return this.slaveGone ? -E.EIO : -E.EAGAIN;
    if (this.packet) {
      if (io.total < 1) return 0;
      const data = this.tty.deviceRead(io.total - 1);
      const out = new Uint8Array(data.length + 1);
      out[0] = TIOCPKT_DATA;
      out.set(data, 1);
      return io.copyOut(out);
    }
    return io.copyOut(this.tty.deviceRead(io.total));
  }

  override write(io: UserIO, _off: number): number {
    if (!this.writable) return -E.EBADF;
    if (io.total === 0) return 0;
    const room = this.tty.ldisc.receiveRoom();
    if (room <= 0) return -E.EAGAIN;
    const data = io.copyIn(Math.min(io.total, room));
    if (typeof data === "number") return data;
    const n = this.tty.deviceWrite(data);
    return n > 0 ? n : -E.EAGAIN;
  }

  override readiness(mask: number): number {
    let r = 0;
    const ld = this.tty.ldisc;
    if (ld.output.length > 0) r |= READ_EVENTS;
    if (this.slaveGone) r |= L.POLLHUP;
    if (ld.receiveRoom() > 0) r |= WRITE_EVENTS;
    return r & (mask | L.POLLHUP | L.POLLERR);
  }

  override seek(): number {
    return -E.ESPIPE;
  }

  override ioctl(ctx: IoctlContext, cmd: number, arg: number): number {
    const t = ctx.task as Task;
    switch (cmd) {
      case L.TIOCGPTN:
        return ctx.mm.writeU32(arg, this.tty.index);
      case L.TIOCSPTLCK: {
        const v = ctx.mm.readU32(arg);
        if (v < 0) return v;
        this.tty.locked = v !== 0;
        return 0;
      }
      case TIOCGPTLCK:
        return ctx.mm.writeU32(arg, this.tty.locked ? 1 : 0);
      case TIOCPKT: {
        const v = ctx.mm.readU32(arg);
        if (v < 0) return v;
        this.packet = v !== 0;
        return 0;
      }
      case TIOCGPKT:
        return ctx.mm.writeU32(arg, this.packet ? 1 : 0);
      case TIOCSIG: {
        if (arg <= 0 || arg >= L.NSIG) return -E.EINVAL;
        killPgrp(this.tty.kernel, this.tty.pgrp, arg);
        return 0;
      }
      case TIOCGPTPEER:
        return this.openPeer(t, arg);
      default:
        return this.tty.ioctl(ctx, this, true, cmd, arg);
    }
  }

  /** TIOCGPTPEER: opens the slave without a path lookup; returns the new fd. */
  private openPeer(t: Task, flags: number): number {
    if (flags & ~(L.O_ACCMODE | L.O_NOCTTY | L.O_NONBLOCK | L.O_CLOEXEC)) return -E.EINVAL;
    const path = this.slavePath();
    const f = this.tty.open(flags, path, this.devpts.slaveInode(this.tty), t);
    if (typeof f === "number") return f;
    const fd = t.fdTable.install(f, (flags & L.O_CLOEXEC) !== 0);
    if (fd < 0) f.decRef();
    return fd;
  }

  /** Where the slave is, next to the ptmx this master came from (/dev/pts/N). */
  private slavePath(): VfsPath | null {
    const p = this.path;
    if (!p) return null;
    const ns = this.tty.kernel.mounts;
    let dir: VfsPath = { mount: p.mount, dentry: p.dentry.parent ?? p.dentry };
    if (p.mount.fs !== this.devpts) {
      const pts = dir.dentry.child("pts");
      if (typeof pts === "number") return null;
      dir = ns.crossDown({ mount: dir.mount, dentry: pts });
      if (dir.mount.fs !== this.devpts) return null;
    }
    const d = dir.dentry.child(String(this.tty.index));
    return typeof d === "number" ? null : { mount: dir.mount, dentry: d };
  }

  // ---- TtyDevice ------------------------------------------------------------------------

  outputReady(): void {
    this.waitQueue.notify(READ_EVENTS);
  }

  inputRoom(): void {
    this.waitQueue.notify(WRITE_EVENTS);
  }

  slaveClosed(): void {
    this.waitQueue.notify(L.POLLHUP | READ_EVENTS);
  }

  protected override release(): void {
    this.tty.device = null;
    this.tty.hangup();
    ptyTable(this.tty.kernel).release(this.tty);
  }
}

/** The options of a devpts mount (gid=, mode=, ptmxmode=, newinstance...). */
export function parseDevptsOptions(fs: DevptsFS, options: string[]): void {
  for (const opt of options) {
    const [k, v] = opt.split("=", 2);
    if (k === "gid" && v !== undefined) fs.opts.gid = Number(v) | 0;
    else if (k === "mode" && v !== undefined) fs.opts.mode = parseInt(v, 8) & 0o777;
    else if (k === "ptmxmode" && v !== undefined) fs.opts.ptmxMode = parseInt(v, 8) & 0o777;
  }
}

export type { Owner };
