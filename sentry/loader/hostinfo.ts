// What the host's CPU offers, as the kernel told us in our own auxiliary vector: guests get
// the same AT_HWCAP/AT_HWCAP2 and a signal stack size that fits our frames.
import * as L from "../abi/linux.ts";

let cached: { hwcap: number; hwcap2: number; minsigstksz: number } | null = null;

export function hostAuxv(): { hwcap: number; hwcap2: number; minsigstksz: number } {
  if (cached) return cached;
  const out = { hwcap: 0x178bfbff, hwcap2: 0, minsigstksz: 4096 };
  try {
    const b = Deno.readFileSync("/proc/self/auxv");
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i + 16 <= b.length; i += 16) {
      const k = dv.getUint32(i, true);
      const v = dv.getUint32(i + 8, true);
      if (k === L.AT_HWCAP) out.hwcap = v;
      else if (k === L.AT_HWCAP2) out.hwcap2 = v;
      else if (k === L.AT_MINSIGSTKSZ) out.minsigstksz = v;
      else if (k === L.AT_NULL) break;
    }
  } catch {
    // no /proc: keep the defaults
  }
  cached = out;
  return out;
}
