// The platform as the sentry sees it: libsandbox's synchronous FFI calls, the memory file
// as one Uint8Array, and thread slots as typed-array views. The layout constants mirror
// ffi/include/sandbox.h (whose static asserts pin them).
//
// Everything here is on the syscall hot path: no allocation per call, numbers (not BigInt)
// across FFI, views created once per slot.
import { libsandboxPath } from "./locate.ts";

export const enum Mechanism {
  Trap = 0,
  Ptrace = 1,
}

export const enum SlotEvent {
  None = 0,
  Syscall = 1,
  Fault = 2,
  Signal = 3,
  Interrupt = 4,
  Ready = 5,
  OpFail = 6,
  Foreign = 7,
}

export const enum Op {
  Mmap = 1,
  Munmap = 2,
  Mprotect = 3,
  CloneThread = 4,
  ExitThread = 5,
  /** Report back (as an interrupt) after the ops before it: more ops follow. */
  Repost = 6,
}

export const WAIT_TIMEOUT = -1;
export const WAIT_FDS = -2;
export const WAIT_INTR = -3;
export const TOKEN_STUB_EXIT = 0x80000000;

export const MAX_THREADS = 1024;
export const MAX_STUBS = 4096;
export const MAX_OPS = 64;
export const SLOT_SIZE = 64 * 1024;
export const SLOT_CTRL_SIZE = 8 * 1024;
export const GUEST_ADDR_LIMIT = 0x7fff00000000;
const CTRL_REGIONS_OFF = 2 * 1024 * 1024;
const REGION_SIZE = (MAX_THREADS + 1) * SLOT_SIZE;

/** Register indices in a slot's register block (struct user_regs_struct order). */
export const enum Reg {
  R15 = 0,
  R14,
  R13,
  R12,
  RBP,
  RBX,
  R11,
  R10,
  R9,
  R8,
  RAX,
  RCX,
  RDX,
  RSI,
  RDI,
  ORIG_RAX,
  RIP,
  CS,
  EFLAGS,
  RSP,
  SS,
  FS_BASE,
  GS_BASE,
  DS,
  ES,
  FS,
  GS,
}
export const NUM_REGS = 27;

// u32 indices into a slot's control part.
const U32_STATE = 0;
const U32_EVENT = 1;
const U32_HOST_TID = 3;
const U32_SIGNO = 6;
const U32_SICODE = 7;
const U32_SIGADDR = 8;
const U32_SIGERR = 12;
const U32_ARCH = 14;
const U32_FS_DIRTY = 15;
const U32_FPOFF = 16;
const U32_REGS = 20;
const U32_NOPS = 74;
const U32_OP_FAILED = 75;
const U32_OP_ERRNO = 76;
const U32_OPS = 80;

const TWO32 = 4294967296;

const symbols = {
  sb_init: { parameters: ["i32", "f64"], result: "i32" },
  sb_mem_base: { parameters: [], result: "pointer" },
  sb_ctrl_base: { parameters: [], result: "pointer" },
  sb_wait_result_ptr: { parameters: [], result: "pointer" },
  sb_xstate_size: { parameters: [], result: "i32" },
  sb_stub_create: { parameters: [], result: "i32" },
  sb_stub_spawn: { parameters: [], result: "i32" },
  sb_stub_pid: { parameters: ["i32"], result: "i32" },
  sb_stub_kill: { parameters: ["i32"], result: "i32" },
  sb_stub_reap: { parameters: ["i32"], result: "i32" },
  sb_slot_prepare: { parameters: ["i32", "i32"], result: "i32" },
  sb_wait: { parameters: ["f64"], result: "i32" },
  sb_resume: { parameters: ["i32"], result: "i32" },
  sb_interrupt: { parameters: ["i32"], result: "i32" },
  sb_watch_fd: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sb_unwatch_fd: { parameters: ["i32"], result: "i32" },
  sb_fpstate_load: { parameters: ["i32"], result: "i32" },
  sb_fpstate_store: { parameters: ["i32"], result: "i32" },
  sb_mem_punch: { parameters: ["f64", "f64"], result: "i32" },
  sb_mem_copy: { parameters: ["f64", "f64", "f64"], result: "i32" },
  sb_mem_copy_sparse: { parameters: ["f64", "f64", "f64"], result: "i32" },
  sb_mem_committed: { parameters: [], result: "f64" },
  sb_clock_init: { parameters: ["f64"], result: "i32" },
  sb_clock_update: { parameters: [], result: "i32" },
  sb_now_ns: { parameters: ["i32"], result: "f64" },
  sb_vdso_ptr: { parameters: [], result: "pointer" },
  sb_vdso_size: { parameters: [], result: "i32" },
} as const;

export type PlatformSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

/** A thread slot: the registers and event of one guest thread, shared with its stub. */
export class Slot {
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly bytes: Uint8Array;

