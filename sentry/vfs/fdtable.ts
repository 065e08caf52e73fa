// A task's file descriptor table (shared between threads; copied by fork unless
// CLONE_FILES).
import { E } from "../abi/errno.ts";
import type { FileDescription } from "./file.ts";

/** Called whenever an fd of `table` referring to `file` is closed (POSIX record locks are
 * released by any close of the file by their owner). Set by vfs/locks users. */
export const closeHooks: Array<(table: FdTable, file: FileDescription) => void> = [];

function closed(table: FdTable, file: FileDescription): void {
  for (const h of closeHooks) h(table, file);
  file.decRef();
}

export class FdTable {
  private files: Array<FileDescription | undefined> = [];
  private cloexec: boolean[] = [];
  /** No fd below this is free (a hint that keeps install() O(1) for the common case). */
  private lowestFree = 0;
  /** Tasks sharing this table. */
  users = 1;
  /** RLIMIT_NOFILE, checked by the caller's process. */
  limit = 1024;

  get(fd: number): FileDescription | undefined {
    return fd >= 0 ? this.files[fd] : undefined;
  }

  isCloexec(fd: number): boolean {
    return this.cloexec[fd] === true;
  }

  setCloexec(fd: number, on: boolean): void {
    this.cloexec[fd] = on;
  }

  /** Installs file at the lowest free fd >= min. Takes over the caller's reference. */
  install(file: FileDescription, cloexec: boolean, min = 0): number {
    let fd = min < this.lowestFree ? this.lowestFree : min;
    while (this.files[fd] !== undefined) fd++;
    if (fd >= this.limit) return -E.EMFILE;
    if (min <= this.lowestFree) this.lowestFree = fd + 1;
    this.files[fd] = file;
    this.cloexec[fd] = cloexec;
    return fd;
  }

  /** Puts file at fd (dup2), closing what was there. Takes over the caller's reference. */
  set(fd: number, file: FileDescription, cloexec: boolean): number {
    if (fd < 0 || fd >= this.limit) return -E.EBADF;
    const old = this.files[fd];
    this.files[fd] = file;
    this.cloexec[fd] = cloexec;
    if (old) closed(this, old);
    return fd;
  }

  /** Closes fd: 0 or -EBADF. */
  close(fd: number): number {
    const f = this.remove(fd);
    if (!f) return -E.EBADF;
    closed(this, f);
    return 0;
  }

  /** Removes fd and returns its file (the caller drops the reference, or uses close()),
   * or undefined. */
  remove(fd: number): FileDescription | undefined {
    const f = fd >= 0 ? this.files[fd] : undefined;
    if (f) {
      this.files[fd] = undefined;
      this.cloexec[fd] = false;
      if (fd < this.lowestFree) this.lowestFree = fd;
    }
    return f;
  }

  /** A copy for fork: every file gains a reference. */
  fork(): FdTable {
    const t = new FdTable();
    t.limit = this.limit;
    this.files.forEach((f, fd) => {
      if (f) {
        f.incRef();
        t.files[fd] = f;
        t.cloexec[fd] = this.cloexec[fd];
      }
    });
    return t;
  }

  closeOnExec(): void {
    this.files.forEach((f, fd) => {
      if (f && this.cloexec[fd]) {
        this.files[fd] = undefined;
        this.cloexec[fd] = false;
        if (fd < this.lowestFree) this.lowestFree = fd;
        closed(this, f);
      }
    });
  }

  closeAll(): void {
    const files = this.files;
    this.files = [];
    this.cloexec = [];
    this.lowestFree = 0;
    for (const f of files) if (f) closed(this, f);
  }

  /** Open fds in increasing order. */
  fds(): number[] {
    const out: number[] = [];
    this.files.forEach((f, fd) => {
      if (f) out.push(fd);
    });
    return out;
  }

  count(): number {
    let n = 0;
    for (const f of this.files) if (f) n++;
    return n;
  }
}
