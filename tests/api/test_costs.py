"""Cost at read time through the API: request rows, every statistic, breakdowns, repricing, bad input."""
from datetime import datetime, timezone

import pytest

import models
from models.price_book import load_price_book
from proxy.routing.config import parse_routing_config
from tests.records import log_row
from tests.transcripts import SessionWriter

DAY = "2026-11-10"
T = int(datetime(2026, 11, 10, 10, tzinfo=timezone.utc).timestamp() * 1000)
HOUR = 3_600_000

# Sonnet 4.5, 1h/5m split: 2,000 x $3 + 500 x $15 + 40,000 x $0.30 + 1,000 x $3.75 + 3,000 x $6, per million.
SONNET = dict(routed_model="claude-sonnet-4-5-20250929", input_tokens=2_000, output_tokens=500,
              cache_read_input_tokens=40_000, cache_creation_input_tokens=4_000, cache_write_5m_tokens=1_000,
              cache_write_1h_tokens=3_000, web_search_requests=2, inference_geo="global", service_tier="standard")
SONNET_COST = 0.006 + 0.0075 + 0.012 + 0.00375 + 0.018 + 0.02
# An old Haiku 4.5 row without the split: 8,000 writes at $1.25 (estimated) + 100 x $1 + 10 x $5.
HAIKU_OLD = dict(routed_model="claude-haiku-4-5", input_tokens=100, output_tokens=10, cache_creation_input_tokens=8_000)
HAIKU_OLD_COST = 0.01 + 0.0001 + 0.00005


def seed():
    models.save_records([
        log_row("sonnet1", timestamp_ms=T, organization_id="org-a", api_key_fingerprint="key-1", session_id="s-1",
                **SONNET),
        log_row("haiku1", timestamp_ms=T + HOUR, organization_id="org-a", api_key_fingerprint="key-2",
                session_id="s-1", **HAIKU_OLD),
        log_row("local1", timestamp_ms=T + 2 * HOUR, organization_id="org-b", api_key_fingerprint="key-1",
                session_id="s-2", routed_model="qwen3-coder-30b", original_model="claude-sonnet-4-5",
                provider="local", input_tokens=1_000_000, output_tokens=100_000),
    ], [])


def test_a_request_shows_its_cost_by_token_kind_and_its_usage_detail(client):
    seed()
    request = client.get("/api/requests/sonnet1").json["request"]
    cost = request["cost"]
    assert cost["total"] == pytest.approx(SONNET_COST)
    assert (cost["input"], cost["output"], cost["cacheRead"]) == pytest.approx((0.006, 0.0075, 0.012))
    assert (cost["cacheWrite5m"], cost["cacheWrite1h"], cost["webSearch"]) == pytest.approx((0.00375, 0.018, 0.02))
    assert cost["priced"] and cost["estimatedRequests"] == 0
    usage = request["response"]["usage"]
    assert usage["cache_creation"] == {"ephemeral_5m_input_tokens": 1_000, "ephemeral_1h_input_tokens": 3_000}
    assert (usage["server_tool_use"]["web_search_requests"], usage["inference_geo"]) == (2, "global")
    old = client.get("/api/requests/haiku1").json["request"]
    assert old["response"]["usage"]["cache_creation"] is None
    assert (old["cost"]["total"], old["cost"]["estimatedRequests"]) == (pytest.approx(HAIKU_OLD_COST), 1)


def test_list_rows_carry_their_cost_and_an_unknown_provider_model_is_unpriced(client):
    seed()
    rows = {row["requestId"]: row for row in client.get(f"/api/requests/summary?start={DAY}&end=2026-11-11").json["requests"]}
    assert rows["sonnet1"]["cost"]["total"] == pytest.approx(SONNET_COST)
    local = rows["local1"]["cost"]
    assert (local["priced"], local["total"], local["unpricedTokens"], local["unpricedModels"]) == (
        False, 0, 1_100_000, ["qwen3-coder-30b"])
    assert client.get("/api/requests?limit=10").json["requests"][0]["cost"]["total"] >= 0


def test_statistics_total_the_cost_per_model_day_and_hour(client):
    seed()
    stats = client.get(f"/api/stats?start_date={DAY}&end_date={DAY}").json
    assert stats["total_cost"]["total"] == pytest.approx(SONNET_COST + HAIKU_OLD_COST)
    assert (stats["total_cost"]["unpricedRequests"], stats["total_cost"]["estimatedRequests"]) == (1, 1)
    assert stats["requests_by_model"]["claude-haiku-4-5"]["cost"]["total"] == pytest.approx(HAIKU_OLD_COST)
    days = client.get(f"/api/stats/dashboard?start={DAY}&end=2026-11-12").json["dailyStats"]
    assert days[0]["cost"]["total"] == pytest.approx(SONNET_COST + HAIKU_OLD_COST)
    assert days[0]["modelCosts"]["claude-sonnet-4-5-20250929"] == pytest.approx(SONNET_COST)
    assert days[1]["cost"]["total"] == 0 and days[1]["requests"] == 0
    hours = client.get(f"/api/stats/hourly?start={DAY}T10:00:00Z&end={DAY}T13:00:00Z").json
    assert [h["cost"] for h in hours["hourlyStats"]] == pytest.approx([SONNET_COST, HAIKU_OLD_COST, 0])
    assert hours["todayCost"]["unpricedTokens"] == 1_100_000
    models_ = client.get(f"/api/stats/models?start={DAY}&end=2026-11-11").json["modelStats"]
    assert {m["model"]: m["cost"]["total"] for m in models_} == pytest.approx(
        {"claude-sonnet-4-5-20250929": SONNET_COST, "claude-haiku-4-5": HAIKU_OLD_COST, "qwen3-coder-30b": 0})


