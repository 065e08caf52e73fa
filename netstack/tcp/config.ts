// TCP tunables, with Linux's defaults where Linux has one.
export interface TcpConfig {
  /** MSS assumed when the peer sends no MSS option (RFC 9293 3.7.1). */
  defaultMss: number;
  initialRtoNs: number;
  minRtoNs: number;
  maxRtoNs: number;
  /** Retransmissions of a SYN before connect fails (tcp_syn_retries). */
  synRetries: number;
  /** Retransmissions of a SYN-ACK (tcp_synack_retries). */
  synAckRetries: number;
  /** Retransmissions of data before the connection is dropped (tcp_retries2). */
  retries2: number;
  timeWaitNs: number;
  /** How long an orphaned connection may sit in FIN_WAIT_2 (tcp_fin_timeout). */
  finTimeoutNs: number;
  delayedAckNs: number;
  keepIdleNs: number;
  keepIntvlNs: number;
  keepCnt: number;
  rcvbufDefault: number;
  rcvbufMax: number;
  sndbufDefault: number;
  sndbufMax: number;
  initialCwndSegments: number;
  congestion: "cubic" | "reno";
  sack: boolean;
  timestamps: boolean;
  windowScaling: boolean;
  /** Half-open connections per listener beyond which SYNs are dropped. */
  maxSynBacklog: number;
  /** Out-of-order ranges held per connection; segments that would add more are dropped. */
  maxOooRanges: number;
  /** Challenge ACKs per second (RFC 5961 rate limit, tcp_challenge_ack_limit). */
  challengeAckLimit: number;
  /** RACK-TLP loss detection (RFC 8985); without it, three duplicate ACKs. */
  rack: boolean;
  tlp: boolean;
  /** Segments acknowledged immediately at the start of a connection (quick-ack mode). */
  quickAcks: number;
  /** TIME_WAIT connections kept at most (tcp_max_tw_buckets); beyond, closers skip it. */
  maxTimeWait: number;
}

export const DEFAULT_TCP_CONFIG: TcpConfig = {
  defaultMss: 536,
  initialRtoNs: 1e9,
  minRtoNs: 200e6,
  maxRtoNs: 120e9,
  synRetries: 6,
  synAckRetries: 5,
  retries2: 15,
  timeWaitNs: 60e9,
  finTimeoutNs: 60e9,
  delayedAckNs: 40e6,
  keepIdleNs: 7200e9,
  keepIntvlNs: 75e9,
  keepCnt: 9,
  rcvbufDefault: 131072,
  rcvbufMax: 6 << 20,
  sndbufDefault: 262144,
  sndbufMax: 4 << 20,
  initialCwndSegments: 10,
  congestion: "cubic",
  sack: true,
  timestamps: true,
  windowScaling: true,
  maxSynBacklog: 256,
  maxOooRanges: 64,
  challengeAckLimit: 1000,
  rack: true,
  tlp: true,
  quickAcks: 16,
  maxTimeWait: 32768,
};
