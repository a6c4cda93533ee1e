"""The proxy suite's figures: each run summarised, direct and proxy compared, targets judged, the report."""
import collections
import json

from bench import report
from bench.procs import CLOCK_TICKS
from bench.rounds import rounds_table

MODES = ("direct", "proxy")  # every suite's; the proxy suite adds "nginx" when it is installed


def modes_of(run: dict) -> tuple[str, ...]:
    """The modes a run measured: direct and proxy, and nginx if it ran."""
    return MODES + (("nginx",) if "nginx" in run else ())


def summarise(scenario, mode: str, raw: dict, idle_rss_kb: int | None) -> dict:
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
        "worker_cpu": raw["cpu_s_by_process"]["worker"] / wall if mode != "direct" else None,
        "host_busy": raw["host_busy"],
        "other_cpu": raw["other_cpu"],
        "busy_before": raw["busy_before"], "quiet_wait_s": raw["quiet_wait_s"],
        "host_loop_ms": raw.get("host_loop_ms") or [],
        "worker_cpu_ms_per_request": (1000 * raw["worker_cpu_with_records_s"] / len(requests)
                                      if mode != "direct" and requests else None),
        # Every relayed event's share of the worker's CPU (its request's own work included).
        "worker_cpu_us_per_event": (1e6 * raw["worker_cpu_with_records_s"] / (len(ok) * scenario.events)
                                    if mode != "direct" and scenario.streaming and ok else None),
        "records": raw["records"],
        # New upstream connections per request. Each costs a name lookup and, against the real API,
        # a TLS handshake; a concurrent run needs new ones until the proxy's pool holds enough.
        "upstream_connections_per_request": (raw["upstream"]["connections"] / raw["upstream"]["requests"]
                                             if raw["upstream"]["requests"] else None),
        "rss": None,
    }
    samples = raw["rss_samples"]
    result["worker_cpu_peak"] = peak_cpu(samples)
    if mode != "direct" and scenario.shape == "ramped" and samples and idle_rss_kb:
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
    ramped = [run for run in streams if run["scenario_def"]["shape"] == "ramped"]
    most = max((run["scenario_def"]["count"] for run in ramped), default=None)
    targets = []

    def target(name, value, limit, unit):
        passed = value is not None and value <= limit
        targets.append({"target": name, "value": value, "limit": limit, "unit": unit, "pass": passed})

    for biggest in (run for run in ramped if run["scenario_def"]["count"] == most):
        added_ttfb = biggest["compare"]["ttfb_ms"]["added"]
        name = biggest["scenario_def"]["name"]
        target(f"added TTFB p50, {name}", added_ttfb["p50"], 2.0, "ms")
        target(f"added TTFB p95, {name}", added_ttfb["p95"], 5.0, "ms")
        rss = biggest["proxy"]["rss"]
        target(f"RSS per open stream, {name}", rss and rss["per_stream_kb"], 100.0, "KB")
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
    readings = sorted(ms for run in runs for mode in modes_of(run) for ms in run[mode]["host_loop_ms"])
    typical = readings[len(readings) // 2] if readings else None  # the host's speed for most of the suite
    for run in runs:
        for mode in modes_of(run):
            figures = run[mode]
            where = f"{run['scenario']} ({mode})"
            if mode == "nginx" and figures["errors"]:  # the targets count the proxy's errors, not these
                notes.append(f"{where}: {figures['errors']} client error(s), e.g. {next(iter(figures['error_kinds']))}")
            slowest = max(figures["host_loop_ms"], default=None)
            if typical and slowest and slowest > 1.4 * typical:
                notes.append(f"{where}: the host ran slow (a fixed loop took {slowest:.0f} ms, {typical:.0f} "
                             "for most of this suite) - CPU-bound figures stretch with it")
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


def _span(values: list) -> str:
    return f"{min(values):.0f}-{max(values):.0f}" if values else "-"


def _latency_rows(run: dict, with_nginx: bool) -> list[list]:
    """The run's rows of the latency table: TTFB and per-event delay, or latency when not streaming."""
    rows = []
    metrics = ["ttfb_ms", "event_delay_ms"] if run["scenario_def"]["streaming"] else ["latency_ms"]
    for metric in metrics:
        label = {"ttfb_ms": "TTFB", "event_delay_ms": "per-event delay", "latency_ms": "latency"}[metric]
        row = [run["scenario"] if metric == metrics[0] else "", label,
               report.triple(run["direct"][metric]), report.triple(run["proxy"][metric]),
               report.triple(run["compare"][metric]["added"]), report.triple(run["compare"][metric]["ratio"])]
        if with_nginx:
            nginx = "nginx" in run
            row += [report.triple(run["nginx"][metric]) if nginx else "-",
                    report.triple(run["compare_nginx"][metric]["added"]) if nginx else "-"]
        rows.append(row)
    return rows


def _cost_row(figures: dict) -> list:
    """One worker's costs over a run: CPU per request and per event, CPU shares, upstream reuse, RSS."""
    rss = figures["rss"]
    return [report.fmt(figures["worker_cpu_ms_per_request"]), report.fmt(figures.get("worker_cpu_us_per_event"), 1),
            _pct(figures["worker_cpu"]), _pct(figures["worker_cpu_peak"]),
            report.fmt(figures["upstream_connections_per_request"]),
            f"{rss['per_stream_kb']:.1f} ({rss['open_streams']} open)" if rss else "-"]


def render(runs: list[dict], targets: list[dict], notes: list[str], records: dict,
           log_lines: list[str], nginx_log: list[str] = ()) -> str:
    """The report as text: latency, the workers' costs, the harness's health, records, targets."""
    with_nginx = any("nginx" in run for run in runs)
    latency_rows, cost_rows, health_rows = [], [], []
    for run in runs:
        latency_rows += _latency_rows(run, with_nginx)
        for mode in modes_of(run)[1:]:
            cost_rows.append([run["scenario"] if mode == "proxy" else "", *([mode] if with_nginx else []),
                              *_cost_row(run[mode])])
        for mode in modes_of(run):
            f = run[mode]
            health_rows.append([run["scenario"] if mode == "direct" else "", mode,
                                f"{f['ok']}/{f['requests']}", f["errors"], report.fmt(f["wall_s"]),
                                _pct(f["client_cpu"]), _pct(f["upstream_cpu"]), _pct(f["host_busy"]),
                                _pct(f["other_cpu"]), _span(f["host_loop_ms"]), report.fmt(f["start_lag_ms"]["p99"]),
                                report.fmt(f["client_loop_lag_ms"]["max"])])
    nginx_columns = ["nginx", "nginx added"] if with_nginx else []
    lines = [
        "Latency in ms, p50 / p95 / p99 (added = proxy - direct, percentile by percentile"
        + (", nginx added = nginx - direct)" if with_nginx else ")"),
        report.table(["scenario", "metric", "direct", "proxy", "added", "ratio proxy/direct", *nginx_columns],
                     latency_rows),
        "",
    ]
    per_round = rounds_table(runs)
    if per_round:
        lines += ["Each round of the pooled scenarios (latency in ms, p50 / p95 / p99)", per_round, ""]
    lines += [
        ("Worker costs, the proxy's and nginx's" if with_nginx else "Proxy worker costs")
        + " (CPU as a share of one core: mean over the run, peak over 200 ms)",
        report.table(["scenario", *(["worker"] if with_nginx else []), "CPU ms/request", "CPU µs/event", "CPU mean",
                      "CPU peak", "new upstream conns/request", "RSS KB per open stream"], cost_rows),
        "",
        "Harness health (client/upstream: share of one core; host: all cores busy; others: CPU of"
        " processes not ours, in cores; host loop: CPU ms of a fixed loop before and after each run)",
        report.table(["scenario", "mode", "ok", "errors", "wall s", "client", "upstream", "host", "others",
                      "host loop ms", "start lag p99 ms", "client stall max ms"], health_rows),
        "",
        f"Records in request_log by outcome: {json.dumps(records)}",
    ]
    if log_lines:
        lines.append(f"gunicorn log: {len(log_lines)} warning/error line(s), e.g. {log_lines[0][:160]}")
    if nginx_log:
        lines.append(f"nginx error log: {len(nginx_log)} line(s), e.g. {nginx_log[0][:160]}")
    if notes:
        lines += ["", "Harness notes:"] + [f"  - {note}" for note in notes]
    lines += ["", "Targets:"]
    for t in targets:
        value = report.fmt(t["value"]) if t["value"] is not None else "not measured"
        unit = f" {t['unit']}" if t["unit"] else ""
        verdict = "PASS" if t["pass"] else "FAIL"
        lines.append(f"  {verdict}  {t['target']}: {value}{unit} (limit {t['limit']}{unit})")
    return "\n".join(lines)
