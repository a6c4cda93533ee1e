"""Rate limits: each organization's latest unified windows and the last utilisation reported per bucket."""
import models
from tests.records import log_row

T0 = 1_795_000_000_000  # 2026-11-18T11:06:40Z
HOUR = 3_600_000
RANGE = "start=2026-11-18T11:00:00Z&end=2026-11-18T15:00:00Z"


def seed():
    models.save_records([
        log_row("a1", organization_id="org-a", timestamp_ms=T0, unified_5h_utilization=0.2,
                unified_7d_utilization=0.1, unified_status="allowed", unified_5h_reset="1795010000"),
        log_row("a2", organization_id="org-a", timestamp_ms=T0 + 60_000, unified_5h_utilization=0.4,
                unified_7d_utilization=0.15, unified_status="allowed_warning"),
        log_row("a2b", organization_id="org-a", timestamp_ms=T0 + 120_000, unified_5h_utilization=0.3,
                unified_7d_utilization=0.15, unified_status="allowed"),  # a later, lower report wins its hour
        log_row("a3", organization_id="org-a", timestamp_ms=T0 + 2 * HOUR, unified_5h_utilization=0.9,
                unified_7d_utilization=0.3, unified_status="rejected", unified_5h_reset="1795020000"),
        log_row("a4", organization_id="org-a", timestamp_ms=T0 + 3 * HOUR),  # no unified headers
        log_row("b1", organization_id="org-b", timestamp_ms=T0 + HOUR, unified_5h_utilization=0.05,
                unified_7d_utilization=0.5, unified_status="allowed"),
    ], [])


def test_latest_window_per_organization_skips_records_without_unified_headers(client):
    seed()
    latest = {row["organizationId"]: row for row in client.get(f"/api/ratelimits?{RANGE}").json["latest"]}
    assert set(latest) == {"org-a", "org-b"}
    assert latest["org-a"]["requestId"] == "a3"
    assert (latest["org-a"]["unifiedStatus"], latest["org-a"]["unifiedUtilization5h"]) == ("rejected", 0.9)
    assert latest["org-a"]["unifiedReset5h"] == "1795020000"
    assert latest["org-b"]["unifiedUtilization7d"] == 0.5


def test_history_holds_the_last_utilisation_reported_per_hour_and_organization(client):
    seed()
    history = client.get(f"/api/ratelimits?{RANGE}&tz=Europe/Paris").json["history"]
    points = [(p["start"], p["organizationId"], p["unifiedUtilization5h"]) for p in history]
    assert points == [("2026-11-18T12:00:00+01:00", "org-a", 0.3), ("2026-11-18T13:00:00+01:00", "org-b", 0.05),
                      ("2026-11-18T14:00:00+01:00", "org-a", 0.9)]


def test_one_organization_only(client):
    seed()
    body = client.get(f"/api/ratelimits?{RANGE}&org=org-b").json
    assert [row["organizationId"] for row in body["latest"]] == ["org-b"]
    assert {p["organizationId"] for p in body["history"]} == {"org-b"}


def test_nothing_recorded_gives_empty_lists(client):
    assert client.get("/api/ratelimits").json == {"latest": [], "history": []}


def test_bad_input_is_a_400(client):
    seed()
    for query in ("org=nobody", "bucket=0", "start=yesterday", "start=2026-11-18&end=2026-11-17",
                  "start=2000-01-01&bucket=1"):
        response = client.get(f"/api/ratelimits?{query}")
        assert response.status_code == 400, query
        assert set(response.json) == {"error", "details"}


def test_the_last_bucket_stops_at_end(client):
    seed()
    history = client.get("/api/ratelimits?start=2026-11-18T11:00:00Z&end=2026-11-18T13:05:00Z").json["history"]
    assert [(p["start"], p["organizationId"]) for p in history] == [
        ("2026-11-18T11:00:00+00:00", "org-a"), ("2026-11-18T12:00:00+00:00", "org-b")], \
        "a3 at 13:06 lies in the last bucket's hour but after end"
