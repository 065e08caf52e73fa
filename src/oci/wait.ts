// `wait` (as runsc has it): blocks until the container's init has exited and prints its
// exit status as JSON.
import { exitCodeOf } from "./errors.ts";
import { Container } from "./container.ts";
import { waitGone } from "./kill.ts";
import type { Runtime } from "./context.ts";

export function waitContainer(rt: Runtime, id: string): { id: string; exitStatus: number } {
  const c = Container.open(rt.root, id, true);
  const pid = c.record.pid;
  const alive = c.status() !== "stopped";
  c.unlock();
  if (alive) waitGone(pid, -1);
  const again = Container.open(rt.root, id, true);
  const status = again.exitStatus();
  again.unlock();
  return { id, exitStatus: status === null ? -1 : exitCodeOf(status) };
}
