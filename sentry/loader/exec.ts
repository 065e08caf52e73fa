// execve: replaces a task's program. Finds the file (following "#!" interpreters), loads
// the ELF and its PT_INTERP into a fresh address space hosted by a fresh stub, builds the
// initial stack, and only then (the point of no return) tears down the old image.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { Reg, NUM_REGS } from "../../ffi/platform.ts";
import { BLOCK, type Task, TaskState } from "../kernel/task.ts";
import { MM, newVma, pageDown, pageUp, STACK_ANON_BASE } from "../mm/mm.ts";
import type { FileDescription } from "../vfs/file.ts";
import { MNT_NOEXEC, pathString, type VfsPath } from "../vfs/mount.ts";
import { permission } from "../vfs/resolve.ts";
import { resolveAt } from "../syscalls/util.ts";
import { buildStack, type ElfInfo, loadSpan, mapSegments, parseElf } from "./elf.ts";
import { hostAuxv } from "./hostinfo.ts";

const MAX_INTERP_DEPTH = 4;
const INITIAL_STACK = 128 * 1024;

interface Program {
  path: VfsPath;
  file: FileDescription;
  elf: ElfInfo;
}

function openExecutable(t: Task, dirfd: number, path: string, flags: number): { p: VfsPath; f: FileDescription } | number {
  const p = resolveAt(t, dirfd, path, { follow: (flags & L.AT_SYMLINK_NOFOLLOW) === 0 }, (flags & L.AT_EMPTY_PATH) !== 0);
  if (typeof p === "number") return p;
  const inode = p.dentry.inode;
  if (inode.isSymlink()) return -E.ELOOP;
  if (inode.isDir() || !inode.isRegular()) return -E.EACCES;
  if (p.mount.flags & MNT_NOEXEC) return -E.EACCES;
  const perm = permission(inode, t.creds, 1);
  if (perm < 0) return perm;
  const f = inode.open(L.O_RDONLY, p);
  if (typeof f === "number") return f;
  return { p, f };
}

