// Host signals and host terminals for the sentry process (ffi/lib/hostsig.c): catching the
// signals the sentry forwards to its guest, raw mode for the user's terminal, host pty
// pairs for consoles. Every call returns a value >= 0 or -errno.
import { bindLazily } from "./locate.ts";

const symbols = {
  sb_sig_open: { parameters: [], result: "i32" },
  sb_sig_catch: { parameters: ["i32"], result: "i32" },
  sb_sig_default: { parameters: ["i32"], result: "i32" },
  sb_tty_make_raw: { parameters: ["i32"], result: "i32" },
  sb_tty_restore: { parameters: [], result: "i32" },
  sb_tty_is_foreground: { parameters: ["i32"], result: "i32" },
  sb_tty_set_ctty: { parameters: ["i32"], result: "i32" },
  sb_pty_open: { parameters: ["buffer"], result: "i32" },
  sb_pty_spawn: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32", "i32", "buffer"],
    result: "i32",
  },
  sb_pty_wait: { parameters: ["i32", "i32"], result: "i32" },
} as const;

let lib: Deno.DynamicLibrary<typeof symbols>["symbols"] | null = null;

/** The symbols (loaded on first use). */
export function hostsig(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  return lib ??= bindLazily(symbols);
}

/** A host pty pair: [master, slave], or -errno. */
export function openHostPty(): [number, number] | number {
  const b = new Int32Array(2);
  const rc = hostsig().sb_pty_open(new Uint8Array(b.buffer));
  return rc < 0 ? rc : [b[0], b[1]];
}
