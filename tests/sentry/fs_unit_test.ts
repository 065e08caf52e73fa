// The VFS pieces on their own, without a sandbox: tmpfs file pages and their accounting,
// the overlay's whiteouts, opaque directories, renames and copy-up (over a tmpfs playing
// the lower layer, which must never change), path resolution limits, and record locks.
import { assert, assertEquals } from "./fs_helpers.ts";
import type { Platform } from "../../ffi/platform.ts";
import { CHUNK, MemoryFile } from "../../sentry/mm/memfile.ts";
import { FileData } from "../../sentry/fs/tmpfs/filedata.ts";
import { type MemDir, type MemReg, TmpFS } from "../../sentry/fs/tmpfs/tmpfs.ts";
import { Overlay } from "../../sentry/fs/overlay/overlay.ts";
import { Dentry, type Inode } from "../../sentry/vfs/inode.ts";
import { Mount, MountNamespace, type VfsPath } from "../../sentry/vfs/mount.ts";
import { Resolver } from "../../sentry/vfs/resolve.ts";
import { F_RDLCK, F_UNLCK, F_WRLCK, setLock, testLock } from "../../sentry/vfs/locks.ts";
import { Creds } from "../../sentry/kernel/creds.ts";
import { E } from "../../sentry/abi/errno.ts";

/** A memory file over a plain buffer (no platform): punch zeroes, nothing is committed. */
function fakeMemfile(chunks = 64): MemoryFile {
  const mem = new Uint8Array(chunks * CHUNK);
  const platform = {
    mem,
    memSize: mem.length,
    punch(off: number, len: number) {
      mem.fill(0, off, off + len);
      return 0;
    },
    sym: { sb_mem_committed: () => 0 },
  };
  return new MemoryFile(platform as unknown as Platform);
}

/** Writes bytes at pos through a scratch range of the memory file. */
function writeAt(mf: MemoryFile, d: FileData, pos: number, bytes: Uint8Array): number {
  const off = mf.allocChunk();
  mf.mem.set(bytes, off);
  const n = d.writeFrom(pos, new Float64Array([off, bytes.length]));
  mf.free(off, CHUNK);
  return n;
}

function readAll(d: FileData): string {
  const b = new Uint8Array(d.size);
  d.readInto(b, 0);
  return new TextDecoder().decode(b);
}

const enc = (s: string) => new TextEncoder().encode(s);
const owner = { uid: 0, gid: 0 };

Deno.test("tmpfs pages: writes, holes, truncation and the space they are charged", () => {
  const mf = fakeMemfile();
  let used = 0;
  const account = {
    charge: (n: number) => {
      if (used + n > 2 * CHUNK) return false;
      used += n;
      return true;
    },
    uncharge: (n: number) => {
      used -= n;
    },
  };
  const d = new FileData(mf, account);
  assertEquals(writeAt(mf, d, 0, enc("hello")), 5, "small write");
  assertEquals(used, 4096, "a small file costs one page");
  assertEquals(writeAt(mf, d, 2 * CHUNK + 10, enc("x")), 1, "write past a hole");
  assertEquals(d.size, 2 * CHUNK + 11, "size");
  assertEquals(used, CHUNK + 4096, "the first chunk is full, the third holds one page");
  assertEquals(d.seekData(CHUNK + 5, false), 2 * CHUNK, "SEEK_DATA skips the hole");
  assertEquals(d.seekData(5, true), CHUNK, "SEEK_HOLE finds it");
  const b = new Uint8Array(3);
  d.readInto(b, 100);
  assertEquals(b.join(","), "0,0,0", "a hole reads as zeros");
  assertEquals(writeAt(mf, d, 3 * CHUNK, enc("too far")), -E.ENOSPC, "over the limit");
  assertEquals(d.size, 2 * CHUNK + 11, "a failed write leaves the size");
  assertEquals(used, CHUNK + 4096, "and its charges are given back");
  assertEquals(d.resize(3), 0, "shrink");
  assertEquals(readAll(d), "hel", "content after shrink");
  assertEquals(used, 4096, "shrinking gives space back");
  assertEquals(d.resize(10), 0, "grow again");
  assertEquals(readAll(d), "hel\0\0\0\0\0\0\0", "the tail is zeros, not the old bytes");
  d.decRef();
  assertEquals(used, 0, "everything back when the file goes");
});

