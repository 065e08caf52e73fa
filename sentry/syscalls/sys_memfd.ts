// memfd_create and file seals: memfds are tmpfs files of an unmounted instance (their
// pages are memory-file chunks, mappable MAP_SHARED like any tmpfs file).
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import {
  F_SEAL_FUTURE_WRITE,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  MemReg,
  TmpFS,
} from "../fs/tmpfs/tmpfs.ts";
import type { FileDescription } from "../vfs/file.ts";
import { Dentry } from "../vfs/inode.ts";
import { Mount } from "../vfs/mount.ts";
import type { SyscallDef } from "./table.ts";
import { Support } from "./table.ts";

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_HUGETLB = 0x4;
const MFD_NOEXEC_SEAL = 0x8;
const MFD_EXEC = 0x10;
const F_SEAL_EXEC = 0x20;
const ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE |
  F_SEAL_EXEC;
const MFD_NAME_MAX = 249;

/** The memfd filesystem of a kernel (one per sandbox), and its mount (never attached to
 * the tree: memfds have no name anyone can open). */
const memfdMounts = new WeakMap<object, { fs: TmpFS; mount: Mount }>();

function memfdMount(t: Task): { fs: TmpFS; mount: Mount } {
  let m = memfdMounts.get(t.kernel);
  if (!m) {
    const fs = new TmpFS(t.kernel.memfile, { mode: 0o1777 });
    const root = new Dentry("/", null, fs.root);
    m = { fs, mount: new Mount(fs, root, null, null, 0) };
    memfdMounts.set(t.kernel, m);
  }
  return m;
}

function sysMemfdCreate(t: Task): number {
  const flags = t.argU32(1);
  if (
    flags &
    ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC | 0xfc000000)
  ) return -E.EINVAL;
  if (flags & MFD_HUGETLB) return -E.EINVAL;
  if ((flags & MFD_NOEXEC_SEAL) && (flags & MFD_EXEC)) return -E.EINVAL;
  const name = t.mm.readCString(t.arg(0), MFD_NAME_MAX + 1);
  if (typeof name === "number") return name === -E.ENAMETOOLONG ? -E.EINVAL : name;
  if (name.length > MFD_NAME_MAX) return -E.EINVAL;
  const { fs, mount } = memfdMount(t);
  const mode = flags & MFD_NOEXEC_SEAL ? 0o666 : 0o777;
  const node = fs.newUnnamedFile(mode, { uid: t.creds.fsuid, gid: t.creds.fsgid });
  if (typeof node === "number") return node === -E.ENOSPC ? -E.ENFILE : node;
  node.seals = flags & MFD_ALLOW_SEALING || flags & MFD_NOEXEC_SEAL ? 0 : F_SEAL_SEAL;
  if (flags & MFD_NOEXEC_SEAL) node.seals |= F_SEAL_EXEC;
  const d = new Dentry(`memfd:${name}`, mount.root, node);
  d.deleted = true;
  const f = node.open(L.O_RDWR | L.O_LARGEFILE, { mount, dentry: d });
  if (typeof f === "number") return f;
  node.data.identity = { path: `/memfd:${name} (deleted)`, dev: fs.dev, ino: node.ino };
  const fd = t.fdTable.install(f, (flags & MFD_CLOEXEC) !== 0);
  if (fd < 0) f.decRef();
  return fd;
}

/** F_ADD_SEALS / F_GET_SEALS. */
export function fcntlSeals(f: FileDescription, cmd: number, arg: number): number {
  const node = f.inode;
  if (!(node instanceof MemReg)) return -E.EINVAL;
  if (cmd === L.F_GET_SEALS) return node.seals;
  if (!f.writable) return -E.EPERM;
  if (arg & ~ALL_SEALS) return -E.EINVAL;
  if (node.seals & F_SEAL_SEAL) return -E.EPERM;
  // Sealing against writes needs the file unmapped (no writable shared mapping may
  // exist; mappings are not told apart here, so any mapping counts).
  if ((arg & F_SEAL_WRITE) && !(node.seals & F_SEAL_WRITE) && node.data.mapped) return -E.EBUSY;
  node.seals |= arg;
  return 0;
}

export const memfdSyscalls: SyscallDef[] = [
  {
    nr: Sys.memfd_create,
    fn: sysMemfdCreate,
    status: Support.Partial,
    note: "no MFD_HUGETLB; F_SEAL_WRITE refuses any existing mapping",
    args: "sx",
  },
];
