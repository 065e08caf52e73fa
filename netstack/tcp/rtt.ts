// Round-trip time estimation and the retransmission timeout (RFC 6298), plus the minimum
// RTT over a window (RACK's reordering window and CUBIC's delay-based bits use it).
export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  rto: number;
  minRtt = Infinity;
  private minRttStamp = 0;
  latest = 0;
  samples = 0;

  constructor(
    initialRto: number,
    private readonly minRto: number,
    private readonly maxRto: number,
  ) {
    this.rto = initialRto;
  }

  /** Adds one RTT sample (ns) taken at time `now`. */
  sample(r: number, now: number): void {
    if (r <= 0) r = 1000; // sub-microsecond local round trips still count as a sample
    this.latest = r;
    if (this.samples++ === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    // Clock granularity G is ours (ns), so the 4*RTTVAR term is used as is.
    this.rto = Math.min(this.maxRto, Math.max(this.minRto, this.srtt + 4 * this.rttvar));
    if (r <= this.minRtt || now - this.minRttStamp > 10e9) {
      this.minRtt = r;
      this.minRttStamp = now;
    }
  }
}
