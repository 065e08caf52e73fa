// epoll instances on their own (sentry/fs/event/epoll.ts), with a fake file whose
// readiness the test sets: what the conformance program cannot observe from a guest, such
// as EPOLLEXCLUSIVE waking one waiting instance per notification, and entries of released
// files being dropped. No sandbox.
import * as L from "../../sentry/abi/linux.ts";
import {
  EPOLL_CTL_ADD,
  EPOLLET,
  EPOLLEXCLUSIVE,
  EpollFile,
  EPOLLIN,
  type ReadyEvent,
} from "../../sentry/fs/event/epoll.ts";
import type { Waiter } from "../../sentry/util/waitqueue.ts";
import { FileDescription } from "../../sentry/vfs/file.ts";
import { assertEquals } from "./ipc_helpers.ts";

class FakeFile extends FileDescription {
  ready = 0;
  constructor() {
    super(L.O_RDWR, null, null);
  }
  override readiness(mask: number): number {
    return this.ready & mask;
  }
  /** Becomes ready for `bits` and says so, as a pipe or socket would. */
  set(bits: number): void {
    this.ready = bits;
    if (bits) this.waitQueue.notify(bits);
  }
}

/** Stands for a task blocked in epoll_wait: counts its wake-ups. */
class Sleeper implements Waiter {
  wakeups = 0;
  notify(): void {
    this.wakeups++;
  }
}

function take(ep: EpollFile, max = 8): ReadyEvent[] {
  const out: ReadyEvent[] = [];
  ep.collect(max, out);
  return out;
}

Deno.test("epoll unit: level-triggered entries stay ready; edge-triggered ones need a new notification", () => {
  const ep = new EpollFile(L.O_RDWR);
  const lt = new FakeFile(), et = new FakeFile();
  assertEquals(ep.ctl(EPOLL_CTL_ADD, 3, lt, EPOLLIN, 1, 0), 0, "add LT");
  assertEquals(ep.ctl(EPOLL_CTL_ADD, 4, et, EPOLLIN | EPOLLET, 2, 0), 0, "add ET");
  lt.set(L.POLLIN);
  et.set(L.POLLIN);
  assertEquals(take(ep).map((e) => e.dataLo).join(","), "1,2", "both reported");
  assertEquals(take(ep).map((e) => e.dataLo).join(","), "1", "only LT again");
  et.set(L.POLLIN);
  assertEquals(take(ep).map((e) => e.dataLo).join(","), "1,2", "ET after a new notification");
  lt.set(0);
  assertEquals(take(ep).length, 0, "LT dropped once not ready");
});

Deno.test("epoll unit: EPOLLEXCLUSIVE wakes one instance that has waiters per notification", () => {
  const file = new FakeFile();
  const eps = [new EpollFile(L.O_RDWR), new EpollFile(L.O_RDWR), new EpollFile(L.O_RDWR)];
  const sleepers = eps.map(() => new Sleeper());
  eps.forEach((ep, i) => {
    assertEquals(ep.ctl(EPOLL_CTL_ADD, 5, file, EPOLLIN | EPOLLEXCLUSIVE, i, 0), 0, `add ${i}`);
  });
  // Instance 0 has nobody waiting; 1 and 2 have a blocked task each.
  eps[1].waitQueue.add(sleepers[1], ~0);
  eps[2].waitQueue.add(sleepers[2], ~0);
  file.set(L.POLLIN);
  assertEquals(sleepers.map((s) => s.wakeups).join(","), "0,1,0", "one waiter woken");
  assertEquals(take(eps[0]).length, 1, "instance 0 (no waiter) got the event queued");
  assertEquals(take(eps[2]).length, 0, "instance 2 was not visited");
  // A non-exclusive instance is always woken too.
  const plain = new EpollFile(L.O_RDWR), s = new Sleeper();
  plain.ctl(EPOLL_CTL_ADD, 5, file, EPOLLIN, 9, 0);
  plain.waitQueue.add(s, ~0);
  file.set(L.POLLIN);
  assertEquals(s.wakeups, 1, "non-exclusive instance woken");
});

Deno.test("epoll unit: entries of released files are dropped; nested instances report readiness", () => {
  const ep = new EpollFile(L.O_RDWR), outer = new EpollFile(L.O_RDWR);
  const file = new FakeFile();
  ep.ctl(EPOLL_CTL_ADD, 6, file, EPOLLIN, 6, 0);
  assertEquals(outer.ctl(EPOLL_CTL_ADD, 7, ep, EPOLLIN, 7, 0), 0, "nest");
  assertEquals(ep.ctl(EPOLL_CTL_ADD, 8, outer, EPOLLIN, 8, 0), -40, "a loop is refused (ELOOP)");
  file.set(L.POLLIN);
  assertEquals(take(outer).map((e) => e.dataLo).join(","), "7", "outer sees inner ready");
  file.decRef();
  assertEquals(file.isReleased, true, "released");
  assertEquals(ep.find(file, 6), undefined, "its entry is gone at once");
  assertEquals(file.waitQueue.size, 0, "and no longer waits on the file");
  assertEquals(take(ep).length, 0, "released file reports nothing");
});
