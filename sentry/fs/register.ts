// The filesystems the sentry can mount by type (proc, tmpfs, ...), registered with the
// sandbox. Each filesystem's module adds itself here.
import { FILESYSTEMS } from "../sandbox.ts";

export function registerFilesystems(): void {
  void FILESYSTEMS;
}
