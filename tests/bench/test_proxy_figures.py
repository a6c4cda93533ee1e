"""The proxy suite's figures: what the machine, not the proxy, did to a run; nginx beside the proxy."""
from dataclasses import asdict

from bench.proxy_figures import compare, harness_notes, render, summarise
from bench.proxy_suite import Scenario


def figures(host_loop_ms):
    return {"client_cpu": 0.1, "upstream_cpu": 0.1, "host_busy": 0.3, "busy_before": 0.0, "quiet_wait_s": 0.5,
            "other_cpu": 0.0, "start_lag_ms": {"p99": 1.0}, "client_loop_lag_ms": {"max": 1.0},
            "event_delay_ms": {"p95": 0.5}, "host_loop_ms": host_loop_ms}


def run(name, direct, proxy):
    return {"scenario": name, "direct": figures(direct), "proxy": figures(proxy)}


def test_a_run_while_the_host_was_slow_is_named():
    notes = harness_notes([run("sequential", [63, 64], [65, 66]), run("300 streams", [64, 70], [66, 118])])
    assert notes == ["300 streams (proxy): the host ran slow (a fixed loop took 118 ms, 66 for most of this "
                     "suite) - CPU-bound figures stretch with it"]


def test_a_steady_host_and_runs_without_readings_give_no_note():
    # A fast moment now and then is not the norm the other runs are held to.
    assert harness_notes([run("sequential", [40, 110], [112, 110]), run("300 streams", [110, 112], [115, 120])]) == []
    assert harness_notes([run("warm", [], [])]) == []


def raw(ttfb_ms: float, worker_cpu_s: float) -> dict:
    """What Bench.load returns for 10 streams of 5 events, each first byte after `ttfb_ms`."""
    return {"requests": [{"error": None, "ttfb_us": ttfb_ms * 1000, "total_us": 9000}] * 10,
            "delays_us": [500] * 50, "start_lag_us": [100], "loop_lag": [(0.0, 50)], "wall_s": 2.0, "cpu_s": 0.2,
            "cpu_s_by_process": {"upstream": 0.1, "worker": worker_cpu_s}, "worker_cpu_with_records_s": worker_cpu_s,
            "host_busy": 0.3, "other_cpu": 0.0, "busy_before": 0.0, "quiet_wait_s": 0.5, "host_loop_ms": [60, 61],
            "records": None, "upstream": {"connections": 10, "requests": 10},
            "rss_samples": [(0.0, 0, 10_000, 0), (0.5, 10, 10_500, 20)]}


def streams_run(with_nginx: bool) -> dict:
    scenario = Scenario("10 streams", "ramped", 10, True, events=5)
    modes = {"direct": raw(1.0, 0.0), "proxy": raw(4.0, 0.5), **({"nginx": raw(1.5, 0.05)} if with_nginx else {})}
    run = {"scenario": scenario.name, "scenario_def": asdict(scenario)}
    run.update({mode: summarise(scenario, mode, figures, 9_000) for mode, figures in modes.items()})
    run["compare"] = compare(run["direct"], run["proxy"])
    if with_nginx:
        run["compare_nginx"] = compare(run["direct"], run["nginx"])
    return run


def test_nginx_is_summarised_as_the_proxy_is_from_its_own_worker():
    nginx = streams_run(with_nginx=True)["nginx"]
    assert nginx["worker_cpu_ms_per_request"] == 5.0 and nginx["worker_cpu_us_per_event"] == 1000.0
    assert nginx["worker_cpu"] == 0.025 and nginx["rss"]["per_stream_kb"] == 150.0
    assert streams_run(with_nginx=True)["direct"]["worker_cpu_ms_per_request"] is None


def test_the_report_shows_nginx_beside_the_proxy_and_only_when_it_ran():
    text = render([streams_run(with_nginx=True)], [], [], {}, [], ["[warn] upstream timed out"])
    latency = text.splitlines()[1].split("  ")
    assert [column.strip() for column in latency if column.strip()][-2:] == ["nginx", "nginx added"]
    assert "1.50 / 1.50 / 1.50  0.50 / 0.50 / 0.50" in text  # nginx, then nginx added over direct
    assert any(line.split()[:2] == ["nginx", "5.00"] for line in text.splitlines())  # its CPU ms/request
    assert "nginx error log: 1 line(s), e.g. [warn] upstream timed out" in text
    assert "nginx" not in render([streams_run(with_nginx=False)], [], [], {}, [])


def test_errors_through_nginx_are_noted_as_the_targets_count_only_the_proxys():
    run = streams_run(with_nginx=True)
    run["nginx"].update(errors=2, error_kinds={"Failed: status HTTP/1.1 502 Bad Gateway": 2})
    assert ("10 streams (nginx): 2 client error(s), e.g. Failed: status HTTP/1.1 502 Bad Gateway"
            in harness_notes([run]))
