"""The recorder writes off the request path: a locked or unreachable database never breaks proxying."""
import json
import socket
import sqlite3
import time

import peewee
import pytest
import requests

from proxy.recording.recorder import Recorder
from tests.records import body_row, log_row

HEADERS = {"x-api-key": "sk-ant-test", "content-type": "application/json"}
BODY = json.dumps({"model": "m", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]})


def test_a_request_that_finishes_quickly_is_written_once(tmp_path):
    saved = []
    recorder = Recorder(save=lambda logs, bodies: saved.append((logs, bodies)), in_flight_after=0.5)
    recorder.start()
    recorder.submit_in_flight(log_row("quick", outcome="in_flight"))
    recorder.submit(log_row("quick", outcome="complete"), body_row("quick", response_body="x"))
    assert recorder.flush(5)
    time.sleep(0.7)
    recorder.stop()
    [(logs, bodies)] = saved
    assert [(row["id"], row["outcome"]) for row in logs] == [("quick", "complete")]
    assert bodies[0]["response_body"] == "x"


def test_a_long_request_is_written_in_flight_then_finished(tmp_path):
    saved = []
    recorder = Recorder(save=lambda logs, bodies: saved.append((logs, bodies)), in_flight_after=0.2)
    recorder.start()
    recorder.submit_in_flight(log_row("slow", outcome="in_flight"))
    time.sleep(1.0)
    assert [[row["outcome"] for row in logs] for logs, _ in saved] == [["in_flight"]]
    recorder.submit(log_row("slow", outcome="complete"), body_row("slow"))
    assert recorder.flush(5)
    recorder.stop()
    assert [[row["outcome"] for row in logs] for logs, _ in saved] == [["in_flight"], ["complete"]]


def test_many_records_share_a_transaction(tmp_path):
    saved = []
    recorder = Recorder(save=lambda logs, bodies: saved.append((logs, bodies)), batch_window=0.2)
    recorder.start()
    for n in range(50):
        recorder.submit(log_row(f"r{n}"), body_row(f"r{n}"))
    assert recorder.flush(5)
    recorder.stop()
    assert len(saved) <= 2
    assert sum(len(logs) for logs, _ in saved) == 50


def test_large_records_are_written_in_parts_that_each_stay_small():
    saved = []
    recorder = Recorder(save=lambda logs, bodies: saved.append((logs, bodies)), batch_window=0.2,
                        part_bytes=100_000)
    recorder.start()
    for n in range(10):  # 50 KB bodies: two to a part
        recorder.submit(log_row(f"r{n}"), body_row(f"r{n}", request_body="x" * 40_000, response_body="y" * 10_000))
    recorder.submit(log_row("tiny"), body_row("tiny"))
    assert recorder.flush(5)
    recorder.stop()
    assert sorted(row["id"] for logs, _ in saved for row in logs) == sorted([f"r{n}" for n in range(10)] + ["tiny"])
    assert len(saved) >= 5
    for logs, bodies in saved:
        text = sum(len(body["request_body"]) + len(body["response_body"] or "") for body in bodies)
        assert text <= 100_000 or len(logs) == 1  # a record larger than a part is written alone


@pytest.mark.sqlite_only
def test_a_locked_sqlite_database_delays_records_but_not_streams(live_proxy, config, records):
    path = config.database_url.removeprefix("sqlite:///")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        for _ in range(3):
            response = requests.post(live_proxy + "/v1/messages", data=BODY, headers=HEADERS, timeout=10)
            assert response.status_code == 200
            assert b"message_stop" in response.content
        assert time.monotonic() - started < 2, "proxying waited for the locked database"
        time.sleep(0.3)  # the recorder retries meanwhile
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    rows = records()
    assert [row["outcome"] for row in rows] == ["complete"] * 3


