// Ethernet II framing.
export const ETH_HLEN = 14;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;

export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export function writeEthernetHeader(
  buf: Uint8Array,
  off: number,
  dst: Uint8Array,
  src: Uint8Array,
  type: number,
): void {
  buf.set(dst, off);
  buf.set(src, off + 6);
  buf[off + 12] = type >> 8;
  buf[off + 13] = type & 0xff;
}

/** The MAC an IPv4 multicast group maps to (RFC 1112): 01:00:5e + low 23 bits. */
export function ipv4MulticastMac(ip: Uint8Array, out: Uint8Array, off = 0): void {
  out[off] = 0x01;
  out[off + 1] = 0x00;
  out[off + 2] = 0x5e;
  out[off + 3] = ip[1] & 0x7f;
  out[off + 4] = ip[2];
  out[off + 5] = ip[3];
}

/** The MAC an IPv6 multicast group maps to (RFC 2464): 33:33 + low 32 bits. */
export function ipv6MulticastMac(ip: Uint8Array, out: Uint8Array, off = 0): void {
  out[off] = 0x33;
  out[off + 1] = 0x33;
  out[off + 2] = ip[12];
  out[off + 3] = ip[13];
  out[off + 4] = ip[14];
  out[off + 5] = ip[15];
}

export function isMulticastMac(m: Uint8Array, off = 0): boolean {
  return (m[off] & 1) !== 0;
}

export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[aOff + i] !== b[i]) return false;
  return true;
}
