"""Per-session totals of the record: settled rows summed once, newer ones read on every call."""
import time

import pytest

import models
from models import queries
from models.recorded_totals import RecordedTotals, grouped
from tests.records import log_row
from tests.sql_plans import query_plan, statements

HOUR = 3_600_000


def now_ms() -> int:
    return int(time.time() * 1000)


def seed(*rows):
    models.save_records(list(rows), [])


def snapshot(totals: dict) -> dict:
    return {key: (part.calls, part.first_ms, part.last_ms, part.main_model, sorted(part.models))
            for key, part in totals.items()}


def test_totals_match_one_grouped_query(migrated):
    now = now_ms()
    seed(log_row("a1", session_id="a", timestamp_ms=now - 72 * HOUR, completed_at_ms=now - 72 * HOUR + 5),
         log_row("a2", session_id="a", timestamp_ms=now - 2 * HOUR, original_model="opus", routed_model="gpt"),
         log_row("a3", session_id="a", timestamp_ms=now - 60_000, agent_id="sub", original_model="haiku"),
         log_row("b1", session_id="b", timestamp_ms=now - 30 * 24 * HOUR),
         log_row("c1", session_id="c", timestamp_ms=now - 1000, endpoint="/v1/messages/count_tokens"),
         log_row("n1", session_id=None, timestamp_ms=now))
    totals = RecordedTotals().sessions()
    assert snapshot(totals) == snapshot(grouped())
    assert set(totals) == {"a", "b"}, "count_tokens calls and calls without a session are not sessions' calls"
    a = totals["a"]
    assert (a.calls, a.first_ms, a.last_ms) == (3, now - 72 * HOUR, now - 60_000)
    assert set(a.models) == {"claude-test", "opus", "gpt", "haiku"} and a.main_model == "opus"


def test_new_calls_show_at_once_and_old_ones_are_read_once(migrated, monkeypatch):
    now = now_ms()
    seed(log_row("old", session_id="s", timestamp_ms=now - 10 * HOUR))
    totals = RecordedTotals()
    assert totals.sessions()["s"].calls == 1
    queries_seen = []
    monkeypatch.setattr("models.recorded_totals.grouped", lambda *c: queries_seen.append(c) or grouped(*c))
    seed(log_row("new", session_id="s", timestamp_ms=now_ms()), log_row("other", session_id="t", timestamp_ms=now_ms()))
    after = totals.sessions()
    assert (after["s"].calls, after["t"].calls) == (2, 1)
    # The last hour, and the moment that aged past the hour since the first call: never the old rows.
    assert len(queries_seen) <= 2
    assert totals.sessions()["s"].calls == 2, "what a call returned is not added twice"


def test_deleted_rows_rebuild_the_totals(migrated):
    now = now_ms()
    seed(log_row("x1", session_id="x", timestamp_ms=now - 50 * HOUR), log_row("x2", session_id="x", timestamp_ms=now - 3 * HOUR),
         log_row("y1", session_id="y", timestamp_ms=now - 4 * HOUR))
    totals = RecordedTotals()
    assert totals.sessions()["x"].calls == 2
    models.RequestLog.delete().where(models.RequestLog.id == "x1").execute()  # retention removes the oldest
    assert (totals.sessions()["x"].calls, totals.sessions()["x"].first_ms) == (1, now - 3 * HOUR)
    queries.delete_all()
    assert totals.sessions() == {}


def test_rows_written_late_with_an_old_timestamp_count_after_the_next_rebuild(migrated, monkeypatch):
    now = now_ms()
    seed(log_row("early", session_id="late", timestamp_ms=now - 5 * HOUR))
    totals = RecordedTotals()
    assert totals.sessions()["late"].calls == 1
    seed(log_row("caught-up", session_id="late", timestamp_ms=now - 4 * HOUR))  # a recorder that caught up
    assert totals.sessions()["late"].calls == 1, "settled rows are not read again on every call"
    monkeypatch.setattr("models.recorded_totals.REBUILD_S", -1)
    assert totals.sessions()["late"].calls == 2


@pytest.mark.sqlite_only
def test_the_recent_rows_are_read_by_time_even_with_analyze_statistics(migrated):
    # The statistics ANALYZE wrote for a million rows in ~8,600 sessions: with them, a one-sided time
    # range lost to `session_id IS NOT NULL` and the list's every call read all rows (2.3 s).
    seed(log_row("a1", session_id="a", timestamp_ms=now_ms() - 60_000))
    stats = {"request_log_time_spender": "1000000 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
             "request_log_session_time": "1000000 1 1 1 1 1 1 1", "request_log_outcome": "1000000 1000000",
             "request_log_session_id": "1000000 116", "sqlite_autoindex_request_log_1": "1000000 1"}
    migrated.execute_sql("ANALYZE")
    migrated.execute_sql("DELETE FROM sqlite_stat1")
    for index, stat in stats.items():
        migrated.execute_sql("INSERT INTO sqlite_stat1 VALUES ('request_log', ?, ?)", (index, stat))
    migrated.execute_sql("ANALYZE sqlite_schema")  # reload the statistics
    with statements(migrated) as captured:
        assert set(RecordedTotals().sessions()) == {"a"}
    sql, params = [(sql, params) for sql, params in captured if "GROUP BY" in sql][-1]
    plan = query_plan(migrated, sql, params)
    assert "request_log_session_time" in plan, plan
