// Deadlines without timers of our own: the stack keeps its timers in a binary heap and the
// caller advances the clock. A Timer object is reused for the life of its owner, so arming
// and cancelling allocate nothing.

export class Timer {
  deadline = Infinity;
  /** Position in the heap, -1 when not armed. */
  index = -1;
  constructor(readonly fire: (now: number) => void) {}
  get armed(): boolean {
    return this.index >= 0;
  }
}

export class TimerQueue {
  private heap: Timer[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** Arms (or re-arms) `t` for absolute time `deadline` (ns). */
  arm(t: Timer, deadline: number): void {
    if (t.index >= 0) {
      const old = t.deadline;
      t.deadline = deadline;
      if (deadline < old) this.up(t.index);
      else if (deadline > old) this.down(t.index);
      return;
    }
    t.deadline = deadline;
    t.index = this.heap.length;
    this.heap.push(t);
    this.up(t.index);
  }

  cancel(t: Timer): void {
    const i = t.index;
    if (i < 0) return;
    const last = this.heap.pop()!;
    t.index = -1;
    t.deadline = Infinity;
    if (last !== t) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
  }

  nextDeadline(): number {
    return this.heap.length ? this.heap[0].deadline : Infinity;
  }

  /** Fires every timer due at or before `now`, earliest first. A callback may re-arm timers;
   * ones armed for `now` or earlier fire in the same call, bounded to avoid a livelock. */
  runExpired(now: number): number {
    let fired = 0;
    while (this.heap.length && this.heap[0].deadline <= now && fired < 100000) {
      const t = this.heap[0];
      this.cancel(t);
      fired++;
      t.fire(now);
    }
    return fired;
  }

  private up(i: number): void {
    const h = this.heap;
    const t = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].deadline <= t.deadline) break;
      h[i] = h[p];
      h[i].index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1].deadline < h[c].deadline) c++;
      if (h[c].deadline >= t.deadline) break;
      h[i] = h[c];
      h[i].index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }
}