Deno.test("tmpfs: names, links, the inode limit, unlinked files kept while open", () => {
  const fs = new TmpFS(fakeMemfile(), { maxBytes: 4 * CHUNK, maxInodes: 3 });
  const root = fs.root;
  const a = root.create("a", 0o644, owner) as MemReg;
  assert(typeof a !== "number", "create");
  assertEquals(root.create("a", 0o644, owner), -E.EEXIST, "create existing");
  assertEquals(root.link("b", a), 0, "link");
  assertEquals(a.stat().nlink, 2, "nlink 2");
  root.mkdir("d", 0o755, owner);
  assertEquals(root.stat().nlink, 3, "parent nlink counts subdirectories");
  assertEquals(root.mkdir("e", 0o755, owner), -E.ENOSPC, "inode limit (root, a, d)");
  assertEquals(root.rmdir("a"), -E.ENOTDIR, "rmdir a file");
  assertEquals(root.unlink("d"), -E.EISDIR, "unlink a directory");
  const f = a.open(2, null as unknown as VfsPath);
  assert(typeof f !== "number", "open");
  assertEquals(root.unlink("a"), 0, "unlink a");
  assertEquals(root.unlink("b"), 0, "unlink b");
  assertEquals(a.freed, false, "still open: not freed");
  f.decRef();
  assertEquals(a.freed, true, "freed on the last close");
  assertEquals(fs.usedInodes, 2, "its inode is back");
});

/** A lower tree (a tmpfs) and an overlay over it. */
function overlayOver() {
  const mf = fakeMemfile(256);
  const lower = new TmpFS(mf);
  const lr = lower.root;
  const etc = lr.mkdir("etc", 0o755, owner) as MemDir;
  const passwd = etc.create("passwd", 0o644, owner) as MemReg;
  writeAt(mf, passwd.data, 0, enc("root:x:0:0\n"));
  const sub = etc.mkdir("sub", 0o755, owner) as MemDir;
  sub.create("inner", 0o644, owner);
  etc.symlink("link", "passwd", owner);
  const ov = new Overlay(mf, lr, { maxBytes: 8 * CHUNK });
  return { mf, lower, ov, lowerEtc: etc, lowerPasswd: passwd };
}

function names(dir: Inode): string {
  const l = dir.readdir();
  if (typeof l === "number") return `error ${l}`;
  return l.map((e) => e.name).filter((n) => n !== "." && n !== "..").sort().join(" ");
}

Deno.test("overlay: removals leave whiteouts, the lower tree never changes", () => {
  const { ov, lowerEtc } = overlayOver();
  const etc = ov.root.lookup("etc") as MemDir;
  assertEquals(names(etc), "link passwd sub", "merged listing");
  assertEquals(etc.unlink("passwd"), 0, "unlink a lower file");
  assertEquals(etc.lookup("passwd"), -E.ENOENT, "gone from the overlay");
  assertEquals(names(etc), "link sub", "and from the listing");
  assertEquals(names(lowerEtc), "link passwd sub", "lower unchanged");
  assertEquals(etc.rmdir("sub"), -E.ENOTEMPTY, "a non-empty merged directory");
  const sub = etc.lookup("sub") as MemDir;
  assertEquals(sub.unlink("inner"), 0, "empty it");
  assertEquals(etc.rmdir("sub"), 0, "then remove it");
  const again = etc.mkdir("sub", 0o700, owner) as MemDir;
  assertEquals(names(again), "", "a directory made again is opaque: the lower names stay hidden");
  assertEquals(names(lowerEtc), "link passwd sub", "lower still unchanged");
});

Deno.test("overlay: copy-up on write, renames of lower directories, hard links", () => {
  const { mf, ov, lowerPasswd } = overlayOver();
  const etc = ov.root.lookup("etc") as MemDir;
  const passwd = etc.lookup("passwd") as MemReg;
  assertEquals(passwd.stat().size, 11, "size from the lower file");
  assertEquals(passwd.prepareWrite(), 0, "copy-up");
  writeAt(mf, passwd.data, 0, enc("ROOT"));
  assertEquals(readAll(passwd.data), "ROOT:x:0:0\n", "upper content");
  assertEquals(readAll(lowerPasswd.data), "root:x:0:0\n", "lower content unchanged");
  assertEquals(passwd.setattr({ mode: 0o600 }), 0, "chmod");
  assertEquals(lowerPasswd.stat().mode & 0o777, 0o644, "lower mode unchanged");
  // A lower directory renamed keeps its lower contents wherever it goes.
  assertEquals(ov.root.rename("etc", ov.root, "moved", 0), 0, "rename a lower directory");
  assertEquals(ov.root.lookup("etc"), -E.ENOENT, "old name whited out");
  const moved = ov.root.lookup("moved") as MemDir;
  assertEquals(names(moved), "link passwd sub", "contents moved with it");
  assertEquals(names(ov.root), "moved", "root listing");
  assertEquals((moved.lookup("link") as Inode).readlink(), "passwd", "lower symlink target");
  assertEquals(moved.link("hard", passwd), 0, "hard link to a copied-up file");
  assertEquals(passwd.stat().nlink, 2, "nlink");
});

