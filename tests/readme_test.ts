// The README's tables must stay true: the syscall compatibility table is generated from the
// syscall table (sentry/syscalls/compat.ts), and this test fails when it is out of date.
import { BEGIN, compatTable, END } from "../sentry/syscalls/compat.ts";

Deno.test("README: the syscall compatibility table matches the syscall table", () => {
  const text = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const a = text.indexOf(BEGIN), b = text.indexOf(END);
  if (a < 0 || b < 0) throw new Error("README.md lacks the syscall table markers");
  if (text.slice(a, b + END.length) !== compatTable()) {
    throw new Error("README.md's syscall table is stale: run `deno run -A sentry/syscalls/compat.ts --write`");
  }
});