def test_breakdowns_per_organization_key_provider_session_and_project(client, config):
    seed()
    writer = SessionWriter(config.claude_projects_dir, "/work/shop", session_id="s-1")
    writer.prompt("hello")
    writer.assistant({"type": "text", "text": "hi"})
    writer.write()

    def breakdown(by):
        body = client.get(f"/api/stats/costs?by={by}&start={DAY}&end=2026-11-11").json
        return {row["key"]: row["cost"]["total"] for row in body["rows"]}, body

    assert breakdown("organization")[0] == pytest.approx({"org-a": SONNET_COST + HAIKU_OLD_COST, "org-b": 0})
    assert breakdown("key")[0] == pytest.approx({"key-1": SONNET_COST, "key-2": HAIKU_OLD_COST})
    assert breakdown("provider")[0] == pytest.approx({"anthropic": SONNET_COST + HAIKU_OLD_COST, "local": 0})
    sessions, body = breakdown("session")
    assert {row["key"]: row["label"] for row in body["rows"]} == {"s-1": "/work/shop", "s-2": None}
    projects, body = breakdown("project")
    assert projects == pytest.approx({"/work/shop": SONNET_COST + HAIKU_OLD_COST, None: 0})
    assert body["total"]["requests"] == 3 and not body["total"]["cost"]["priced"]
    assert breakdown("model")[0]["claude-sonnet-4-5-20250929"] == pytest.approx(SONNET_COST)

def test_a_record_written_late_or_deleted_shows_in_every_total_at_once(client):
    # Settled hours are kept in memory (models/settled_spans.py): a recorder catching up after a
    # database outage writes old timestamps, and a deletion removes rows, after the first read.
    seed()
    url = f"/api/stats/costs?by=session&start={DAY}&end=2026-11-11"
    totals = lambda: {row["key"]: row["cost"]["total"] for row in client.get(url).json["rows"]}  # noqa: E731
    stats = lambda: client.get(f"/api/stats?start_date={DAY}&end_date={DAY}").json["total_cost"]["total"]  # noqa: E731
    assert totals() == pytest.approx({"s-1": SONNET_COST + HAIKU_OLD_COST, "s-2": 0})
    assert stats() == pytest.approx(SONNET_COST + HAIKU_OLD_COST)
    models.save_records([log_row("late", timestamp_ms=T + 30 * 60_000, session_id="s-3", **SONNET)], [])
    assert totals() == pytest.approx({"s-1": SONNET_COST + HAIKU_OLD_COST, "s-2": 0, "s-3": SONNET_COST})
    assert stats() == pytest.approx(2 * SONNET_COST + HAIKU_OLD_COST)
    assert client.delete("/api/requests").status_code == 200
    assert totals() == {} and stats() == 0


def test_a_breakdown_returns_the_most_expensive_keys_and_totals_them_all(client):
    seed()
    body = client.get(f"/api/stats/costs?by=key&start={DAY}&end=2026-11-11&limit=1").json
    assert [row["key"] for row in body["rows"]] == ["key-1"]  # Sonnet's key: the larger bill
    assert body["keyCount"] == 2 and body["rowsCut"]
    assert body["total"]["requests"] == 3 and body["total"]["cost"]["total"] == pytest.approx(SONNET_COST + HAIKU_OLD_COST)
    whole = client.get(f"/api/stats/costs?by=key&start={DAY}&end=2026-11-11").json
    assert whole["keyCount"] == len(whole["rows"]) == 2 and not whole["rowsCut"]

def test_routing_provider_prices_and_prices_path_reprice_history(make_app, tmp_path):
    routing = parse_routing_config("providers:\n  local:\n    kind: openai\n    base_url: http://127.0.0.1:9/v1\n"
                                   "    prices:\n      qwen3-coder-30b: {input: 0.2, output: 0.8}\n", {})
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  claude-sonnet-4-5:\n    - {from: 2025-09-29, input: 6, output: 30}\n")
    book_only = make_app().test_client()
    seed()
    before = book_only.get(f"/api/stats?start_date={DAY}&end_date={DAY}").json["total_cost"]
    after = make_app(prices=load_price_book(str(path)), routing=routing).test_client().get(
        f"/api/stats?start_date={DAY}&end_date={DAY}").json["total_cost"]
    assert before["total"] == pytest.approx(SONNET_COST + HAIKU_OLD_COST) and not before["priced"]
    # Sonnet at twice the price (cache prices at the default ratios of the new input price), the local model priced.
    assert after["total"] == pytest.approx(2 * (SONNET_COST - 0.02) + 0.02 + HAIKU_OLD_COST + 0.2 + 0.08)
    assert after["priced"]


@pytest.mark.parametrize("path", ["/api/stats/costs", "/api/stats/costs?by=colour",
                                  "/api/stats/costs?by=model&start=soon", "/api/stats/costs?by=key&org=nobody",
                                  "/api/stats/costs?by=key&limit=0", "/api/stats/costs?by=key&limit=1001"])
def test_bad_breakdown_input_is_a_400_error_response(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert set(response.json) == {"error", "details"} and response.json["details"]
