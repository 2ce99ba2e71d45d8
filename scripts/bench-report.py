#!/usr/bin/env python3
"""Combines the raw reports of scripts/bench-server.sh into results.json and a plot.

usage: bench-report.py RAW_DIR RESULTS_JSON PLOT_PNG

RAW_DIR holds one tandem-load JSON report per run (NAME-PEER.json) and notes the script took
about the server process (NAME-PEER.note.json: RSS, CPU seconds) and the machine
(machine.note.json). Every peer present is reported, with ratios of tandem to each. The plot
needs matplotlib; without it only results.json is written.
"""

import json
import os
import sys

PEERS = ["tandem", "ysweet", "hocuspocus", "node"]
SCENARIOS = ["hot50", "hot200", "many", "idle", "durable"]
CAP_RATES = [2, 5, 10, 20, 40, 80, 160]
CAP_P99_MS = 20.0
# A second threshold: a latency floor that is a constant (a TCP delay, say) would otherwise hide
# the throughput difference.
CAP_P99_LOOSE_MS = 50.0
CLUSTER_RUNS = ["direct1", "direct2", "direct3", "haproxy-roundrobin", "haproxy-uri"]


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
    cross = report.get("cross_node_latency") or {}
    clients = report["connections"]["clients"]
    rss_delta = server.get("rss_mid_kb", 0) - server.get("rss_before_kb", 0)
    return {
        "updates_per_s": round(report["updates_per_s"], 1),
        "messages_per_s": round(report["messages_per_s"], 1),
        "p50_ms": report["latency"]["p50_ms"],
        "p99_ms": report["latency"]["p99_ms"],
        "max_ms": report["latency"]["max_ms"],
        "latency_samples": report["latency"]["count"],
        "cross_node_p50_ms": cross.get("p50_ms"),
        "cross_node_p99_ms": cross.get("p99_ms"),
        "synced": report["connections"]["synced"],
        "clients": clients,
        "errors": report["errors"],
        "connect_failures": report["connections"]["failures"],
        "server_rss_mb": round(server["rss_mid_kb"] / 1024, 1) if "rss_mid_kb" in server else None,
        "server_peak_rss_mb": round(server["rss_peak_kb"] / 1024, 1) if "rss_peak_kb" in server else None,
        "server_cpu_s": server.get("cpu_s"),
        "server_dropped_frames": server.get("dropped_frames"),
        "rss_per_connection_kb": round(rss_delta / clients, 2) if server and clients else None,
        "durable_confirmed_per_s": round(durable["confirmed_per_s"], 1) if durable else None,
        "durable_ack_p99_ms": durable["latency"]["p99_ms"] if durable else None,
    }


def peer_ratios(by_peer, key):
    """tandem's figure over each other peer's."""
    t = by_peer.get("tandem") or {}
    return {
        peer: ratio(t.get(key), (by_peer.get(peer) or {}).get(key))
        for peer in PEERS[1:]
        if by_peer.get(peer)
    }


def capacity_of(raw):
    capacity = {}
    for peer in PEERS:
        points = []
        for rate in CAP_RATES:
            r = read(raw, f"cap{rate}-{peer}.json")
            if r is not None:
                points.append({
                    "rate": rate,
                    "updates_per_s": round(r["updates_per_s"], 1),
                    "messages_per_s": round(r["messages_per_s"], 1),
                    "p99_ms": r["latency"]["p99_ms"],
                    "latency_samples": r["latency"]["count"],
                })
        if points:
            capacity[peer] = points
    for limit in (CAP_P99_MS, CAP_P99_LOOSE_MS):
        best = {
            peer: max((p["updates_per_s"] for p in points
                       if p["latency_samples"] and p["p99_ms"] <= limit), default=None)
            for peer, points in list(capacity.items())
            if peer in PEERS
        }
        capacity[f"max_updates_per_s_at_p99_le_{int(limit)}ms"] = best
        capacity[f"ratio_tandem_over_peer_at_p99_le_{int(limit)}ms"] = {
            peer: ratio(best.get("tandem"), value) for peer, value in best.items() if peer != "tandem"
        }
    return capacity


def cold_of(raw):
    def samples(tag, peer):
        out = []
        for i in (1, 2, 3):
            r = read(raw, f"cold-{tag}-{i}-{peer}.json")
            if r is not None and r["sync_time"]["count"]:
                # y-sweet loads the stored document while the document is created over HTTP.
                out.append(round(r["sync_time"]["max_ms"] + 1000 * (r.get("create_s") or 0), 2))
        return out

    cold = {}
    for peer in PEERS:
        seed = read(raw, f"cold-seed-{peer}.json")
        if seed is None:
            continue
        cold[peer] = {
            "load_ms": samples("before", peer),
            "seed_updates_per_s": (seed.get("seed") or {}).get("updates_per_s"),
        }
    if "tandem" in cold:
        cold["tandem"]["load_after_compaction_ms"] = samples("after", "tandem")
    return cold


def loss_of(raw):
    loss = {}
    for peer in PEERS:
        r = read(raw, f"loss-{peer}.json")
        if r is None:
            continue
        verify = r.get("verify") or {}
        durable = r.get("durable") or {}
        loss[peer] = {
            "sent_checked": verify.get("sent_checked"),
            "sent_missing": verify.get("sent_missing"),
            "confirmed_checked": verify.get("confirmed_checked") if durable else None,
            "confirmed_missing": verify.get("missing") if durable else None,
            "fetch_failures": verify.get("fetch_failures"),
        }
    return loss


