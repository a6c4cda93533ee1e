"""Usage statistics: sums, buckets in the caller's time zone (DST, half-hour offsets), bad input."""
from datetime import datetime, timezone

import pytest

import models
from tests.records import log_row


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(timezone.utc).timestamp() * 1000)


def usage(input_tokens=100, output_tokens=10, cache_read=1000, cache_creation=5) -> dict:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_creation}


TOKENS = 100 + 10 + 1000 + 5


def seed(*rows):
    models.save_records(list(rows), [])


def test_usage_totals_and_per_model_sums(client):
    seed(log_row("a", routed_model="opus", timestamp_ms=ms("2026-11-10T10:00:00Z"), organization_id="o1", **usage()),
         log_row("b", routed_model="opus", timestamp_ms=ms("2026-11-11T10:00:00Z"), organization_id="o1", **usage()),
         log_row("c", routed_model="haiku", timestamp_ms=ms("2026-11-11T11:00:00Z"), organization_id="o2",
                 **usage(input_tokens=1, output_tokens=2, cache_read=0, cache_creation=0)))
    body = client.get("/api/stats").json
    assert body["total_requests"] == 3
    assert body["total_input_tokens"] == 201
    assert body["total_output_tokens"] == 22
    assert body["total_cache_tokens"] == 2010
    opus = body["requests_by_model"]["opus"]
    assert opus.pop("cost")["unpricedTokens"] == 2 * TOKENS, "a model the book does not know is unpriced"
    assert opus == {"request_count": 2, "input_tokens": 200, "output_tokens": 20, "cache_tokens": 2010}
    one_day = client.get("/api/stats?start_date=2026-11-11&end_date=2026-11-11").json
    assert one_day["total_requests"] == 2
    assert client.get("/api/stats?org=o2").json["total_requests"] == 1
    assert client.get("/api/stats?model=OPUS").json["total_requests"] == 2


def test_daily_buckets_follow_local_days_across_a_dst_change(client):
    # New York left daylight time on 2026-11-01: that local day lasts 25 hours.
    seed(log_row("before", timestamp_ms=ms("2026-11-01T03:30:00Z"), **usage()),   # Oct 31, 23:30 EDT
         log_row("first", timestamp_ms=ms("2026-11-01T04:30:00Z"), **usage()),    # Nov 1, 00:30 EDT
         log_row("last", timestamp_ms=ms("2026-11-02T04:30:00Z"), **usage()),     # Nov 1, 23:30 EST
         log_row("next", timestamp_ms=ms("2026-11-02T05:30:00Z"), **usage()))     # Nov 2, 00:30 EST
    body = client.get("/api/stats/dashboard?start=2026-10-31&end=2026-11-03&tz=America/New_York").json
    assert [(d["date"], d["requests"]) for d in body["dailyStats"]] == [
        ("2026-10-31", 1), ("2026-11-01", 2), ("2026-11-02", 1)]
    assert body["dailyStats"][1]["tokens"] == 2 * TOKENS
    utc = client.get("/api/stats/dashboard?start=2026-10-31&end=2026-11-03").json
    assert [d["requests"] for d in utc["dailyStats"]] == [0, 2, 2]


def test_hourly_buckets_on_the_25_hour_day(client):
    seed(log_row("early", timestamp_ms=ms("2026-11-01T05:10:00Z"), response_time_ms=1000, **usage()),  # 01:10 EDT
         log_row("again", timestamp_ms=ms("2026-11-01T06:10:00Z"), **usage()),   # 01:10 EST, no time yet
         log_row("slow", timestamp_ms=ms("2026-11-01T06:20:00Z"), response_time_ms=3000, **usage()))
    body = client.get("/api/stats/hourly?start=2026-11-01&end=2026-11-02&tz=America/New_York").json
    hours = body["hourlyStats"]
    assert len(hours) == 25
    assert [h["label"] for h in hours[:4]] == ["00:00", "01:00", "01:00", "02:00"]
    assert [h["requests"] for h in hours[:4]] == [0, 1, 2, 0]
    assert body["todayRequests"] == 3
    assert body["todayTokens"] == 3 * TOKENS
    assert body["avgResponseTime"] == 2000, "the mean of the requests that have a time"


