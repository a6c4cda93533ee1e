"""Bucket and day caps: counted before any list is built, so no query string can freeze a worker."""
import tracemalloc
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from werkzeug.exceptions import BadRequest

from api import buckets
from api.params import EARLIEST, LATEST

UTC, PARIS = ZoneInfo("UTC"), ZoneInfo("Europe/Paris")
WIDEST = "start=1970-01-01&end=2999-12-31"  # the widest range the parameters accept


def peak_bytes(call) -> int:
    """Peak memory Python allocated while `call` ran (a 400 it raises is expected)."""
    tracemalloc.start()
    try:
        call()
    except BadRequest:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("path", [f"/api/stats/hourly?{WIDEST}&bucket=1", f"/api/ratelimits?{WIDEST}&bucket=1",
                                  f"/api/stats/dashboard?{WIDEST}"])
def test_the_widest_range_is_a_400_before_any_bucket_is_built(client, monkeypatch, path):
    def build_nothing(*args):
        raise AssertionError("a bucket list was built before the cap was checked")

    monkeypatch.setattr(buckets, "fixed_labels", build_nothing)
    monkeypatch.setattr(buckets, "local_days", build_nothing)
    response = client.get(path)
    assert response.status_code == 400
    assert set(response.json) == {"error", "details"}
    assert response.json["error"] in ("Too many buckets", "Range too long")


def test_a_range_past_the_cap_is_refused_without_allocating_its_labels():
    year = EARLIEST + timedelta(days=365)  # 525,600 one-minute buckets: tens of MB if they were built
    with pytest.raises(BadRequest):
        buckets.capped_labels(EARLIEST, year, timedelta(minutes=1), UTC)
    assert peak_bytes(lambda: buckets.capped_labels(EARLIEST, year, timedelta(minutes=1), UTC)) < 256 * 1024
    assert peak_bytes(lambda: buckets.capped_labels(EARLIEST, LATEST, timedelta(minutes=1), UTC)) < 256 * 1024
    assert peak_bytes(lambda: buckets.capped_days(EARLIEST, LATEST, PARIS)) < 256 * 1024


def test_the_caps_themselves_are_unchanged():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    minute = timedelta(minutes=1)
    assert len(buckets.capped_labels(start, start + minute * buckets.MAX_BUCKETS, minute, UTC)) == buckets.MAX_BUCKETS
    with pytest.raises(BadRequest):
        buckets.capped_labels(start, start + minute * buckets.MAX_BUCKETS + timedelta(seconds=1), minute, UTC)
    days = buckets.capped_days(start, start + timedelta(days=buckets.MAX_DAYS), UTC)
    assert (len(days), days[0].isoformat(), days[-1].isoformat()) == (366, "2026-01-01", "2027-01-01")
    with pytest.raises(BadRequest):
        buckets.capped_days(start, start + timedelta(days=buckets.MAX_DAYS, microseconds=1), UTC)


def test_day_count_is_the_number_of_local_days():
    start = datetime(2026, 3, 28, 23, 0, tzinfo=timezone.utc)  # Paris: 00:00 on the 29th, the spring-forward day
    for hours in (0, 1, 22, 23, 24, 25, 48, 24 * 40 + 7):
        end = start + timedelta(hours=hours)
        assert buckets.day_count(start, end, PARIS) == len(buckets.local_days(start, end, PARIS)), hours
    assert [d.isoformat() for d in buckets.local_days(start, start + timedelta(hours=24), PARIS)] == [
        "2026-03-29", "2026-03-30"], "the 23-hour day ends at 22:00 UTC, so 24 hours touch a second day"
