"""The proxy suite: one workload sent direct to the fake upstream and through the real server, compared.

For each scenario the load client runs twice, direct then through gunicorn, against the same fake
upstream; the suite reads CPU and RSS from /proc, checks the proxy recorded every request, prints
the tables and the targets, and writes the figures to bench/results/.
"""
import collections
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from bench import report
from bench.procs import (CLOCK_TICKS, ROOT, FakeUpstream, ProxyServer, cpu_seconds, host_times,
                         raise_priority, rss_kb, wait_for_quiet)
from bench.rounds import pooled, round_figures, rounds_table

RESULTS = ROOT / "bench" / "results"
CLIENT_RUN_TIMEOUT = 120.0   # seconds the load client may run before it gives up on stragglers
RECORDS_TIMEOUT = 30.0       # seconds to wait for the recorder to write a scenario's records


@dataclass(frozen=True)
class Scenario:
    """One workload: `count` requests one after another, or as streams whose starts span `ramp_s`."""

    name: str
    shape: str               # "sequential" or "ramped"
    count: int
    streaming: bool
    events: int = 30
    interval_ms: float = 0.0
    ramp_s: float = 1.0
    rounds: int = 1          # runs per mode, alternating direct and proxy; their samples are pooled


SCENARIOS = [
    Scenario("sequential streams", "sequential", 200, True, events=20, interval_ms=2),
    Scenario("sequential non-streaming", "sequential", 200, False),
    Scenario("50 concurrent streams", "ramped", 50, True, events=30, interval_ms=80),
    Scenario("300 concurrent streams", "ramped", 300, True, events=30, interval_ms=80, rounds=3),
]
QUICK_SCENARIOS = [
    Scenario("sequential streams", "sequential", 40, True, events=20, interval_ms=2),
    Scenario("sequential non-streaming", "sequential", 40, False),
    Scenario("100 concurrent streams", "ramped", 100, True, events=30, interval_ms=60),
]
# Imports, the upstream connection pool and the first SQLite writes happen here, not in a measurement.
WARMUP = [
    Scenario("warm-up streams", "sequential", 20, True, events=10, interval_ms=1),
    Scenario("warm-up non-streaming", "sequential", 20, False),
]
MODES = ("direct", "proxy")


def run_client(spec: dict, workdir: Path) -> dict:
    """Run `python -m bench.load` in its own process on `spec` and return what it measured."""
    spec_path, out_path = workdir / "spec.json", workdir / "out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "bench.load", str(spec_path), str(out_path)], cwd=ROOT,
                   check=True, timeout=CLIENT_RUN_TIMEOUT + spec.get("ramp_s", 0) + 30)
    return json.loads(out_path.read_text())


def record_counts(database: Path) -> dict[str, int]:
    """Rows of request_log per outcome."""
    connection = sqlite3.connect(database, timeout=5)
    try:
        return dict(connection.execute("SELECT outcome, COUNT(*) FROM request_log GROUP BY outcome"))
    finally:
        connection.close()


