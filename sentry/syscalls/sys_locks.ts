// File locks: fcntl record locks (F_GETLK/F_SETLK/F_SETLKW, and the OFD variants) and
// flock(2). The lock tables are in vfs/locks.ts; waiting uses t.block on the file's lock
// wait queue, and the call runs again from the start when any lock on the file changes.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Sys } from "../abi/sysno.ts";
import type { Task } from "../kernel/task.ts";
import { closeHooks, type FdTable } from "../vfs/fdtable.ts";
import { type FileDescription, PathFile, SEEK_CUR, SEEK_END, SEEK_SET } from "../vfs/file.ts";
import {
  doneWaiting,
  F_RDLCK,
  F_UNLCK,
  F_WRLCK,
  flock,
  hasLocks,
  lockWaitQueue,
  type RecordLock,
  releaseRecordLocks,
  setLock,
  startWaiting,
  testLock,
} from "../vfs/locks.ts";
import type { SyscallDef } from "./table.ts";

// POSIX locks belong to the fd table (Linux's files_struct): any close of the file by
// their owner releases them.
closeHooks.push((table: FdTable, f: FileDescription) => {
  if (f.inode && hasLocks(f.inode)) releaseRecordLocks(f.inode, table);
});

const MAX_OFF = Number.MAX_SAFE_INTEGER;

/** Decodes a struct flock into a range; -errno for a bad one. */
function decodeFlock(
  f: FileDescription,
  b: Uint8Array,
): { type: number; start: number; end: number; pid: number } | number {
  const dv = new DataView(b.buffer, b.byteOffset, 32);
  const type = dv.getInt16(0, true);
  const whence = dv.getInt16(2, true);
  const start = dv.getInt32(12, true) * 4294967296 + dv.getUint32(8, true);
  const len = dv.getInt32(20, true) * 4294967296 + dv.getUint32(16, true);
  const pid = dv.getInt32(24, true);
  if (type !== F_RDLCK && type !== F_WRLCK && type !== F_UNLCK) return -E.EINVAL;
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = f.offset;
  else if (whence === SEEK_END) {
    const st = f.stat();
    if (typeof st === "number") return st;
    base = st.size;
  } else return -E.EINVAL;
  let s = base + start;
  let e: number;
  if (len > 0) e = s + len - 1;
  else if (len === 0) e = Infinity;
  else {
    e = s - 1;
    s = s + len;
  }
  if (s < 0) return -E.EINVAL;
  if (s > MAX_OFF) return -E.EOVERFLOW;
  return { type, start: s, end: e, pid };
}

function encodeFlock(type: number, start: number, end: number, pid: number): Uint8Array {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  dv.setInt16(0, type, true);
  dv.setInt16(2, SEEK_SET, true);
  const set64 = (o: number, v: number) => {
    dv.setUint32(o, v >>> 0, true);
    dv.setInt32(o + 4, Math.floor(v / 4294967296), true);
  };
  set64(8, start);
  set64(16, end === Infinity ? 0 : end - start + 1);
  dv.setInt32(24, pid, true);
  return b;
}

/** fcntl's lock commands. */
export function fcntlLock(t: Task, f: FileDescription, cmd: number, arg: number): number {
  if (f instanceof PathFile || !f.inode) return -E.EBADF;
  const b = t.mm.copyIn(arg, 32);
  if (typeof b === "number") return b;
  const r = decodeFlock(f, b);
  if (typeof r === "number") return r;
  const ofd = cmd === L.F_OFD_GETLK || cmd === L.F_OFD_SETLK || cmd === L.F_OFD_SETLKW;
  if (ofd && r.pid !== 0) return -E.EINVAL;
  const owner: object = ofd ? f : t.fdTable;
  const want: RecordLock = {
    type: r.type,
    start: r.start,
    end: r.end,
    owner,
    pid: ofd ? -1 : t.tg.tgid,
    ofd,
  };
  if (cmd === L.F_GETLK || cmd === L.F_OFD_GETLK) {
    if (r.type === F_UNLCK) return -E.EINVAL;
    const h = testLock(f.inode, want);
    const out = h
      ? encodeFlock(h.type, h.start, h.end, h.pid)
      : encodeFlock(F_UNLCK, r.start, r.end, r.pid);
    if (!h) {
      // Linux leaves the rest as the caller gave it and sets only l_type.
      out.set(b.subarray(2, 32), 2);
    }
    return t.mm.copyOut(arg, out);
  }
  if (r.type === F_RDLCK && !f.readable) return -E.EBADF;
  if (r.type === F_WRLCK && !f.writable) return -E.EBADF;
  const held = setLock(f.inode, want);
  if (held === 0) {
    doneWaiting(owner);
    return 0;
  }
  if (cmd === L.F_SETLK || cmd === L.F_OFD_SETLK) return -E.EAGAIN;
  const dl = ofd ? 0 : startWaiting(owner, held);
  if (dl < 0) return dl;
  const rc = t.block([[lockWaitQueue(f.inode), ~0]]);
  if (rc !== -100000 /* BLOCK */) doneWaiting(owner);
  return rc === -E.ERESTARTSYS ? -E.ERESTARTSYS : rc;
}

const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

function sysFlock(t: Task): number {
  const f = t.fdTable.get(t.argInt(0));
  if (!f) return -E.EBADF;
  if (f instanceof PathFile || !f.inode) return -E.EBADF;
  const op = t.argInt(1);
  const kind = op & ~LOCK_NB;
  if (kind !== LOCK_SH && kind !== LOCK_EX && kind !== LOCK_UN) return -E.EINVAL;
  const rc = flock(f.inode, f, kind);
  if (rc !== -E.EAGAIN || (op & LOCK_NB)) return rc;
  return t.block([[lockWaitQueue(f.inode), ~0]]);
}

export const lockSyscalls: SyscallDef[] = [
  { nr: Sys.flock, fn: sysFlock, args: "fx" },
];
