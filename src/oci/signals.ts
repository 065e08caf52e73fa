// Signal names and numbers as runc's `kill` accepts them: "TERM", "SIGTERM", "15", and the
// real-time signals as "RTMIN+3".

const NAMES = [
  "",
  "HUP",
  "INT",
  "QUIT",
  "ILL",
  "TRAP",
  "ABRT",
  "BUS",
  "FPE",
  "KILL",
  "USR1",
  "SEGV",
  "USR2",
  "PIPE",
  "ALRM",
  "TERM",
  "STKFLT",
  "CHLD",
  "CONT",
  "STOP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "XCPU",
  "XFSZ",
  "VTALRM",
  "PROF",
  "WINCH",
  "IO",
  "PWR",
  "SYS",
];
const ALIASES: Record<string, number> = { IOT: 6, POLL: 29, CLD: 17 };
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** The signal number for a name or number, or null if it is not a signal. */
export function parseSignal(text: string): number | null {
  const s = text.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= 1 && n <= SIGRTMAX ? n : null;
  }
  const name = s.startsWith("SIG") ? s.slice(3) : s;
  const i = NAMES.indexOf(name);
  if (i > 0) return i;
  if (name in ALIASES) return ALIASES[name];
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name) ?? null;
  if (rt) {
    const n = SIGRTMIN + Number(rt[1] ?? 0);
    return n <= SIGRTMAX ? n : null;
  }
  const rtmax = /^RTMAX(?:-(\d+))?$/.exec(name);
  if (rtmax) {
    const n = SIGRTMAX - Number(rtmax[1] ?? 0);
    return n >= SIGRTMIN ? n : null;
  }
  return null;
}

export function signalName(n: number): string {
  if (n > 0 && n < NAMES.length) return "SIG" + NAMES[n];
  if (n >= SIGRTMIN && n <= SIGRTMAX) {
    return n === SIGRTMIN ? "SIGRTMIN" : `SIGRTMIN+${n - SIGRTMIN}`;
  }
  return `signal ${n}`;
}
