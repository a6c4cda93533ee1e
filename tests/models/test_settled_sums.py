"""Settled hours' cost sums kept in memory equal a fresh read, and change when their rows do."""
import datetime

import pytest

import models
from models import settled_sums
from models.costs import group_sums, priced, spend_by
from models.price_book import load_price_book
from models.pricing import Pricing
from models.queries import filtered_requests
from models.request_log import RequestLog
from models.settled_sums import HOUR_MS, SettledSums
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


class Reads:
    """sums_of for a breakdown by session, counting the ranges it reads."""

    def __init__(self):
        self.ranges = []

    def __call__(self, start_ms, end_ms):
        self.ranges.append((start_ms, end_ms))
        return group_sums(filtered_requests(start_ms=start_ms, end_ms=end_ms), PRICING,
                          RequestLog.session_id.alias("c_key"))


def fresh(start_ms, end_ms) -> dict:
    return spend_by(filtered_requests(start_ms=start_ms, end_ms=end_ms), PRICING, RequestLog.session_id.alias("c_key"))


def assert_same(kept: dict, read: dict):
    assert kept.keys() == read.keys()
    for group, spend in read.items():
        assert kept[group].tokens == spend.tokens, group
        assert kept[group].cost.total == pytest.approx(spend.cost.total), group
        assert kept[group].cost.requests == spend.cost.requests, group
        assert (kept[group].time_sum_ms, kept[group].timed) == (spend.time_sum_ms, spend.timed), group


@pytest.mark.parametrize("start, end", [(NOON, NOON + 5 * HOUR_MS), (NOON - 17 * MINUTE, NOON + 4 * HOUR_MS + 3),
                                        (NOON + 20 * MINUTE, NOON + 50 * MINUTE), (NOON + HOUR_MS + 1, NOON + 3 * HOUR_MS)])
def test_kept_hours_and_the_edges_add_up_to_a_fresh_read(migrated, start, end):
    seed()
    settled, reads = SettledSums(), Reads()
    for _ in range(2):  # read, then kept
        assert_same(priced(settled.sums("session", reads, start, end), PRICING), fresh(start, end))


def test_settled_hours_are_read_once(migrated):
    seed()
    settled, reads = SettledSums(), Reads()
    start, end = NOON - 30 * MINUTE, NOON + 3 * HOUR_MS + 30 * MINUTE
    settled.sums("session", reads, start, end)
    assert reads.ranges == [(NOON, NOON + HOUR_MS), (NOON + HOUR_MS, NOON + 2 * HOUR_MS),
                            (NOON + 2 * HOUR_MS, NOON + 3 * HOUR_MS), (start, NOON), (NOON + 3 * HOUR_MS, end)]
    reads.ranges.clear()
    settled.sums("session", reads, start, end)
    assert reads.ranges == [(start, NOON), (NOON + 3 * HOUR_MS, end)], "the whole hours come from memory"
    settled.sums("model", reads, start, end)
    assert len(reads.ranges) == 2 + 5, "another breakdown keeps its own hours"


def test_an_hour_without_records_is_not_read(migrated):
    seed()
    models.save_records([log_row("later", timestamp_ms=NOON + 8 * HOUR_MS + 1, session_id="s-0", input_tokens=1)], [])
    settled, reads = SettledSums(), Reads()
    settled.sums("session", reads, NOON, NOON + 9 * HOUR_MS)
    assert reads.ranges == [(NOON + hour * HOUR_MS, NOON + (hour + 1) * HOUR_MS) for hour in (0, 1, 2, 3, 4, 8)]


