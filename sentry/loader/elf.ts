// ELF64 parsing and mapping for execve: the executable, its PT_INTERP (ld.so), the initial
// stack with argv, envp and the auxiliary vector, as Linux's load_elf_binary builds them.
import { E } from "../abi/errno.ts";
import * as L from "../abi/linux.ts";
import { GUEST_ADDR_LIMIT } from "../../ffi/platform.ts";
import { newVma, type MM, pageDown, pageUp } from "../mm/mm.ts";
import type { FileDescription } from "../vfs/file.ts";

const PT_LOAD = 1, PT_INTERP = 3, PT_PHDR = 6, PT_GNU_STACK = 0x6474e551;
const ET_EXEC = 2, ET_DYN = 3;
const EM_X86_64 = 62;
const PF_X = 1, PF_W = 2, PF_R = 4;

export interface ProgramHeader {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export interface ElfInfo {
  type: number;
  entry: number;
  phoff: number;
  phnum: number;
  phdrs: ProgramHeader[];
  interp: string | null;
  execStack: boolean;
}

function u64(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 4294967296;
}

/** Parses an ELF header and its program headers; -ENOEXEC if it is not an x86-64 ELF
 * executable we can run. */
export function parseElf(file: FileDescription, head: Uint8Array): ElfInfo | number {
  if (head.length < 64 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
    return -E.ENOEXEC;
  }
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head[4] !== 2 || head[5] !== 1) return -E.ENOEXEC; // 64-bit, little endian
  const type = dv.getUint16(16, true);
  if ((type !== ET_EXEC && type !== ET_DYN) || dv.getUint16(18, true) !== EM_X86_64) return -E.ENOEXEC;
  const entry = u64(dv, 24);
  const phoff = u64(dv, 32);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize !== 56 || phnum === 0 || phnum > 128) return -E.ENOEXEC;
  const ph = new Uint8Array(phnum * 56);
  if (file.readAt(ph, phoff) !== ph.length) return -E.EIO;
  const pv = new DataView(ph.buffer);
  const phdrs: ProgramHeader[] = [];
  let interp: string | null = null;
  let execStack = false;
  for (let i = 0; i < phnum; i++) {
    const o = i * 56;
    const h: ProgramHeader = {
      type: pv.getUint32(o, true),
      flags: pv.getUint32(o + 4, true),
      offset: u64(pv, o + 8),
      vaddr: u64(pv, o + 16),
      filesz: u64(pv, o + 32),
      memsz: u64(pv, o + 40),
      align: u64(pv, o + 48),
    };
    phdrs.push(h);
    if (h.type === PT_INTERP) {
      if (h.filesz < 2 || h.filesz > 4096) return -E.ENOEXEC;
      const b = new Uint8Array(h.filesz);
      if (file.readAt(b, h.offset) !== b.length) return -E.EIO;
      const nul = b.indexOf(0);
      interp = String.fromCharCode(...b.subarray(0, nul < 0 ? b.length : nul));
    }
    if (h.type === PT_GNU_STACK) execStack = (h.flags & PF_X) !== 0;
    if (h.type === PT_LOAD && (h.filesz > h.memsz || h.vaddr + h.memsz > GUEST_ADDR_LIMIT)) {
      return -E.ENOEXEC;
    }
  }
  return { type, entry, phoff, phnum, phdrs, interp, execStack };
}

function protOf(flags: number): number {
  return (flags & PF_R ? L.PROT_READ : 0) | (flags & PF_W ? L.PROT_WRITE : 0) |
    (flags & PF_X ? L.PROT_EXEC : 0);
}

export interface Loaded {
  bias: number;
  entry: number;
  /** Where the program headers are in memory (AT_PHDR). */
  phdrAddr: number;
  /** End of the highest segment (the program break starts above it). */
  end: number;
}

