"""Settled days' and hours' cost sums kept in memory equal a fresh read, and change when their rows do."""
import datetime

import pytest

import models
from models import settled_spans
from models.settled_costs import spend, spend_per_bucket
from models.costs import spend_by
from models.price_book import load_price_book
from models.pricing import Pricing
from models.queries import filtered_requests
from models.request_log import RequestLog
from models.queries import bucket_index
from models.settled_spans import HOUR_MS, SettledSpans
from tests.models.range_reads import RangeReads
from tests.records import log_row
from tests.sql_plans import query_plan, statements

NOON = int(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.timezone.utc).timestamp() * 1000)
MINUTE = 60_000
PRICING = Pricing(load_price_book())


def seed():
    # Five hours of two sessions on two models, with a fast request (a factor: the second pass)
    # and one with an advisor iteration (priced alone).
    rows = [log_row(f"r{i}", timestamp_ms=NOON + i * 7 * MINUTE, session_id=f"s-{i % 2}",
                    routed_model=("claude-opus-4-6", "claude-sonnet-4-5")[i % 3 == 0], input_tokens=1_000 + i,
                    output_tokens=100 * i, cache_read_input_tokens=5_000, response_time_ms=100 + i)
            for i in range(40)]
    rows.append(log_row("fast", timestamp_ms=NOON + 61 * MINUTE, session_id="s-0", routed_model="claude-opus-4-6",
                        input_tokens=1_000, output_tokens=1_000, speed="fast"))
    rows.append(log_row("it", timestamp_ms=NOON + 125 * MINUTE, session_id="s-1", routed_model="claude-sonnet-4-5",
                        input_tokens=1_000, output_tokens=100, iteration_count=1,
                        iterations='[{"model":"claude-opus-4-6","input":2000,"output":300}]'))
    models.save_records(rows, [])


SESSION = RequestLog.session_id.alias("c_key")


def by_session(spans, reads, start_ms, end_ms, shape="session"):
    return spend(spans, PRICING, shape, reads, SESSION, start_ms, end_ms)


def fresh(start_ms, end_ms) -> dict:
    return spend_by(filtered_requests(start_ms=start_ms, end_ms=end_ms), PRICING, RequestLog.session_id.alias("c_key"))


def assert_same(kept: dict, read: dict):
    assert kept.keys() == read.keys()
    for group, value in read.items():
        assert kept[group].tokens == value.tokens, group
        assert kept[group].cost.total == pytest.approx(value.cost.total), group
        assert kept[group].cost.requests == value.cost.requests, group
        assert (kept[group].time_sum_ms, kept[group].timed) == (value.time_sum_ms, value.timed), group


@pytest.mark.parametrize("start, end", [(NOON, NOON + 5 * HOUR_MS), (NOON - 17 * MINUTE, NOON + 4 * HOUR_MS + 3),
                                        (NOON + 20 * MINUTE, NOON + 50 * MINUTE), (NOON + HOUR_MS + 1, NOON + 3 * HOUR_MS)])
def test_kept_hours_and_the_edges_add_up_to_a_fresh_read(migrated, start, end):
    seed()
    settled, reads = SettledSpans(), RangeReads()
    for _ in range(2):  # read, then kept
        assert_same(by_session(settled, reads, start, end), fresh(start, end))


def test_settled_hours_are_read_once(migrated):
    seed()
    settled, reads = SettledSpans(), RangeReads()
    start, end = NOON - 30 * MINUTE, NOON + 3 * HOUR_MS + 30 * MINUTE
    by_session(settled, reads, start, end)
    assert reads.ranges == [(NOON, NOON + HOUR_MS), (NOON + HOUR_MS, NOON + 2 * HOUR_MS),
                            (NOON + 2 * HOUR_MS, NOON + 3 * HOUR_MS), (start, NOON), (NOON + 3 * HOUR_MS, end)]
    reads.ranges.clear()
    by_session(settled, reads, start, end)
    assert reads.ranges == [(start, NOON), (NOON + 3 * HOUR_MS, end)], "the whole hours come from memory"
    by_session(settled, reads, start, end, shape="other")
    assert len(reads.ranges) == 2 + 5, "another breakdown keeps its own hours"


