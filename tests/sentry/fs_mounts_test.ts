// Mounts of `cordon do`: writable volumes write through to the host (and only there),
// read-only volumes refuse, missing mount points are made in the overlay (never on the
// host), file volumes, the host's /tmp seen through the overlay, and the size limit of the
// overlay's upper layer (which /tmp is part of).
import {
  assert,
  assertEquals,
  cordonDo,
  digestDiff,
  scratchDir,
  treeDigest,
} from "./fs_helpers.ts";

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("mounts: a writable volume writes through to the host", async () => {
  const vol = scratchDir("vol-rw-");
  Deno.writeTextFileSync(`${vol}/old.txt`, "old\n");
  Deno.mkdirSync(`${vol}/gone`);
  Deno.writeTextFileSync(`${vol}/gone/f`, "f\n");
  try {
    const r = await cordonDo([
      "/bin/bash",
      "-e",
      "-c",
      `
      cd /data
      echo new > new.txt
      mkdir -p d/e && echo deep > d/e/deep.txt
      ln -s new.txt sym; ln new.txt hard
      mv old.txt renamed.txt
      chmod 600 renamed.txt
      truncate -s 2 new.txt
      rm -r gone
      mkfifo fifo
      touch -d '2002-02-02 02:02:02 UTC' renamed.txt
      python3 -c 'import os; os.setxattr("renamed.txt", "user.k", b"v")'
      ls -A | sort | tr '\\n' ' '
    `,
    ], { doArgs: ["--volume", `${vol}:/data`] });
    assertEquals(r.code, 0, `exit (stderr: ${r.stderr})`);
    assertEquals(r.stdout, "d fifo hard new.txt renamed.txt sym ", "listing inside");
    assertEquals(Deno.readTextFileSync(`${vol}/new.txt`), "ne", "truncated through the volume");
    assertEquals(Deno.readTextFileSync(`${vol}/d/e/deep.txt`), "deep\n", "nested file");
    assertEquals(Deno.readLinkSync(`${vol}/sym`), "new.txt", "symlink");
    assertEquals(
      Deno.statSync(`${vol}/hard`).ino,
      Deno.statSync(`${vol}/new.txt`).ino,
      "hard link",
    );
    assertEquals((Deno.statSync(`${vol}/renamed.txt`).mode ?? 0) & 0o777, 0o600, "chmod");
    assertEquals(
      Deno.statSync(`${vol}/renamed.txt`).mtime?.toISOString(),
      "2002-02-02T02:02:02.000Z",
      "mtime",
    );
    assert(!exists(`${vol}/old.txt`) && !exists(`${vol}/gone`), "removed names");
    assert(Deno.lstatSync(`${vol}/fifo`).isFifo, "FIFO made on the host");
    const x = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", `import os; print(os.getxattr("${vol}/renamed.txt", "user.k").decode())`],
    }).output();
    assertEquals(new TextDecoder().decode(x.stdout), "v\n", "xattr set through the volume");
  } finally {
    Deno.removeSync(vol, { recursive: true });
  }
});

Deno.test("mounts: the host changes a volume under a running sandbox", async () => {
  const vol = scratchDir("vol-reval-");
  Deno.writeTextFileSync(`${vol}/a`, "first\n");
  try {
    const child = new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        `
import os, time
end = time.time() + 60
while not os.path.exists("${vol}/ready") and time.time() < end: time.sleep(0.01)
os.remove("${vol}/a")
with open("${vol}/b", "w") as f: f.write("second\\n")
os.mkdir("${vol}/dir")
open("${vol}/go", "w").close()
`,
      ],
    }).spawn();
    const r = await cordonDo([
      "/bin/sh",
      "-c",
      `
      cat /v/a; ls /v | tr '\\n' ' '; echo
      : > /v/ready
      while [ ! -e /v/go ]; do sleep 0.01; done
      cat /v/a 2>/dev/null || echo "a is gone"
      cat /v/b; ls /v | tr '\\n' ' '; echo
    `,
    ], { doArgs: ["--volume", `${vol}:/v`] });
    await child.status;
    assertEquals(r.code, 0, `exit (stderr: ${r.stderr})`);
    assertEquals(
      r.stdout,
      "first\na \na is gone\nsecond\nb dir go ready \n",
      "what the sandbox saw",
    );
  } finally {
    Deno.removeSync(vol, { recursive: true });
  }
});

