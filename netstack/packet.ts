// What the IP layers tell a transport about a received packet. The views point into the
// receive buffer and are valid only during the call: copy what you keep.
import type { NIC } from "./nic.ts";

export interface PacketInfo {
  nic: NIC;
  /** 4 or 6. */
  version: number;
  src: Uint8Array;
  dst: Uint8Array;
  ttl: number;
  tos: number;
  protocol: number;
  /** Transport header and data. */
  payload: Uint8Array;
  /** The whole IP packet (for quoting in ICMP errors). */
  ip: Uint8Array;
  /** The destination was a broadcast or multicast address. */
  multicast: boolean;
  /** The link does checksum offload (loopback): transport checksums need no check. */
  trusted: boolean;
  /** The packet came from a fragmented datagram (ICMP errors then quote the first part). */
  reassembled: boolean;
}

export function newPacketInfo(nic: NIC): PacketInfo {
  return {
    nic,
    version: 4,
    src: new Uint8Array(4),
    dst: new Uint8Array(4),
    ttl: 0,
    tos: 0,
    protocol: 0,
    payload: new Uint8Array(0),
    ip: new Uint8Array(0),
    multicast: false,
    trusted: false,
    reassembled: false,
  };
}

/** What a datagram socket keeps about a packet's arrival (dgram.ts DatagramMeta). */
export function packetMeta(info: PacketInfo, now: number) {
  return {
    dst: info.dst.slice(),
    ttl: info.ttl,
    tos: info.tos,
    ifindex: info.nic.id,
    arrivedNs: now,
  };
}
