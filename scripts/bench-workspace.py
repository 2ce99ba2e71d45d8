#!/usr/bin/env python3
"""Workspace benchmark: `tandem share` of a generated tree, `tandem sync` of it, save-to-disk
latency between the two copies, and their idle cost. Run through scripts/bench-workspace.sh,
which builds the release binaries and passes their paths.

  bench-workspace.py TANDEM TANDEM_SERVER WORK [FILES] [TOTAL_MB] [SAVES] [IDLE_S]

Prints one line per figure; deletes the generated trees at the end.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def generate(root, files, total_bytes, seed=16):
    rng = random.Random(seed)
    words = ["let", "fn", "match", "struct", "impl", "self", "return", "value", "index", "会议",
             "text", "String", "Vec", "Option", "Some", "None", "::", "=>", "{", "}", "// note"]
    per_file = total_bytes // files
    for i in range(files):
        path = os.path.join(root, f"dir{i % 40:02}", f"sub{i % 7}", f"file{i:04}.rs")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lines, size = [], 0
        while size < per_file:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) + "\n"
            lines.append(line)
            size += len(line.encode())
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(lines))
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)


def wait_line(path, needle, proc, limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if needle in text:
            return text
        if proc.poll() is not None:
            sys.exit(f"process exited: {text}")
        time.sleep(0.01)
    sys.exit(f"timed out waiting for {needle!r} in {path}")


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    tandem, server_bin, work = sys.argv[1:4]
    files = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    total_mb = int(sys.argv[5]) if len(sys.argv) > 5 else 50
    saves = int(sys.argv[6]) if len(sys.argv) > 6 else 200
    idle_s = int(sys.argv[7]) if len(sys.argv) > 7 else 60
    shutil.rmtree(work, ignore_errors=True)
    one, two = os.path.join(work, "one"), os.path.join(work, "two")
    os.makedirs(one)
    total = generate(one, files, total_mb << 20)
    print(f"tree: {files} files, {total / 1e6:.1f} MB")
    port = free_port()
    procs = []
    try:
        server = subprocess.Popen(
            [server_bin, "--listen", f"127.0.0.1:{port}", "--data-dir", os.path.join(work, "server")],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "server.log"), "w"))
        procs.append(server)
        time.sleep(1)
        url = f"ws://127.0.0.1:{port}/bench"

        def engine(name, args):
            out = os.path.join(work, f"{name}.out")
            p = subprocess.Popen(
                [tandem, *args, "--data-dir", os.path.join(work, name), "--log", os.path.join(work, f"{name}.log")],
                stdout=open(out, "w"), stderr=subprocess.STDOUT)
            procs.append(p)
            return p, out

        start = time.monotonic()
        share, share_out = engine("share", ["share", one, url])
        wait_line(share_out, "published", share, 600)
        published = time.monotonic() - start
        share_hwm = proc_status(share.pid, "VmHWM")
        print(f"share: published in {published:.1f} s; peak RSS {share_hwm / 1024:.0f} MiB "
              f"= {share_hwm * 1024 / total:.2f}x the text")
        start = time.monotonic()
        sync, sync_out = engine("sync", ["sync", url, two])
        wait_line(sync_out, "synced", sync, 600)
        synced = time.monotonic() - start
        sync_hwm = proc_status(sync.pid, "VmHWM")
        print(f"sync: synced in {synced:.1f} s; peak RSS {sync_hwm / 1024:.0f} MiB "
              f"= {sync_hwm * 1024 / total:.2f}x the text")

        names = sorted(os.path.relpath(os.path.join(d, f), one) for d, _, fs in os.walk(one) for f in fs)
        rng = random.Random(7)
        latencies = []
        for i in range(saves):
            src, dst = (one, two) if i % 2 == 0 else (two, one)
            name = rng.choice(names)
            marker = f"// save {i} {time.time_ns()}\n"
            t0 = time.monotonic()
            with open(os.path.join(src, name), "a", encoding="utf-8") as f:
                f.write(marker)
            target = os.path.join(dst, name)
            deadline = t0 + 30
            while True:
                with open(target, encoding="utf-8") as f:
                    if marker in f.read():
                        break
                if time.monotonic() > deadline:
                    sys.exit(f"save {i} to {name} never arrived")
                time.sleep(0.001)
            latencies.append(time.monotonic() - t0)
            time.sleep(0.02)
        latencies.sort()
        pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
        print(f"save on disk -> other copy's disk ({saves} saves, both ways): "
              f"p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, max {latencies[-1] * 1000:.0f} ms")

        time.sleep(5)
        ticks = os.sysconf("SC_CLK_TCK")
        before = {p.pid: cpu_ticks(p.pid) for p in (share, sync, server)}
        time.sleep(idle_s)
        for label, p in (("share", share), ("sync", sync), ("server", server)):
            used = (cpu_ticks(p.pid) - before[p.pid]) / ticks
            print(f"idle {label}: {used:.2f} s CPU in {idle_s} s ({100 * used / idle_s:.2f} %)")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
