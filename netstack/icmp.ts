// ICMPv4 (RFC 792): echo, errors received (routed to the transport that sent the offending
// packet, with path-MTU updates from "fragmentation needed"), and errors sent, rate-limited
// and never about ICMP errors, broadcasts or non-first fragments (RFC 1122 3.2.2).
import { IPAddress, isMulticast, isUnspecified } from "./addr.ts";
import { checksum } from "./checksum.ts";
import * as E from "./errno.ts";
import { PROTO_ICMP } from "./ipv4.ts";
import type { PacketInfo } from "./packet.ts";
import { NetError, NetErrorKind, Stack, TX_L4_OFFSET } from "./stack.ts";

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAM_PROBLEM = 12;

/** A token bucket: `rate` tokens per second, up to `burst`. */
export class RateLimiter {
  private tokens: number;
  private last = 0;
  constructor(private readonly rate: number, private readonly burst: number) {
    this.tokens = burst;
  }
  allow(now: number): boolean {
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1e9);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class Icmp4 {
  readonly errorLimiter = new RateLimiter(100, 50);
  /** Linux's icmp_echo_ignore_broadcasts default. */
  ignoreBroadcastEcho = true;

  constructor(private readonly stack: Stack) {}

  receive(info: PacketInfo): void {
    const p = info.payload;
    const stats = this.stack.stats;
    if (p.length < 8) return stats.inc("icmp4.short");
    if (!info.trusted && checksum(p, 0, p.length) !== 0) return stats.inc("icmp4.badChecksum");
    const type = p[0];
    switch (type) {
      case ICMP_ECHO_REQUEST:
        if (info.multicast && this.ignoreBroadcastEcho) return;
        this.reply(info);
        return;
      case ICMP_ECHO_REPLY:
        this.stack.ping.receive(info);
        return;
      case ICMP_DEST_UNREACH:
      case ICMP_TIME_EXCEEDED:
      case ICMP_PARAM_PROBLEM:
        this.receiveError(info);
        return;
      default:
        stats.inc("icmp4.ignoredType");
    }
  }

  private reply(info: PacketInfo): void {
    const p = info.payload;
    const route = this.stack.findRoute(info.src.slice(), info.dst.slice());
    if (typeof route === "number") return;
    if (p.length > 65535 - 20) return;
    const b = this.stack.txBuf;
    b.set(p, TX_L4_OFFSET);
    b[TX_L4_OFFSET] = ICMP_ECHO_REPLY;
    b[TX_L4_OFFSET + 2] = 0;
    b[TX_L4_OFFSET + 3] = 0;
    const c = checksum(b, TX_L4_OFFSET, p.length);
    b[TX_L4_OFFSET + 2] = c >> 8;
    b[TX_L4_OFFSET + 3] = c & 0xff;
    this.stack.ipOutput(route, PROTO_ICMP, b, TX_L4_OFFSET, p.length, 64, info.tos, false);
  }

  private receiveError(info: PacketInfo): void {
    const p = info.payload;
    const inner = p.subarray(8);
    const stats = this.stack.stats;
    if (inner.length < 20 || inner[0] >> 4 !== 4) return stats.inc("icmp4.badQuote");
    const ihl = (inner[0] & 0x0f) * 4;
    if (ihl < 20 || inner.length < ihl + 8) return stats.inc("icmp4.badQuote");
    const src = inner.subarray(12, 16);
    if (!this.stack.isLocalAddress(src)) return stats.inc("icmp4.notOurs");
    const err: NetError = {
      kind: NetErrorKind.Unreachable,
      errno: E.EHOSTUNREACH,
      hard: false,
      mtu: 0,
    };
    const type = p[0], code = p[1];
    if (type === ICMP_DEST_UNREACH) {
      switch (code) {
        case 0:
          err.errno = E.ENETUNREACH;
          break;
        case 2:
          err.kind = NetErrorKind.ProtoUnreachable;
          err.errno = E.ENOPROTOOPT;
          err.hard = true;
          break;
        case 3:
          err.kind = NetErrorKind.PortUnreachable;
          err.errno = E.ECONNREFUSED;
          err.hard = true;
          break;
        case 4: {
          err.kind = NetErrorKind.FragNeeded;
          err.errno = E.EMSGSIZE;
          let mtu = (p[6] << 8) | p[7];
          // RFC 1191: old routers send 0; guess from the quoted packet's length.
          if (mtu === 0) mtu = Math.max(68, ((inner[2] << 8) | inner[3]) - 1);
          if (mtu < 68) return stats.inc("icmp4.badMtu");
          err.mtu = mtu;
          break;
        }
        case 9:
        case 10:
        case 13:
          err.errno = E.EACCES;
          err.hard = true;
          break;
        default:
          err.errno = E.EHOSTUNREACH;
      }
    } else if (type === ICMP_TIME_EXCEEDED) {
      err.kind = NetErrorKind.TimeExceeded;
    } else {
      err.kind = NetErrorKind.ParamProblem;
      err.errno = E.EPROTO;
    }
    this.stack.transportError(inner[9], src, inner.subarray(16, 20), inner.subarray(ihl), err);
  }

  /** Sends an ICMP error about the received packet described by `info`. */
  sendError(info: PacketInfo, type: number, code: number, mtu: number): void {
    if (info.multicast) return;
    this.sendErrorAbout(info.ip, type, code, mtu);
  }

  /** Sends an ICMP error quoting the IPv4 packet `ip` (header plus as much as fits in 576
   * bytes, RFC 1812 4.3.2.3). */
  sendErrorAbout(ip: Uint8Array, type: number, code: number, mtu: number): void {
    if (ip.length < 20) return;
    const ihl = (ip[0] & 0x0f) * 4;
    const src = ip.subarray(12, 16);
    if (isUnspecified(src) || isMulticast(src) || src[0] === 255) return;
    if (isMulticast(ip.subarray(16, 20))) return;
    if ((((ip[6] << 8) | ip[7]) & 0x1fff) !== 0) return; // not the first fragment
    if (ip[9] === PROTO_ICMP) {
      // Never answer an error with an error: only echo/info messages may be quoted.
      const t = ip.length > ihl ? ip[ihl] : 255;
      if (t !== ICMP_ECHO_REQUEST && t !== ICMP_ECHO_REPLY && t !== 13 && t !== 14) return;
    }
    if (!this.errorLimiter.allow(this.stack.now)) return;
    const dst: IPAddress = src.slice();
    const route = this.stack.findRoute(dst);
    if (typeof route === "number") return;
    const quoteLen = Math.min(ip.length, 576 - 28);
    const b = this.stack.txBuf;
    const o = TX_L4_OFFSET;
    b[o] = type;
    b[o + 1] = code;
    b[o + 2] = 0;
    b[o + 3] = 0;
    b[o + 4] = 0;
    b[o + 5] = 0;
    b[o + 6] = mtu >> 8;
    b[o + 7] = mtu & 0xff;
    b.set(ip.subarray(0, quoteLen), o + 8);
    const c = checksum(b, o, 8 + quoteLen);
    b[o + 2] = c >> 8;
    b[o + 3] = c & 0xff;
    this.stack.ipOutput(route, PROTO_ICMP, b, o, 8 + quoteLen, 64, 0xc0, false);
  }
}
