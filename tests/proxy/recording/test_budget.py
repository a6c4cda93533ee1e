"""The record queue's byte budget: during a database outage bodies go first, then whole records."""
import logging
import threading

import peewee
from prometheus_client import REGISTRY

import models
from proxy.recording.budget import ROW_BYTES, RecordBudget, body_bytes
from proxy.recording.recorder import Recorder
from tests.records import body_row, log_row

BODY = "b" * 100_000


def dropped(part: str) -> float:
    reason = "memory_full"
    return REGISTRY.get_sample_value("proxy_records_dropped_total", {"part": part, "reason": reason}) or 0.0


def test_an_outage_sheds_bodies_then_rows_and_everything_kept_is_written_after(app, caplog):
    outage = threading.Event()
    outage.set()
    attempts = []

    def save(logs, bodies):
        attempts.append(len(logs))
        if outage.is_set():
            raise peewee.OperationalError("could not connect to server")
        models.save_records(logs, bodies)

    size = ROW_BYTES + body_bytes(body_row("r00", request_body=BODY))
    # Room for three records with bodies, then typed rows only: twelve rows in all.
    recorder = Recorder(save=save, max_bytes=3 * size + 9 * ROW_BYTES, batch_window=0)
    bodies_before, records_before = dropped("bodies"), dropped("record")
    recorder.start()
    with caplog.at_level(logging.WARNING):
        for n in range(20):
            recorder.submit(log_row(f"r{n:02d}"), body_row(f"r{n:02d}", request_body=BODY))
        while not attempts:  # the writer holds the first record while it retries
            threading.Event().wait(0.01)
        assert recorder.budget.held == 3 * size + 9 * ROW_BYTES
        outage.clear()
        assert recorder.flush(10)
    recorder.stop()

    rows = {row.id: row for row in models.RequestLog.select()}
    assert sorted(rows) == [f"r{n:02d}" for n in range(12)], "the first twelve typed rows survive"
    with_bodies = {body.request_id for body in models.RequestBody.select()}
    assert with_bodies == {"r00", "r01", "r02"}
    assert {key for key, row in rows.items() if row.bodies_omitted == "backlog"} == set(rows) - with_bodies
    assert (recorder.budget.bodies_dropped, recorder.dropped) == (9, 8)
    assert (dropped("bodies") - bodies_before, dropped("record") - records_before) == (9, 8)
    assert recorder.budget.held == 0, "written records give their bytes back"
    assert caplog.text.count("dropping bodies, keeping typed rows") == 1, "one line per episode, not per body"
    assert caplog.text.count("memory and spool are both full") == 1, "drops: one line a minute, not per record"


def test_bodies_are_kept_again_once_the_backlog_is_written(caplog):
    budget = RecordBudget(max_bytes=ROW_BYTES * 4)
    big = body_row("a", request_body="x" * ROW_BYTES)
    first = log_row("a")
    kept, held = budget.hold(first, big)
    assert kept is big and held == ROW_BYTES + body_bytes(big)
    second = log_row("b")
    kept, held_b = budget.hold(second, body_row("b", request_body="x" * ROW_BYTES))
    assert kept is None and held_b == ROW_BYTES and second["bodies_omitted"] == "backlog"
    budget.release(held)
    budget.release(held_b)
    with caplog.at_level(logging.WARNING, logger="proxy.recording.budget"):
        kept, _ = budget.hold(log_row("c"), body_row("c", request_body="small"))
    assert kept is not None and "bodies are kept again" in caplog.text


def test_in_flight_rows_count_as_typed_rows_only():
    budget = RecordBudget(max_bytes=ROW_BYTES)
    row = log_row("a", outcome="in_flight")
    marker = object()
    assert budget.hold(row, marker) == (marker, ROW_BYTES)
    assert budget.hold(log_row("b"), None) == (None, None), "no room left for another row"


def test_a_budget_of_zero_caps_nothing():
    budget = RecordBudget(max_bytes=0)
    big = body_row("a", request_body="x" * 10_000_000)
    assert budget.hold(log_row("a"), big) == (big, ROW_BYTES + body_bytes(big))
