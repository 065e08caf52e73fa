// Credentials: user and group ids and capabilities, as Linux keeps them per task.
import type { Credentials } from "../vfs/inode.ts";
import type { SyscallPolicy } from "./syscall_policy.ts";

export const CAP_CHOWN = 0;
export const CAP_DAC_OVERRIDE = 1;
export const CAP_DAC_READ_SEARCH = 2;
export const CAP_FOWNER = 3;
export const CAP_FSETID = 4;
export const CAP_KILL = 5;
export const CAP_SETGID = 6;
export const CAP_SETUID = 7;
export const CAP_SETPCAP = 8;
export const CAP_NET_BIND_SERVICE = 10;
export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;
export const CAP_IPC_LOCK = 14;
export const CAP_SYS_CHROOT = 18;
export const CAP_SYS_PTRACE = 19;
export const CAP_SYS_ADMIN = 21;
export const CAP_SYS_NICE = 23;
export const CAP_SYS_RESOURCE = 24;
export const CAP_MKNOD = 27;
export const CAP_AUDIT_WRITE = 29;
export const CAP_SETFCAP = 31;
export const CAP_LAST_CAP = 40;

/** All capabilities up to CAP_LAST_CAP, as a bigint bit set. */
export const ALL_CAPS = (1n << BigInt(CAP_LAST_CAP + 1)) - 1n;

/** The default set of a container's root (what runc and Docker grant). */
export const DEFAULT_CONTAINER_CAPS = [
  CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID,
  CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_SYS_CHROOT, 27 /* MKNOD */,
  CAP_AUDIT_WRITE, CAP_SETFCAP,
].reduce((s, c) => s | (1n << BigInt(c)), 0n);

export class Creds implements Credentials {
  ruid = 0;
  euid = 0;
  suid = 0;
  fsuid = 0;
  rgid = 0;
  egid = 0;
  sgid = 0;
  fsgid = 0;
  groups: number[] = [];
  effective = DEFAULT_CONTAINER_CAPS;
  permitted = DEFAULT_CONTAINER_CAPS;
  inheritable = 0n;
  bounding = DEFAULT_CONTAINER_CAPS;
  ambient = 0n;
  noNewPrivs = false;
  keepCaps = false;
  /** The container's seccomp profile, or null. Kept here because, like a seccomp filter, it
   * goes to every child (clone copies it) and survives execve; nothing removes it. */
  syscallPolicy: SyscallPolicy | null = null;

  static root(caps = DEFAULT_CONTAINER_CAPS): Creds {
    const c = new Creds();
    c.effective = c.permitted = c.bounding = caps;
    return c;
  }

  static user(uid: number, gid: number, groups: number[] = [], caps = 0n): Creds {
    const c = new Creds();
    c.ruid = c.euid = c.suid = c.fsuid = uid;
    c.rgid = c.egid = c.sgid = c.fsgid = gid;
    c.groups = groups;
    c.effective = c.permitted = caps;
    c.bounding = DEFAULT_CONTAINER_CAPS;
    return c;
  }

  hasCap(cap: number): boolean {
    return (this.effective & (1n << BigInt(cap))) !== 0n;
  }

  clone(): Creds {
    const c = new Creds();
    Object.assign(c, this);
    c.groups = this.groups.slice();
    return c;
  }

  inGroup(gid: number): boolean {
    return this.fsgid === gid || this.groups.includes(gid);
  }

  /** Linux's rules when euid changes between 0 and non-0 (capabilities(7): "Effect of user
   * ID changes on capabilities"). */
  fixCapsAfterSetuid(oldR: number, oldE: number, oldS: number): void {
    if ((oldR === 0 || oldE === 0 || oldS === 0) && this.ruid !== 0 && this.euid !== 0 &&
      this.suid !== 0 && !this.keepCaps) {
      this.permitted = 0n;
      this.effective = 0n;
      this.ambient = 0n;
    }
    if (oldE === 0 && this.euid !== 0) this.effective = 0n;
    if (oldE !== 0 && this.euid === 0) this.effective = this.permitted;
    // fsuid follows euid; the filesystem capabilities follow fsuid.
    const fsCaps = (1n << 0n) | (1n << 1n) | (1n << 2n) | (1n << 3n) | (1n << 4n) | (1n << 9n) |
      (1n << 27n);
    if (this.fsuid === 0 && this.euid !== 0) this.effective &= ~fsCaps;
  }
}