def wait_for_records(database: Path, expected: int, timeout: float = RECORDS_TIMEOUT) -> dict[str, int]:
    """Wait until `expected` rows are complete and none is in flight (the recorder writes in batches)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = record_counts(database)
        settled = counts.get("complete", 0) >= expected and not counts.get("in_flight")
        if settled or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def _own_cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the load clients)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class Bench:
    """The running processes and what has been sent so far."""

    def __init__(self, upstream: FakeUpstream, proxy: ProxyServer, workdir: Path):
        self.upstream = upstream
        self.proxy = proxy
        self.workdir = workdir
        self.proxied = 0  # requests sent through the proxy, each of which must leave one record

    def worker_cpu(self) -> float:
        """CPU seconds the proxy's worker(s) have used so far."""
        return cpu_seconds(self.proxy.worker_pid)

    def settled_records(self) -> dict[str, int]:
        """Rows per outcome once every request proxied so far is recorded (or the wait timed out)."""
        return wait_for_records(self.proxy.database_path, self.proxied)

    def load(self, scenario: Scenario, mode: str, measured: bool = True) -> dict:
        """Run one scenario against one target; the client's samples plus CPU read around it."""
        target = urlparse(self.upstream.url if mode == "direct" else self.proxy.url)
        worker = self.proxy.worker_pid
        spec = {"host": target.hostname, "port": target.port, "shape": scenario.shape,
                "count": scenario.count, "streaming": scenario.streaming, "events": scenario.events,
                "interval_ms": scenario.interval_ms, "ramp_s": scenario.ramp_s,
                "run_timeout_s": CLIENT_RUN_TIMEOUT, "watch_pid": worker if mode == "proxy" else None}
        quiet = wait_for_quiet() if measured else (0.0, 0.0)
        cpu_before = {"upstream": cpu_seconds(self.upstream.pid), "worker": self.worker_cpu()}
        host_before, upstream_before = host_times(), self.upstream.stats()
        children_before, began = _own_cpu(), time.monotonic()
        raw = run_client(spec, self.workdir)
        window = time.monotonic() - began
        children_after = _own_cpu()
        host_after, upstream_after = host_times(), self.upstream.stats()
        cpu_after = {"upstream": cpu_seconds(self.upstream.pid), "worker": self.worker_cpu()}
        raw["upstream"] = {key: upstream_after[key] - upstream_before[key] for key in upstream_before}
        busy, total = host_after[0] - host_before[0], host_after[1] - host_before[1]
        raw["host_busy"] = busy / total if total else None
        # CPU the machine spent outside our processes, in cores: on a shared machine busy
        # elsewhere every figure of the run is noisier. The client's start-up counts as ours.
        ours = children_after - children_before + sum(cpu_after[name] - cpu_before[name]
                                                      for name in cpu_before)
        raw["other_cpu"] = max(0.0, busy / CLOCK_TICKS - ours) / window
        raw["busy_before"], raw["quiet_wait_s"] = quiet
        raw["records"] = None
        if mode == "proxy":
            self.proxied += scenario.count
            # The records are part of each request's cost: let the recorder write them first.
            raw["records"] = self.settled_records()
        raw["worker_cpu_with_records_s"] = self.worker_cpu() - cpu_before["worker"]
        raw["cpu_s_by_process"] = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
        return raw


def summarise(scenario: Scenario, mode: str, raw: dict, idle_rss_kb: int | None) -> dict:
    """The figures of one run: latency percentiles (ms), errors, CPU shares, RSS per open stream."""
    requests = raw["requests"]
    ok = [r for r in requests if r["error"] is None]
    errors = collections.Counter(r["error"] for r in requests if r["error"] is not None)
    wall = raw["wall_s"]
    result = {
        "scenario": scenario.name, "mode": mode, "requests": len(requests), "ok": len(ok),
        "errors": sum(errors.values()), "error_kinds": dict(errors.most_common(5)), "wall_s": wall,
        "ttfb_ms": report.summary([r["ttfb_us"] for r in ok], 1000),
        "latency_ms": report.summary([r["total_us"] for r in ok], 1000),
        "event_delay_ms": report.summary(raw["delays_us"], 1000),
        "start_lag_ms": report.summary(raw["start_lag_us"], 1000),
        "client_loop_lag_ms": report.summary([lag for _, lag in raw["loop_lag"]], 1000),
        "client_cpu": raw["cpu_s"] / wall,
        "upstream_cpu": raw["cpu_s_by_process"]["upstream"] / wall,
        "worker_cpu": raw["cpu_s_by_process"]["worker"] / wall if mode == "proxy" else None,
        "host_busy": raw["host_busy"],
        "other_cpu": raw["other_cpu"],
        "busy_before": raw["busy_before"], "quiet_wait_s": raw["quiet_wait_s"],
        "worker_cpu_ms_per_request": (1000 * raw["worker_cpu_with_records_s"] / len(requests)
                                      if mode == "proxy" and requests else None),
        "records": raw["records"],
        # New upstream connections per request. Each costs a name lookup and, against the real API,
        # a TLS handshake; a concurrent run needs new ones until the proxy's pool holds enough.
        "upstream_connections_per_request": (raw["upstream"]["connections"] / raw["upstream"]["requests"]
                                             if raw["upstream"]["requests"] else None),
        "rss": None,
    }
    samples = raw["rss_samples"]
    result["worker_cpu_peak"] = peak_cpu(samples)
    if mode == "proxy" and scenario.shape == "ramped" and samples and idle_rss_kb:
        most_open = max(sample[1] for sample in samples)
        peak = max(sample[2] for sample in samples if sample[1] == most_open)
        result["rss"] = {"idle_kb": idle_rss_kb, "peak_kb": peak, "open_streams": most_open,
                         "per_stream_kb": (peak - idle_rss_kb) / most_open if most_open else None,
                         "after_kb": samples[-1][2]}
    return result


