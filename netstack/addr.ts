// IP and link addresses. An IP address is a Uint8Array of 4 (IPv4) or 16 (IPv6) bytes that
// the holder owns: views into packet buffers are copied before they are kept.

export type IPAddress = Uint8Array;

export const AF_INET = 2;
export const AF_INET6 = 10;

export const IPV4_ANY: IPAddress = new Uint8Array(4);
export const IPV6_ANY: IPAddress = new Uint8Array(16);
export const IPV4_BROADCAST: IPAddress = new Uint8Array([255, 255, 255, 255]);
export const IPV6_LOOPBACK: IPAddress = parseIPv6("::1")!;
export const IPV6_ALL_NODES: IPAddress = parseIPv6("ff02::1")!;
export const IPV6_ALL_ROUTERS: IPAddress = parseIPv6("ff02::2")!;

export function parseIPv4(text: string): IPAddress | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i])) return null;
    const v = Number(parts[i]);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

export function parseIPv6(text: string): IPAddress | null {
  let tail4: IPAddress | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tail4 = parseIPv4(text.slice(lastColon + 1));
    if (!tail4) return null;
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === "" ? [] : s.split(":"));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i])) return null;
    const v = parseInt(groups[i], 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

export function parseIP(text: string): IPAddress | null {
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}

export function ipToString(a: Uint8Array): string {
  if (a.length === 4) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((a[i] << 8) | a[i + 1]);
  // Compress the longest run of zero groups (length >= 2), per RFC 5952.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number[]) => x.map((v) => v.toString(16)).join(":");
  if (bestStart < 0) return hex(g);
  return hex(g.slice(0, bestStart)) + "::" + hex(g.slice(bestStart + bestLen));
}

export function ipEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function isUnspecified(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

export function isMulticast(a: Uint8Array): boolean {
  return a.length === 4 ? (a[0] & 0xf0) === 0xe0 : a[0] === 0xff;
}

export function isLoopback(a: Uint8Array): boolean {
  if (a.length === 4) return a[0] === 127;
  return ipEqual(a, IPV6_LOOPBACK);
}

export function isLinkLocal6(a: Uint8Array): boolean {
  return a.length === 16 && a[0] === 0xfe && (a[1] & 0xc0) === 0x80;
}

export function isV4Mapped(a: Uint8Array): boolean {
  if (a.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

export function v4FromMapped(a: Uint8Array): IPAddress {
  return a.slice(12, 16);
}

export function v4Mapped(a: Uint8Array): IPAddress {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(a, 12);
  return out;
}

/** True when the first `prefix` bits of a and b agree. */
export function prefixMatch(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  for (; prefix >= 8; prefix -= 8, i++) if (a[i] !== b[i]) return false;
  if (prefix === 0) return true;
  const mask = (0xff << (8 - prefix)) & 0xff;
  return (a[i] & mask) === (b[i] & mask);
}

/** A compact map key for an address: a number for IPv4, a string for IPv6. */
export function ipKey(a: Uint8Array): string {
  if (a.length === 4) return String(((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0);
  let s = "";
  for (let i = 0; i < 16; i += 2) s += ((a[i] << 8) | a[i + 1]).toString(16) + ":";
  return s;
}

export function copyIP(a: Uint8Array): IPAddress {
  return a.slice();
}

export type MacAddress = Uint8Array;

export function macToString(m: Uint8Array): string {
  return Array.from(m, (b) => b.toString(16).padStart(2, "0")).join(":");
}

export function parseMac(text: string): MacAddress | null {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return null;
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/** A socket address as the socket API sees it. */
export interface SockAddr {
  family: number; // AF_INET or AF_INET6
  addr: IPAddress;
  port: number;
  flowinfo?: number;
  scopeId?: number;
}

/** Parses "a.b.c.d/len" or "x::y/len". */
export function parseCidr(text: string): { addr: IPAddress; prefix: number } | null {
  const slash = text.indexOf("/");
  const addr = parseIP(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return null;
  const prefix = slash < 0 ? addr.length * 8 : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > addr.length * 8) return null;
  return { addr, prefix };
}