Deno.test("overlay: the upper layer's size limit", () => {
  const { mf, ov } = overlayOver();
  const f = ov.root.create("big", 0o644, owner) as MemReg;
  const chunk = new Uint8Array(CHUNK).fill(1);
  let written = 0, last = 0;
  for (let i = 0; i < 20; i++) {
    last = writeAt(mf, f.data, written, chunk);
    if (last < 0) break;
    written += last;
  }
  assertEquals(last, -E.ENOSPC, "ENOSPC at the limit");
  assertEquals(written, 8 * CHUNK, "exactly the limit was written");
});

function tree(): { ns: MountNamespace; root: VfsPath; fs: TmpFS } {
  const fs = new TmpFS(fakeMemfile());
  const rootD = new Dentry("", null, fs.root);
  const mount = new Mount(fs, rootD, null, null, 0);
  return { ns: new MountNamespace(mount), root: { mount, dentry: rootD }, fs };
}

Deno.test("resolution: 40 symlinks, loops, .. at the root, scoped lookups", () => {
  const { ns, root, fs } = tree();
  const r = new Resolver({ root, cwd: root, umask: 0o22, ns }, Creds.root());
  const d = fs.root.mkdir("d", 0o755, owner) as MemDir;
  d.create("f", 0o644, owner);
  fs.root.symlink("l0", "d/f", owner);
  for (let i = 1; i <= 41; i++) fs.root.symlink(`l${i}`, `l${i - 1}`, owner);
  fs.root.symlink("loop", "loop", owner);
  fs.root.symlink("abs", "/d/f", owner);
  const ok = (p: string) => typeof r.resolve(root, p, { follow: true }) !== "number";
  assert(ok("l39"), "40 links resolve");
  assertEquals(r.resolve(root, "l40", { follow: true }), -E.ELOOP, "41 do not");
  assertEquals(r.resolve(root, "loop", { follow: true }), -E.ELOOP, "a loop");
  assert(ok("../../../d/f"), ".. stops at the root");
  assertEquals(r.resolve(root, "d/f/", { follow: true }), -E.ENOTDIR, "trailing slash on a file");
  const dpath = r.resolve(root, "d", { follow: true }) as VfsPath;
  assertEquals(
    r.resolve(dpath, "../d/f", { follow: true, beneath: true }),
    -E.EXDEV,
    "beneath: ..",
  );
  assertEquals(
    r.resolve(dpath, "/d/f", { follow: true, beneath: true }),
    -E.EXDEV,
    "beneath: absolute",
  );
  assertEquals(r.resolve(root, "abs", { follow: true, noSymlinks: true }), -E.ELOOP, "no symlinks");
  const inRoot = r.resolve(dpath, "../../f", { follow: true, inRoot: true });
  assert(
    typeof inRoot !== "number" && inRoot.dentry.name === "f",
    "in root: .. clamps at the start",
  );
});

Deno.test("record locks: conflicts, splitting and merging", () => {
  const { fs } = tree();
  const f = fs.root.create("f", 0o644, owner) as Inode;
  const p1 = {}, p2 = {};
  const lock = (owner: object, type: number, start: number, end: number) =>
    setLock(f, { type, start, end, owner, pid: owner === p1 ? 1 : 2, ofd: false });
  assertEquals(lock(p1, F_WRLCK, 0, 99), 0, "p1 write-locks 0-99");
  assertEquals(lock(p1, F_UNLCK, 40, 59), 0, "p1 unlocks the middle");
  assertEquals(
    testLock(f, { type: F_WRLCK, start: 50, end: 50, owner: p2, pid: 2, ofd: false }),
    null,
    "the middle is free",
  );
  const held = testLock(f, { type: F_RDLCK, start: 30, end: 45, owner: p2, pid: 2, ofd: false });
  assert(held !== null && held.start === 0 && held.end === 39, "the first piece conflicts");
  assertEquals(lock(p2, F_RDLCK, 40, 59), 0, "p2 read-locks the gap");
  assert(lock(p1, F_WRLCK, 50, 50) !== 0, "p1 cannot write-lock over p2's read lock");
  assertEquals(lock(p1, F_RDLCK, 40, 49), 0, "but may read-lock beside it");
  assertEquals(lock(p2, F_UNLCK, 0, Infinity), 0, "p2 unlocks everything");
  assertEquals(lock(p1, F_WRLCK, 40, 59), 0, "p1 fills the gap");
  const whole = testLock(f, { type: F_RDLCK, start: 0, end: 0, owner: p2, pid: 2, ofd: false });
  assert(whole !== null && whole.start === 0 && whole.end === 99, "merged back into one lock 0-99");
});
