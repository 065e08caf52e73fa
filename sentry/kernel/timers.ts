// The sentry's timers: a binary heap of deadlines (CLOCK_MONOTONIC nanoseconds). The main
// loop sleeps until the earliest one and runs those that are due.

export interface Timer {
  deadline: number;
  fn: () => void;
  /** Position in the heap, or -1 once fired or cancelled. */
  index: number;
}

export class TimerQueue {
  private heap: Timer[] = [];

  add(deadline: number, fn: () => void): Timer {
    const t: Timer = { deadline, fn, index: this.heap.length };
    this.heap.push(t);
    this.up(t.index);
    return t;
  }

  cancel(t: Timer | null | undefined): void {
    if (!t || t.index < 0) return;
    const i = t.index;
    const last = this.heap.pop()!;
    t.index = -1;
    if (last !== t) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(i);
    }
  }

  /** Earliest deadline, or Infinity. */
  next(): number {
    return this.heap.length ? this.heap[0].deadline : Infinity;
  }

  /** Runs every timer due at `now`. */
  fire(now: number): void {
    while (this.heap.length && this.heap[0].deadline <= now) {
      const t = this.heap[0];
      this.cancel(t);
      t.fn();
    }
  }

  get size(): number {
    return this.heap.length;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].deadline <= h[i].deadline) break;
      [h[p], h[i]] = [h[i], h[p]];
      h[p].index = p;
      h[i].index = i;
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && h[l].deadline < h[m].deadline) m = l;
      if (r < h.length && h[r].deadline < h[m].deadline) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i], h[m]];
      h[m].index = m;
      h[i].index = i;
      i = m;
    }
  }
}
