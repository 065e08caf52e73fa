// The filesystems the sentry can mount by type (proc, tmpfs, ...), registered with the
// sandbox. Each filesystem's module adds itself here.
import { FILESYSTEMS, type MountSpec, type Sandbox } from "../sandbox.ts";
import { Dentry } from "../vfs/inode.ts";
import { MNT_NODEV, MNT_NOEXEC, MNT_NOSUID } from "../vfs/mount.ts";
import { makeDevfs } from "./dev/devfs.ts";
import "./dev/devices.ts";
import { devptsOf, parseDevptsOptions } from "./devpts/devpts.ts";
import { parseTmpfsOptions, TmpFS } from "./tmpfs/tmpfs.ts";
import { ProcFS } from "./proc/procfs.ts";
import { SysFS } from "./sys/sysfs.ts";

export function registerFilesystems(): void {
  FILESYSTEMS.set("proc", (sb: Sandbox) => {
    const fs = new ProcFS(sb.kernel, () => [...FILESYSTEMS.keys()].filter((t) => t !== "bind"));
    return { fs, root: fs.rootDentry(), flags: MNT_NOSUID | MNT_NODEV | MNT_NOEXEC };
  });
  FILESYSTEMS.set("sysfs", (sb: Sandbox) => {
    const fs = new SysFS(sb.kernel);
    return { fs, root: fs.rootDentry(), flags: MNT_NOSUID | MNT_NODEV | MNT_NOEXEC };
  });
  FILESYSTEMS.set("devtmpfs", (sb: Sandbox) => {
    const { fs, root } = makeDevfs(sb.kernel.memfile);
    return { fs, root, flags: 0, options: fs.mountOptions() };
  });
  FILESYSTEMS.set("devpts", (sb: Sandbox, m: MountSpec) => {
    const fs = devptsOf(sb.kernel);
    parseDevptsOptions(fs, m.options);
    return { fs, root: new Dentry("", null, fs.root), flags: 0, options: fs.mountOptions() };
  });
  if (!FILESYSTEMS.has("tmpfs")) {
    FILESYSTEMS.set("tmpfs", (sb: Sandbox, m: MountSpec) => {
      const o = parseTmpfsOptions(m.options, {});
      if (typeof o === "number") return o;
      const fs = new TmpFS(sb.kernel.memfile, o);
      return { fs, root: new Dentry("", null, fs.root), flags: 0, options: fs.mountOptions() };
    });
  }
}
