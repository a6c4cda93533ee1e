"""The proxy suite: one workload sent direct to the fake upstream and through the real server, compared.

For each scenario the load client runs twice, direct then through gunicorn (the proxy suite a third
time, through nginx, when it is installed), against the same fake upstream; the suite reads CPU and
RSS from /proc, checks the proxy recorded every request, prints the tables and the targets, and
writes the figures to bench/results/.
"""
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

from bench.nginx_relay import nginx_binary, nginx_status, nginx_target
from bench.procs import (CLOCK_TICKS, ROOT, FakeUpstream, ProxyServer, cpu_seconds, host_loop_ms, host_times,
                         raise_priority, rss_kb, wait_for_quiet)
from bench.proxy_figures import MODES, compare, evaluate, harness_notes, render, summarise
from bench.rounds import pooled, round_figures

RESULTS = ROOT / "bench" / "results"
CLIENT_RUN_TIMEOUT = 120.0   # seconds the load client may run before it gives up on stragglers
RECORDS_TIMEOUT = 30.0       # seconds to wait for the recorder to write a scenario's records


@dataclass(frozen=True)
class Scenario:
    """One workload: `count` requests one after another, over `concurrency` connections, or as
    streams whose starts span `ramp_s`."""

    name: str
    shape: str               # "sequential", "concurrent" or "ramped"
    count: int
    streaming: bool
    events: int = 30
    interval_ms: float = 0.0
    ramp_s: float = 1.0
    rounds: int = 1          # runs per mode, alternating direct and proxy; their samples are pooled
    concurrency: int = 1     # connections of a "concurrent" workload
    in_fleet: bool = True    # also part of the fleet suite's mix (kept as it was before Claude speed)


SCENARIOS = [
    Scenario("sequential streams", "sequential", 200, True, events=20, interval_ms=2),
    Scenario("sequential non-streaming", "sequential", 200, False),
    Scenario("50 concurrent streams", "ramped", 50, True, events=30, interval_ms=80),
    Scenario("300 concurrent streams", "ramped", 300, True, events=30, interval_ms=80, rounds=3),
    # Claude's own pace: 50 text deltas 20 ms apart (55 events), ~16,500 events a second at the peak.
    Scenario("300 Claude-speed streams", "ramped", 300, True, events=55, interval_ms=20, rounds=3,
             in_fleet=False),
    Scenario("non-streaming at concurrency 20", "concurrent", 400, False, concurrency=20),
]
QUICK_SCENARIOS = [
    Scenario("sequential streams", "sequential", 40, True, events=20, interval_ms=2),
    Scenario("sequential non-streaming", "sequential", 40, False),
    Scenario("100 concurrent streams", "ramped", 100, True, events=30, interval_ms=60),
    Scenario("100 Claude-speed streams", "ramped", 100, True, events=55, interval_ms=20, in_fleet=False),
    Scenario("non-streaming at concurrency 20", "concurrent", 100, False, concurrency=20),
]
# Imports, the upstream connection pool and the first SQLite writes happen here, not in a measurement.
WARMUP = [
    Scenario("warm-up streams", "sequential", 20, True, events=10, interval_ms=1),
    Scenario("warm-up non-streaming", "sequential", 20, False),
]


