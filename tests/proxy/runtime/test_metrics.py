"""Prometheus counters move once per finished exchange, by status, model, outcome and token kind."""
import os
import subprocess
import sys
import time
from pathlib import Path

from prometheus_client import REGISTRY, multiprocess

from proxy.exchange import Exchange
from proxy.runtime.metrics import observe
from proxy.request_info import RequestInfo
from proxy.runtime.traffic import Traffic


def value(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def finished(outcome="complete", status=200, model="claude-metrics", usage=None, ttfb=120, total=900):
    exchange = Exchange(method="POST", endpoint="/v1/messages", query="", request_headers={},
                        info=RequestInfo(model=model))
    exchange.status_code, exchange.outcome = status, outcome
    exchange.usage = usage or {}
    exchange.ttfb_ms, exchange.response_time_ms = ttfb, total
    return exchange


def test_a_finished_request_counts_status_tokens_and_timings():
    labels = dict(status="200", model="claude-metrics", provider="anthropic", outcome="complete")
    before = value("proxy_requests_total", **labels)
    tokens_before = value("proxy_tokens_total", kind="cache_read", model="claude-metrics")
    ttfb_before = value("proxy_time_to_first_byte_seconds_count")
    observe(finished(usage={"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 700,
                            "cache_creation_input_tokens": 0}))
    assert value("proxy_requests_total", **labels) == before + 1
    assert value("proxy_tokens_total", kind="cache_read", model="claude-metrics") == tokens_before + 700
    assert value("proxy_time_to_first_byte_seconds_count") == ttfb_before + 1


def test_upstream_failures_are_counted_by_kind():
    for outcome, status, kind in (("upstream_error", 529, "error_status"), ("upstream_dropped", 200, "dropped"),
                                  ("proxy_error", 502, "unreachable"), ("proxy_error", 504, "timeout")):
        before = value("proxy_upstream_errors_total", kind=kind)
        observe(finished(outcome=outcome, status=status))
        assert value("proxy_upstream_errors_total", kind=kind) == before + 1


def test_in_flight_gauge_follows_the_traffic():
    traffic, before = Traffic(), value("proxy_requests_in_flight")
    traffic.enter()
    assert value("proxy_requests_in_flight") == before + 1
    traffic.leave()
    assert value("proxy_requests_in_flight") == before


def worker_with_requests_in_flight(folder, count) -> int:
    """Run a process that starts `count` requests in multiprocess mode and exits; returns its pid."""
    script = f"from proxy.runtime.traffic import Traffic\nt = Traffic()\nfor _ in range({count}): t.enter()\n" \
             "import os; print(os.getpid())"
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[3], check=True,
                          env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)},
                          capture_output=True, text=True, timeout=60)
    return int(done.stdout)


def test_the_server_wide_in_flight_count_adds_up_the_live_workers(tmp_path):
    # Each worker process leaves its live gauge in the shared folder until the master marks it dead.
    first = worker_with_requests_in_flight(tmp_path, 3)
    worker_with_requests_in_flight(tmp_path, 2)
    traffic = Traffic(str(tmp_path))
    assert (traffic.in_flight, traffic.server_in_flight()) == (0, 5)
    multiprocess.mark_process_dead(first, str(tmp_path))
    assert traffic.server_in_flight() == 2


def test_without_a_shared_folder_the_in_flight_count_is_this_process_s():
    traffic = Traffic()
    traffic.enter()
    assert traffic.server_in_flight() == 1
    traffic.leave()


def test_record_write_failures_are_counted_and_the_records_wait_never_dropped():
    from proxy.recording.recorder import Recorder
    from tests.records import body_row, log_row
    import peewee

    def broken(logs, bodies):
        raise peewee.OperationalError("database is down")

    failures = value("proxy_record_write_failures_total")
    dropped = value("proxy_records_dropped_total", part="record", reason="memory_full")
    recorder = Recorder(save=broken, retry_max=0.05)
    recorder.start()
    recorder.submit(log_row("waits"), body_row("waits"))
    assert not recorder.flush(0.5), "it waits for the database"
    time.sleep(0.3)
    assert value("proxy_record_write_failures_total") > failures + 1, "retried"
    assert value("proxy_record_backlog") == 1
    assert value("proxy_record_oldest_unwritten_seconds") > 0
    assert recorder.state()["status"] == "degraded"
    recorder.stop(timeout=1)
    assert value("proxy_records_dropped_total", part="record", reason="memory_full") == dropped



def test_model_labels_are_printable_short_and_bounded_in_number():
    from proxy.runtime.metrics import OTHER_MODEL, ModelLabels

    labels = ModelLabels(limit=3, max_length=10)
    labels.know(["routed-target"])
    assert labels.label("x\ud800\n") == "x??"
    assert labels.label("m" * 50) == "m" * 10
    assert labels.label("third") == "third"
    assert labels.label("fourth") == OTHER_MODEL  # past the limit: one series for all the rest
    assert labels.label("third") == "third"       # a name already seen keeps its own
    assert labels.label("routed-target") == "routed-tar"  # the config's targets always pass, cut alike
