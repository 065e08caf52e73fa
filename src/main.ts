// cordon: the command-line entry point. It parses only enough to pick a command and loads
// that command's module, so `cordon --version` stays cheap.
import { VERSION } from "./version.ts";

const USAGE = `cordon ${VERSION}: run Linux programs on an application kernel written in TypeScript

Usage:
  cordon do [options] -- CMD [ARGS...]   run one command sandboxed
  cordon help [COMMAND]                  show help
  cordon --version                       print the version

Run 'cordon help COMMAND' for a command's options.
`;

function main(args: string[]): number {
  const [command, ...rest] = args;
  switch (command) {
    case undefined:
    case "-h":
    case "--help":
      console.log(USAGE.trimEnd());
      return command === undefined ? 2 : 0;
    case "-v":
    case "--version":
    case "version":
      console.log(`cordon version ${VERSION}`);
      return 0;
    case "help":
      console.log(USAGE.trimEnd());
      return 0;
    default:
      console.error(`cordon: unknown command '${command}' (see 'cordon --help')`);
      void rest;
      return 2;
  }
}

Deno.exit(main(Deno.args));
