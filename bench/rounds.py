"""Repeated runs of one scenario pooled into one result: more samples behind every tail percentile.

A run of 300 streams yields 300 first-byte times, so its p95 rests on 15 of them and one stall of
the shared machine moves it by milliseconds. The suite runs such a scenario in rounds, direct and
proxy in turn (drifting machine load falls on both), and summarises the pooled samples.
"""
from bench import report

POOLED = ("requests", "delays_us", "start_lag_us", "loop_lag", "host_loop_ms")
SUMMED = ("wall_s", "cpu_s", "worker_cpu_with_records_s", "quiet_wait_s")


def pooled(raws: list[dict]) -> dict:
    """One raw result from runs of the same scenario and mode: samples joined, times and CPU summed."""
    if len(raws) == 1:
        return raws[0]
    merged = dict(raws[-1])  # the record counts as they stand after the last round
    for key in POOLED:
        merged[key] = [sample for raw in raws for sample in raw[key]]
    for key in SUMMED:
        merged[key] = sum(raw[key] for raw in raws)
    for key in ("upstream", "cpu_s_by_process"):
        merged[key] = {name: sum(raw[key][name] for raw in raws) for name in raws[0][key]}
    for key in ("host_busy", "other_cpu"):
        known = [raw for raw in raws if raw[key] is not None]
        wall = sum(raw["wall_s"] for raw in known)
        merged[key] = sum(raw[key] * raw["wall_s"] for raw in known) / wall if known and wall else None
    merged["busy_before"] = max(raw["busy_before"] for raw in raws)
    # Memory and the CPU peak are not averaged away: they come from the round with the highest RSS.
    merged["rss_samples"] = max((raw["rss_samples"] for raw in raws),
                                key=lambda samples: max((sample[2] for sample in samples), default=0))
    merged["rounds"] = len(raws)
    return merged


def round_figures(figures: dict) -> dict:
    """The few figures of one round worth showing beside the pooled ones (a bad round stands out)."""
    return {key: figures[key] for key in ("ttfb_ms", "event_delay_ms", "other_cpu", "worker_cpu_ms_per_request",
                                          "host_loop_ms")}


def rounds_table(runs: list[dict]) -> str | None:
    """Per round of each pooled scenario: TTFB and per-event delay p50 / p95 / p99, and others' CPU."""
    rows = []
    for run in runs:
        for number, figures in enumerate(run.get("rounds") or [], 1):
            for mode, f in figures.items():
                rows.append([run["scenario"] if number == 1 and mode == "direct" else "",
                             f"{number} {mode}", report.triple(f["ttfb_ms"]), report.triple(f["event_delay_ms"]),
                             f"{f['other_cpu']:.0%}", report.fmt(f["worker_cpu_ms_per_request"]),
                             " ".join(f"{ms:.0f}" for ms in f.get("host_loop_ms") or []) or "-"])
    if not rows:
        return None
    return report.table(["scenario", "round", "TTFB", "per-event delay", "others", "CPU ms/request",
                         "host loop ms"], rows)
