// The sandbox's terminals by pts number: the pty pairs made through /dev/ptmx and the
// console (a terminal bridged to the host, also listed in /dev/pts). One table per kernel;
// devpts (fs/devpts) shows it, /dev/console and /dev/tty find terminals in it.
import type { Kernel } from "../kernel.ts";
import { makeDev, Terminal, UNIX98_PTY_SLAVE_MAJOR } from "./terminal.ts";

/** Linux's default maximum number of ptys (/proc/sys/kernel/pty/max). */
export const PTY_MAX = 4096;

export class PtyTable {
  readonly terminals = new Map<number, Terminal>();
  /** The sandbox's console (/dev/console), if it has one. */
  console: Terminal | null = null;
  /** Pty pairs made so far (/proc/sys/kernel/pty/nr). */
  made = 0;

  constructor(readonly kernel: Kernel) {}

  /** A new terminal with the lowest free pts number, or null when all are taken. */
  allocate(): Terminal | null {
    for (let i = 0; i < PTY_MAX; i++) {
      if (this.terminals.has(i)) continue;
      const tty = new Terminal(this.kernel, i, makeDev(UNIX98_PTY_SLAVE_MAJOR, i));
      this.terminals.set(i, tty);
      this.made++;
      return tty;
    }
    return null;
  }

  /** The pts number is free again (the master closed and the slave is gone). */
  release(tty: Terminal): void {
    if (this.terminals.get(tty.index) === tty) this.terminals.delete(tty.index);
  }
}

const tables = new WeakMap<Kernel, PtyTable>();

export function ptyTable(k: Kernel): PtyTable {
  let t = tables.get(k);
  if (!t) {
    t = new PtyTable(k);
    tables.set(k, t);
  }
  return t;
}