Deno.test("mounts: a read-only volume refuses writes", async () => {
  const vol = scratchDir("vol-ro-");
  Deno.writeTextFileSync(`${vol}/f`, "keep\n");
  const before = await treeDigest(vol);
  try {
    const r = await cordonDo([
      "/bin/sh",
      "-c",
      `
      echo x > /ro/f 2>&1 | head -0; echo x 2>/dev/null > /ro/f || echo write refused
      rm /ro/f 2>/dev/null || echo unlink refused
      mkdir /ro/d 2>/dev/null || echo mkdir refused
      touch /ro/f 2>/dev/null || echo touch refused
      cat /ro/f
    `,
    ], { doArgs: ["--volume", `${vol}:/ro:ro`] });
    assertEquals(r.code, 0, `exit (stderr: ${r.stderr})`);
    assertEquals(
      r.stdout,
      "write refused\nunlink refused\nmkdir refused\ntouch refused\nkeep\n",
      "output",
    );
    const after = await treeDigest(vol);
    assert(before === after, `the read-only volume changed:\n${digestDiff(before, after)}`);
  } finally {
    Deno.removeSync(vol, { recursive: true });
  }
});

Deno.test("mounts: missing mount points are made in the overlay; file volumes", async () => {
  const vol = scratchDir("vol-new-");
  const file = `${vol}/single.conf`;
  Deno.writeTextFileSync(file, "setting=1\n");
  const top = `/cordon-mount-test-${Date.now()}`;
  try {
    const r = await cordonDo([
      "/bin/sh",
      "-c",
      `
      ls ${top}/a/b; cat /etc/cordon-single.conf; echo setting=2 > /etc/cordon-single.conf
    `,
    ], {
      doArgs: ["--volume", `${vol}:${top}/a/b`, "--volume", `${file}:/etc/cordon-single.conf`],
    });
    assertEquals(r.code, 0, `exit (stderr: ${r.stderr})`);
    assertEquals(r.stdout, "single.conf\nsetting=1\n", "output");
    assert(!exists(top), `${top} was made on the host`);
    assert(!exists("/etc/cordon-single.conf"), "the file mount point was made on the host");
    assertEquals(Deno.readTextFileSync(file), "setting=2\n", "a file volume writes through");
  } finally {
    Deno.removeSync(vol, { recursive: true });
  }
});

Deno.test("mounts: the overlay and /tmp are limited (ENOSPC), and the sandbox goes on", async () => {
  // With --memory 64m the overlay's upper layer, /tmp included, holds 32 MiB. Nothing else
  // may start while it is full, so only shell builtins run between dd and rm, and dd's
  // message goes to /dev/shm, a tmpfs of its own.
  const r = await cordonDo([
    "/bin/sh",
    "-c",
    `
    dd if=/dev/zero of=/big bs=1M count=200 2>/dev/shm/err; echo "dd to / exit $?"
    grep -c 'No space left' /dev/shm/err
    rm /big; echo small > /small && cat /small
    dd if=/dev/zero of=/tmp/big bs=1M count=200 2>/dev/null; echo "dd to /tmp exit $?"
    rm /tmp/big; echo again > /tmp/small && cat /tmp/small
  `,
  ], { doArgs: ["--memory", "64m"] });
  assertEquals(r.code, 0, `exit (stderr: ${r.stderr})`);
  assertEquals(r.stdout, "dd to / exit 1\n1\nsmall\ndd to /tmp exit 1\nagain\n", "output");
});

Deno.test("mounts: a program and working directory under the host's /tmp; writes stay in the sandbox", async () => {
  const dir = Deno.makeTempDirSync({ dir: "/tmp", prefix: "cordon-tmp-test-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/script.sh`,
      "#!/bin/sh\necho ran in $(pwd)\necho made > made.txt\ncat made.txt\n",
    );
    Deno.chmodSync(`${dir}/script.sh`, 0o755);
    const before = await treeDigest(dir);
    const r = await cordonDo(["./script.sh"], { cwd: dir });
    assertEquals(r.code, 0, `exit (stderr: ${r.stderr})`);
    assertEquals(r.stdout, `ran in ${dir}\nmade\n`, "output");
    assertEquals(digestDiff(before, await treeDigest(dir)), "", "the host's /tmp is unchanged");
    assert(!exists(`${dir}/made.txt`), "made.txt stayed in the sandbox");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
