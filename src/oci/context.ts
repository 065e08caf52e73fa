// What every OCI command gets from the global flags: the state root, logging, and the
// options passed on to sandbox processes.
import { Root } from "./container.ts";

export interface RuntimeOptions {
  root: string;
  /** --log: where errors and warnings also go; --log-format text|json. */
  log: string | null;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  platform: "trap" | "ptrace";
  /** The sentry's debug log (--debug-log) and syscall trace (--strace). */
  debugLog: string | null;
  strace: boolean;
}

export class Runtime {
  readonly root: Root;

  constructor(readonly opts: RuntimeOptions) {
    this.root = new Root(opts.root);
  }

  /** Writes a line to --log (if any) in its format. */
  logLine(level: "error" | "warning" | "info" | "debug", msg: string): void {
    if (!this.opts.log) return;
    if (level === "debug" && !this.opts.debug) return;
    const time = new Date().toISOString();
    const line = this.opts.logFormat === "json"
      ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg="${
        msg.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
      }"`;
    try {
      Deno.writeTextFileSync(this.opts.log, line + "\n", { append: true, create: true });
    } catch {
      // an unwritable log must not turn a success into a failure
    }
  }

  warn(msg: string): void {
    console.error(`cordon: warning: ${msg}`);
    this.logLine("warning", msg);
  }

  debug(msg: string): void {
    if (this.opts.debug) console.error(`cordon: debug: ${msg}`);
    this.logLine("debug", msg);
  }
}
