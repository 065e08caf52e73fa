// Signals sent to the sentry process itself: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
// SIGUSR2 go to the guest's init, as runsc and docker forward them, instead of killing the
// sentry; SIGWINCH (the host terminal was resized) updates the console's window size. The C side
// (ffi/lib/hostsig.c) turns each signal into a byte on a pipe the kernel's loop watches, so
// Deno's own signal handling never sees them.
import * as L from "../../abi/linux.ts";
import { host } from "../../../ffi/host.ts";
import { hostsig } from "../../../ffi/hostsig.ts";
import type { Kernel } from "../kernel.ts";
import type { HostConsole } from "./host.ts";

const EPOLLIN = 0x001;
export const FORWARDED_SIGNALS = [L.SIGINT, L.SIGTERM, L.SIGHUP, L.SIGQUIT, L.SIGUSR1, L.SIGUSR2];

/** Starts forwarding; returns a function that gives the signals their default actions
 * back. console: the console whose window size follows the host terminal's, if any. */
export function forwardHostSignals(k: Kernel, console: HostConsole | null): () => void {
  const hs = hostsig();
  const fd = hs.sb_sig_open();
  if (fd < 0) return () => {};
  const caught = [...FORWARDED_SIGNALS, ...(console ? [L.SIGWINCH] : [])];
  for (const sig of caught) hs.sb_sig_catch(sig);
  const buf = new Uint8Array(64);
  const token = k.watchFd(fd, EPOLLIN, () => {
    for (;;) {
      const n = host().sb_h_read(fd, buf, buf.length);
      if (n <= 0) return;
      for (let i = 0; i < n; i++) deliver(k, console, buf[i]);
    }
  });
  return () => {
    for (const sig of caught) hs.sb_sig_default(sig);
    if (token > 0) k.unwatchFd(fd, token);
  };
}

function deliver(k: Kernel, console: HostConsole | null, sig: number): void {
  if (sig === L.SIGWINCH) {
    console?.syncWinSize();
    return;
  }
  const init = k.init;
  if (!init || init.zombie) return;
  k.signals.sendToGroup(init, { signo: sig, errno: 0, code: L.SI_USER, pid: 0, uid: 0 });
}