def test_half_hour_offsets_and_custom_buckets(client):
    seed(log_row("late", timestamp_ms=ms("2026-11-18T18:29:00Z")),   # 23:59 in Kolkata (+05:30)
         log_row("new", timestamp_ms=ms("2026-11-18T18:31:00Z")))    # 00:01 the next day
    days = client.get("/api/stats/dashboard?start=2026-11-18&end=2026-11-20&tz=Asia/Kolkata").json["dailyStats"]
    assert [(d["date"], d["requests"]) for d in days] == [("2026-11-18", 1), ("2026-11-19", 1)]
    half_hours = client.get("/api/stats/hourly?start=2026-11-18T23:00:00&end=2026-11-19T01:00:00"
                            "&bucket=30&tz=Asia/Kolkata").json["hourlyStats"]
    assert [(h["label"], h["requests"]) for h in half_hours] == [
        ("23:00", 0), ("23:30", 1), ("00:00", 1), ("00:30", 0)]


def test_model_stats_most_tokens_first(client):
    seed(log_row("a", routed_model="small", timestamp_ms=ms("2026-11-10T10:00:00Z"), **usage(input_tokens=1)),
         log_row("b", routed_model="big", timestamp_ms=ms("2026-11-10T10:00:00Z"), **usage(input_tokens=10_000)),
         log_row("c", routed_model="big", timestamp_ms=ms("2026-11-10T11:00:00Z"), **usage()))
    stats = client.get("/api/stats/models?start=2026-11-10&end=2026-11-11").json["modelStats"]
    assert [(s["model"], s["requests"]) for s in stats] == [("big", 2), ("small", 1)]
    assert stats[0]["tokens"] == 10_000 + 10 + 1000 + 5 + TOKENS


def test_organizations_are_distinct(client):
    seed(log_row("a", organization_id="org-b"), log_row("b", organization_id="org-a"),
         log_row("c", organization_id="org-b"), log_row("d"))
    assert client.get("/api/stats/organizations").json == {"organizations": ["org-a", "org-b"]}


def test_empty_ranges_give_empty_lists_and_zeros(client):
    empty = client.get("/api/stats/hourly?start=2026-11-01T00:00:00Z&end=2026-11-01T00:00:00Z").json
    assert empty.pop("todayCost")["total"] == 0 and empty == {
        "hourlyStats": [], "todayTokens": 0, "todayRequests": 0, "avgResponseTime": 0}
    assert client.get("/api/stats/models?start=2026-11-01&end=2026-11-02").json == {"modelStats": []}
    days = client.get("/api/stats/dashboard?start=2026-11-01&end=2026-11-03").json["dailyStats"]
    assert [(d["tokens"], d["requests"]) for d in days] == [(0, 0), (0, 0)]
    assert client.get("/api/stats").json["requests_by_model"] == {}


@pytest.mark.parametrize("path", [
    "/api/stats/hourly?start=2026-11-01",                             # end missing
    "/api/stats/hourly?start=yesterday&end=2026-11-02",               # malformed date
    "/api/stats/hourly?start=2026-11-02&end=2026-11-01",              # end before start
    "/api/stats/hourly?start=2026-11-01&end=2026-11-02&bucket=0",     # bucket out of range
    "/api/stats/models?start=2026-11-01&end=2026-11-02&tz=Mars/Olympus",
    "/api/stats/hourly?start=2026-11-01&end=2026-11-02&tz=" + "Z%CC%B7" * 200,  # too long for a file name
    "/api/stats?org=org-nobody",
    "/api/stats/dashboard?start=2020-01-01&end=2026-01-01",           # too many days
    "/api/stats?start_date=2026-13-45",
])
def test_bad_input_is_a_400_error_response(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert set(response.json) == {"error", "details"}
    assert response.json["details"]
