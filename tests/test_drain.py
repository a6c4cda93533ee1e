"""Graceful drain under a real gunicorn: SIGTERM mid-stream loses no stream and no record."""
import signal
import sqlite3
import threading
import time

import pytest
import requests

from tests.fake_upstream import Reply, message_events
from tests.gunicorn_server import GunicornServer

pytestmark = pytest.mark.sqlite_only  # the records are read straight from the server's SQLite file


def start_streams(url, count):
    """Open `count` streams; returns (results dict, threads, event set once all have a first chunk)."""
    results, started, lock = {}, [], threading.Lock()
    all_started = threading.Event()

    def run(n):
        response = requests.post(url + "/v1/messages", stream=True, timeout=60,
                                 json={"model": f"claude-drain-{n}", "stream": True, "messages": []})
        chunks = response.iter_content(None)
        body = next(chunks)
        with lock:
            started.append(n)
            if len(started) == count:
                all_started.set()
        results[n] = body + b"".join(chunks)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    return results, threads, all_started


def outcomes(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT outcome FROM request_log ORDER BY original_model")]


@pytest.mark.parametrize("workers", [1, 2], ids=["one worker", "two workers"])
def test_sigterm_lets_twenty_slow_streams_finish_and_records_them(_upstream_server, tmp_path, workers):
    db = tmp_path / "drain.db"
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{db}",
                             "DRAIN_DELAY": "2", "DRAIN_TIMEOUT": "20"}, workers=workers).start()
    _upstream_server.reset()
    events = message_events("claude-drain")
    _upstream_server.reply(*[Reply(chunks=events, content_type="text/event-stream", delay_between=0.4)
                             for _ in range(20)])
    results, threads, all_started = start_streams(server.url, 20)
    assert all_started.wait(15)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    health = requests.get(server.url + "/health", timeout=5)
    assert health.status_code == 503
    # Each stream runs 4 s past its first event, so all 20 are in flight; any worker counts them all.
    assert health.json()["status"] == "draining" and health.json()["in_flight"] == 20
    for thread in threads:
        thread.join(30)
    assert server.process.wait(30) == 0
    for n in range(20):
        assert results[n] == b"".join(events), f"stream {n} was not byte-exact"
    assert outcomes(db) == ["complete"] * 20


def test_streams_outliving_the_drain_timeout_are_ended_and_recorded(_upstream_server, tmp_path):
    db = tmp_path / "cut.db"
    server = GunicornServer({"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": f"sqlite:///{db}",
                             "DRAIN_TIMEOUT": "3"}).start()
    _upstream_server.reset()
    _upstream_server.reply(*[Reply(chunks=message_events("claude-drain") * 8, delay_between=0.2,
                                   content_type="text/event-stream") for n in range(3)])
    results, threads, all_started = start_streams(server.url, 3)
    assert all_started.wait(15)
    began = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(30)
    assert server.process.wait(30) == 0
    assert time.monotonic() - began < 8, "the worker must not wait for gunicorn's graceful timeout"
    for n in range(3):
        assert results[n].rstrip().splitlines()[-2] == b"event: error"
        assert b"shutting down" in results[n]
    assert outcomes(db) == ["shutdown"] * 3
