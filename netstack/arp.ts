// ARP (RFC 826) for IPv4 over Ethernet: answers requests for our addresses, resolves next
// hops through the neighbour cache, announces new addresses with a gratuitous ARP.
import { IPAddress, isMulticast } from "./addr.ts";
import { BROADCAST_MAC, ETH_HLEN, ETH_P_ARP, ETH_P_IP, isMulticastMac } from "./ethernet.ts";
import { NeighborCache } from "./neighbor.ts";
import type { NIC } from "./nic.ts";
import type { Stack } from "./stack.ts";

const ARP_LEN = 28;
const OP_REQUEST = 1;
const OP_REPLY = 2;

export class Arp {
  private frame = new Uint8Array(ETH_HLEN + ARP_LEN);

  constructor(private readonly stack: Stack) {}

  createCache(nic: NIC): NeighborCache {
    const stack = this.stack;
    return new NeighborCache(stack.timers, () => stack.now, {
      solicit: (target, mac) => this.sendRequest(nic, target, mac),
      unreachable: (frames) => {
        for (const f of frames) stack.ipv4.neighborFailed(f.subarray(ETH_HLEN));
      },
      transmit: (frame) => nic.writeFrame(frame),
    }, stack.neighborConfig);
  }

  receive(nic: NIC, p: Uint8Array): void {
    const stats = this.stack.stats;
    if (p.length < ARP_LEN) return stats.inc("arp.short");
    if (
      ((p[0] << 8) | p[1]) !== 1 || ((p[2] << 8) | p[3]) !== ETH_P_IP || p[4] !== 6 || p[5] !== 4
    ) return stats.inc("arp.badFormat");
    const op = (p[6] << 8) | p[7];
    const senderMac = p.subarray(8, 14);
    const senderIp = p.subarray(14, 18);
    const targetIp = p.subarray(24, 28);
    if (isMulticastMac(senderMac) || isMulticast(senderIp) || nic.isBroadcast4(senderIp)) {
      return stats.inc("arp.badSender");
    }
    if (nic.hasAddress(senderIp)) return stats.inc("arp.conflict");
    const cache = nic.arp!;
    const forUs = nic.hasAddress(targetIp);
    const zeroSender = senderIp[0] === 0 && senderIp[1] === 0 && senderIp[2] === 0 &&
      senderIp[3] === 0;
    if (!zeroSender) {
      if (op === OP_REPLY) cache.confirm(senderIp, senderMac);
      else cache.learn(senderIp, senderMac, forUs);
    }
    if (op === OP_REQUEST && forUs) {
      this.send(nic, OP_REPLY, senderMac, targetIp, senderMac, senderIp);
    }
  }

  /** A gratuitous ARP request announcing `addr` (RFC 5227 style announcement). */
  announce(nic: NIC, addr: IPAddress): void {
    this.send(nic, OP_REQUEST, BROADCAST_MAC, addr, new Uint8Array(6), addr);
  }

  private sendRequest(nic: NIC, target: IPAddress, mac: Uint8Array | null): void {
    const src = nic.sourceFor(target);
    if (!src) return;
    this.send(nic, OP_REQUEST, mac ?? BROADCAST_MAC, src, new Uint8Array(6), target);
  }

  private send(
    nic: NIC,
    op: number,
    ethDst: Uint8Array,
    senderIp: IPAddress,
    targetMac: Uint8Array,
    targetIp: IPAddress,
  ): void {
    const f = this.frame;
    f.set(ethDst, 0);
    f.set(nic.mac, 6);
    f[12] = ETH_P_ARP >> 8;
    f[13] = ETH_P_ARP & 0xff;
    const p = ETH_HLEN;
    f[p] = 0;
    f[p + 1] = 1;
    f[p + 2] = ETH_P_IP >> 8;
    f[p + 3] = ETH_P_IP & 0xff;
    f[p + 4] = 6;
    f[p + 5] = 4;
    f[p + 6] = 0;
    f[p + 7] = op;
    f.set(nic.mac, p + 8);
    f.set(senderIp, p + 14);
    f.set(targetMac, p + 18);
    f.set(targetIp, p + 24);
    nic.writeFrame(f);
  }
}
