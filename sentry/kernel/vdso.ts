// The vDSO: a page of clock parameters ([vvar], read-only) and the vDSO image ([vdso], an
// ELF shared object from ffi/vdso) mapped into every program at exec and announced with
// AT_SYSINFO_EHDR. glibc and musl then read the clocks (clock_gettime, gettimeofday,
// time, getcpu) without a trap. One copy serves the whole sandbox; guests map it shared
// and can never write it (maxProt).
import * as L from "../abi/linux.ts";
import type { Platform } from "../../ffi/platform.ts";
import type { MemoryFile } from "../mm/memfile.ts";
import { type MM, newVma } from "../mm/mm.ts";
import { AnonMemory } from "../mm/objects.ts";

const PAGE = 4096;

export class Vdso {
  private readonly obj: AnonMemory;
  /** Pages of the image (without the clock page). */
  private readonly imagePages: number;

  constructor(platform: Platform, memfile: MemoryFile) {
    this.obj = new AnonMemory(memfile);
    this.obj.identity = { path: "[vdso]", dev: 0, ino: 0 };
    // Page 0: the clock page, written by libsandbox (sb_clock_*).
    const vvarOff = this.obj.pageOffset(0);
    if (vvarOff < 0) throw new Error("vdso: no memory for the clock page");
    platform.sym.sb_clock_init(vvarOff);
    // Pages 1..: the image laid out by its program headers (file offsets need not equal
    // addresses; there are no relocations to apply).
    const elf = platform.vdsoImage();
    const dv = new DataView(elf.buffer);
    const phoff = Number(dv.getBigUint64(32, true));
    const phnum = dv.getUint16(56, true);
    let span = 0;
    const loads: Array<[number, number, number]> = [];
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * 56;
      if (dv.getUint32(o, true) !== 1) continue; // PT_LOAD
      const off = Number(dv.getBigUint64(o + 8, true));
      const vaddr = Number(dv.getBigUint64(o + 16, true));
      const filesz = Number(dv.getBigUint64(o + 32, true));
      loads.push([off, vaddr, filesz]);
      span = Math.max(span, vaddr + Number(dv.getBigUint64(o + 40, true)));
    }
    this.imagePages = Math.ceil(span / PAGE);
    const mem = memfile.mem;
    for (const [off, vaddr, filesz] of loads) {
      for (let done = 0; done < filesz;) {
        const addr = vaddr + done;
        const page = 1 + Math.floor(addr / PAGE);
        const n = Math.min(filesz - done, PAGE - (addr % PAGE));
        const dst = this.obj.pageOffset(page) + (addr % PAGE);
        mem.set(elf.subarray(off + done, off + done + n), dst);
        done += n;
      }
    }
  }

  /** Maps the clock page and the image into mm; returns the image's address (for
   * AT_SYSINFO_EHDR), or a negative errno. */
  map(mm: MM): number {
    const len = (1 + this.imagePages) * PAGE;
    const base = mm.findFree(len);
    if (base < 0) return base;
    this.obj.incRef();
    mm.insert(newVma(base, base + PAGE, L.PROT_READ, {
      shared: true, obj: this.obj, objPg: 0, maxProt: L.PROT_READ, name: "[vvar]",
    }));
    this.obj.incRef();
    mm.insert(newVma(base + PAGE, base + len, L.PROT_READ | L.PROT_EXEC, {
      shared: true, obj: this.obj, objPg: 1, maxProt: L.PROT_READ | L.PROT_EXEC, name: "[vdso]",
    }));
    return base + PAGE;
  }
}