def cluster_of(raw):
    cluster = {name: digest(run(raw, f"cluster-{name}-tandem")) for name in CLUSTER_RUNS}
    cluster = {k: v for k, v in cluster.items() if v}
    chaos = read(raw, "cluster-chaos-tandem.json")
    if chaos is not None:
        cluster["chaos"] = {
            "reconnects": chaos["connections"]["reconnects"],
            "connect_failures": chaos["connections"]["failures"],
            "sent_updates": chaos["sent_updates"],
            "durable_confirmed_total": (chaos.get("durable") or {}).get("confirmed_total"),
            "verify": chaos.get("verify"),
            "p99_ms": chaos["latency"]["p99_ms"],
        }
    return cluster


def main():
    raw, out_json, out_png = sys.argv[1:4]
    machine = read(raw, "machine.note.json") or {"cores": os.cpu_count()}
    machine.update(read(raw, "machine-end.note.json") or {})
    # Partial runs (BENCH_SCENARIOS) that added to this one, with their own load averages.
    for name in sorted(os.listdir(raw)):
        if name.startswith("machine-") and name != "machine-end.note.json" and not name.startswith("machine-end-"):
            tag = name[len("machine-"):-len(".note.json")]
            partial = read(raw, name) or {}
            partial.update(read(raw, f"machine-end-{tag}.note.json") or {})
            machine.setdefault("partial_runs", {})[tag] = partial
    machine["note"] = "load generator and servers on one host"
    results = {"machine": machine, "scenarios": {}}
    for name in SCENARIOS:
        by_peer = {peer: digest(run(raw, f"{name}-{peer}")) for peer in PEERS}
        by_peer = {k: v for k, v in by_peer.items() if v}
        if not by_peer:
            continue
        results["scenarios"][name] = {
            **by_peer,
            "ratio_tandem_over_peer": {
                "messages_per_s": peer_ratios(by_peer, "messages_per_s"),
                "p99": peer_ratios(by_peer, "p99_ms"),
                "server_rss": peer_ratios(by_peer, "server_rss_mb"),
            },
        }
    results["capacity"] = capacity_of(raw)
    results["cold"] = cold_of(raw)
    results["loss"] = loss_of(raw)
    results["cluster"] = cluster_of(raw)
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
    colors = {"tandem": "#1f77b4", "ysweet": "#2ca02c", "hocuspocus": "#9467bd", "node": "#ff7f0e"}
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    fig.suptitle("tandem-server vs y-sweet, Hocuspocus, node y-websocket (same host, %s cores, tandem-load)"
                 % results["machine"].get("cores"))
    sc = results["scenarios"]
    width = 0.2

    ax = axes[0][0]
    names = [n for n in ("hot50", "hot200", "many") if sc.get(n)]
    for i, peer in enumerate(PEERS):
        values = [(sc[n].get(peer) or {}).get("p99_ms") or 0 for n in names]
        ax.bar([x + i * width for x in range(len(names))], values, width, label=peer, color=colors[peer])
    ax.set_xticks([x + 1.5 * width for x in range(len(names))], names)
    ax.set_yscale("log")
    ax.set_ylabel("end-to-end p99 (ms, log)")
    ax.set_title("p99 latency by scenario")
    ax.legend()

    ax = axes[0][1]
    for peer in PEERS:
        pts = results["capacity"].get(peer) or []
        if pts:
            ax.plot([p["updates_per_s"] for p in pts], [max(p["p99_ms"], 0.01) for p in pts], "o-",
                    label=peer, color=colors[peer])
    ax.axhline(CAP_P99_MS, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("updates/s into one document (50 clients, each update to 49 others)")
    ax.set_ylabel("p99 (ms, log)")
    ax.set_title("hot document capacity (dashed: 20 ms)")
    ax.legend()

    ax = axes[1][0]
    names = [n for n in ("many", "idle") if sc.get(n)]
    for i, peer in enumerate(PEERS):
        values = [(sc[n].get(peer) or {}).get("server_rss_mb") or 0 for n in names]
        bars = ax.bar([x + i * width for x in range(len(names))], values, width, label=peer, color=colors[peer])
        ax.bar_label(bars, fmt="%.0f")
    ax.set_xticks([x + 1.5 * width for x in range(len(names))], names)
    ax.set_ylabel("server RSS (MB)")
    ax.set_title("server memory (many: 5,000 conns; idle: 10,000 conns)")
    ax.legend()

    ax = axes[1][1]
    loss = results["loss"]
    peers = [p for p in PEERS if p in loss]
    sent = [loss[p]["sent_missing"] or 0 for p in peers]
    bars = ax.bar(peers, sent, color=[colors[p] for p in peers])
    ax.bar_label(bars, fmt="%d")
    confirmed = (loss.get("tandem") or {}).get("confirmed_missing")
    ax.set_ylabel("sent updates missing after kill -9 + restart")
    ax.set_title("durability: kill -9 under 1 x 50 x 5 typing (tandem confirmed missing: %s)" % confirmed)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    print(f"plot: {out_png}", file=sys.stderr)


if __name__ == "__main__":
    main()
