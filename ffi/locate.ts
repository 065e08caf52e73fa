// Finds libsandbox.so. The single-file launcher extracts it into its cache and sets
// CORDON_LIBDIR, or, when it runs from sealed memfds, sets CORDON_LIBSANDBOX to the library's
// own path (/proc/self/fd/N); a source checkout finds it in ffi/build/ after `make -C ffi`.

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

export function libsandboxPath(): string {
  const exactPath = Deno.env.get("CORDON_LIBSANDBOX");
  if (exactPath) return exactPath;
  const fromEnv = Deno.env.get("CORDON_LIBDIR");
  if (fromEnv) return `${fromEnv}/libsandbox.so`;
  const candidates = [
    new URL("./libsandbox.so", Deno.mainModule),
    new URL("./build/libsandbox.so", import.meta.url),
  ];
  for (const url of candidates) {
    if (url.protocol === "file:" && exists(url.pathname)) return url.pathname;
  }
  throw new Error("libsandbox.so not found: run `make -C ffi` or set CORDON_LIBDIR");
}

/**
 * libsandbox's functions named in `symbols`, each bound on first use. Deno.dlopen compiles
 * a trampoline per symbol (~0.15-0.2 ms each), and a command or a sandbox's start-up needs
 * only a few of the dozens a binding file declares.
 */
export function bindLazily<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] {
  const lazy = {} as Record<string, unknown>;
  for (const name of Object.keys(symbols)) {
    Object.defineProperty(lazy, name, {
      configurable: true,
      enumerable: true,
      get() {
        // The path is looked up now, not when the binder was made: the OCI sandbox process
        // moves it to /proc/self/fd/N before pivot_root leaves the cache directory behind.
        const fn = Deno.dlopen(libsandboxPath(), { [name]: symbols[name] }).symbols[name];
        Object.defineProperty(lazy, name, { value: fn, enumerable: true });
        return fn;
      },
    });
  }
  return lazy as Deno.DynamicLibrary<S>["symbols"];
}