  /** view: the slot's SLOT_SIZE bytes of the control area. */
  constructor(readonly id: number, view: ArrayBuffer) {
    this.u32 = new Uint32Array(view, 0, SLOT_CTRL_SIZE / 4);
    this.i32 = new Int32Array(view, 0, SLOT_CTRL_SIZE / 4);
    this.bytes = new Uint8Array(view, 0, SLOT_SIZE);
  }

  get stub(): number {
    return Math.floor(this.id / MAX_THREADS);
  }
  get event(): SlotEvent {
    return this.u32[U32_EVENT];
  }
  get state(): number {
    return Atomics.load(this.u32, U32_STATE);
  }
  get hostTid(): number {
    return this.u32[U32_HOST_TID];
  }
  get signo(): number {
    return this.i32[U32_SIGNO];
  }
  get sigCode(): number {
    return this.i32[U32_SICODE];
  }
  get sigAddr(): number {
    return this.u32[U32_SIGADDR] + this.u32[U32_SIGADDR + 1] * TWO32;
  }
  /** The page-fault error code (bit 1: write, bit 4: instruction fetch); 0 if unknown. */
  get sigErr(): number {
    return this.u32[U32_SIGERR];
  }
  get syscallArch(): number {
    return this.u32[U32_ARCH];
  }
  get fpstateOffset(): number {
    return this.u32[U32_FPOFF];
  }
  get opFailedIndex(): number {
    return this.u32[U32_OP_FAILED];
  }
  get opErrno(): number {
    return this.u32[U32_OP_ERRNO];
  }

  /** A register as a number: exact below 2^53 (addresses, sizes, small negatives are not:
   * use regSigned for values that may be negative). */
  reg(r: Reg): number {
    const i = U32_REGS + 2 * r;
    return this.u32[i] + this.u32[i + 1] * TWO32;
  }
  /** A register read as a signed 64-bit value (exact for |v| < 2^53). */
  regSigned(r: Reg): number {
    const i = U32_REGS + 2 * r;
    return this.i32[i + 1] * TWO32 + this.u32[i];
  }
  regLo(r: Reg): number {
    return this.u32[U32_REGS + 2 * r];
  }
  regHi(r: Reg): number {
    return this.u32[U32_REGS + 2 * r + 1];
  }
  regBig(r: Reg): bigint {
    return (BigInt(this.regHi(r)) << 32n) | BigInt(this.regLo(r));
  }
  /** Sets a register from a number in [-2^53, 2^53]: negative values are two's complement. */
  setReg(r: Reg, v: number): void {
    const i = U32_REGS + 2 * r;
    this.u32[i] = v >>> 0;
    this.u32[i + 1] = Math.floor(v / TWO32) >>> 0;
  }
  setRegParts(r: Reg, lo: number, hi: number): void {
    const i = U32_REGS + 2 * r;
    this.u32[i] = lo >>> 0;
    this.u32[i + 1] = hi >>> 0;
  }
  setRegBig(r: Reg, v: bigint): void {
    this.setRegParts(r, Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
  }
  /** The whole register block, as u32 pairs (copying, for signal frames and fork). */
  regWords(): Uint32Array {
    return this.u32.subarray(U32_REGS, U32_REGS + 2 * NUM_REGS);
  }
  /** Asks the stub to load fs_base/gs_base from the registers before resuming. */
  markFsDirty(): void {
    this.u32[U32_FS_DIRTY] = 1;
  }

  get nops(): number {
    return this.u32[U32_NOPS];
  }
  clearOps(): void {
    this.u32[U32_NOPS] = 0;
  }
  /** Queues an op; returns false if the op list is full (resume, then queue the rest). */
  addOp(kind: Op, addr: number, len: number, prot: number, off: number): boolean {
    const n = this.u32[U32_NOPS];
    if (n >= MAX_OPS) return false;
    const i = U32_OPS + n * 8;
    const u = this.u32;
    u[i] = kind;
    u[i + 1] = prot;
    u[i + 2] = addr >>> 0;
    u[i + 3] = Math.floor(addr / TWO32);
    u[i + 4] = len >>> 0;
    u[i + 5] = Math.floor(len / TWO32);
    u[i + 6] = off >>> 0;
    u[i + 7] = Math.floor(off / TWO32);
    u[U32_NOPS] = n + 1;
    return true;
  }
  opsFull(): boolean {
    return this.u32[U32_NOPS] >= MAX_OPS;
  }
}

export interface FdEvent {
  token: number;
  events: number;
}

/** The platform: one per sentry process. */
export class Platform {
  readonly sym: PlatformSymbols;
  /** The memory file, whole: guest memory at memory-file offsets. */
  readonly mem: Uint8Array;
  readonly memSize: number;
  readonly xstateSize: number;
  /** Base of the control area (notification page, master and per-stub regions). */
  private readonly ctrlBase: Deno.PointerObject;
  private readonly slots = new Map<number, Slot>();
  private readonly waitResult: Uint32Array;

