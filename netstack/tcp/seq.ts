// Sequence-number arithmetic modulo 2^32 (RFC 1982 style comparisons).
export function seqLT(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLE(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function seqGT(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function seqGE(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
/** a - b as a signed distance. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}
export function seqMax(a: number, b: number): number {
  return seqGT(a, b) ? a : b;
}
export function seqMin(a: number, b: number): number {
  return seqLT(a, b) ? a : b;
}
