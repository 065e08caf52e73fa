// Network mode "host": guest sockets are host sockets (socket/inet/host_socket.ts), so the
// guest sees the host's network namespace; netlink, the interface ioctls and /proc/net
// describe that namespace as the sentry reads it.
import type { Kernel } from "../kernel/kernel.ts";
import { readNamespace } from "./hostns.ts";
import type { IfInfo, Network, RouteInfo } from "./network.ts";

export class HostNetwork implements Network {
  readonly mode = "host" as const;

  interfaces(): IfInfo[] {
    const ns = readNamespace();
    return typeof ns === "number" ? [] : ns.links;
  }

  routes(): RouteInfo[] {
    const ns = readNamespace();
    return typeof ns === "number" ? [] : ns.routes;
  }

  attach(_kernel: Kernel): void {}

  close(): void {}
}