def selected(scenarios: list[Scenario]) -> list[Scenario]:
    """The scenarios whose names contain one of BENCH_ONLY's comma-separated words (all without it)."""
    words = [word.strip().lower() for word in os.environ.get("BENCH_ONLY", "").split(",") if word.strip()]
    return [s for s in scenarios if not words or any(word in s.name.lower() for word in words)]


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

    def __init__(self, upstream: FakeUpstream, proxy: ProxyServer, workdir: Path, nginx=None):
        self.upstream = upstream
        self.proxy = proxy
        self.nginx = nginx  # an NginxRelay, for the "nginx" mode
        self.workdir = workdir
        self.proxied = 0  # requests sent through the proxy, each of which must leave one record

    def worker_cpu(self) -> float:
        """CPU seconds the proxy's worker(s) have used so far."""
        return cpu_seconds(self.proxy.worker_pid)

    def target_cpu(self, mode: str) -> float:
        """CPU seconds so far of the worker that serves `mode` (the proxy's, idle, when direct)."""
        return cpu_seconds(self.nginx.worker_pid) if mode == "nginx" else self.worker_cpu()

    def settled_records(self) -> dict[str, int]:
        """Rows per outcome once every request proxied so far is recorded (or the wait timed out)."""
        return wait_for_records(self.proxy.database_path, self.proxied)

    def load(self, scenario: Scenario, mode: str, measured: bool = True) -> dict:
        """Run one scenario against one target; the client's samples plus CPU read around it."""
        target = urlparse({"direct": self.upstream, "proxy": self.proxy, "nginx": self.nginx}[mode].url)
        worker = self.nginx.worker_pid if mode == "nginx" else self.proxy.worker_pid
        spec = {"host": target.hostname, "port": target.port, "shape": scenario.shape,
                "count": scenario.count, "streaming": scenario.streaming, "events": scenario.events,
                "interval_ms": scenario.interval_ms, "ramp_s": scenario.ramp_s,
                "concurrency": scenario.concurrency,
                "run_timeout_s": CLIENT_RUN_TIMEOUT, "watch_pid": worker if mode != "direct" else None}
        quiet = wait_for_quiet() if measured else (0.0, 0.0)
        speed_before = host_loop_ms() if measured else None
        cpu_before = {"upstream": cpu_seconds(self.upstream.pid), "worker": self.target_cpu(mode)}
        host_before, upstream_before = host_times(), self.upstream.stats()
        children_before, began = _own_cpu(), time.monotonic()
        raw = run_client(spec, self.workdir)
        window = time.monotonic() - began
        children_after = _own_cpu()
        host_after, upstream_after = host_times(), self.upstream.stats()
        cpu_after = {"upstream": cpu_seconds(self.upstream.pid), "worker": self.target_cpu(mode)}
        raw["upstream"] = {key: upstream_after[key] - upstream_before[key] for key in upstream_before}
        busy, total = host_after[0] - host_before[0], host_after[1] - host_before[1]
        raw["host_busy"] = busy / total if total else None
        # CPU the machine spent outside our processes, in cores: on a shared machine busy
        # elsewhere every figure of the run is noisier. The client's start-up counts as ours.
        ours = children_after - children_before + sum(cpu_after[name] - cpu_before[name]
                                                      for name in cpu_before)
        raw["other_cpu"] = max(0.0, busy / CLOCK_TICKS - ours) / window
        raw["busy_before"], raw["quiet_wait_s"] = quiet
        raw["host_loop_ms"] = [speed_before, host_loop_ms()] if measured else []
        raw["records"] = None
        if mode == "proxy" and getattr(self.proxy, "recording", True):  # the floor relay records nothing
            self.proxied += scenario.count
            # The records are part of each request's cost: let the recorder write them first.
            raw["records"] = self.settled_records()
        raw["worker_cpu_with_records_s"] = self.target_cpu(mode) - cpu_before["worker"]
        raw["cpu_s_by_process"] = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
        return raw


def _log_problems(path: Path) -> list[str]:
    text = path.read_text(errors="replace") if path.exists() else ""
    return [line for line in text.splitlines()
            if any(word in line for word in ("WARNING", "ERROR", "Traceback", "Connection pool is full"))]


def main(quick: bool = False) -> int:
    """Run the suite, print the report, write the JSON; 0 when every target passed."""
    return run_suite("proxy", selected(QUICK_SCENARIOS if quick else SCENARIOS), quick,
                     lambda upstream, workdir, log_path: ProxyServer(upstream.url, workdir / "bench.db", log_path),
                     with_nginx=True)


