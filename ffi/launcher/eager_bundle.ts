// Build-time tool: writes the "eager" copy of the bundle, which dist/cordon runs for the commands
// that start a sentry (create, run, do). Usage: deno run -R -W eager_bundle.ts IN OUT
//
// Why: Deno caches a module's V8 code only as compiled right after parsing, which is the
// top-level code alone; every function is compiled lazily, in each process, on its first call.
// Starting a sandbox calls hundreds of them (~10 ms of parsing). V8 compiles a function eagerly
// when its expression is wrapped in parentheses (its "likely called" hint), and then it is in
// the code cache. This tool wraps every top-level function declaration and every module's
// initializer (esbuild's lazy `__esm` wrappers) that way. Class methods stay lazy. The light
// commands (state, start, delete, --version...) keep the plain bundle: deserializing the bigger
// cache would cost them ~4 ms for nothing.
//
// The rewrite keeps behaviour: `function f(...) {...}` becomes `var f=(function f(...) {...});`
// (the bundle calls no function before the statement defining it has run: its modules'
// top-level code runs in order, and the entry's last); an initializer `() => {...}` becomes
// `(function() {...})` (module code uses neither `this` nor `arguments`).
// Pinned here, not in deno.json: compile.sh runs this with --no-config.
// deno-lint-ignore no-import-prefix
import * as acorn from "npm:acorn@8.14.0";

// deno-lint-ignore no-explicit-any
type Node = any;

function rewrite(source: string): { text: string; initializers: number; functions: number } {
  const ast = acorn.parse(source, { ecmaVersion: "latest", sourceType: "module" }) as Node;
  const helper = esmHelperName(source, ast);
  const edits: Array<[number, number, string]> = []; // [start, end, replacement], disjoint
  let initializers = 0, functions = 0;
  for (const node of ast.body) {
    if (node.type === "FunctionDeclaration") {
      edits.push([node.start, node.start, `var ${node.id.name}=(`], [node.end, node.end, ");"]);
      functions++;
    } else if (node.type === "VariableDeclaration") {
      for (const d of node.declarations) {
        const call = d.init;
        if (call?.type !== "CallExpression" || call.callee?.name !== helper) continue;
        const fn = call.arguments[0];
        if (fn?.type !== "ArrowFunctionExpression" || fn.body.type !== "BlockStatement") continue;
        if (fn.params.length !== 0) throw new Error(`initializer with parameters at ${fn.start}`);
        const head = fn.async ? "(async function()" : "(function()";
        edits.push([fn.start, fn.body.start, head], [fn.end, fn.end, ")"]);
        initializers++;
      }
    }
  }
  edits.sort((a, b) => a[0] - b[0]);
  let text = "", at = 0;
  for (const [start, end, replacement] of edits) {
    text += source.slice(at, start) + replacement;
    at = end;
  }
  return { text: text + source.slice(at), initializers, functions };
}

// esbuild's `__esm` (minified): `var X=(e,t)=>()=>(e&&(t=e(e=0)),t)`, found by its shape.
function esmHelperName(source: string, ast: Node): string {
  const shape = /^[\w$]+=\(([\w$]+),([\w$]+)\)=>\(\)=>\(\1&&\(\2=\1\(\1=0\)\),\2\)$/;
  for (const node of ast.body) {
    if (node.type !== "VariableDeclaration") continue;
    for (const d of node.declarations) {
      if (shape.test(source.slice(d.start, d.end))) return d.id.name;
    }
  }
  throw new Error("no esbuild __esm helper in the bundle (was it built with --minify?)");
}

const [input, output] = Deno.args;
if (!input || !output) {
  console.error("usage: eager_bundle.ts IN OUT");
  Deno.exit(2);
}
const { text, initializers, functions } = rewrite(Deno.readTextFileSync(input));
// The output must still parse; a rewrite that broke it would fail at every start otherwise.
acorn.parse(text, { ecmaVersion: "latest", sourceType: "module" });
if (initializers < 50 || functions < 100) {
  throw new Error(`only ${initializers} initializers and ${functions} functions wrapped`);
}
Deno.writeTextFileSync(output, text);
