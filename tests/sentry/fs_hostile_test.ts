// Host trees that try to lead the sandbox out of them: absolute symlinks, ".." chains,
// symlinks to host paths, a directory swapped for a symlink while the sandbox walks it,
// and a directory moved out of a volume while the sandbox sits in it. Nothing outside the
// tree may be read or written.
//
// The sandbox runs on a root filesystem of our own (--rootfs) holding a static busybox and
// decoy files, so that "the host's file" and "the tree's file" read differently.
import {
  assert,
  assertEquals,
  cordonDo,
  digestDiff,
  REPO,
  scratchDir,
  treeDigest,
} from "./fs_helpers.ts";

const BUSYBOX = "/bin/busybox";
const HOST_SECRET = "HOST-SECRET";
const INSIDE = "inside-the-tree";

interface Setup {
  /** Our root filesystem. */
  root: string;
  /** A volume (bind mount) source. */
  vol: string;
  /** A host directory outside both, holding a secret. */
  outside: string;
}

function setup(): Setup {
  const base = scratchDir("hostile-");
  const root = `${base}/root`, vol = `${base}/vol`, outside = `${base}/outside`;
  for (const d of [`${root}/bin`, `${root}/etc`, `${root}/tmp`, `${root}/vol`, vol, outside]) {
    Deno.mkdirSync(d, { recursive: true });
  }
  Deno.copyFileSync(BUSYBOX, `${root}/bin/busybox`);
  Deno.chmodSync(`${root}/bin/busybox`, 0o755);
  Deno.writeTextFileSync(`${root}/etc/secret`, `${INSIDE}\n`);
  Deno.writeTextFileSync(`${outside}/secret`, `${HOST_SECRET}\n`);
  // Every way out we can think of, pointing at the host's copy of the outside secret.
  Deno.symlinkSync(`${outside}/secret`, `${root}/abs-host-path`);
  Deno.symlinkSync("/etc/secret", `${root}/abs`);
  Deno.symlinkSync("../../../../../../../../etc/secret", `${root}/etc/dotdot`);
  Deno.symlinkSync(`../../../../../../../..${outside}/secret`, `${root}/dotdot-host-path`);
  Deno.symlinkSync(outside, `${root}/abs-host-dir`);
  Deno.symlinkSync("/", `${root}/slash`);
  Deno.symlinkSync(`${outside}/written`, `${root}/write-through-abs`);
  Deno.symlinkSync(`../../../../../../../..${outside}/written2`, `${root}/write-through-dotdot`);
  Deno.symlinkSync(`${outside}/secret`, `${vol}/abs-host-path`);
  Deno.symlinkSync("../../../../../../../../../etc/secret", `${vol}/dotdot`);
  Deno.symlinkSync(`../../../../../../../../..${outside}/secret`, `${vol}/dotdot-host-path`);
  Deno.symlinkSync(`${outside}/written3`, `${vol}/write-through`);
  Deno.writeTextFileSync(`${vol}/file`, "volume file\n");
  return { root, vol, outside };
}

function cleanup(s: Setup): void {
  Deno.removeSync(`${s.root}/..`, { recursive: true });
}

function bb(s: Setup, script: string, extra: string[] = []) {
  return cordonDo(["/bin/busybox", "sh", "-c", script], {
    doArgs: ["--rootfs", s.root, "--volume", `${s.vol}:/vol`, "--cwd", "/", ...extra],
  });
}

Deno.test("hostile symlinks: reads stay inside the root filesystem and the volume", async () => {
  const s = setup();
  try {
    const r = await bb(
      s,
      `
      for p in /abs /etc/dotdot /abs-host-path /dotdot-host-path /abs-host-dir/secret \
               /slash/etc/secret /slash/../../etc/secret /vol/dotdot /vol/abs-host-path \
               /vol/dotdot-host-path /vol/../../../../etc/secret; do
        echo "$p: $(/bin/busybox cat $p 2>&1 | /bin/busybox head -1)"
      done
      cd /vol; cd ../../../..; /bin/busybox pwd
    `,
    );
    assertEquals(r.code, 0, `exit (stderr ${r.stderr})`);
    assert(!r.stdout.includes(HOST_SECRET), `a host file was read:\n${r.stdout}`);
    const lines = r.stdout.trim().split("\n");
    assertEquals(
      lines.filter((l) => l.endsWith(`: ${INSIDE}`)).length,
      6,
      `reads of the tree's secret:\n${r.stdout}`,
    );
    assertEquals(lines[lines.length - 1], "/", "cd .. out of the volume ends at /");
  } finally {
    cleanup(s);
  }
});