def test_an_hour_without_records_is_not_read(migrated):
    seed()
    models.save_records([log_row("later", timestamp_ms=NOON + 8 * HOUR_MS + 1, session_id="s-0", input_tokens=1)], [])
    settled, reads = SettledSpans(), RangeReads()
    by_session(settled, reads, NOON, NOON + 9 * HOUR_MS)
    assert reads.ranges == [(NOON + hour * HOUR_MS, NOON + (hour + 1) * HOUR_MS) for hour in (0, 1, 2, 3, 4, 8)]


def test_whole_days_are_read_in_one_query_and_again_when_an_hour_of_them_changes(migrated):
    day = NOON - 12 * HOUR_MS  # midnight UTC
    models.save_records([log_row(f"r{hour}", timestamp_ms=day + hour * HOUR_MS + 5, session_id="s", input_tokens=hour)
                         for hour in range(27)], [])
    settled, reads = SettledSpans(), RangeReads()
    start, end = day - 2 * HOUR_MS, day + 27 * HOUR_MS
    by_session(settled, reads, start, end)
    hours = [(day + hour * HOUR_MS, day + (hour + 1) * HOUR_MS) for hour in (24, 25, 26)]
    assert reads.ranges == [(day, day + settled_spans.DAY_MS), *hours, (start, day)]
    reads.ranges.clear()
    models.save_records([log_row("late", timestamp_ms=day + 5 * HOUR_MS, session_id="s", input_tokens=1_000)], [])
    kept = by_session(settled, reads, start, end)
    assert reads.ranges == [(day, day + settled_spans.DAY_MS), (start, day)]
    assert_same(kept, fresh(start, end))


def test_a_range_from_year_one_checks_only_the_hours_with_records(migrated):
    seed()
    settled, reads = SettledSpans(), RangeReads()
    start, end = -62_135_596_800_000, 253_402_300_799_000  # 0001-01-01 .. 9999-12-31
    kept = by_session(settled, reads, start, end)
    assert_same(kept, fresh(start, end))
    assert len(reads.ranges) == 5 + 2  # the hours from the oldest record, and the two edges


@pytest.mark.parametrize("change", ["late row", "finished row", "deleted row"])
def test_a_changed_hour_is_read_again(migrated, change):
    seed()
    settled, reads = SettledSpans(), RangeReads()
    start, end = NOON, NOON + 5 * HOUR_MS
    by_session(settled, reads, start, end)
    reads.ranges.clear()
    if change == "late row":  # a recorder catching up after an outage writes an old timestamp
        models.save_records([log_row("late", timestamp_ms=NOON + HOUR_MS + 5, session_id="s-9",
                                     routed_model="claude-opus-4-6", input_tokens=7)], [])
    elif change == "finished row":  # a stream longer than the settled age ends its in-flight row
        RequestLog.update(output_tokens=123_456, response_time_ms=4_000_000).where(RequestLog.id == "r10").execute()
    else:
        RequestLog.delete().where(RequestLog.id == "r10").execute()
    kept = by_session(settled, reads, start, end)
    assert_same(kept, fresh(start, end))
    assert reads.ranges == [(NOON + HOUR_MS, NOON + 2 * HOUR_MS)], "only the changed hour is read again"


def test_the_last_hour_is_read_on_every_call(migrated):
    now = settled_spans.time.time() * 1000
    start = int(now) // HOUR_MS * HOUR_MS - 3 * HOUR_MS
    models.save_records([log_row("old", timestamp_ms=start + 1, session_id="s", input_tokens=1)], [])
    settled, reads = SettledSpans(), RangeReads()
    by_session(settled, reads, start, int(now))
    models.save_records([log_row("new", timestamp_ms=int(now) - MINUTE, session_id="s", input_tokens=10)], [])
    kept = by_session(settled, reads, start, int(now))
    assert kept[("s", "claude-test")].tokens.input == 11
    assert reads.ranges[-1][1] == int(now) and reads.ranges[-1][0] <= now - settled_spans.SETTLED_MS


def test_the_least_recently_used_breakdowns_go_first(migrated, monkeypatch):
    seed()
    monkeypatch.setattr(settled_spans, "MAX_SHAPES", 2)
    settled, reads = SettledSpans(), RangeReads()
    read = []
    for shape in ("a", "b", "a", "c", "a", "b"):
        reads.ranges.clear()
        by_session(settled, reads, NOON, NOON + HOUR_MS, shape)
        read.append(bool(reads.ranges))
    assert read == [True, True, False, True, False, True], "c pushed out b, the least recently used"