/** Maps the PT_LOAD segments of elf into mm at `bias` (0 for ET_EXEC). */
export function mapSegments(mm: MM, file: FileDescription, elf: ElfInfo, bias: number, name: string): Loaded | number {
  const obj = file.mappable();
  if (typeof obj === "number") return obj;
  let end = 0;
  let phdrAddr = 0;
  for (const ph of elf.phdrs) {
    if (ph.type === PT_PHDR) phdrAddr = bias + ph.vaddr;
  }
  for (const ph of elf.phdrs) {
    if (ph.type !== PT_LOAD || ph.memsz === 0) continue;
    if ((ph.offset % 4096) !== (ph.vaddr % 4096)) return -E.ENOEXEC;
    const vaddr = bias + ph.vaddr;
    const start = pageDown(vaddr);
    const fileOff = ph.offset - (vaddr - start);
    const fileEnd = vaddr + ph.filesz;
    const memEnd = vaddr + ph.memsz;
    const prot = protOf(ph.flags);
    if (!phdrAddr && ph.offset <= elf.phoff && elf.phoff < ph.offset + ph.filesz) {
      phdrAddr = vaddr + (elf.phoff - ph.offset);
    }
    if (ph.filesz > 0) {
      const mapEnd = pageUp(fileEnd);
      mm.unmap(start, mapEnd);
      obj.incRef();
      mm.insert(newVma(start, mapEnd, prot, { obj, objPg: fileOff / 4096, name }));
      // The rest of the last file page belongs to .bss: it must read as zeros.
      if (memEnd > fileEnd && mapEnd > fileEnd && (prot & L.PROT_WRITE)) {
        const rc = mm.zero(fileEnd, mapEnd - fileEnd);
        if (rc < 0) return rc;
      }
    }
    const anonStart = ph.filesz > 0 ? pageUp(fileEnd) : start;
    const anonEnd = pageUp(memEnd);
    if (anonEnd > anonStart) {
      mm.unmap(anonStart, anonEnd);
      mm.insert(newVma(anonStart, anonEnd, prot));
    }
    end = Math.max(end, memEnd);
  }
  return { bias, entry: bias + elf.entry, phdrAddr, end };
}

/** Span of the PT_LOAD segments (for placing an ET_DYN image). */
export function loadSpan(elf: ElfInfo): { lo: number; hi: number } {
  let lo = Infinity, hi = 0;
  for (const ph of elf.phdrs) {
    if (ph.type !== PT_LOAD) continue;
    lo = Math.min(lo, pageDown(ph.vaddr));
    hi = Math.max(hi, pageUp(ph.vaddr + ph.memsz));
  }
  return { lo: lo === Infinity ? 0 : lo, hi };
}

export interface StackInfo {
  sp: number;
  argStart: number;
  argEnd: number;
  envStart: number;
  envEnd: number;
  auxv: Uint8Array;
}

/** Builds the initial stack below stackTop: strings, then (16-byte aligned) argc, argv,
 * envp and auxv. auxv entries with value -1 for AT_RANDOM/AT_EXECFN/AT_PLATFORM are
 * filled in here. */
export function buildStack(
  mm: MM,
  stackTop: number,
  argv: string[],
  envp: string[],
  execfn: string,
  auxv: Array<[number, number]>,
  random: Uint8Array,
): StackInfo | number {
  const strBytes = (s: string) => s.length + 1;
  let p = stackTop - 8; // a NULL word at the very top, as Linux leaves
  const putStr = (s: string): number => {
    p -= strBytes(s);
    const b = new Uint8Array(s.length + 1);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    if (mm.copyOut(p, b) < 0) return -E.EFAULT;
    return p;
  };
  const execfnAddr = putStr(execfn);
  if (execfnAddr < 0) return execfnAddr;
  const envEnd = p;
  const envAddrs: number[] = [];
  for (let i = envp.length - 1; i >= 0; i--) {
    const a = putStr(envp[i]);
    if (a < 0) return a;
    envAddrs.unshift(a);
  }
  const envStart = p;
  const argEnd = p;
  const argAddrs: number[] = [];
  for (let i = argv.length - 1; i >= 0; i--) {
    const a = putStr(argv[i]);
    if (a < 0) return a;
    argAddrs.unshift(a);
  }
  const argStart = p;
  const platformAddr = putStr("x86_64");
  if (platformAddr < 0) return platformAddr;
  p -= 16;
  const randomAddr = p;
  if (mm.copyOut(randomAddr, random) < 0) return -E.EFAULT;

  const aux = auxv.map(([k, v]): [number, number] => {
    if (k === L.AT_RANDOM) return [k, randomAddr];
    if (k === L.AT_EXECFN) return [k, execfnAddr];
    if (k === L.AT_PLATFORM) return [k, platformAddr];
    return [k, v];
  });
  aux.push([L.AT_NULL, 0]);
  const words = 1 + argAddrs.length + 1 + envAddrs.length + 1 + aux.length * 2;
  p = Math.floor((p - words * 8) / 16) * 16;
  const table = new Uint8Array(words * 8);
  const dv = new DataView(table.buffer);
  let w = 0;
  const put = (v: number) => {
    dv.setUint32(w * 8, v >>> 0, true);
    dv.setUint32(w * 8 + 4, Math.floor(v / 4294967296) >>> 0, true);
    w++;
  };
  put(argAddrs.length);
  argAddrs.forEach(put);
  put(0);
  envAddrs.forEach(put);
  put(0);
  const auxStart = w * 8;
  for (const [k, v] of aux) {
    put(k);
    put(v);
  }
  if (mm.copyOut(p, table) < 0) return -E.EFAULT;
  return {
    sp: p,
    argStart,
    argEnd,
    envStart,
    envEnd,
    auxv: table.slice(auxStart),
  };
}