def test_an_unreachable_database_never_breaks_proxying(make_app, serve, caplog, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(migrate=False, database_url=f"postgresql://nobody@127.0.0.1:{port}/nothing")
    url = serve(app)
    for _ in range(2):
        response = requests.post(url + "/v1/messages", data=BODY, headers=HEADERS, timeout=10)
        assert response.status_code == 200
        assert b"message_stop" in response.content
    recorder = app.extensions["proxy"].recorder
    deadline = time.monotonic() + 5
    while recorder.failed_writes == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recorder.failed_writes > 0
    assert caplog.text.count("records wait in the spool and are retried") == 1, "one line per outage"
    assert "Traceback" not in caplog.text


class FakeCheckpointer:
    def __init__(self):
        self.events = []

    def start(self):
        self.events.append("start")

    def request(self):
        self.events.append("request")

    def stop(self):
        self.events.append("stop")


def test_each_written_batch_asks_for_a_wal_checkpoint(monkeypatch):
    checkpointer = FakeCheckpointer()
    monkeypatch.setattr("proxy.recording.recorder.checkpointer_for", lambda database: checkpointer)
    recorder = Recorder(save=lambda logs, bodies: None)
    recorder.start()
    recorder.submit(log_row("one", outcome="complete"), body_row("one"))
    assert recorder.flush(5)
    recorder.stop()
    assert checkpointer.events == ["start", "request", "stop"]


def test_a_full_queue_drops_records_but_never_fails_the_request(make_app, serve, caplog):
    app = make_app()
    recorder = app.extensions["proxy"].recorder
    recorder.stop()  # nothing drains the queue now
    recorder._queue.maxsize = 1
    url = serve(app)
    for _ in range(3):
        response = requests.post(url + "/v1/messages", data=BODY, headers=HEADERS, timeout=10)
        assert response.status_code == 200
        assert b"message_stop" in response.content
    assert recorder.dropped >= 2
    assert "queue_full" in caplog.text
    assert app.extensions["proxy"].traffic.in_flight == 0


def test_a_record_the_database_refuses_costs_no_other_and_is_stored_repaired():
    import peewee
    saved = []

    def save(logs, bodies):
        if any(row["id"] == "bad" and row.get("bodies_omitted") != "refused" for row in logs):
            raise peewee.IntegrityError("refused")
        saved.extend((row["id"], row.get("bodies_omitted")) for row in logs)

    recorder = Recorder(save=save, batch_window=0.2)
    recorder.start()
    for request_id in ("good1", "bad", "good2"):
        recorder.submit(log_row(request_id), body_row(request_id))
    assert recorder.flush(5)
    recorder.stop()
    assert saved == [("good1", None), ("bad", "refused"), ("good2", None)]
    assert recorder.dropped == 0


def test_a_batch_that_fails_for_any_reason_is_written_one_by_one():
    # A driver's UnicodeEncodeError (a lone surrogate) once dropped the whole batch with the bad row.
    saved = []

    def save(logs, bodies):
        if any(row["id"] == "bad" and row.get("bodies_omitted") != "refused" for row in logs):
            raise UnicodeEncodeError("utf-8", "x\ud800", 1, 2, "surrogates not allowed")
        saved.extend(row["id"] for row in logs)

    recorder = Recorder(save=save, batch_window=0.2)
    recorder.start()
    for request_id in ("innocent1", "bad", "innocent2"):
        recorder.submit(log_row(request_id), body_row(request_id))
    assert recorder.flush(5)
    recorder.stop()
    assert saved == ["innocent1", "bad", "innocent2"], "the bad one stored repaired"


def test_a_record_refused_as_it_is_is_stored_repaired_and_flagged():
    saved = []

    def save(logs, bodies):
        if any(not value.isascii() for row in logs for value in row.values() if isinstance(value, str)):
            raise peewee.DataError("invalid byte sequence")
        saved.extend((logs, bodies))

    recorder = Recorder(save=save, batch_window=0.2)
    recorder.start()
    recorder.submit(log_row("odd", original_model="modèle\x00\ud800", outcome="complete"), body_row("odd"))
    assert recorder.flush(5)
    recorder.stop()
    [[row], bodies] = saved
    assert row["original_model"] == "mod\\xe8le\\x00\\ud800"  # every character kept, as its escape
    assert (row["outcome"], row["bodies_omitted"], bodies) == ("complete", "refused", [])
    assert recorder.dropped == 0


def test_the_writer_beats_stamps_its_rows_and_unregisters_when_it_stops(app):
    import models
    from models.instances import ProxyInstance, interrupt_orphans

    recorder = Recorder(in_flight_after=0.05, heartbeat_every=0.1)
    recorder.start()
    recorder.submit_in_flight(log_row("long", outcome="in_flight"))
    deadline = time.monotonic() + 5
    while not models.RequestLog.select().where(models.RequestLog.id == "long").exists():
        assert time.monotonic() < deadline, "the in-flight row was never written"
        time.sleep(0.05)
    assert ProxyInstance.get_by_id(recorder.instance_id).seen_at_ms > 0
    assert models.RequestLog.get_by_id("long").instance_id == recorder.instance_id
    assert interrupt_orphans() == 0, "a live writer's in-flight row is left alone"
    recorder.stop()
    assert not ProxyInstance.select().where(ProxyInstance.id == recorder.instance_id).exists()
    assert interrupt_orphans() == 1
    assert models.RequestLog.get_by_id("long").outcome == "interrupted"
