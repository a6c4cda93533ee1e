"""Pooling the rounds of a benchmark scenario: samples joined, times summed, the worst memory kept."""
from bench.rounds import pooled, rounds_table


def _raw(requests, delays, wall, cpu, rss_peak, other=0.1, busy=0.5):
    return {
        "requests": requests, "delays_us": delays, "start_lag_us": [1], "loop_lag": [(0.0, 5)],
        "wall_s": wall, "cpu_s": cpu, "worker_cpu_with_records_s": cpu / 2, "quiet_wait_s": 0.5,
        "upstream": {"connections": 3, "requests": len(requests)},
        "cpu_s_by_process": {"upstream": 0.1, "worker": 0.2},
        "host_busy": busy, "other_cpu": other, "busy_before": wall / 10, "records": {"complete": len(requests)},
        "rss_samples": [(0.0, 0, 1000, 0), (0.5, 2, rss_peak, 10)], "host_loop_ms": [wall * 60, wall * 61],
    }


def test_one_round_is_its_own_result():
    raw = _raw([{"error": None}], [5], 1.0, 0.2, 2000)
    assert pooled([raw]) is raw


def test_rounds_pool_samples_sum_costs_and_keep_the_worst_memory():
    first = _raw([{"error": None}] * 2, [5, 6], wall=1.0, cpu=0.2, rss_peak=3000, other=0.0)
    second = _raw([{"error": "x"}], [7], wall=3.0, cpu=0.4, rss_peak=5000, other=0.4)
    merged = pooled([first, second])
    assert merged["requests"] == first["requests"] + second["requests"]
    assert merged["delays_us"] == [5, 6, 7] and len(merged["loop_lag"]) == 2
    assert merged["host_loop_ms"] == [60.0, 61.0, 180.0, 183.0]
    assert merged["wall_s"] == 4.0 and abs(merged["cpu_s"] - 0.6) < 1e-9
    assert merged["upstream"] == {"connections": 6, "requests": 3}
    assert merged["other_cpu"] == (0.0 * 1.0 + 0.4 * 3.0) / 4.0  # weighted by each round's wall time
    assert merged["rss_samples"] is second["rss_samples"]
    assert merged["records"] == second["records"] and merged["rounds"] == 2


def test_each_round_is_shown_so_a_bad_one_stands_out():
    def figures(p95, worker):
        summary = {"p50": 1.0, "p95": p95, "p99": p95 + 1}
        return {"ttfb_ms": summary, "event_delay_ms": summary, "other_cpu": 0.25, "worker_cpu_ms_per_request": worker}
    runs = [{"scenario": "300 streams", "rounds": [{"direct": figures(2.0, None), "proxy": figures(3.0, 5.0)},
                                                   {"direct": figures(2.0, None), "proxy": figures(250.0, 5.5)}]},
            {"scenario": "sequential"}]
    table = rounds_table(runs).splitlines()
    assert len(table) == 2 + 4
    assert "2 proxy" in table[-1] and "250.00" in table[-1] and "25%" in table[-1]
    assert rounds_table([{"scenario": "sequential"}]) is None