def peak_cpu(samples: list, window: float = 0.2) -> float | None:
    """The watched process's highest CPU use (share of one core) over any `window` seconds of the run."""
    best = None
    start = 0
    for end in range(len(samples)):
        while samples[end][0] - samples[start][0] > window:
            start += 1
        span = samples[end][0] - samples[start][0]
        if span >= window * 0.75:  # ignore spans too short for the 10 ms clock-tick resolution
            share = (samples[end][3] - samples[start][3]) / CLOCK_TICKS / span
            best = share if best is None else max(best, share)
    return best


def compare(direct: dict, proxy: dict) -> dict:
    """Added (proxy minus direct) and ratio (proxy over direct) for each latency metric."""
    return {metric: {"added": report.added(proxy[metric], direct[metric]),
                     "ratio": report.ratio(proxy[metric], direct[metric])}
            for metric in ("ttfb_ms", "event_delay_ms", "latency_ms")}


def evaluate(runs: list[dict], records: dict, proxied: int) -> list[dict]:
    """The targets, each with its measured value and whether it passed."""
    streams = [run for run in runs if run["scenario_def"]["streaming"]]
    biggest = max((run for run in streams if run["scenario_def"]["shape"] == "ramped"),
                  key=lambda run: run["scenario_def"]["count"], default=None)
    targets = []

    def target(name, value, limit, unit):
        passed = value is not None and value <= limit
        targets.append({"target": name, "value": value, "limit": limit, "unit": unit, "pass": passed})

    if biggest is not None:
        added_ttfb = biggest["compare"]["ttfb_ms"]["added"]
        count = biggest["scenario_def"]["count"]
        target(f"added TTFB p50 at {count} streams", added_ttfb["p50"], 2.0, "ms")
        target(f"added TTFB p95 at {count} streams", added_ttfb["p95"], 5.0, "ms")
        rss = biggest["proxy"]["rss"]
        target(f"RSS per open stream at {count} streams", rss and rss["per_stream_kb"], 100.0, "KB")
    worst = max((run["compare"]["event_delay_ms"]["added"]["p95"] for run in streams
                 if run["compare"]["event_delay_ms"]["added"]["p95"] is not None), default=None)
    target("added per-event delay p95 (worst scenario)", worst, 2.0, "ms")
    errors = sum(run[mode]["errors"] for run in runs for mode in MODES)
    target("client errors (all runs, both modes)", errors, 0, "")
    # One complete record per proxied request, and nothing else (warm-up included in both).
    others = sum(count for outcome, count in records.items() if outcome != "complete")
    missing = abs(proxied - records.get("complete", 0)) + others
    target(f"records not complete (of {proxied} proxied)", missing, 0, "")
    return targets


