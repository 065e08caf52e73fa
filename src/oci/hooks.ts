// Hooks (config.json "hooks"): programs run on the host at points of the life cycle, each
// with the container's state JSON on its standard input, its own environment only, and its
// timeout. They run from the CLI process (never from the sandbox process, which has no host
// filesystem once hardened). Note: Deno runs a hook with argv[0] = its path; args[0] of the
// hook is not passed separately.
import { OciError } from "./errors.ts";
import type { Hook, HookKind } from "./config.ts";

/** Runs the hooks of one kind in order; the first failure throws (unless warnOnly, as for
 * poststart and poststop, whose failures are only logged). */
export async function runHooks(
  kind: HookKind,
  hooks: Hook[] | undefined,
  state: object,
  log: (msg: string) => void,
  warnOnly = false,
): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    const err = await runHook(hook, state);
    if (err === null) continue;
    const msg = `${kind} hook #${i} (${hook.path}): ${err}`;
    if (warnOnly) log(`warning: ${msg}`);
    else throw new OciError(msg);
  }
}

/** Runs one hook; null on success, else what went wrong. */
async function runHook(hook: Hook, state: object): Promise<string | null> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = hook.timeout === null ? null : setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, hook.timeout * 1000);
  try {
    const child = new Deno.Command(hook.path, {
      args: hook.args.slice(1),
      env: Object.fromEntries(
        hook.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
      ),
      clearEnv: true,
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
      signal: controller.signal,
    }).spawn();
    const w = child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(JSON.stringify(state)));
      await w.close();
    } catch {
      // The hook need not read its input.
    }
    const status = await child.status;
    if (timedOut) return `timed out after ${hook.timeout} s`;
    if (status.success) return null;
    return status.signal ? `killed by ${status.signal}` : `exited with status ${status.code}`;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}
