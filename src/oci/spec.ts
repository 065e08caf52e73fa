// `spec`: writes a starting config.json into a bundle directory (never over an existing one).
import { defaultConfigJson } from "./config.ts";
import { OciError } from "./errors.ts";

export function writeSpec(bundle: string, rootless: boolean): void {
  const path = `${bundle}/config.json`;
  const config = defaultConfigJson();
  if (rootless) {
    const linux = config.linux as Record<string, unknown>;
    linux.namespaces = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, {
      type: "user",
    }];
    linux.uidMappings = [{ containerID: 0, hostID: Deno.uid() ?? 0, size: 1 }];
    linux.gidMappings = [{ containerID: 0, hostID: Deno.gid() ?? 0, size: 1 }];
    delete linux.resources;
  }
  try {
    Deno.writeTextFileSync(path, JSON.stringify(config, null, "\t") + "\n", { createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new OciError(`${path} exists; remove it first`);
    }
    throw new OciError(`cannot write ${path}: ${e instanceof Error ? e.message : e}`);
  }
}