def test_whole_days_are_read_in_one_query_and_again_when_an_hour_of_them_changes(migrated):
    day = NOON - 12 * HOUR_MS  # midnight UTC
    models.save_records([log_row(f"r{hour}", timestamp_ms=day + hour * HOUR_MS + 5, session_id="s", input_tokens=hour)
                         for hour in range(27)], [])
    settled, reads = SettledSums(), Reads()
    start, end = day - 2 * HOUR_MS, day + 27 * HOUR_MS
    settled.sums("session", reads, start, end)
    hours = [(day + hour * HOUR_MS, day + (hour + 1) * HOUR_MS) for hour in (24, 25, 26)]
    assert reads.ranges == [(day, day + settled_sums.DAY_MS), *hours, (start, day)]
    reads.ranges.clear()
    models.save_records([log_row("late", timestamp_ms=day + 5 * HOUR_MS, session_id="s", input_tokens=1_000)], [])
    kept = priced(settled.sums("session", reads, start, end), PRICING)
    assert reads.ranges == [(day, day + settled_sums.DAY_MS), (start, day)]
    assert_same(kept, fresh(start, end))


def test_a_range_from_year_one_checks_only_the_hours_with_records(migrated):
    seed()
    settled, reads = SettledSums(), Reads()
    start, end = -62_135_596_800_000, 253_402_300_799_000  # 0001-01-01 .. 9999-12-31
    kept = priced(settled.sums("session", reads, start, end), PRICING)
    assert_same(kept, fresh(start, end))
    assert len(reads.ranges) == 5 + 2  # the hours from the oldest record, and the two edges


@pytest.mark.parametrize("change", ["late row", "finished row", "deleted row"])
def test_a_changed_hour_is_read_again(migrated, change):
    seed()
    settled, reads = SettledSums(), Reads()
    start, end = NOON, NOON + 5 * HOUR_MS
    settled.sums("session", reads, start, end)
    reads.ranges.clear()
    if change == "late row":  # a recorder catching up after an outage writes an old timestamp
        models.save_records([log_row("late", timestamp_ms=NOON + HOUR_MS + 5, session_id="s-9",
                                     routed_model="claude-opus-4-6", input_tokens=7)], [])
    elif change == "finished row":  # a stream longer than the settled age ends its in-flight row
        RequestLog.update(output_tokens=123_456, response_time_ms=4_000_000).where(RequestLog.id == "r10").execute()
    else:
        RequestLog.delete().where(RequestLog.id == "r10").execute()
    kept = priced(settled.sums("session", reads, start, end), PRICING)
    assert_same(kept, fresh(start, end))
    assert reads.ranges == [(NOON + HOUR_MS, NOON + 2 * HOUR_MS)], "only the changed hour is read again"


def test_the_last_hour_is_read_on_every_call(migrated):
    now = settled_sums.time.time() * 1000
    start = int(now) // HOUR_MS * HOUR_MS - 3 * HOUR_MS
    models.save_records([log_row("old", timestamp_ms=start + 1, session_id="s", input_tokens=1)], [])
    settled, reads = SettledSums(), Reads()
    settled.sums("session", reads, start, int(now))
    models.save_records([log_row("new", timestamp_ms=int(now) - MINUTE, session_id="s", input_tokens=10)], [])
    kept = priced(settled.sums("session", reads, start, int(now)), PRICING)
    assert kept[("s", "claude-test")].tokens.input == 11
    assert reads.ranges[-1][1] == int(now) and reads.ranges[-1][0] <= now - settled_sums.SETTLED_MS


def test_the_least_recently_used_breakdowns_go_first(migrated, monkeypatch):
    seed()
    monkeypatch.setattr(settled_sums, "MAX_SHAPES", 2)
    settled, reads = SettledSums(), Reads()
    read = []
    for shape in ("a", "b", "a", "c", "a", "b"):
        reads.ranges.clear()
        settled.sums(shape, reads, NOON, NOON + HOUR_MS)
        read.append(bool(reads.ranges))
    assert read == [True, True, False, True, False, True], "c pushed out b, the least recently used"


@pytest.mark.sqlite_only
def test_the_fingerprints_read_index_entries_only(migrated):
    # The check runs on every call over the whole range: a row visited per record would cost more than it saves.
    with statements(migrated) as captured:
        settled_sums._fingerprint(0, NOON)
        settled_sums._fingerprints_per_hour(0, NOON)
    assert len(captured) == 2
    for sql, params in captured:
        plan = query_plan(migrated, sql, params)
        assert "COVERING INDEX request_log_time_spender" in plan, plan
