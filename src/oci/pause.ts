// `pause` and `resume`: freeze and thaw every guest thread of a running container.
import { Container } from "./container.ts";
import { request } from "./control.ts";
import { OciError } from "./errors.ts";
import type { Runtime } from "./context.ts";

export function pauseContainer(rt: Runtime, id: string, pause: boolean): void {
  const c = Container.open(rt.root, id);
  try {
    const status = c.status();
    const want = pause ? "running" : "paused";
    if (status !== want) {
      throw new OciError(
        `cannot ${pause ? "pause" : "resume"} container '${id}': it is ${status}, not ${want}`,
      );
    }
    request(c.dir, { op: pause ? "pause" : "resume" });
    c.setStatus(pause ? "paused" : "running");
  } finally {
    c.unlock();
  }
}