def run_suite(suite: str, scenarios: list[Scenario], quick: bool, server, with_nginx: bool = False) -> int:
    """Each scenario direct and through `server(upstream, workdir, log_path)` (and nginx, when asked
    and installed); report, JSON, verdict."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    niceness, load_before = raise_priority(), os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / f"{suite}-{stamp}-gunicorn.log"
    runs = []
    binary = nginx_binary() if with_nginx else None
    modes = MODES + (("nginx",) if binary else ())
    with tempfile.TemporaryDirectory(prefix=f"bench-{suite}-") as tmp:
        workdir = Path(tmp)
        with FakeUpstream() as upstream, server(upstream, workdir, log_path) as proxy, \
                nginx_target(binary, upstream.url) as nginx:
            bench = Bench(upstream, proxy, workdir, nginx)
            for scenario in WARMUP:
                for mode in modes:
                    bench.load(scenario, mode, measured=False)
            idle_rss = {}  # mode -> its worker's RSS, KB
            for scenario in scenarios:
                if scenario.shape == "ramped" and not idle_rss:
                    # Idle means warm and after the sequential runs, before any stream was held open.
                    idle_rss["proxy"] = rss_kb(proxy.worker_pid)
                    if nginx:
                        idle_rss["nginx"] = rss_kb(nginx.worker_pid)
                rounds = f" (x{scenario.rounds}, pooled)" if scenario.rounds > 1 else ""
                run = {"scenario": scenario.name + rounds, "scenario_def": asdict(scenario)}
                raws = {mode: [] for mode in modes}
                for round_ in range(scenario.rounds):
                    for mode in modes:
                        print(f"running {scenario.name} ({mode}, round {round_ + 1}/{scenario.rounds})...",
                              file=sys.stderr, flush=True)
                        raws[mode].append(bench.load(scenario, mode))
                for mode in modes:
                    run[mode] = summarise(scenario, mode, pooled(raws[mode]), idle_rss.get(mode))
                if scenario.rounds > 1:
                    run["rounds"] = [{mode: round_figures(summarise(scenario, mode, raws[mode][number],
                                                                    idle_rss.get(mode)))
                                      for mode in modes} for number in range(scenario.rounds)]
                run["compare"] = compare(run["direct"], run["proxy"])
                if nginx:
                    run["compare_nginx"] = compare(run["direct"], run["nginx"])
                runs.append(run)
            records = wait_for_records(proxy.database_path, bench.proxied) if proxy.recording else {}
            proxied = bench.proxied
        nginx_log = nginx.log_lines if nginx else []
        log_lines = _log_problems(log_path)
    targets = evaluate(runs, records, proxied)
    notes = harness_notes(runs)
    machine = {"niceness": niceness, "load_before": load_before, "load_after": os.getloadavg()}
    print(f"Machine: load average {' '.join(f'{v:.2f}' for v in load_before)} before, "
          f"{' '.join(f'{v:.2f}' for v in machine['load_after'])} after; suite processes at nice {niceness}")
    status = nginx_status(binary) if with_nginx else None
    if status:
        print(status)
    print(render(runs, targets, notes, records, log_lines, nginx_log))
    out = RESULTS / f"{suite}-{stamp}.json"
    out.write_text(json.dumps({
        "suite": suite, "started": stamp, "quick": quick,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": len(os.sched_getaffinity(0))},
        **machine, "runs": runs, "records": records, "proxied": proxied, "targets": targets, "harness_notes": notes,
        "gunicorn_log_problems": log_lines[:50],
        "nginx": {"binary": binary, "status": status, "error_log": nginx_log[:50]} if with_nginx else None,
    }, indent=2))
    print(f"\nresults: {out.relative_to(ROOT)}  gunicorn log: {log_path.relative_to(ROOT)}")
    return 0 if all(t["pass"] for t in targets) else 1
