"""The proxy suite's harness notes: what the machine, not the proxy, did to a run."""
from bench.proxy_figures import harness_notes


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
