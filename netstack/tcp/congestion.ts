// Congestion control: NewReno-style Reno (RFC 5681/6582) and CUBIC (RFC 9438). Windows are in
// bytes. The sender calls onAck for acknowledged bytes outside recovery, enterRecovery on a
// loss detected by ACKs (fast retransmit), onRto on a timeout.
export interface CongestionControl {
  readonly name: string;
  cwnd: number;
  ssthresh: number;
  /** `cwndLimited`: the sender had more to send than cwnd allowed, so growth is earned. */
  onAck(acked: number, now: number, minRtt: number, cwndLimited: boolean): void;
  enterRecovery(now: number, inFlight: number): void;
  /** Recovery ended with everything up to the recovery point acknowledged. */
  exitRecovery(): void;
  onRto(now: number, inFlight: number): void;
  setMss(mss: number): void;
}

export class Reno implements CongestionControl {
  readonly name: string = "reno";
  cwnd: number;
  ssthresh = Infinity;
  protected acc = 0;
  constructor(protected mss: number, initialSegments: number) {
    this.cwnd = initialSegments * mss;
  }
  setMss(mss: number): void {
    this.mss = mss;
  }
  onAck(acked: number, _now: number, _minRtt: number, cwndLimited: boolean): void {
    if (!cwndLimited) return;
    if (this.cwnd < this.ssthresh) {
      // Slow start with appropriate byte counting, L = 2 (RFC 3465).
      this.cwnd += Math.min(acked, 2 * this.mss);
      return;
    }
    this.acc += acked;
    if (this.acc >= this.cwnd) {
      this.acc -= this.cwnd;
      this.cwnd += this.mss;
    }
  }
  enterRecovery(_now: number, inFlight: number): void {
    this.ssthresh = Math.max(inFlight / 2, 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.acc = 0;
  }
  exitRecovery(): void {
    this.cwnd = Math.max(this.ssthresh, 2 * this.mss);
  }
  onRto(_now: number, inFlight: number): void {
    this.ssthresh = Math.max(inFlight / 2, 2 * this.mss);
    this.cwnd = this.mss;
    this.acc = 0;
  }
}

const BETA = 0.7;
const C = 0.4;

export class Cubic extends Reno {
  override readonly name = "cubic";
  private wMax = 0; // segments
  private lastWMax = 0;
  private k = 0; // seconds
  private epochStart = -1;
  private originPoint = 0;
  private wEst = 0;

  override onAck(acked: number, now: number, minRtt: number, cwndLimited: boolean): void {
    if (!cwndLimited) return;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * this.mss);
      return;
    }
    const mss = this.mss;
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      this.epochStart = now;
      if (cwndSeg < this.wMax) {
        this.k = Math.cbrt((this.wMax - cwndSeg) / C);
        this.originPoint = this.wMax;
      } else {
        this.k = 0;
        this.originPoint = cwndSeg;
      }
      this.wEst = cwndSeg;
    }
    const rtt = Number.isFinite(minRtt) ? minRtt : 100e6;
    const t = (now - this.epochStart + rtt) / 1e9;
    const target = this.originPoint + C * Math.pow(t - this.k, 3);
    // The Reno-friendly estimate (RFC 9438 4.3).
    this.wEst += ((3 * (1 - BETA)) / (1 + BETA)) * (acked / mss) / cwndSeg;
    let next: number;
    if (this.wEst > target) next = this.wEst;
    else if (target > cwndSeg) {
      next = cwndSeg + Math.min(target - cwndSeg, cwndSeg / 2) * (acked / mss) / cwndSeg;
    } else next = cwndSeg + 0.01 * (acked / mss) / cwndSeg; // stay near the plateau
    this.cwnd = Math.max(this.cwnd, Math.floor(next * mss));
  }

  override enterRecovery(_now: number, _inFlight: number): void {
    const cwndSeg = this.cwnd / this.mss;
    // Fast convergence: give up bandwidth faster when the last maximum was not reached.
    this.wMax = cwndSeg < this.lastWMax ? cwndSeg * (1 + BETA) / 2 : cwndSeg;
    this.lastWMax = cwndSeg;
    this.ssthresh = Math.max(Math.floor(this.cwnd * BETA), 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.epochStart = -1;
  }

  override onRto(now: number, inFlight: number): void {
    this.enterRecovery(now, inFlight);
    this.cwnd = this.mss;
  }
}

export function createCongestionControl(
  name: string,
  mss: number,
  initialSegments: number,
): CongestionControl {
  return name === "reno" ? new Reno(mss, initialSegments) : new Cubic(mss, initialSegments);
}