def harness_notes(runs: list[dict]) -> list[str]:
    """Warnings that the load client, the upstream or the machine, not the proxy, may limit a figure."""
    notes = []
    for run in runs:
        for mode in MODES:
            figures = run[mode]
            where = f"{run['scenario']} ({mode})"
            if figures["client_cpu"] > 0.8:
                notes.append(f"{where}: the load client used {figures['client_cpu']:.0%} of a core "
                             "(CPU-bound)")
            if figures["upstream_cpu"] > 0.8:
                notes.append(f"{where}: the fake upstream used {figures['upstream_cpu']:.0%} of a core")
            if figures["host_busy"] and figures["host_busy"] > 0.9:
                notes.append(f"{where}: the machine was {figures['host_busy']:.0%} busy (all cores)")
            if figures["busy_before"] > 0.2:
                notes.append(f"{where}: the machine never went quiet before the run "
                             f"({figures['busy_before']:.1f} cores busy after "
                             f"{figures['quiet_wait_s']:.0f} s)")
            if figures["other_cpu"] > 0.2:
                notes.append(f"{where}: other processes on this machine used {figures['other_cpu']:.0%} "
                             "of a core meanwhile - figures are noisier than usual")
            lag = figures["start_lag_ms"]["p99"]
            if lag is not None and lag > 5:
                notes.append(f"{where}: streams started up to {lag:.1f} ms late (p99) - client lag")
            stall = figures["client_loop_lag_ms"]["max"]
            if stall is not None and stall > 5:
                notes.append(f"{where}: the load client's loop stalled {stall:.1f} ms once - "
                             "samples taken then are late")
        delay = run["direct"]["event_delay_ms"]["p95"]
        if delay is not None and delay > 2:
            notes.append(f"{run['scenario']}: direct per-event delay p95 is {delay:.2f} ms - "
                         "the client or upstream, not the proxy, is slow here")
    return notes


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(runs: list[dict], targets: list[dict], notes: list[str], records: dict,
           log_lines: list[str]) -> str:
    """The report as text: latency, the proxy's costs, the harness's health, records, targets."""
    latency_rows, cost_rows, health_rows = [], [], []
    for run in runs:
        metrics = ["ttfb_ms", "event_delay_ms"] if run["scenario_def"]["streaming"] else ["latency_ms"]
        for metric in metrics:
            label = {"ttfb_ms": "TTFB", "event_delay_ms": "per-event delay", "latency_ms": "latency"}[metric]
            latency_rows.append([run["scenario"] if metric == metrics[0] else "", label,
                                 report.triple(run["direct"][metric]), report.triple(run["proxy"][metric]),
                                 report.triple(run["compare"][metric]["added"]),
                                 report.triple(run["compare"][metric]["ratio"])])
        proxy, rss = run["proxy"], run["proxy"]["rss"]
        cost_rows.append([run["scenario"], report.fmt(proxy["worker_cpu_ms_per_request"]),
                          _pct(proxy["worker_cpu"]), _pct(proxy["worker_cpu_peak"]),
                          report.fmt(proxy["upstream_connections_per_request"]),
                          f"{rss['per_stream_kb']:.1f} ({rss['open_streams']} open)" if rss else "-"])
        for mode in MODES:
            f = run[mode]
            health_rows.append([run["scenario"] if mode == "direct" else "", mode,
                                f"{f['ok']}/{f['requests']}", f["errors"], report.fmt(f["wall_s"]),
                                _pct(f["client_cpu"]), _pct(f["upstream_cpu"]), _pct(f["host_busy"]),
                                _pct(f["other_cpu"]), report.fmt(f["start_lag_ms"]["p99"]),
                                report.fmt(f["client_loop_lag_ms"]["max"])])
    lines = [
        "Latency in ms, p50 / p95 / p99 (added = proxy - direct, percentile by percentile)",
        report.table(["scenario", "metric", "direct", "proxy", "added", "ratio proxy/direct"], latency_rows),
        "",
    ]
    per_round = rounds_table(runs)
    if per_round:
        lines += ["Each round of the pooled scenarios (latency in ms, p50 / p95 / p99)", per_round, ""]
    lines += [
        "Proxy worker costs (CPU as a share of one core: mean over the run, peak over 200 ms)",
        report.table(["scenario", "CPU ms/request", "CPU mean", "CPU peak", "new upstream conns/request",
                      "RSS KB per open stream"], cost_rows),
        "",
        "Harness health (client/upstream: share of one core; host: all cores busy; others: CPU of"
        " processes not ours, in cores)",
        report.table(["scenario", "mode", "ok", "errors", "wall s", "client", "upstream", "host", "others",
                      "start lag p99 ms", "client stall max ms"], health_rows),
        "",
        f"Records in request_log by outcome: {json.dumps(records)}",
    ]
    if log_lines:
        lines.append(f"gunicorn log: {len(log_lines)} warning/error line(s), e.g. {log_lines[0][:160]}")
    if notes:
        lines += ["", "Harness notes:"] + [f"  - {note}" for note in notes]
    lines += ["", "Targets:"]
    for t in targets:
        value = report.fmt(t["value"]) if t["value"] is not None else "not measured"
        unit = f" {t['unit']}" if t["unit"] else ""
        verdict = "PASS" if t["pass"] else "FAIL"
        lines.append(f"  {verdict}  {t['target']}: {value}{unit} (limit {t['limit']}{unit})")
    return "\n".join(lines)


