// The host's Debian userland, sandboxed on the host's root (overlay over it, tmpfs on
// /tmp): bash with redirections, coreutils, findutils, grep, sed, gawk, tar, gzip, diff,
// python3, apt-get dry runs. Each test also proves that the host tree it worked on did not
// change.
import {
  assert,
  assertEquals,
  cordonDo,
  digestDiff,
  REPO,
  sandboxBash,
  scratchDir,
  treeDigest,
} from "./fs_helpers.ts";

/** A host tree to work on: a few files, a subdirectory, a symlink, a hard link. */
function makeFixture(): string {
  const dir = scratchDir("tools-");
  Deno.writeTextFileSync(`${dir}/alpha.txt`, "alpha\nbeta\ngamma\n");
  Deno.writeTextFileSync(`${dir}/numbers.txt`, "3 c\n1 a\n2 b\n");
  Deno.mkdirSync(`${dir}/sub/deeper`, { recursive: true });
  Deno.writeTextFileSync(`${dir}/sub/inner.txt`, "inner\n");
  Deno.writeTextFileSync(`${dir}/sub/deeper/deep.txt`, "deep\n");
  Deno.symlinkSync("alpha.txt", `${dir}/link`);
  Deno.linkSync(`${dir}/numbers.txt`, `${dir}/hard`);
  Deno.chmodSync(`${dir}/numbers.txt`, 0o640);
  return dir;
}

