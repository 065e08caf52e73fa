// `features`: what this runtime implements, in the runtime-spec's features.md format.
import { CAPABILITY_NAMES, HOOK_KINDS, MOUNT_TYPES, NAMESPACE_TYPES } from "./config.ts";
import { OCI_VERSION } from "./container.ts";
import { VERSION } from "../version.ts";

export function features(): Record<string, unknown> {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions: [
      "ro",
      "rw",
      "bind",
      "rbind",
      "nosuid",
      "suid",
      "nodev",
      "dev",
      "noexec",
      "exec",
      "private",
      "rprivate",
      "relatime",
      "strictatime",
      "mode",
      "size",
      "uid",
      "gid",
      "newinstance",
      "ptmxmode",
    ],
    linux: {
      namespaces: NAMESPACE_TYPES,
      capabilities: CAPABILITY_NAMES,
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: {
      "org.opencontainers.runtime-spec.features.version": OCI_VERSION,
      "dev.cordon.version": VERSION,
      "dev.cordon.mountTypes": MOUNT_TYPES.join(","),
      "dev.cordon.sandbox": "application kernel (sentry); guest system calls never reach the host",
    },
  };
}