  constructor(readonly mechanism: Mechanism, memSize: number) {
    const lib = Deno.dlopen(libsandboxPath(), symbols);
    this.sym = lib.symbols;
    const rc = this.sym.sb_init(mechanism, memSize);
    if (rc < 0) throw new Error(`platform: sb_init failed: errno ${-rc}`);
    this.memSize = memSize;
    this.mem = new Uint8Array(
      Deno.UnsafePointerView.getArrayBuffer(this.sym.sb_mem_base()!, memSize),
    );
    // The control area (256 GiB of address space) is not viewed whole: V8 counts an
    // ArrayBuffer's length as external memory and answers a large one with a full garbage
    // collection (~4 ms at start-up, seen with --trace-gc). Each slot gets a view of its own
    // 64 KiB when first used (slot()).
    this.ctrlBase = this.sym.sb_ctrl_base()!;
    this.waitResult = new Uint32Array(
      Deno.UnsafePointerView.getArrayBuffer(this.sym.sb_wait_result_ptr()!, 8 + 8 * 64),
    );
    this.xstateSize = this.sym.sb_xstate_size();
  }

  slot(id: number): Slot {
    let s = this.slots.get(id);
    if (!s) {
      const stub = Math.floor(id / MAX_THREADS), idx = id % MAX_THREADS;
      const offset = CTRL_REGIONS_OFF + stub * REGION_SIZE + (idx + 1) * SLOT_SIZE;
      const view = Deno.UnsafePointerView.getArrayBuffer(
        Deno.UnsafePointer.offset(this.ctrlBase, offset)!,
        SLOT_SIZE,
      );
      s = new Slot(id, view);
      this.slots.set(id, s);
    }
    return s;
  }

  static slotId(stub: number, idx: number): number {
    return stub * MAX_THREADS + idx;
  }

  /** Waits for the next event: a slot id (>= 0), or WAIT_FDS/WAIT_TIMEOUT/WAIT_INTR.
   * timeoutNs < 0 waits without limit. */
  wait(timeoutNs: number): number {
    return this.sym.sb_wait(timeoutNs);
  }

  /** After WAIT_FDS: the number of ready fds; their tokens and events via fdToken/fdEvents. */
  fdCount(): number {
    return this.waitResult[0];
  }
  fdToken(i: number): number {
    return this.waitResult[2 + i];
  }
  fdEvents(i: number): number {
    return this.waitResult[2 + 64 + i];
  }

  resume(slotId: number): number {
    return this.sym.sb_resume(slotId);
  }
  interrupt(slotId: number): number {
    return this.sym.sb_interrupt(slotId);
  }
  /** A new stub (guest address space); its slot 0 posts SlotEvent.Ready. */
  createStub(): number {
    return this.sym.sb_stub_create();
  }
  /** Starts creating a stub without waiting (trap mechanism): its slot 0 posts Ready when
   * it is up. */
  spawnStub(): number {
    return this.sym.sb_stub_spawn();
  }
  stubPid(stub: number): number {
    return this.sym.sb_stub_pid(stub);
  }
  killStub(stub: number): number {
    return this.sym.sb_stub_kill(stub);
  }
  /** Wait status of an exited stub (and frees it), or -EAGAIN. */
  reapStub(stub: number): number {
    return this.sym.sb_stub_reap(stub);
  }
  prepareSlot(stub: number, idx: number): number {
    return this.sym.sb_slot_prepare(stub, idx);
  }
  watchFd(fd: number, events: number, token: number): number {
    return this.sym.sb_watch_fd(fd, events, token);
  }
  unwatchFd(fd: number): number {
    return this.sym.sb_unwatch_fd(fd);
  }
  /** Makes the slot's xsave area current; returns its size or -errno. The bytes are at
   * slot.bytes[slot.fpstateOffset ...]. */
  fpLoad(slotId: number): number {
    return this.sym.sb_fpstate_load(slotId);
  }
  /** Hands an edited xsave area back to the thread (sanitised for the kernel). */
  fpStore(slotId: number): number {
    return this.sym.sb_fpstate_store(slotId);
  }
  /** The vDSO image (an ELF shared object) embedded in libsandbox. */
  vdsoImage(): Uint8Array {
    const n = this.sym.sb_vdso_size();
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(this.sym.sb_vdso_ptr()!, n)).slice();
  }
  punch(off: number, len: number): number {
    return this.sym.sb_mem_punch(off, len);
  }
  copy(dst: number, src: number, len: number): number {
    return this.sym.sb_mem_copy(dst, src, len);
  }
}
