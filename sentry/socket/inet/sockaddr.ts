// struct sockaddr_in and sockaddr_in6: decoding what the guest passes to bind, connect and
// sendto (with the checks Linux makes, which differ a little between the calls), and
// encoding what getsockname, getpeername, accept and recvfrom report.
import { E } from "../../abi/errno.ts";
import type { SockAddr } from "../../../netstack/addr.ts";
import { AF_INET, AF_INET6, AF_UNSPEC } from "../socket.ts";

export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
/** Older sockaddr_in6 without sin6_scope_id: the least Linux accepts. */
export const SIN6_LEN_RFC2133 = 24;

/** What the address is for: each call checks family and length in its own way. */
export type AddrUse = "bind" | "connect" | "sendto";

/** A decoded address, or AF_UNSPEC (connect: dissolve the association). */
export type Decoded = SockAddr | { family: typeof AF_UNSPEC };

function familyOf(b: Uint8Array): number {
  return b.length >= 2 ? b[0] | (b[1] << 8) : -1;
}

/** Decodes a guest sockaddr for a socket of `family`. */
export function decodeSockaddr(family: number, b: Uint8Array, use: AddrUse): Decoded | number {
  if (b.length < 2) return -E.EINVAL;
  const fam = familyOf(b);
  if (use === "connect" && fam === AF_UNSPEC) return { family: AF_UNSPEC };
  if (family === AF_INET) {
    if (b.length < SOCKADDR_IN_SIZE) return -E.EINVAL;
    if (fam !== AF_INET) {
      // Linux's compatibility rules: bind takes AF_UNSPEC with INADDR_ANY, sendto any
      // AF_UNSPEC address as if it were AF_INET.
      const anyAddr = b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0;
      if (!(fam === AF_UNSPEC && (use === "sendto" || (use === "bind" && anyAddr)))) {
        return -E.EAFNOSUPPORT;
      }
    }
    return { family: AF_INET, port: (b[2] << 8) | b[3], addr: b.slice(4, 8) };
  }
  // AF_INET6
  if (use === "sendto" && fam === AF_INET && b.length >= SOCKADDR_IN_SIZE) {
    // An IPv6 datagram socket may be given an IPv4 destination: it goes out v4-mapped.
    const mapped = new Uint8Array(16);
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped.set(b.subarray(4, 8), 12);
    return { family: AF_INET6, port: (b[2] << 8) | b[3], addr: mapped, flowinfo: 0, scopeId: 0 };
  }
  if (b.length < SIN6_LEN_RFC2133) return -E.EINVAL;
  if (fam !== AF_INET6) return -E.EAFNOSUPPORT;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  return {
    family: AF_INET6,
    port: (b[2] << 8) | b[3],
    flowinfo: dv.getUint32(4, false),
    addr: b.slice(8, 24),
    scopeId: b.length >= SOCKADDR_IN6_SIZE ? dv.getUint32(24, true) : 0,
  };
}

/** Encodes an address of a socket of `family` (sockaddr_in or sockaddr_in6). */
export function encodeSockaddr(family: number, a: SockAddr | null): Uint8Array {
  if (family === AF_INET) {
    const b = new Uint8Array(SOCKADDR_IN_SIZE);
    b[0] = AF_INET;
    if (a) {
      b[2] = a.port >> 8;
      b[3] = a.port & 0xff;
      if (a.addr.length === 4) b.set(a.addr, 4);
      else if (a.addr.length === 16) b.set(a.addr.subarray(12, 16), 4);
    }
    return b;
  }
  const b = new Uint8Array(SOCKADDR_IN6_SIZE);
  b[0] = AF_INET6;
  if (a) {
    const dv = new DataView(b.buffer);
    b[2] = a.port >> 8;
    b[3] = a.port & 0xff;
    dv.setUint32(4, a.flowinfo ?? 0, false);
    if (a.addr.length === 16) b.set(a.addr, 8);
    else if (a.addr.length === 4) {
      b[18] = 0xff;
      b[19] = 0xff;
      b.set(a.addr, 20);
    }
    dv.setUint32(24, a.scopeId ?? 0, true);
  }
  return b;
}