Deno.test("hostile symlinks: writes through them never reach the host", async () => {
  const s = setup();
  const before = await treeDigest(`${s.root}/..`);
  try {
    // The symlinks' targets name the host's outside directory; in the sandbox that path is
    // made inside the root filesystem's overlay first, so the writes have somewhere to go.
    const r = await bb(
      s,
      `
      /bin/busybox mkdir -p ${s.outside}
      echo x > /write-through-abs; echo y > /write-through-dotdot; echo z > /vol/write-through
      /bin/busybox cat /write-through-abs /write-through-dotdot /vol/write-through
      echo gone > /abs-host-path; /bin/busybox rm -f /abs-host-dir/secret
      /bin/busybox ls ${s.outside} | /bin/busybox sort | /bin/busybox tr '\\n' ' '
    `,
    );
    assertEquals(r.code, 0, `exit (stderr ${r.stderr})`);
    assertEquals(
      r.stdout,
      "x\ny\nz\nwritten written2 written3 ",
      "the writes land inside the sandbox",
    );
    // The volume is writable, but its symlink leads to the sandbox's root (overlay), not
    // to the host path it names.
    for (const name of ["written", "written2", "written3"]) {
      let exists = true;
      try {
        Deno.statSync(`${s.outside}/${name}`);
      } catch {
        exists = false;
      }
      assert(!exists, `${s.outside}/${name} was written on the host`);
    }
    assertEquals(
      Deno.readTextFileSync(`${s.outside}/secret`),
      `${HOST_SECRET}\n`,
      "host secret untouched",
    );
    const after = await treeDigest(`${s.root}/..`);
    assert(before === after, `host files changed:\n${digestDiff(before, after)}`);
  } finally {
    cleanup(s);
  }
});

Deno.test("hostile symlinks: a directory swapped for a symlink during walks", async () => {
  const s = setup();
  // sw is a directory holding "secret" (inside); a host process keeps swapping it with a
  // symlink to the outside directory while the sandbox reads vol/sw/secret in a loop.
  Deno.mkdirSync(`${s.vol}/swdir`);
  Deno.writeTextFileSync(`${s.vol}/swdir/secret`, `${INSIDE}\n`);
  Deno.symlinkSync(s.outside, `${s.vol}/swlink`);
  Deno.renameSync(`${s.vol}/swdir`, `${s.vol}/sw`);
  const swapper = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      `
import os, ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b = b"${s.vol}/sw", b"${s.vol}/swlink"
end = time.time() + 60
while time.time() < end and not os.path.exists("${s.vol}/done"):
    libc.renameat2(-100, a, -100, b, 2)
`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const r = await bb(
      s,
      `
      i=0; while [ $i -lt 150 ]; do
        /bin/busybox cat /vol/sw/secret 2>/dev/null
        /bin/busybox cat /vol/sw/../sw/secret 2>/dev/null
        i=$((i+1))
      done | /bin/busybox sort | /bin/busybox uniq -c
      echo done > /vol/done
    `,
    );
    assertEquals(r.code, 0, `exit (stderr ${r.stderr})`);
    assert(!r.stdout.includes(HOST_SECRET), `the swap let a host file through:\n${r.stdout}`);
    assert(r.stdout.includes(INSIDE), `no read succeeded at all:\n${r.stdout}`);
  } finally {
    Deno.writeTextFileSync(`${s.vol}/done`, "");
    await swapper.output();
    cleanup(s);
  }
});

Deno.test("hostile trees: a directory moved out of the volume under the sandbox's feet", async () => {
  const s = setup();
  Deno.mkdirSync(`${s.vol}/a/b`, { recursive: true });
  Deno.writeTextFileSync(`${s.vol}/marker`, "volume marker\n");
  Deno.writeTextFileSync(`${s.outside}/marker`, `${HOST_SECRET}\n`);
  const child = new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      `
import os, time
end = time.time() + 60
while not os.path.exists("${s.vol}/ready") and time.time() < end: time.sleep(0.01)
os.rename("${s.vol}/a/b", "${s.outside}/b")
open("${s.vol}/go", "w").close()
`,
    ],
  }).spawn();
  try {
    const r = await bb(
      s,
      `
      cd /vol/a/b
      : > /vol/ready
      while [ ! -e /vol/go ]; do /bin/busybox usleep 10000; done
      /bin/busybox cat ../../marker
      /bin/busybox ls ../.. | /bin/busybox sort | /bin/busybox tr '\\n' ' '; echo
      /bin/busybox ls /vol/a | /bin/busybox wc -l
    `,
    );
    await child.status;
    assertEquals(r.code, 0, `exit (stderr ${r.stderr})`);
    assert(!r.stdout.includes(HOST_SECRET), `.. followed the host's move:\n${r.stdout}`);
    assert(r.stdout.startsWith("volume marker\n"), `.. stays in the sandbox's tree:\n${r.stdout}`);
    assert(
      r.stdout.trim().endsWith("0"),
      `the moved directory is gone from the volume:\n${r.stdout}`,
    );
  } finally {
    cleanup(s);
  }
});

Deno.test("hostile trees: host pseudo-filesystems stay hidden; devices are the sandbox's", async () => {
  // The host root has /proc, /sys: the sandbox must see its own (or nothing), never the
  // host's (here, the sentry's own /proc/self would be the sentry).
  const r = await cordonDo([
    "/bin/sh",
    "-c",
    "cat /proc/self/status 2>/dev/null | grep -c '^Name:.*deno'; ls /sys/fs/cgroup 2>/dev/null | wc -l",
  ]);
  assertEquals(r.code, 0, `exit (stderr ${r.stderr})`);
  assertEquals(r.stdout.split("\n")[0], "0", "the sentry's /proc is not visible");
});

export { REPO };
