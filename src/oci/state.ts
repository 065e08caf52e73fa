// `state`: the OCI state of a container as JSON (ociVersion, id, status, pid, bundle,
// annotations), plus runc's extra fields (rootfs, created, owner).
import { Container, ociState } from "./container.ts";
import type { Runtime } from "./context.ts";

export function containerState(rt: Runtime, id: string): Record<string, unknown> {
  const c = Container.open(rt.root, id, true);
  try {
    const status = c.status();
    return {
      ...ociState(c.record, status),
      rootfs: c.record.rootfs,
      created: c.record.created,
      owner: c.record.owner,
    };
  } finally {
    c.unlock();
  }
}
