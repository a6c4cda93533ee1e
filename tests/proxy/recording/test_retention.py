"""RETENTION_DAYS prunes old records (and their bodies) in batches, and nothing newer."""
import time

import models
from proxy.recording.retention import DAY_MS, RetentionPruner
from tests.records import body_row, log_row


def test_old_records_go_in_batches_and_recent_ones_stay(app):
    now = int(time.time() * 1000)
    old = [log_row(f"old{n}", timestamp_ms=now - 40 * DAY_MS + n) for n in range(25)]
    recent = [log_row("recent", timestamp_ms=now - 5 * DAY_MS)]
    models.save_records(old + recent, [body_row("old0"), body_row("recent")])
    pruner = RetentionPruner(days=30, batch_size=10, pause=0)
    assert pruner.prune_now() == 25
    assert [row.id for row in models.RequestLog.select()] == ["recent"]
    assert [row.request_id for row in models.RequestBody.select()] == ["recent"]


def test_the_background_thread_prunes_at_start_and_stops(app):
    models.save_records([log_row("ancient", timestamp_ms=1_000_000)], [])
    pruner = RetentionPruner(days=1, interval=60)
    pruner.start()
    deadline = time.monotonic() + 5
    while pruner.pruned == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    pruner.stop()
    assert pruner.pruned == 1


def test_retention_days_starts_pruning_with_the_app(make_app):
    app = make_app(retention_days=7)
    pruner = app.extensions["retention"]
    assert pruner.days == 7
    models.save_records([log_row("ancient", timestamp_ms=1_000_000)], [])
    assert pruner.prune_now() == 1


def test_body_retention_removes_older_bodies_and_keeps_every_typed_row(app):
    now = int(time.time() * 1000)
    rows = [log_row(f"old{n}", timestamp_ms=now - 10 * DAY_MS + n, output_tokens=n) for n in range(7)]
    rows.append(log_row("recent", timestamp_ms=now - DAY_MS))
    models.save_records(rows, [body_row(row["id"], request_body='{"messages": ["' + row["id"] * 20 + '"]}')
                               for row in rows])
    pruner = RetentionPruner(days=None, body_days=7, batch_size=3, pause=0)
    assert pruner.prune_now() == 0 and pruner.bodies_pruned == 7
    assert models.RequestLog.select().count() == 8
    assert [row.request_id for row in models.RequestBody.select()] == ["recent"]
    assert {row.bodies_omitted for row in models.RequestLog.select() if row.id != "recent"} == {"retention"}
    assert models.BodySegment.select().count() == 1, "only the recent body's piece is left"


def test_body_retention_days_starts_the_pruner_with_the_app(make_app):
    app = make_app(body_retention_days=3)
    pruner = app.extensions["retention"]
    assert (pruner.days, pruner.body_days) == (None, 3)
