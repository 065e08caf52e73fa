// Sessions, controlling terminals and job control, as Linux's tty_jobctrl.c keeps them.
//
// A session has at most one controlling terminal and a terminal controls at most one
// session. The association is made by a session leader (TIOCSCTTY, or opening a terminal
// without O_NOCTTY) and ends when the leader exits, when the terminal hangs up, or on
// TIOCNOTTY. Processes that leave the session (setsid) lose it with the session change.
import * as L from "../../abi/linux.ts";
import { E } from "../../abi/errno.ts";
import type { Kernel } from "../kernel.ts";
import type { Task, ThreadGroup } from "../task.ts";
import { sigBit } from "../siginfo.ts";

/** What jobs.ts needs of a terminal (terminal.ts implements it). */
export interface JobTerminal {
  /** Session id the terminal controls (0: none) and its foreground process group. */
  session: number;
  pgrp: number;
  /** The session's leader exited while the terminal controlled it. */
  leaderExited(): void;
}

class Sessions {
  /** Controlling terminal of each session. */
  readonly ttys = new Map<number, JobTerminal>();
  /** Processes that gave up their controlling terminal (TIOCNOTTY by a non-leader). */
  readonly detached = new WeakSet<ThreadGroup>();

  constructor(k: Kernel) {
    k.exitHooks.push((tg) => {
      if (tg.sid !== tg.tgid) return;
      const tty = this.ttys.get(tg.sid);
      if (tty && tty.session === tg.sid) tty.leaderExited();
    });
  }
}

const registries = new WeakMap<Kernel, Sessions>();

function sessions(k: Kernel): Sessions {
  let s = registries.get(k);
  if (!s) {
    s = new Sessions(k);
    registries.set(k, s);
  }
  return s;
}

/** The controlling terminal of a process, or null. */
export function controllingTty(tg: ThreadGroup): JobTerminal | null {
  const s = registries.get(tg.kernel);
  if (!s) return null;
  const tty = s.ttys.get(tg.sid);
  if (!tty || tty.session !== tg.sid || s.detached.has(tg)) return null;
  return tty;
}

/** Makes tty the controlling terminal of tg's session, with tg's group in the foreground
 * (proc_set_tty). */
export function setControllingTty(tg: ThreadGroup, tty: JobTerminal): void {
  const s = sessions(tg.kernel);
  if (tty.session && tty.session !== tg.sid) s.ttys.delete(tty.session);
  tty.session = tg.sid;
  tty.pgrp = tg.pgid;
  s.ttys.set(tg.sid, tty);
  s.detached.delete(tg);
}

/** Ends the association of tty with its session (the terminal stays as it is). */
export function clearSession(k: Kernel, tty: JobTerminal): void {
  const s = registries.get(k);
  if (s && tty.session && s.ttys.get(tty.session) === tty) s.ttys.delete(tty.session);
  tty.session = 0;
  tty.pgrp = 0;
}

/** TIOCNOTTY by a process that is not the session leader: only it loses the terminal. */
export function detachProcess(tg: ThreadGroup): void {
  sessions(tg.kernel).detached.add(tg);
}

export function isSessionLeader(tg: ThreadGroup): boolean {
  return tg.sid === tg.tgid;
}

/** Sends sig to every process of process group pgrp (kill_pgrp from the kernel). */
export function killPgrp(k: Kernel, pgrp: number, sig: number): void {
  if (pgrp <= 0) return;
  for (const g of [...k.groups.values()]) {
    if (g.pgid === pgrp && !g.zombie) {
      k.signals.sendToGroup(g, { signo: sig, errno: 0, code: L.SI_KERNEL });
    }
  }
}

/** Whether any live process is in process group pgrp, and its session. */
export function sessionOfPgrp(k: Kernel, pgrp: number): number {
  for (const g of k.groups.values()) if (g.pgid === pgrp && !g.zombie) return g.sid;
  return 0;
}

/** POSIX: a process group is orphaned when no member has a parent in a different group of
 * the same session. */
export function isOrphanedPgrp(k: Kernel, pgrp: number): boolean {
  for (const g of k.groups.values()) {
    if (g.pgid !== pgrp || g.zombie) continue;
    const p = g.parent;
    if (p && !p.zombie && p.pgid !== pgrp && p.sid === g.sid) return false;
  }
  return true;
}

/** Whether sig is blocked by the calling thread or ignored by its process. */
function ignoredOrBlocked(t: Task, sig: number): boolean {
  if ((t.sigMask & sigBit(sig)) !== 0n) return true;
  return t.tg.sighand.actions[sig].handler === L.SIG_IGN;
}

/** __tty_check_change: may t, in a background process group, use its controlling terminal
 * tty this way? 0 if so; else SIGTTOU/SIGTTIN goes to its group and -ERESTARTSYS comes back
 * (the call restarts once the group is continued), or -EIO when the signal could not stop
 * it (ignored SIGTTIN, an orphaned group). An ignored SIGTTOU lets the call through. */
export function checkChange(t: Task | null, tty: JobTerminal, sig: number): number {
  if (!t || controllingTty(t.tg) !== tty) return 0;
  const pgrp = t.tg.pgid;
  if (!tty.pgrp || pgrp === tty.pgrp) return 0;
  if (ignoredOrBlocked(t, sig)) return sig === L.SIGTTIN ? -E.EIO : 0;
  if (isOrphanedPgrp(t.kernel, pgrp)) return -E.EIO;
  killPgrp(t.kernel, pgrp, sig);
  return -E.ERESTARTSYS;
}
