#!/usr/bin/env python3
"""Combines the raw reports of scripts/bench-server.sh into results.json and a plot.

usage: bench-report.py RAW_DIR RESULTS_JSON PLOT_PNG

RAW_DIR holds one tandem-load JSON report per run (NAME-SERVER.json) and notes the script took
about the server process (NAME-SERVER.note.json: RSS, CPU seconds). The plot needs matplotlib;
without it only results.json is written.
"""

import json
import os
import sys

PAIRED = ["hot50", "hot200", "many", "idle", "durable"]
CAP_RATES = [2, 5, 10, 20, 40]
CAP_P99_MS = 20.0
# A second threshold: a latency floor that is a constant (a TCP delay, say) would otherwise hide
# the throughput difference.
CAP_P99_LOOSE_MS = 50.0


def read(raw, name):
    try:
        with open(os.path.join(raw, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run(raw, name):
    report = read(raw, name + ".json")
    if report is not None:
        report["server"] = read(raw, name + ".note.json")
    return report


def ratio(a, b):
    return round(a / b, 3) if a is not None and b not in (None, 0) else None


def digest(report):
    """The figures the comparison needs from one report."""
    if report is None:
        return None
    server = report.get("server") or {}
    durable = report.get("durable") or {}
    clients = report["connections"]["clients"]
    rss_delta = server.get("rss_mid_kb", 0) - server.get("rss_before_kb", 0)
    return {
        "updates_per_s": round(report["updates_per_s"], 1),
        "messages_per_s": round(report["messages_per_s"], 1),
        "p50_ms": report["latency"]["p50_ms"],
        "p99_ms": report["latency"]["p99_ms"],
        "max_ms": report["latency"]["max_ms"],
        "synced": report["connections"]["synced"],
        "clients": clients,
        "errors": report["errors"],
        "connect_failures": report["connections"]["failures"],
        "server_rss_mb": round(server["rss_mid_kb"] / 1024, 1) if "rss_mid_kb" in server else None,
        "server_peak_rss_mb": round(server["rss_peak_kb"] / 1024, 1) if "rss_peak_kb" in server else None,
        "server_cpu_s": server.get("cpu_s"),
        "rss_per_connection_kb": round(rss_delta / clients, 2) if server and clients else None,
        "durable_confirmed_per_s": round(durable["confirmed_per_s"], 1) if durable else None,
        "durable_ack_p99_ms": durable["latency"]["p99_ms"] if durable else None,
    }


def main():
    raw, out_json, out_png = sys.argv[1:4]
    results = {
        "machine": {"cores": os.cpu_count(), "note": "load generator and server on one host"},
        "scenarios": {},
    }
    for name in PAIRED:
        t = digest(run(raw, name + "-tandem"))
        n = digest(run(raw, name + "-node"))
        results["scenarios"][name] = {
            "tandem": t,
            "node": n,
            "ratio_tandem_over_node": {
                "messages_per_s": ratio(t and t["messages_per_s"], n and n["messages_per_s"]),
                "p99": ratio(t and t["p99_ms"], n and n["p99_ms"]),
                "server_rss": ratio(t and t["server_rss_mb"], n and n["server_rss_mb"]),
            },
        }
    chaos = run(raw, "chaos-tandem")
    if chaos is not None:
        results["chaos"] = {
            "reconnects": chaos["connections"]["reconnects"],
            "connect_failures": chaos["connections"]["failures"],
            "sent_updates": chaos["sent_updates"],
            "durable_confirmed_total": (chaos.get("durable") or {}).get("confirmed_total"),
            "verify": chaos.get("verify"),
            "p99_ms": chaos["latency"]["p99_ms"],
        }
    capacity = {"tandem": [], "node": []}
    for server in capacity:
        for rate in CAP_RATES:
            r = read(raw, f"cap{rate}-{server}.json")
            if r is not None:
                capacity[server].append({
                    "rate": rate,
                    "updates_per_s": round(r["updates_per_s"], 1),
                    "messages_per_s": round(r["messages_per_s"], 1),
                    "p99_ms": r["latency"]["p99_ms"],
                })
    for limit in (CAP_P99_MS, CAP_P99_LOOSE_MS):
        best = {
            server: max((p["updates_per_s"] for p in points if p["p99_ms"] <= limit), default=None)
            for server, points in list(capacity.items())[:2]
        }
        capacity[f"max_updates_per_s_at_p99_le_{int(limit)}ms"] = best
        capacity[f"ratio_tandem_over_node_at_p99_le_{int(limit)}ms"] = ratio(best["tandem"], best["node"])
    results["capacity"] = capacity

    def syncs(prefix):
        samples = []
        for i in (1, 2, 3):
            r = read(raw, f"{prefix}-{i}-" + ("node" if "memory" in prefix else "tandem") + ".json")
            if r is not None and r["sync_time"]["count"]:
                samples.append(r["sync_time"]["max_ms"])
        return samples

    seed_t = read(raw, "cold-seed-tandem.json")
    seed_n = read(raw, "cold-seed-node.json")
    results["cold"] = {
        "tandem_before_compaction_ms": syncs("cold-before"),
        "tandem_after_compaction_ms": syncs("cold-after"),
        "node_in_memory_ms": syncs("cold-memory"),
        "storage": read(raw, "cold-compaction.note.json"),
        "tandem_seed_durable_updates_per_s": (seed_t or {}).get("seed", {}).get("updates_per_s"),
        "node_seed_updates_per_s": (seed_n or {}).get("seed", {}).get("updates_per_s"),
    }
    with open(out_json, "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))
    plot(results, out_png)


def plot(results, out_png):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot", file=sys.stderr)
        return
    colors = {"tandem": "#1f77b4", "node": "#ff7f0e"}
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle("tandem-server vs node y-websocket (same host, 2 cores, tandem-load)")
    sc = results["scenarios"]

    ax = axes[0][0]
    names = [n for n in ("hot50", "hot200", "many", "durable") if sc.get(n)]
    for i, server in enumerate(("tandem", "node")):
        values = [(sc[n][server] or {}).get("p99_ms") or 0 for n in names]
        ax.bar([x + i * 0.4 for x in range(len(names))], values, 0.4, label=server, color=colors[server])
    ax.set_xticks([x + 0.2 for x in range(len(names))], names)
    ax.set_yscale("log")
    ax.set_ylabel("end-to-end p99 (ms, log)")
    ax.set_title("p99 latency by scenario")
    ax.legend()

    ax = axes[0][1]
    cap = results["capacity"]
    for server in ("tandem", "node"):
        pts = cap[server]
        ax.plot([p["updates_per_s"] for p in pts], [max(p["p99_ms"], 0.01) for p in pts], "o-",
                label=server, color=colors[server])
    ax.axhline(CAP_P99_MS, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("updates/s into one document (50 clients, each update to 49 others)")
    ax.set_ylabel("p99 (ms, log)")
    ax.set_title("hot document capacity (dashed: 20 ms)")
    ax.legend()

    ax = axes[1][0]
    names = [n for n in ("many", "idle", "durable") if sc.get(n)]
    for i, server in enumerate(("tandem", "node")):
        values = [(sc[n][server] or {}).get("server_rss_mb") or 0 for n in names]
        bars = ax.bar([x + i * 0.4 for x in range(len(names))], values, 0.4, label=server, color=colors[server])
        ax.bar_label(bars, fmt="%.0f")
    ax.set_xticks([x + 0.2 for x in range(len(names))], names)
    ax.set_ylabel("server RSS (MB)")
    ax.set_title("server memory (many: 5,000 conns; idle: 10,000 conns)")
    ax.legend()

    ax = axes[1][1]
    cold = results["cold"]
    labels, values, cols = [], [], []
    for label, key, server in (
        ("tandem cold,\nlog of 100k", "tandem_before_compaction_ms", "tandem"),
        ("tandem cold,\nsnapshot", "tandem_after_compaction_ms", "tandem"),
        ("node in memory\n(no persistence)", "node_in_memory_ms", "node"),
    ):
        samples = cold.get(key) or []
        labels.append(label)
        values.append(sorted(samples)[len(samples) // 2] if samples else 0)
        cols.append(colors[server])
    bars = ax.bar(labels, values, color=cols)
    ax.bar_label(bars, fmt="%.1f")
    ax.set_ylabel("connect to SyncStep2 (ms, median of 3)")
    durable = (sc.get("durable") or {}).get("tandem") or {}
    ax.set_title("load of a 100,000-update document; durable acks/s: %s"
                 % (durable.get("durable_confirmed_per_s") or "n/a"))
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    print(f"plot: {out_png}", file=sys.stderr)


if __name__ == "__main__":
    main()
