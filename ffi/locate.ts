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
