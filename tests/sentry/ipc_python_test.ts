// python3 from the host's Debian root, sandboxed: subprocess (pipes, communicate, exit
// statuses), threads, multiprocessing over unix sockets (Pipe is a socketpair; a
// Listener/Client pair on a path in /tmp), selectors and asyncio (epoll, a self-pipe
// socketpair, unix stream servers), and selectors on the host's stdin. Both platforms.
import { assertEquals, cordonOk, PLATFORMS } from "./ipc_helpers.ts";

const PYTHON = "/usr/bin/python3";

function py(code: string): string[] {
  return [PYTHON, "-c", code];
}

const SUBPROCESS = `
import subprocess, sys
r = subprocess.run(["/bin/sh", "-c", "cat; echo err >&2; exit 3"], input=b"through stdin\\n", capture_output=True)
print(r.returncode, r.stdout, r.stderr)
p = subprocess.Popen(["tr", "a-z", "A-Z"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out, _ = p.communicate(b"x" * 200000 + b"end")
print(len(out), out[-3:], p.returncode)
print(subprocess.check_output("seq 1 3 | tac", shell=True))
try:
    subprocess.run(["/nonexistent"])
except FileNotFoundError as e:
    print("FileNotFoundError", e.errno)
`;

const THREADS = `
import threading, queue
q = queue.Queue()
def worker(n):
    q.put(sum(range(n)))
ts = [threading.Thread(target=worker, args=(i * 1000,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(q.get() for _ in ts)[:3])
ev = threading.Event()
threading.Timer(0.05, ev.set).start()
print(ev.wait(20))
`;

const MULTIPROCESSING = `
import multiprocessing as mp, os
from multiprocessing.connection import Listener, Client
def echo(conn):
    while True:
        msg = conn.recv()
        if msg is None: break
        conn.send(("echo", msg, os.getpid() != os.getppid()))
    conn.close()
def client(address):
    with Client(address, family="AF_UNIX") as c:
        c.send([1, 2, 3])
        c.send_bytes(b"raw")
if __name__ == "__main__":
    mp.set_start_method("fork")
    a, b = mp.Pipe()
    p = mp.Process(target=echo, args=(b,))
    p.start()
    for m in ["x", {"k": 1}, b"y" * 100000]:
        a.send(m)
        r = a.recv()
        print(r[0], r[1] if not isinstance(r[1], bytes) else len(r[1]), r[2])
    a.send(None)
    p.join()
    print("exitcode", p.exitcode)
    address = "/tmp/ipc-mp.sock"
    with Listener(address, family="AF_UNIX") as l:
        q = mp.Process(target=client, args=(address,))
        q.start()
        with l.accept() as c:
            print(c.recv(), c.recv_bytes())
        q.join()
    print("listener done", q.exitcode)
`;

const ASYNCIO = `
import asyncio, selectors, socket
sel = selectors.DefaultSelector()
a, b = socket.socketpair()
a.setblocking(False)
sel.register(a, selectors.EVENT_READ, "a")
print(type(sel).__name__, sel.select(0))
b.send(b"ping")
print([(k.data, ev) for k, ev in sel.select(5)])
print(a.recv(10))
async def handle(reader, writer):
    data = await reader.readline()
    writer.write(data.upper())
    await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_unix_server(handle, path="/tmp/ipc-asyncio.sock")
    async with server:
        replies = []
        for word in ["alpha", "beta"]:
            r, w = await asyncio.open_unix_connection("/tmp/ipc-asyncio.sock")
            w.write(word.encode() + b"\\n")
            await w.drain()
            replies.append((await r.readline()).strip())
            w.close()
        print(replies)
        proc = await asyncio.create_subprocess_exec("echo", "from", "asyncio", stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        print(out, proc.returncode)
        await asyncio.sleep(0.01)
asyncio.run(main())
`;

const STDIN_SELECTOR = `
import selectors, sys, os
sel = selectors.DefaultSelector()
sel.register(sys.stdin, selectors.EVENT_READ)
ready = sel.select(20)
print("ready", len(ready))
print(repr(os.read(0, 100)))
`;

for (const platform of PLATFORMS) {
  Deno.test(`ipc python (${platform}): subprocess`, async () => {
    const out = await cordonOk(py(SUBPROCESS), { platform });
    assertEquals(
      out,
      "3 b'through stdin\\n' b'err\\n'\n200003 b'END' 0\nb'3\\n2\\n1\\n'\nFileNotFoundError 2\n",
      "subprocess",
    );
  });

  Deno.test(`ipc python (${platform}): threads`, async () => {
    const out = await cordonOk(py(THREADS), { platform });
    assertEquals(out, "[0, 499500, 1999000]\nTrue\n", "threads");
  });

  Deno.test(`ipc python (${platform}): multiprocessing over unix sockets`, async () => {
    const out = await cordonOk(py(MULTIPROCESSING), { platform });
    assertEquals(
      out,
      "echo x True\necho {'k': 1} True\necho 100000 True\nexitcode 0\n[1, 2, 3] b'raw'\nlistener done 0\n",
      "multiprocessing",
    );
  });

  Deno.test(`ipc python (${platform}): selectors and asyncio over unix sockets`, async () => {
    const out = await cordonOk(py(ASYNCIO), { platform });
    assertEquals(
      out,
      "EpollSelector []\n[('a', 1)]\nb'ping'\n[b'ALPHA', b'BETA']\nb'from asyncio\\n' 0\n",
      "asyncio",
    );
  });

  Deno.test(`ipc python (${platform}): an epoll selector on the host's stdin`, async () => {
    const out = await cordonOk(py(STDIN_SELECTOR), {
      platform,
      stdin: "open",
      stdinLater: { afterMs: 300, data: "typed on the host\n" },
    });
    assertEquals(out, "ready 1\nb'typed on the host\\n'\n", "stdin selector");
  });
}