@pytest.mark.sqlite_only
def test_the_fingerprints_read_index_entries_only(migrated):
    # The check runs on every call over the whole range: a row visited per record would cost more than it saves.
    with statements(migrated) as captured:
        settled_spans.fingerprint(0, NOON)
        settled_spans._fingerprints_per_hour(0, NOON)
    assert len(captured) == 2
    for sql, params in captured:
        plan = query_plan(migrated, sql, params)
        assert "COVERING INDEX request_log_time_spender" in plan, plan


def per_bucket(spans, reads, edges):
    return spend_per_bucket(spans, PRICING, "hours", reads, edges, bucket_index(edges).alias("c_key"))


@pytest.mark.parametrize("edges, again", [
    # Local days at UTC-2: before the oldest record (NOON) there is nothing to keep, it is read each time.
    ([NOON - 10 * HOUR_MS, NOON + 2 * HOUR_MS, NOON + 26 * HOUR_MS], [(NOON - 10 * HOUR_MS, NOON)]),
    ([NOON + hour * 2 * HOUR_MS for hour in range(4)], []),  # two-hour buckets
])
def test_kept_hours_filed_under_their_buckets_add_up_to_a_fresh_read(migrated, edges, again):
    seed()
    settled, reads = SettledSpans(), RangeReads()
    fresh_read = spend_by(filtered_requests(start_ms=edges[0], end_ms=edges[-1]), PRICING,
                          bucket_index(edges).alias("c_key"))
    assert {bucket for bucket, _ in fresh_read} == set(range(len(edges) - 1))
    assert_same(per_bucket(settled, reads, edges), fresh_read)
    reads.ranges.clear()
    assert_same(per_bucket(settled, reads, edges), fresh_read)
    assert reads.ranges == again, "the kept hours are not read again"


def test_buckets_that_are_not_whole_hours_are_read_as_they_are(migrated):
    seed()
    edges = [NOON - 330 * MINUTE, NOON + 18 * HOUR_MS + 30 * MINUTE]  # a local day at UTC+5:30
    settled, reads = SettledSpans(), RangeReads()
    assert_same(per_bucket(settled, reads, edges), spend_by(filtered_requests(start_ms=edges[0], end_ms=edges[-1]),
                                                             PRICING, bucket_index(edges).alias("c_key")))
    assert reads.ranges == [(edges[0], edges[-1])]


def test_questions_sharing_a_check_read_the_fingerprints_once(migrated):
    seed()
    settled, checked = SettledSpans(), set()
    by_session(settled, RangeReads(), NOON, NOON + 5 * HOUR_MS)
    with statements(migrated) as captured:
        for _ in range(2):
            spend(settled, PRICING, "session", RangeReads(), SESSION, NOON, NOON + 5 * HOUR_MS, checked)
    assert sum('COUNT("t1"."response_time_ms")' in sql for sql, _ in captured) == 1
    seen = settled.fingerprints(NOON, NOON + 5 * HOUR_MS)
    RequestLog.update(output_tokens=5).where(RequestLog.id == "r3").execute()
    settled.verify(NOON, NOON + 5 * HOUR_MS, checked)
    assert settled.unchanged(seen, NOON, NOON + 5 * HOUR_MS), "a range in `checked` is not checked again"
    settled.verify(NOON, NOON + 5 * HOUR_MS)
    assert not settled.unchanged(seen, NOON, NOON + HOUR_MS) and settled.unchanged(seen, NOON + HOUR_MS,
                                                                                    NOON + 5 * HOUR_MS)


def test_hours_that_lost_every_record_before_the_oldest_one_are_seen_empty(migrated):
    # Retention or DELETE /api/requests moves the oldest record on: the hours before it were not
    # read again, yet what was kept of them is gone.
    seed()
    settled = SettledSpans()
    settled.verify(NOON, NOON + 5 * HOUR_MS)
    seen = settled.fingerprints(NOON, NOON + 5 * HOUR_MS)
    RequestLog.delete().where(RequestLog.timestamp_ms < NOON + 2 * HOUR_MS).execute()
    settled.verify(NOON, NOON + 5 * HOUR_MS)
    assert set(settled.fingerprints(NOON, NOON + 5 * HOUR_MS)) == set(seen) - {NOON, NOON + HOUR_MS}
