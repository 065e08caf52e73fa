// cordon: the command-line entry point. It parses only enough to pick a command and loads
// that command's module, so `cordon --version` stays cheap.
import { VERSION } from "./version.ts";

const USAGE = `cordon ${VERSION}: run Linux programs on an application kernel written in TypeScript

Usage:
  cordon do [options] -- CMD [ARGS...]   run one command sandboxed
  cordon [--root DIR ...] create|start|run|state|kill|delete|exec|ps|list|...
                                         the OCI runtime, as runc (see 'cordon help oci')
  cordon help [COMMAND]                  show help
  cordon --version                       print the version

Run 'cordon help COMMAND' for a command's options.
`;

async function help(command: string | undefined): Promise<number> {
  switch (command) {
    case undefined:
      console.log(USAGE.trimEnd());
      return 0;
    case "do":
      console.log((await import("./cli/do.ts")).HELP.trimEnd());
      return 0;
    case "oci":
      console.log((await import("./cli/oci.ts")).OCI_HELP.trimEnd());
      return 0;
    default:
      console.error(`cordon: no help for unknown command '${command}'`);
      return 2;
  }
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
        console.error(USAGE.trimEnd());
        return 2;
      case "-h":
      case "--help":
        console.log(USAGE.trimEnd());
        return 0;
      case "-v":
      case "--version":
      case "version":
        console.log(`cordon version ${VERSION}`);
        return 0;
      case "help":
        return await help(rest[0]);
      case WARM_CODE_CACHE:
        return 0;
      case "do":
        return (await import("./cli/do.ts")).runDo(rest);
      // The OCI runtime (runc-compatible): its verbs and its global flags before a verb.
      case "create":
      case "start":
      case "state":
      case "kill":
      case "delete":
      case "run":
      case "exec":
      case "ps":
      case "list":
      case "spec":
      case "features":
      case "pause":
      case "resume":
      case "events":
      case "wait":
      case "update":
        return await (await import("./cli/oci.ts")).runOci(args);
      default:
        if (command.startsWith("--")) return await (await import("./cli/oci.ts")).runOci(args);
        console.error(`cordon: unknown command '${command}' (see 'cordon --help')`);
        return 2;
    }
  } catch (e) {
    const { CliError } = await import("./cli/options.ts");
    if (e instanceof CliError) {
      console.error(`cordon: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

/** The launcher runs `cordon __warm-code-cache` once, after unpacking a new bundle. */
const WARM_CODE_CACHE = "__warm-code-cache";

// Deno writes this bundle's V8 code cache (which makes every later start-up ~12 ms faster:
// no parsing of the bundle) only once the main module's evaluation has finished, in a later
// turn of the event loop; Deno.exit here always comes first. So the commands that leave
// nothing running let the event loop drain instead, which gives Deno that turn; the rest
// (sandboxes, the OCI runtime) exit at once, whatever they left open.
const code = await main(Deno.args);
const LEAVE_NOTHING_RUNNING = [WARM_CODE_CACHE, "--version", "-v", "version", "--help", "-h"];
if (LEAVE_NOTHING_RUNNING.includes(Deno.args[0]) && Deno.args.length === 1) Deno.exitCode = code;
else Deno.exit(code);
