// Container state on the host: one directory per container under the runtime's root
// (--root, default /run/cordon), which survives the CLI process.
//
//   ROOT/ID/state.json   what `state` prints plus what later commands need (see StateRecord)
//   ROOT/ID/ctl.sock     the sandbox process's control socket (control.ts)
//   ROOT/ID/exit         the container's wait status, written when its init exits
//
// Commands on one container are serialised by an exclusive flock on ROOT/ID itself. The
// status is partly derived: a container whose sandbox process is gone (or a zombie, or a
// different process now holding its pid) is "stopped", whatever the file says.
import { OciError } from "./errors.ts";
import type { Hook, HookKind } from "./config.ts";

export const DEFAULT_ROOT = "/run/cordon";
export const OCI_VERSION = "1.2.0";

export type Status = "creating" | "created" | "running" | "stopped" | "paused";

/** What state.json holds. */
export interface StateRecord {
  ociVersion: string;
  id: string;
  status: Status;
  /** Host pid of the sandbox process (0 before it exists). */
  pid: number;
  bundle: string;
  annotations: { [k: string]: string };
  /** Field 22 of /proc/PID/stat when the sandbox started: tells pid reuse apart. */
  pidStartTime: string;
  /** RFC 3339. */
  created: string;
  owner: string;
  rootfs: string;
  hooks: { [K in HookKind]?: Hook[] };
  /** Host cgroup directories the sandbox was put in (removed by delete). */
  cgroupDirs: string[];
  platform: string;
  /** config.json's process (as JSON), the defaults of `exec`. */
  process: unknown;
}

/** The OCI state (what `state` prints and hooks get on stdin). */
export function ociState(r: StateRecord, status: Status = r.status): { [k: string]: unknown } {
  const s: { [k: string]: unknown } = {
    ociVersion: r.ociVersion,
    id: r.id,
    status,
    bundle: r.bundle,
    annotations: r.annotations,
  };
  if (status !== "stopped" && r.pid > 0) s.pid = r.pid;
  return s;
}

/** Checks a container id: runc's rules (letters, digits, _ + - .; not . or ..). */
export function checkId(id: string | undefined): string {
  if (id === undefined || id === "") throw new OciError("a container id is required");
  if (id.length > 1024 || !/^[\w+.-]+$/.test(id) || id === "." || id === "..") {
    throw new OciError(`invalid container id '${id}' (letters, digits, _ + - . only)`);
  }
  return id;
}

export class Root {
  constructor(readonly path: string) {}

  dir(id: string): string {
    return `${this.path}/${id}`;
  }

  ensure(): void {
    try {
      Deno.mkdirSync(this.path, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new OciError(
        `cannot create the state root ${this.path}: ${e instanceof Error ? e.message : e}`,
      );
    }
  }

  /** Ids of every container (directories with a state.json). */
  ids(): string[] {
    const out: string[] = [];
    try {
      for (const e of Deno.readDirSync(this.path)) {
        if (e.isDirectory && !e.name.startsWith(".")) out.push(e.name);
      }
    } catch {
      return [];
    }
    return out.sort();
  }
}

/** A container's state directory, locked for the duration of one command. */
export class Container {
  private lock: Deno.FsFile | null;

  private constructor(
    readonly root: Root,
    readonly id: string,
    lock: Deno.FsFile,
    public record: StateRecord,
  ) {
    this.lock = lock;
  }

  get dir(): string {
    return this.root.dir(this.id);
  }

  /** Creates ROOT/ID (refusing an id in use) with a "creating" record, locked. */
  static create(root: Root, id: string, record: StateRecord): Container {
    root.ensure();
    const dir = root.dir(id);
    try {
      Deno.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) {
        throw new OciError(`container '${id}' already exists`);
      }
      throw new OciError(`cannot create ${dir}: ${e instanceof Error ? e.message : e}`);
    }
    const lock = Deno.openSync(dir);
    lock.lockSync(true);
    const c = new Container(root, id, lock, record);
    c.save();
    return c;
  }

  /** Opens and locks an existing container; throws "does not exist" otherwise. With
   * shared, other readers may hold the lock too (state, list, ps). */
  static open(root: Root, id: string, shared = false): Container {
    checkId(id);
    const dir = root.dir(id);
    let lock: Deno.FsFile;
    try {
      lock = Deno.openSync(dir);
    } catch {
      throw new OciError(`container '${id}' does not exist`);
    }
    lock.lockSync(!shared);
    // A delete may have removed the directory while we waited for the lock.
    let record: StateRecord;
    try {
      record = JSON.parse(Deno.readTextFileSync(`${dir}/state.json`));
    } catch {
      lock.close();
      throw new OciError(`container '${id}' does not exist`);
    }
    return new Container(root, id, lock, record);
  }

  save(): void {
    const text = JSON.stringify(this.record);
    const tmp = `${this.dir}/.state.json.tmp`;
    Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
    Deno.renameSync(tmp, `${this.dir}/state.json`);
  }

  /** The status as of now: the record's, unless the sandbox process is gone. */
  status(): Status {
    const r = this.record;
    if (r.status === "creating" || r.status === "stopped") return r.status;
    if (!processAlive(r.pid, r.pidStartTime)) return "stopped";
    return r.status;
  }

  setStatus(s: Status): void {
    this.record.status = s;
    this.save();
  }

  /** The container's exit status (a wait status), if its init has exited. */
  exitStatus(): number | null {
    try {
      const n = Number(Deno.readTextFileSync(`${this.dir}/exit`).trim());
      return Number.isInteger(n) ? n : null;
    } catch {
      return null;
    }
  }

  /** Removes the state directory (the lock is released with it). */
  remove(): void {
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    this.unlock();
  }

  unlock(): void {
    this.lock?.close();
    this.lock = null;
  }
}

/** /proc/PID/stat's start time (field 22), or null if there is no such process. */
export function processStartTime(pid: number): string | null {
  if (!(pid > 0)) return null;
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    if (f[0] === "Z" || f[0] === "X") return null;
    return f[19];
  } catch {
    return null;
  }
}

export function processAlive(pid: number, startTime: string): boolean {
  const now = processStartTime(pid);
  return now !== null && (startTime === "" || now === startTime);
}

export function nowRfc3339(): string {
  return new Date().toISOString();
}
