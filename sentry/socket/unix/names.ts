// Unix socket addresses: parsing struct sockaddr_un, the abstract namespace (per kernel),
// autobind names, and the bridge to the filesystem for path names (a socket bound to a
// path is an S_IFSOCK inode whose boundSocket is the socket; vfs/special.ts).
import { E } from "../../abi/errno.ts";
import type { Kernel } from "../../kernel/kernel.ts";
import type { Task } from "../../kernel/task.ts";
import type { FileDescription } from "../../vfs/file.ts";
import type { Inode } from "../../vfs/inode.ts";
import { AF_UNIX } from "../socket.ts";

/** offsetof(struct sockaddr_un, sun_path) and sizeof(struct sockaddr_un). */
export const SUN_PATH_OFFSET = 2;
export const SOCKADDR_UN_SIZE = 110;

export type UnixName =
  | { kind: "path"; path: string }
  | { kind: "abstract"; key: string }
  | { kind: "autobind" };

/** Parses a sockaddr_un of addr.length bytes. */
export function parseUnixAddr(addr: Uint8Array): UnixName | number {
  if (addr.length < SUN_PATH_OFFSET || addr.length > SOCKADDR_UN_SIZE) return -E.EINVAL;
  if ((addr[0] | (addr[1] << 8)) !== AF_UNIX) return -E.EINVAL;
  if (addr.length === SUN_PATH_OFFSET) return { kind: "autobind" };
  if (addr[2] === 0) {
    let key = "";
    for (let i = 2; i < addr.length; i++) key += String.fromCharCode(addr[i]);
    return { kind: "abstract", key };
  }
  let path = "";
  for (let i = 2; i < addr.length && addr[i] !== 0; i++) path += String.fromCharCode(addr[i]);
  return { kind: "path", path };
}

/** The sockaddr_un getsockname reports for a name. */
export function encodeUnixAddr(name: UnixName | null): Uint8Array {
  if (!name || name.kind === "autobind") return new Uint8Array([AF_UNIX, 0]);
  const s = name.kind === "path" ? name.path + "\0" : name.key;
  const b = new Uint8Array(SUN_PATH_OFFSET + s.length);
  b[0] = AF_UNIX;
  for (let i = 0; i < s.length; i++) b[2 + i] = s.charCodeAt(i);
  return b;
}

/** What binds a socket to a path and finds the socket at a path (set by the socket
 * syscalls, which own the VFS side: permissions, umask, inotify). */
export interface PathOps {
  /** Makes an S_IFSOCK node at path; -EEXIST if the name exists. */
  mknodSocket(t: Task, path: string): Inode | number;
  /** The inode at path (following symlinks), checked for write permission. */
  lookupSocket(t: Task, path: string): Inode | number;
}

export const pathOps: { ops: PathOps | null } = { ops: null };

/** The abstract namespace and autobind counter of one kernel (one sandbox). */
export class UnixNamespace {
  readonly abstract = new Map<string, unknown>();
  /** Unix sockets referenced by messages in receive queues (SCM_RIGHTS), and how often:
   * the garbage collector's candidates. */
  readonly inflight = new Map<FileDescription, number>();
  private nextAuto = 0;

  /** A free autobind name: "\0" and five hex digits. */
  autobindKey(): string | null {
    for (let i = 0; i < 0x100000; i++) {
      const n = this.nextAuto;
      this.nextAuto = (this.nextAuto + 1) & 0xfffff;
      const key = "\0" + n.toString(16).padStart(5, "0");
      if (!this.abstract.has(key)) return key;
    }
    return null;
  }
}

const namespaces = new WeakMap<Kernel, UnixNamespace>();

export function unixNamespace(k: Kernel): UnixNamespace {
  let ns = namespaces.get(k);
  if (!ns) {
    ns = new UnixNamespace();
    namespaces.set(k, ns);
  }
  return ns;
}