def _log_problems(path: Path) -> list[str]:
    text = path.read_text(errors="replace") if path.exists() else ""
    return [line for line in text.splitlines()
            if any(word in line for word in ("WARNING", "ERROR", "Traceback", "Connection pool is full"))]


def main(quick: bool = False) -> int:
    """Run the suite, print the report, write the JSON; 0 when every target passed."""
    scenarios = QUICK_SCENARIOS if quick else SCENARIOS
    stamp = time.strftime("%Y%m%d-%H%M%S")
    niceness, load_before = raise_priority(), os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / f"proxy-{stamp}-gunicorn.log"
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        workdir = Path(tmp)
        with FakeUpstream() as upstream, ProxyServer(upstream.url, workdir / "bench.db", log_path) as proxy:
            bench = Bench(upstream, proxy, workdir)
            for scenario in WARMUP:
                for mode in MODES:
                    bench.load(scenario, mode, measured=False)
            idle_rss = None
            for scenario in scenarios:
                if scenario.shape == "ramped" and idle_rss is None:
                    # Idle means warm and after the sequential runs, before any stream was held open.
                    idle_rss = rss_kb(proxy.worker_pid)
                rounds = f" (x{scenario.rounds}, pooled)" if scenario.rounds > 1 else ""
                run = {"scenario": scenario.name + rounds, "scenario_def": asdict(scenario)}
                raws = {mode: [] for mode in MODES}
                for round_ in range(scenario.rounds):
                    for mode in MODES:
                        print(f"running {scenario.name} ({mode}, round {round_ + 1}/{scenario.rounds})...",
                              file=sys.stderr, flush=True)
                        raws[mode].append(bench.load(scenario, mode))
                for mode in MODES:
                    run[mode] = summarise(scenario, mode, pooled(raws[mode]), idle_rss)
                if scenario.rounds > 1:
                    run["rounds"] = [{mode: round_figures(summarise(scenario, mode, raws[mode][number], idle_rss))
                                      for mode in MODES} for number in range(scenario.rounds)]
                run["compare"] = compare(run["direct"], run["proxy"])
                runs.append(run)
            records = wait_for_records(proxy.database_path, bench.proxied)
            proxied = bench.proxied
        log_lines = _log_problems(log_path)
    targets = evaluate(runs, records, proxied)
    notes = harness_notes(runs)
    machine = {"niceness": niceness, "load_before": load_before, "load_after": os.getloadavg()}
    print(f"Machine: load average {' '.join(f'{v:.2f}' for v in load_before)} before, "
          f"{' '.join(f'{v:.2f}' for v in machine['load_after'])} after; suite processes at nice {niceness}")
    print(render(runs, targets, notes, records, log_lines))
    out = RESULTS / f"proxy-{stamp}.json"
    out.write_text(json.dumps({
        "suite": "proxy", "started": stamp, "quick": quick,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": len(os.sched_getaffinity(0))},
        **machine, "runs": runs, "records": records, "proxied": proxied, "targets": targets, "harness_notes": notes,
        "gunicorn_log_problems": log_lines[:50],
    }, indent=2))
    print(f"\nresults: {out.relative_to(ROOT)}  gunicorn log: {log_path.relative_to(ROOT)}")
    return 0 if all(t["pass"] for t in targets) else 1