/** Runs fn on a fresh fixture and checks the host copy is unchanged afterwards. */
async function withUnchangedFixture(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = makeFixture();
  try {
    const before = await treeDigest(dir);
    await fn(dir);
    const after = await treeDigest(dir);
    assert(before === after, `the host tree changed:\n${digestDiff(before, after)}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("fs tools: bash redirections, here-documents, fd juggling", async () => {
  await withUnchangedFixture(async (dir) => {
    const out = await sandboxBash(`
      cd ${dir}
      echo one > out.txt
      echo two >> out.txt
      cat < out.txt > copy.txt
      cat copy.txt
      exec 3> fd3.txt; echo via-fd3 >&3; exec 3>&-
      cat fd3.txt
      cat <<EOF > here.txt
here $((1 + 2))
EOF
      cat here.txt
      { echo err >&2; } 2> err.txt; cat err.txt
      set -o noclobber; (echo x > out.txt) 2>/dev/null || echo noclobber works; set +o noclobber
      echo data > /tmp/in-tmp; cat /tmp/in-tmp
      echo changed > alpha.txt; cat alpha.txt link
    `);
    assertEquals(
      out,
      "one\ntwo\nvia-fd3\nhere 3\nerr\nnoclobber works\ndata\nchanged\nchanged\n",
      "output",
    );
    assert(!Deno.statSync(dir).isFile, "dir");
  });
});

Deno.test("fs tools: coreutils on the overlay and on /tmp", async () => {
  await withUnchangedFixture(async (dir) => {
    const out = await sandboxBash(`
      for base in ${dir} /tmp/work; do
        mkdir -p $base && cd $base
        cp -a ${dir}/sub copied
        mv copied moved
        ls moved moved/deeper
        ln -s moved/inner.txt sl; readlink sl; cat sl
        touch -d '2001-02-03 04:05:06' stamp; stat -c '%y' stamp | cut -c1-19
        chmod 751 stamp; stat -c '%a' stamp
        truncate -s 3000 stamp; stat -c '%s' stamp
        head -c 5 ${dir}/alpha.txt; echo
        sort -n ${dir}/numbers.txt | tail -1
        wc -l < ${dir}/alpha.txt
        md5sum ${dir}/alpha.txt | cut -d' ' -f1
        tee tee.txt < ${dir}/alpha.txt > /dev/null; cmp tee.txt ${dir}/alpha.txt && echo tee ok
        rm -r moved sl stamp tee.txt
        ls -A | wc -l
      done
      rm -f ${dir}/alpha.txt ${dir}/hard; rm -rf ${dir}/sub
      ls ${dir}
      stat -c '%h' ${dir}/numbers.txt
    `);
    const once = "deeper\ninner.txt\n\nmoved/deeper:\ndeep.txt\nmoved/inner.txt\ninner\n" +
      "2001-02-03 04:05:06\n751\n3000\nalpha\n3 c\n3\n" +
      "6c7831c26f0d0a5f807006854aa682f4\ntee ok\n";
    assertEquals(out, `moved:\n${once}5\nmoved:\n${once}0\nlink\nnumbers.txt\n1\n`, "output");
  });
});

Deno.test("fs tools: find, xargs, grep, sed, gawk", async () => {
  await withUnchangedFixture(async (dir) => {
    const out = await sandboxBash(`
      cd ${dir}
      find . -name '*.txt' | sort
      find . -type l
      find . -type f -size -2k | wc -l
      find . -name '*.txt' -print0 | xargs -0 cat | sort | head -3
      grep -rn gamma . | sort
      grep -c . numbers.txt
      sed -i 's/beta/BETA/' alpha.txt; cat alpha.txt
      sed -n 2p numbers.txt
      gawk '{ total += $1 } END { print total, NR }' numbers.txt
      gawk -i inplace '{ print toupper($0) }' sub/inner.txt; cat sub/inner.txt
      find . -name deep.txt -exec rm {} +; find . -name deep.txt | wc -l
    `);
    assertEquals(
      out,
      "./alpha.txt\n./numbers.txt\n./sub/deeper/deep.txt\n./sub/inner.txt\n./link\n" +
        "5\n1 a\n2 b\n3 c\n./alpha.txt:3:gamma\n3\nalpha\nBETA\ngamma\n1 a\n6 3\nINNER\n0\n",
      "output",
    );
  });
});

Deno.test("fs tools: tar, gzip, diff", async () => {
  await withUnchangedFixture(async (dir) => {
    const out = await sandboxBash(`
      cd /tmp
      tar -C ${dir} -czf fixture.tgz .
      mkdir unpacked && tar -C unpacked -xzf fixture.tgz
      diff -r ${dir} unpacked && echo same
      tar -tzf fixture.tgz | sort | head -4
      echo change >> unpacked/sub/inner.txt
      diff -u ${dir}/sub/inner.txt unpacked/sub/inner.txt | tail -2
      gzip -k unpacked/alpha.txt; ls unpacked/alpha.txt*
      gunzip -c unpacked/alpha.txt.gz | md5sum | cut -d' ' -f1
      tar -C ${dir} -cf - sub | tar -C ${dir} -xf - --transform 's/^sub/sub2/' && ls ${dir}/sub2
    `);
    assertEquals(
      out,
      "same\n./\n./alpha.txt\n./hard\n./link\n" + " inner\n+change\n" +
        "unpacked/alpha.txt\nunpacked/alpha.txt.gz\n6c7831c26f0d0a5f807006854aa682f4\ndeeper\ninner.txt\n",
      "output",
    );
  });
});

Deno.test("fs tools: python3 reads, writes and lists files", async () => {
  await withUnchangedFixture(async (dir) => {
    const program = `
import os, shutil, json
base = ${JSON.stringify(dir)}
print(sorted(os.listdir(base)))
with open(os.path.join(base, "alpha.txt")) as f: print(f.read().split())
with open(os.path.join(base, "new.json"), "w") as f: json.dump({"k": [1, 2]}, f)
print(json.load(open(os.path.join(base, "new.json"))))
os.rename(os.path.join(base, "new.json"), os.path.join(base, "renamed.json"))
shutil.copytree(os.path.join(base, "sub"), "/tmp/tree")
print(sorted(p for p, d, f in os.walk("/tmp/tree")))
os.chmod(os.path.join(base, "numbers.txt"), 0o600)
print(oct(os.stat(os.path.join(base, "numbers.txt")).st_mode & 0o777))
print(os.stat(os.path.join(base, "hard")).st_nlink)
shutil.rmtree(os.path.join(base, "sub"))
print(os.path.exists(os.path.join(base, "sub")))
`;
    const r = await cordonDo(["/usr/bin/python3", "-c", program]);
    assertEquals(r.code, 0, `python3 exit (stderr: ${r.stderr})`);
    assertEquals(
      r.stdout,
      "['alpha.txt', 'hard', 'link', 'numbers.txt', 'sub']\n['alpha', 'beta', 'gamma']\n" +
        "{'k': [1, 2]}\n['/tmp/tree', '/tmp/tree/deeper']\n0o600\n2\nFalse\n",
      "output",
    );
  });
});

Deno.test("fs tools: apt-get dry run; writes to / stay in the sandbox", async () => {
  const marker = `/etc/cordon-fs-test-${Date.now()}`;
  const hostnameBefore = Deno.readTextFileSync("/etc/hostname");
  const r = await cordonDo([
    "/bin/bash",
    "-c",
    `
    apt-get -s install hello | grep -c '^Inst hello'
    echo inside > ${marker}; cat ${marker}
    echo replaced > /etc/hostname; cat /etc/hostname
    rm -rf /usr/share/doc; ls /usr/share/doc 2>&1 | grep -c 'No such'
  `,
  ]);
  assertEquals(r.code, 0, `exit status (stderr: ${r.stderr})`);
  assertEquals(r.stdout, "1\ninside\nreplaced\n1\n", "output");
  let exists = true;
  try {
    Deno.statSync(marker);
  } catch {
    exists = false;
  }
  assert(!exists, `${marker} appeared on the host`);
  assertEquals(Deno.readTextFileSync("/etc/hostname"), hostnameBefore, "host /etc/hostname");
  assert(Deno.statSync("/usr/share/doc").isDirectory, "host /usr/share/doc is gone");
});

export { REPO };
