"""Cache breaks found once per settled hour are the breaks a fresh read of the range finds."""
import datetime
import json

import pytest

import models
from models import queries, settled_breaks
from models.cache_report import cache_breaks
from models.price_book import load_price_book
from models.pricing import Pricing
from models.queries import filtered_requests
from models.request_log import RequestLog
from models.settled_breaks import SettledBreaks
from models.settled_spans import HOUR_MS, SettledSpans
from tests.models.range_reads import RangeReads
from tests.records import body_row, log_row

PRICING = Pricing(load_price_book())
DAY0 = int(datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)
MINUTE = 60_000
WARM = dict(cache_read_input_tokens=30_000, cache_creation_input_tokens=500, cache_write_5m_tokens=0,
            cache_write_1h_tokens=500)
COLD = dict(cache_creation_input_tokens=31_000, cache_write_5m_tokens=0, cache_write_1h_tokens=31_000)


def history():
    # Three sessions over two days, each with breaks of every kind, one a subagent's: a model
    # switch, a gap over the 1-hour TTL, a changed system prompt (found in the stored bodies).
    rows, bodies = [], []
    for session in range(3):
        minute, system = session * 17, "You are Claude Code."
        for step in range(40):
            model = "claude-opus-4-6" if step % 13 == 12 else "claude-sonnet-4-5"
            minute += 70 if step % 9 == 8 else 4
            if step % 11 == 10:
                system += " Today."
            tokens = COLD if step % 13 == 12 or step % 9 == 8 or step % 11 == 10 or step == 0 else WARM
            rid = f"s{session}-{step}"
            rows.append(log_row(rid, timestamp_ms=DAY0 + minute * MINUTE, session_id=f"s-{session}",
                                agent_id="sub" if step % 7 == 6 else None, original_model="claude-sonnet-4-5",
                                routed_model=model, input_tokens=10, output_tokens=100, **tokens))
            bodies.append(body_row(rid, request_body=json.dumps({"system": system, "tools": [], "messages": []})))
    models.save_records(rows, bodies)


def fresh(start_ms, end_ms):
    return cache_breaks(filtered_requests(start_ms=start_ms, end_ms=end_ms), PRICING)


def summary(found):
    breaks, cut = found
    return [(session, b.turn.request_id, b.previous.request_id, b.cause, b.lost_tokens, round(b.cost, 9))
            for session, b in breaks], cut


RANGES = [(DAY0, DAY0 + 2 * 86_400_000), (DAY0 + 95 * MINUTE, DAY0 + 9 * HOUR_MS + 7),
          (DAY0 + 3 * HOUR_MS, DAY0 + 5 * HOUR_MS)]


@pytest.mark.parametrize("start, end", RANGES)
def test_kept_breaks_are_what_a_fresh_read_finds(migrated, start, end):
    history()
    expected = summary(fresh(start, end))
    causes = {cause for _, _, _, cause, _, _ in expected[0]}
    if (start, end) == RANGES[0]:
        assert causes == {"model_or_provider_switched", "idle_gap_1h", "system_changed"}
    watch, reads = SettledBreaks(PRICING, SettledSpans()), RangeReads()
    assert summary(watch.breaks("all", reads, start, end)) == expected
    reads.ranges.clear()
    assert summary(watch.breaks("all", reads, start, end)) == expected
    tail = [(end // HOUR_MS * HOUR_MS, end)] if end % HOUR_MS else []
    assert reads.ranges == tail, "the whole hours were fed once: only the part hour at the end is read again"


def test_a_later_range_feeds_only_its_new_hours_and_keeps_the_answer_exact(migrated):
    history()
    watch, reads = SettledBreaks(PRICING, SettledSpans()), RangeReads()
    for start, end in ((DAY0, DAY0 + 3 * HOUR_MS), (DAY0 + HOUR_MS, DAY0 + 6 * HOUR_MS),
                       (DAY0 + 30 * HOUR_MS, DAY0 + 40 * HOUR_MS), (DAY0 + 5 * HOUR_MS, DAY0 + 7 * HOUR_MS)):
        reads.ranges.clear()
        assert summary(watch.breaks("all", reads, start, end)) == summary(fresh(start, end)), (start, end)
    # The range from hour 5 lies before the anchor the day-later range moved to: fed again from there.
    assert reads.ranges == [(DAY0 + 5 * HOUR_MS, DAY0 + 7 * HOUR_MS)]


@pytest.mark.parametrize("change", ["late row", "deleted row", "everything deleted", "oldest hours deleted"])
def test_a_changed_hour_is_fed_again(migrated, change):
    history()
    watch, reads = SettledBreaks(PRICING, SettledSpans()), RangeReads()
    start, end = DAY0, DAY0 + 2 * 86_400_000
    watch.breaks("all", reads, start, end)
    victim = RequestLog.get(RequestLog.id == "s1-12")  # a model switch's break
    if change == "late row":  # the same turn, warm, written late just before it: no switch there now
        models.save_records([log_row("late", timestamp_ms=victim.timestamp_ms - 1, session_id="s-1",
                                     original_model="claude-sonnet-4-5", routed_model="claude-opus-4-6",
                                     input_tokens=10, **WARM)], [])
    elif change == "deleted row":
        RequestLog.delete().where(RequestLog.id == "s1-11").execute()
    elif change == "everything deleted":  # DELETE /api/requests
        queries.delete_all()
    else:  # retention up to an hour's start: the hours before the oldest record are not read again
        RequestLog.delete().where(RequestLog.timestamp_ms < DAY0 + 4 * HOUR_MS).execute()
    reads.ranges.clear()
    assert summary(watch.breaks("all", reads, start, end)) == summary(fresh(start, end))
    assert reads.ranges or change == "everything deleted", "fed again"


def test_the_last_hour_is_fed_on_every_call_to_a_copy(migrated):
    now = int(settled_breaks.time.time() * 1000)
    start = now // HOUR_MS * HOUR_MS - 3 * HOUR_MS
    rows = [log_row("a", timestamp_ms=start + 1, session_id="s", routed_model="claude-sonnet-4-5",
                    original_model="claude-sonnet-4-5", input_tokens=10, **COLD)]
    models.save_records(rows, [])
    watch, reads = SettledBreaks(PRICING, SettledSpans()), RangeReads()
    assert watch.breaks("all", reads, start, now) == ([], False)
    models.save_records([log_row("b", timestamp_ms=now - MINUTE, session_id="s", routed_model="claude-opus-4-6",
                                 original_model="claude-sonnet-4-5", input_tokens=10, **COLD)], [])
    breaks, _ = watch.breaks("all", reads, start, now)
    assert [(b.turn.request_id, b.cause) for _, b in breaks] == [("b", "model_or_provider_switched")]
    assert watch.breaks("all", reads, start, now)[0] == breaks, "the copy fed the last hour, not the kept detector"


def test_a_range_of_too_many_records_is_read_as_before(migrated, monkeypatch):
    history()
    monkeypatch.setattr(settled_breaks, "MAX_RECORDS", 50)
    monkeypatch.setattr(settled_breaks, "cache_breaks",
                        lambda base, pricing: cache_breaks(base, pricing, limit=60))
    watch, reads = SettledBreaks(PRICING, SettledSpans()), RangeReads()
    start, end = DAY0, DAY0 + 2 * 86_400_000
    breaks, cut = watch.breaks("all", reads, start, end)
    assert cut and summary((breaks, cut)) == summary(cache_breaks(filtered_requests(start_ms=start, end_ms=end),
                                                                  PRICING, limit=60))
