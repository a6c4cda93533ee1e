"""GET /api/cache (hit rate, savings, breaks) and GET /api/ratelimits/usage (what used the window, forecast)."""
import json
import time

import pytest

import models
from api import serializers
from tests.records import body_row, log_row

MIN = 60_000
NOW = int(time.time() * 1000)
T = NOW - 3 * 60 * MIN  # three hours ago


def sonnet(rid, minute, session="s1", system="sys", **fields):
    row = log_row(rid, timestamp_ms=T + minute * MIN, session_id=session, routed_model="claude-sonnet-4-5",
                  original_model="claude-sonnet-4-5", input_tokens=10, output_tokens=100,
                  organization_id="org-a", **fields)
    body = body_row(rid, request_body=json.dumps({"system": system, "tools": [], "messages": []}))
    return row, body


def save(*pairs):
    models.save_records([row for row, _ in pairs], [body for _, body in pairs])


def test_cache_health_and_a_break_with_its_cause_and_cost(client):
    save(sonnet("a", 0, cache_creation_input_tokens=30_000, cache_write_5m_tokens=30_000, cache_write_1h_tokens=0),
         sonnet("b", 2, cache_read_input_tokens=30_000, cache_creation_input_tokens=0, cache_write_5m_tokens=0,
                cache_write_1h_tokens=0),
         sonnet("c", 9, cache_creation_input_tokens=30_500, cache_write_5m_tokens=30_500, cache_write_1h_tokens=0))
    body = client.get("/api/cache").json
    [model] = body["byModel"]
    # 30,000 read of 90,530 input tokens; reads saved 30,000 x ($3 - $0.30) per million.
    assert model["hitRate"] == pytest.approx(round(30_000 / 90_530, 4))
    assert model["savings"] == pytest.approx(0.081)
    assert model["writeCost"] == pytest.approx(60_500 * 3.75 / 1e6)
    [found] = body["breaks"]
    assert (found["requestId"], found["previousRequestId"], found["cause"], found["gapSeconds"]) == (
        "c", "b", "idle_gap_5m", 420)
    # Paid 30,500 5m writes; warm: 30,000 reads and 500 writes.
    assert found["cost"] == pytest.approx(30_000 * (3.75 - 0.30) / 1e6)
    assert (found["sessionId"], body["breaksCut"]) == ("s1", False)
    assert body["bySession"][0]["sessionId"] == "s1"
    assert sum(day["requests"] for day in body["byDay"]) == 3
    assert (body["breakCount"], body["breaksCost"]) == (1, pytest.approx(found["cost"]))


def test_the_newest_breaks_are_listed_and_all_are_counted(client, monkeypatch):
    monkeypatch.setattr(serializers, "BREAKS_SHOWN", 1)
    warm = dict(cache_creation_input_tokens=30_000, cache_write_5m_tokens=30_000, cache_write_1h_tokens=0)
    save(sonnet("a", 0, **warm), sonnet("b", 9, **warm), sonnet("c", 18, **warm))  # b and c: 5-minute TTL gone
    body = client.get("/api/cache").json
    assert [found["requestId"] for found in body["breaks"]] == ["c"]
    assert body["breakCount"] == 2 and body["breaksCost"] == pytest.approx(2 * body["breaks"][0]["cost"])


def report(rid, minute, utilization, session, reset_minutes=120, took=0.3):
    return log_row(rid, timestamp_ms=T + minute * MIN, ttfb_ms=500, completed_at_ms=T + int((minute + took) * MIN),
                   organization_id="org-a", unified_5h_utilization=utilization, session_id=session,
                   unified_5h_reset=str((T + reset_minutes * MIN) // 1000), routed_model="claude-opus-4-6",
                   unified_7d_utilization=0.5, unified_7d_reset=str((NOW + 86_400_000) // 1000))


def test_what_used_the_window_across_a_reset_and_the_forecast(client):
    models.save_records([
        report("w1", 10, 0.30, "s1"), report("w2", 20, 0.50, "s2"),
        # the window reset at 120 min; the next one ends in two hours
        report("n1", 130, 0.05, "s1", reset_minutes=420), report("n2", 150, 0.15, "s2", reset_minutes=420),
        report("n3", 170, 0.25, "s2", reset_minutes=420)], [])
    body = client.get("/api/ratelimits/usage?window=5h").json
    [org] = body["organizations"]
    current, past = org["windows"]
    assert past["forecast"] is None and past["utilization"] == 0.5
    assert {share["key"]: share["rise"] for share in past["bySession"]} == pytest.approx({"s1": 0.30, "s2": 0.20})
    assert {share["key"]: share["rise"] for share in current["bySession"]} == pytest.approx({"s2": 0.20, "s1": 0.05})
    assert current["uncertain"] == pytest.approx(0.05), "the first report of a window may hold others' usage"
    forecast = current["forecast"]
    # the last hour (the whole window so far) saw +0.25: 0.75 left takes 3 h, an hour before the reset
    assert forecast["ratePerHour"] == pytest.approx(0.25, rel=0.02)
    assert forecast["utilization"] == 0.25 and forecast["beforeReset"] is True
    week = client.get("/api/ratelimits/usage?window=7d").json["organizations"][0]["windows"]
    assert len(week) == 1 and week[0]["byModel"][0]["key"] == "claude-opus-4-6"


def test_a_window_begun_before_the_range_is_shown_whole(client):
    # The range picks the windows shown; each is attributed over all its reports (s1's came before it).
    models.save_records([report("w1", 10, 0.30, "s1"), report("w2", 20, 0.50, "s2"),
                         report("n1", 130, 0.05, "s1", reset_minutes=420)], [])
    start = params_iso(T + 15 * MIN)
    [org] = client.get(f"/api/ratelimits/usage?window=5h&start={start}").json["organizations"]
    current, past = org["windows"]
    assert {share["key"]: share["rise"] for share in past["bySession"]} == pytest.approx({"s1": 0.30, "s2": 0.20})
    assert [rise["requestId"] for rise in past["rises"]] == ["w1", "w2"] and past["requests"] == 2
    assert current["requests"] == 1 and not org["reportsCut"]


def params_iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


@pytest.mark.parametrize("path", ["/api/ratelimits/usage?window=1h", "/api/ratelimits/usage?org=nobody",
                                  "/api/cache?start=later", "/api/cache?tz=Nowhere/Land"])
def test_bad_input_is_a_400_error_response(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert set(response.json) == {"error", "details"} and response.json["details"]


def test_a_session_shows_its_own_cache_breaks(client):
    save(sonnet("a", 0, session="s9", cache_creation_input_tokens=30_000, cache_write_5m_tokens=0,
                cache_write_1h_tokens=30_000),
         sonnet("b", 1, session="s9", system="other", cache_creation_input_tokens=30_500, cache_write_5m_tokens=0,
                cache_write_1h_tokens=30_500),
         sonnet("x", 2, session="elsewhere", cache_creation_input_tokens=30_000, cache_write_5m_tokens=30_000,
                cache_write_1h_tokens=0))
    response = client.get("/api/conversations/s9?project=anywhere")
    assert response.status_code == 200, response.json
    [found] = response.json["cacheBreaks"]
    assert (found["requestId"], found["cause"]) == ("b", "system_changed")
