// Host networking calls (ffi/lib/hostnet.c) for sentry/net: rtnetlink requests, network
// namespaces, and the host sockets of network mode "host". Every call returns >= 0 or
// -errno. Loaded on first use.
import { bindLazily } from "./locate.ts";

const symbols = {
  sb_net_rtnl: { parameters: ["buffer", "i32", "buffer", "i32"], result: "i32" },
  sb_net_unshare: { parameters: [], result: "i32" },
  sb_net_setns: { parameters: ["buffer"], result: "i32" },
  sb_net_open_ns: { parameters: [], result: "i32" },
  sb_net_setns_fd: { parameters: ["i32"], result: "i32" },
  sb_hn_socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sb_hn_bind: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_hn_connect: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  sb_hn_listen: { parameters: ["i32", "i32"], result: "i32" },
  sb_hn_accept: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  sb_hn_shutdown: { parameters: ["i32", "i32"], result: "i32" },
  sb_hn_name: { parameters: ["i32", "i32", "buffer", "buffer"], result: "i32" },
  sb_hn_getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  sb_hn_setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "i32"], result: "i32" },
  sb_hn_sendmsg_mem: {
    parameters: ["i32", "buffer", "i32", "buffer", "i32", "i32"],
    result: "f64",
  },
  sb_hn_recvmsg_mem: {
    parameters: ["i32", "buffer", "i32", "buffer", "buffer", "i32", "buffer", "buffer", "buffer"],
    result: "f64",
  },
} as const;

let lib: Deno.DynamicLibrary<typeof symbols>["symbols"] | null = null;

export function hostnet(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  return lib ??= bindLazily(symbols);
}

/** A NUL-terminated copy of a string, for path arguments. */
export function cstr(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}
