// Wait queues: how something that can become ready (a pipe, a socket, a futex, a child's
// exit) tells whoever waits for it. A waiter is anything with notify(): a blocked task, an
// epoll instance, a poll() call in progress.
//
// notify() must not do work that could re-enter the notifier: waiters only record the
// wakeup (a task goes on the kernel's run list and retries its syscall later).

export interface Waiter {
  notify(mask: number): void;
}

export class WaitQueue {
  private entries: Array<{ waiter: Waiter; mask: number }> = [];

  add(waiter: Waiter, mask: number): void {
    this.entries.push({ waiter, mask });
  }

  remove(waiter: Waiter): void {
    const e = this.entries;
    for (let i = e.length - 1; i >= 0; i--) if (e[i].waiter === waiter) e.splice(i, 1);
  }

  /** Wakes every waiter interested in any bit of mask (~0: everyone). */
  notify(mask: number): void {
    if (this.entries.length === 0) return;
    // Waiters may remove themselves while we iterate.
    for (const e of this.entries.slice()) if (e.mask & mask) e.waiter.notify(mask);
  }

  get size(): number {
    return this.entries.length;
  }
}
