// A small option parser: --name value, --name=value, repeatable options, and the first
// non-option argument (or "--") ends the options. Anything else is a one-line error.

export class CliError extends Error {}

export interface Opt {
  name: string;
  /** Takes a value. */
  arg?: boolean;
  /** May be given several times (values collected in an array). */
  repeat?: boolean;
  /** Accepted and ignored (engines pass flags we do not need). */
  ignored?: boolean;
  short?: string;
}

export interface Parsed {
  opts: Map<string, string | string[] | boolean>;
  rest: string[];
}

export function parseOptions(args: string[], spec: Opt[], cmd: string, stopAtNonOption = true): Parsed {
  const opts = new Map<string, string | string[] | boolean>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      if (stopAtNonOption) {
        rest.push(...args.slice(i));
        break;
      }
      rest.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.startsWith("--") ? a.slice(2, eq < 0 ? undefined : eq) : a.slice(1, eq < 0 ? undefined : eq);
    const o = spec.find((s) => s.name === name || s.short === name);
    if (!o) throw new CliError(`${cmd}: unknown option '${a}' (see 'cordon help ${cmd}')`);
    let value: string | boolean = true;
    if (o.arg) {
      if (eq >= 0) value = a.slice(eq + 1);
      else if (i + 1 < args.length) value = args[++i];
      else throw new CliError(`${cmd}: option '${a}' needs a value`);
    } else if (eq >= 0) {
      const v = a.slice(eq + 1);
      value = !(v === "false" || v === "0");
    }
    if (o.ignored) continue;
    if (o.repeat) {
      const list = (opts.get(o.name) as string[] | undefined) ?? [];
      list.push(value as string);
      opts.set(o.name, list);
    } else {
      opts.set(o.name, value);
    }
  }
  return { opts, rest };
}
