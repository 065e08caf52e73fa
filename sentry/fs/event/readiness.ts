// What poll, select and epoll ask of a file: its readiness for a set of events, with the
// *NORM bits derived from POLLIN / POLLOUT for files that only report those.
import * as L from "../../abi/linux.ts";
import type { FileDescription } from "../../vfs/file.ts";

/** Poll bits that are not events: epoll's flags and private wait-queue bits live above. */
export const EVENT_BITS = 0xffff;

/** What f reports for `events` (POLLERR and POLLHUP are always reported). */
export function pollFile(f: FileDescription, events: number): number {
  const want = (events & EVENT_BITS) | L.POLLERR | L.POLLHUP;
  let ask = want;
  if (want & (L.POLLRDNORM | L.POLLRDBAND)) ask |= L.POLLIN;
  if (want & (L.POLLWRNORM | L.POLLWRBAND)) ask |= L.POLLOUT;
  let r = f.readiness(ask);
  if (r & L.POLLIN) r |= L.POLLRDNORM;
  if (r & L.POLLOUT) r |= L.POLLWRNORM;
  return r & want;
}

/** The wait-queue mask that can announce a change in `events`. */
export function waitMask(events: number): number {
  let m = (events & EVENT_BITS) | L.POLLERR | L.POLLHUP;
  if (m & (L.POLLRDNORM | L.POLLRDBAND)) m |= L.POLLIN;
  if (m & (L.POLLWRNORM | L.POLLWRBAND)) m |= L.POLLOUT;
  if (m & L.POLLIN) m |= L.POLLRDNORM;
  if (m & L.POLLOUT) m |= L.POLLWRNORM;
  return m;
}