function random(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function randomPages(maxPages: number): number {
  const r = new Uint32Array(2);
  crypto.getRandomValues(r);
  return ((r[0] * 4294967296 + r[1]) % maxPages) * 4096;
}

/** execve(2)/execveat(2). Returns an error, or BLOCK: the task then starts afresh when its
 * new stub thread reports ready. */
export function execve(t: Task, dirfd: number, path: string, argv: string[], envp: string[], flags: number): number {
  const k = t.kernel;
  // The new comm: the name execve was given (Linux's bprm->filename), even for a symlink
  // (busybox applets) or a "#!" script.
  const comm = (path.slice(path.lastIndexOf("/") + 1) || path).slice(0, 15);
  let prog: Program | null = null;
  let displayPath = path;
  for (let depth = 0; depth <= MAX_INTERP_DEPTH; depth++) {
    const o = openExecutable(t, dirfd, path, flags);
    if (typeof o === "number") return o;
    const head = new Uint8Array(256);
    const n = o.f.readAt(head, 0);
    if (n < 0) {
      o.f.decRef();
      return n;
    }
    if (n >= 2 && head[0] === 0x23 && head[1] === 0x21) {
      // "#!interpreter [one argument]"
      o.f.decRef();
      if (depth === MAX_INTERP_DEPTH) return -E.ELOOP;
      let end = head.indexOf(10, 2);
      if (end < 0) end = n;
      const line = String.fromCharCode(...head.subarray(2, end)).replace(/[ \t]+$/, "").replace(/^[ \t]+/, "");
      if (line.length === 0) return -E.ENOEXEC;
      const sp = line.search(/[ \t]/);
      const interp = sp < 0 ? line : line.slice(0, sp);
      const arg = sp < 0 ? "" : line.slice(sp).replace(/^[ \t]+/, "");
      const scriptName = (flags & L.AT_EMPTY_PATH) && path === "" ? `/dev/fd/${dirfd}` : path;
      argv = [interp, ...(arg ? [arg] : []), scriptName, ...argv.slice(1)];
      path = interp;
      dirfd = L.AT_FDCWD;
      flags = 0;
      continue;
    }
    const elf = parseElf(o.f, head.subarray(0, n));
    if (typeof elf === "number") {
      o.f.decRef();
      return elf;
    }
    prog = { path: o.p, file: o.f, elf };
    displayPath = path;
    break;
  }
  if (!prog) return -E.ELOOP;

  let interp: Program | null = null;
  if (prog.elf.interp !== null) {
    const o = openExecutable(t, L.AT_FDCWD, prog.elf.interp, 0);
    if (typeof o === "number") {
      prog.file.decRef();
      return o === -E.EACCES ? -E.EACCES : o === -E.ENOENT ? -E.ENOENT : o;
    }
    const head = new Uint8Array(64);
    const n = o.f.readAt(head, 0);
    const elf = n < 0 ? n : parseElf(o.f, head.subarray(0, n));
    if (typeof elf === "number") {
      o.f.decRef();
      prog.file.decRef();
      return elf === -E.ENOEXEC ? -E.ELIBBAD : elf;
    }
    interp = { path: o.p, file: o.f, elf };
  }

  // The new address space, in a new stub.
  const got = k.newStub();
  if (typeof got === "number") {
    prog.file.decRef();
    interp?.file.decRef();
    return got === -E.EAGAIN ? -E.EAGAIN : -E.ENOMEM;
  }
  const stub = got.stub;
  const mm = new MM(k.memfile, stub);
  k.registerStub(mm);
  mm.takeFirstSlot();
  const result = loadImage(t, mm, prog, interp, argv, envp, displayPath);
  prog.file.decRef();
  interp?.file.decRef();
  if (typeof result === "number") {
    mm.users = 0;
    k.dropMM(mm);
    return result;
  }

  // The point of no return: the old image goes away.
  replaceImage(t, mm, result, comm);
  if (got.ready) k.startWhenReady(t);
  return BLOCK;
}

function loadImage(
  t: Task,
  mm: MM,
  prog: Program,
  interp: Program | null,
  argv: string[],
  envp: string[],
  displayPath: string,
): Uint32Array | number {
  const limit = 0x7fff00000000;
  mm.stackTop = limit - 0x1000000 - randomPages(1 << 22);
  const stackRl = t.rlimit(L.RLIMIT_STACK).cur;
  mm.stackLimit = Math.min(stackRl, 1 << 30);
  const gap = Math.min(Math.max(mm.stackLimit, 128 * 1024 * 1024), (limit / 6) * 5);
  mm.mmapBase = pageDown(mm.stackTop - gap - randomPages(1 << 28));

  let bias = 0;
  if (prog.elf.type === 3 /* ET_DYN */) {
    const span = loadSpan(prog.elf);
    bias = pageDown(0x555555554000 + randomPages(1 << 24)) - span.lo;
  }
  const name = pathString(prog.path, t.fs.root) ?? displayPath;
  const exe = mapSegments(mm, prog.file, prog.elf, bias, name);
  if (typeof exe === "number") return exe;
  let entry = exe.entry;
  let interpBase = 0;
  if (interp) {
    const span = loadSpan(interp.elf);
    const base = mm.findFree(span.hi - span.lo);
    if (base < 0) return base;
    const iname = pathString(interp.path, t.fs.root) ?? "";
    const loaded = mapSegments(mm, interp.file, interp.elf, base - span.lo, iname);
    if (typeof loaded === "number") return loaded;
    entry = loaded.entry;
    interpBase = base;
  }
  mm.brkStart = mm.brk = pageUp(exe.end) + randomPages(0x2000);

  // The stack VMA: grows down on faults, up to RLIMIT_STACK.
  const stackVma = newVma(mm.stackTop - INITIAL_STACK, mm.stackTop, L.PROT_READ | L.PROT_WRITE, {
    growsDown: true,
    name: "[stack]",
    anonPg: STACK_ANON_BASE,
  });
  if (prog.elf.execStack) stackVma.prot |= L.PROT_EXEC;
  mm.insert(stackVma);

  const h = hostAuxv();
  const c = t.creds;
  const vdsoBase = t.kernel.vdso.map(mm);
  const auxv: Array<[number, number]> = [
    ...(vdsoBase > 0 ? [[L.AT_SYSINFO_EHDR, vdsoBase] as [number, number]] : []),
    [L.AT_HWCAP, h.hwcap],
    [L.AT_PAGESZ, 4096],
    [L.AT_CLKTCK, 100],
    [L.AT_PHDR, exe.phdrAddr],
    [L.AT_PHENT, 56],
    [L.AT_PHNUM, prog.elf.phnum],
    [L.AT_BASE, interpBase],
    [L.AT_FLAGS, 0],
    [L.AT_ENTRY, exe.entry],
    [L.AT_UID, c.ruid],
    [L.AT_EUID, c.euid],
    [L.AT_GID, c.rgid],
    [L.AT_EGID, c.egid],
    [L.AT_SECURE, 0],
    [L.AT_RANDOM, -1],
    [L.AT_HWCAP2, h.hwcap2],
    [L.AT_EXECFN, -1],
    [L.AT_PLATFORM, -1],
    [L.AT_MINSIGSTKSZ, h.minsigstksz],
  ];
  const st = buildStack(mm, mm.stackTop, argv, envp, displayPath, auxv, random(16));
  if (typeof st === "number") return st;
  mm.argStart = st.argStart;
  mm.argEnd = st.argEnd;
  mm.envStart = st.envStart;
  mm.envEnd = st.envEnd;
  mm.auxv = st.auxv;
  mm.exePath = name;
  mm.exe = prog.path;

  const regs = new Uint32Array(2 * NUM_REGS);
  const set = (r: Reg, v: number) => {
    regs[2 * r] = v >>> 0;
    regs[2 * r + 1] = Math.floor(v / 4294967296) >>> 0;
  };
  set(Reg.RIP, entry);
  set(Reg.RSP, st.sp);
  set(Reg.EFLAGS, 0x202);
  set(Reg.ORIG_RAX, -1 >>> 0);
  regs[2 * Reg.ORIG_RAX + 1] = 0xffffffff;
  return regs;
}

function replaceImage(t: Task, mm: MM, regs: Uint32Array, comm: string): void {
  const k = t.kernel;
  const tg = t.tg;
  // Other threads of the process die (de_thread).
  for (const other of tg.tasks.slice()) {
    if (other === t || other.state === TaskState.Dead) continue;
    other.killRequested = true;
    if (other.state === TaskState.Running) k.platform.interrupt(other.slotId);
    else if (other.state !== TaskState.InKernel) k.exitTask(other);
  }
  // Files: unshare a table shared with another process, then close-on-exec.
  if (t.fdTable.users > 1 && !tg.tasks.every((o) => o === t || o.fdTable !== t.fdTable)) {
    // still shared with threads being killed: they drop their reference as they exit
  }
  if (t.fdTable.users > 1) {
    const own = t.fdTable.fork();
    t.fdTable.users--;
    t.fdTable = own;
  }
  t.fdTable.closeOnExec();
  // Signal handlers: caught signals go back to default; a shared table is unshared.
  if (tg.sighand.users > 1) {
    tg.sighand.users--;
    tg.sighand = tg.sighand.clone();
  }
  tg.sighand.actions = tg.sighand.actions.map((a) =>
    a.handler === L.SIG_IGN ? a : { handler: L.SIG_DFL, flags: 0, restorer: 0, mask: 0n }
  );
  t.altStack = { sp: 0, size: 0, flags: L.SS_DISABLE };
  t.clearChildTid = 0;
  t.robustList = 0;
  // The old address space: freed, or (vfork) left to its other users.
  const old = t.mm;
  const oldSlot = t.slotId;
  old.users--;
  if (old.users === 0) {
    k.dropMM(old);
  } else if (!old.stubKilled) {
    const s = t.slot;
    s.clearOps();
    s.addOp(5 /* Op.ExitThread */, 0, 0, 0, 0);
    k.platform.resume(oldSlot);
    old.releaseSlot(oldSlot);
  }
  t.mm = mm;
  k.bindSlot(t, mm.stub * 1024);
  t.state = TaskState.Starting;
  t.startRegs = regs;
  t.startFp = null;
  t.comm = comm;
  tg.comm = comm;
  const vp = tg.vforkParent;
  if (vp) {
    tg.vforkParent = null;
    vp.vforkDone = true;
    if (vp.state === TaskState.Blocked) k.wake(vp);
  }
}
