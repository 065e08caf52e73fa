// The one error type of the OCI runtime: a message for the user, and exit status 1 (runc's
// convention for every failed operation).

export class OciError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** config.json does not say something we can run; the message names the field. */
export class ConfigError extends OciError {}

/** A short text for an errno (a negative return of ffi/oci.ts or ffi/host.ts). */
export function errnoName(rc: number): string {
  const e = rc < 0 ? -rc : rc;
  return ERRNO_TEXT[e] ?? `errno ${e}`;
}

const ERRNO_TEXT: Record<number, string> = {
  1: "operation not permitted",
  2: "no such file or directory",
  3: "no such process",
  4: "interrupted",
  5: "input/output error",
  9: "bad file descriptor",
  10: "no child processes",
  11: "resource temporarily unavailable",
  12: "out of memory",
  13: "permission denied",
  16: "device or resource busy",
  17: "file exists",
  20: "not a directory",
  21: "is a directory",
  22: "invalid argument",
  24: "too many open files",
  28: "no space left on device",
  30: "read-only file system",
  32: "broken pipe",
  36: "file name too long",
  38: "function not implemented",
  40: "too many levels of symbolic links",
  90: "message too long",
  95: "operation not supported",
  104: "connection reset by peer",
  110: "timed out",
  111: "connection refused",
};

/** A wait status as a shell reports it: the exit code, or 128 + the signal. (The CLI's own
 * copy of sentry/sandbox.ts's, so that CLI commands never load the sentry.) */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f;
  return sig ? 128 + sig : (status >> 8) & 0xff;
}
