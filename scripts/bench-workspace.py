#!/usr/bin/env python3
"""Workspace benchmark: `tandem share` of a generated tree, `tandem sync` of it, save-to-disk
latency between the two copies, keystroke latency from a tandem editor (in tmux, on one of the
workspace's files) to both copies' files, and the idle cost. Run through
scripts/bench-workspace.sh, which builds the release binaries and passes their paths.

  bench-workspace.py TANDEM TANDEM_SERVER WORK [FILES] [TOTAL_MB] [SAVES] [IDLE_S] [KEYS]

KEYS keystrokes (default 100, 0 skips the phase; it needs tmux) are sent ~200 ms apart.

Prints one line per figure; deletes the generated trees at the end.
"""

import os
import random
import shlex
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


def wait_all(paths, needle, deadline):
    """Polls `paths` every millisecond until each contains `needle`; returns the monotonic time
    each did (None for those that had not by `deadline`)."""
    arrived = [None] * len(paths)
    while None in arrived and time.monotonic() < deadline:
        for i, path in enumerate(paths):
            if arrived[i] is None:
                with open(path, encoding="utf-8", errors="replace") as f:
                    if needle in f.read():
                        arrived[i] = time.monotonic()
        time.sleep(0.001)
    return arrived


def percentiles(label, latencies):
    latencies = sorted(latencies)
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
    return (f"{label}: p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms")


def keystrokes(tandem, work, url, name, copies, keys):
    """A tandem editor in tmux on the document of `name`, typing `keys` single keys ~200 ms apart;
    each is timed until every one of `copies` (directories) has it in its file."""
    home = os.path.join(work, "editor")
    os.makedirs(home)
    config = os.path.join(home, "config.toml")
    with open(config, "w") as f:
        f.write("syntax = false\n")
    socket_name = f"bench-workspace-{os.getpid()}"
    tmux = lambda *args: subprocess.run(["tmux", "-L", socket_name, *args], check=True,
                                        capture_output=True, env={**os.environ, "LANG": "C.UTF-8"})
    command = [tandem, f"{url}/{name}", "--name", "bench", "--config", config,
               "--log", os.path.join(home, "tandem.log"), "--data-dir", os.path.join(home, "data")]
    tmux("new-session", "-d", "-s", "bench", "-x", "120", "-y", "24", shlex.join(command))
    try:
        deadline = time.monotonic() + 60
        while b"connected" not in tmux("capture-pane", "-p", "-t", "bench").stdout:
            if time.monotonic() > deadline:
                sys.exit("the editor never connected")
            time.sleep(0.05)
        files = [os.path.join(copy, name) for copy in copies]
        # A line of its own, begun with a mark no file has, so every prefix typed is unique.
        mark = f"keys{os.getpid()}:"
        tmux("send-keys", "-t", "bench", "C-End", "Enter")
        tmux("send-keys", "-t", "bench", "-l", mark)
        if None in wait_all(files, "\n" + mark, time.monotonic() + 30):
            sys.exit("the editor's first line never reached the copies")
        typed = "\n" + mark
        latencies = [[] for _ in copies]
        for i in range(keys):
            key = "abcdefghijklmnopqrstuvwxyz"[i % 26]
            typed += key
            t0 = time.monotonic()
            tmux("send-keys", "-t", "bench", "-l", key)
            arrived = wait_all(files, typed, t0 + 30)
            if None in arrived:
                sys.exit(f"keystroke {i} never reached every copy: {arrived}")
            for lat, t in zip(latencies, arrived):
                lat.append(t - t0)
            time.sleep(max(0.0, t0 + 0.2 - time.monotonic()))
        for copy, lat in zip(copies, latencies):
            print(percentiles(f"keystroke in an editor -> {os.path.basename(copy)}'s file "
                              f"({keys} keys, 200 ms apart)", lat))
    finally:
        subprocess.run(["tmux", "-L", socket_name, "kill-server"], capture_output=True)


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


def idle(share, sync, server, idle_s):
    time.sleep(5)
    ticks = os.sysconf("SC_CLK_TCK")
    before = {p.pid: cpu_ticks(p.pid) for p in (share, sync, server)}
    time.sleep(idle_s)
    for label, p in (("share", share), ("sync", sync), ("server", server)):
        used = (cpu_ticks(p.pid) - before[p.pid]) / ticks
        print(f"idle {label}: {used:.2f} s CPU in {idle_s} s ({100 * used / idle_s:.2f} %)")


def main():
    tandem, server_bin, work = sys.argv[1:4]
    files = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    total_mb = int(sys.argv[5]) if len(sys.argv) > 5 else 50
    saves = int(sys.argv[6]) if len(sys.argv) > 6 else 200
    idle_s = int(sys.argv[7]) if len(sys.argv) > 7 else 60
    keys = int(sys.argv[8]) if len(sys.argv) > 8 else 100
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
        if latencies:
            print(percentiles(f"save on disk -> other copy's disk ({saves} saves, both ways)",
                              latencies))
        if keys:
            keystrokes(tandem, work, url, names[0], [one, two], keys)

        if idle_s:
            idle(share, sync, server, idle_s)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
