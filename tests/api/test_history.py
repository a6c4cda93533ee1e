"""Request history: pages, filters, summaries, lookup by id or suffix, clearing."""
import json

import pytest

import models
from models.bounded_json import MAX_DEPTH
from tests.nesting import DEPTHS, arrays, objects
from tests.records import body_row, log_row

T0 = 1_795_000_000_000  # 2026-11-18T11:06:40Z, in ms


def seed(rows, bodies=()):
    models.save_records(rows, list(bodies))


def test_list_is_newest_first_and_paged_by_the_database(client):
    seed([log_row(f"id{n:04d}", timestamp_ms=T0 + n * 1000) for n in range(25)])
    first = client.get("/api/requests?page=1&limit=10").json
    third = client.get("/api/requests?page=3&limit=10").json
    assert first["total"] == 25
    assert [r["requestId"] for r in first["requests"]][:2] == ["id0024", "id0023"]
    assert [r["requestId"] for r in third["requests"]] == [f"id{n:04d}" for n in range(4, -1, -1)]


def test_model_filter_is_a_case_insensitive_substring_of_either_model(client):
    seed([log_row("a", original_model="claude-opus-4-1", routed_model="claude-opus-4-1"),
          log_row("b", original_model="claude-haiku-4-5", routed_model="gpt-5-mini"),
          log_row("c", original_model="claude_sonnet", routed_model="claude_sonnet")])
    ids = lambda q: sorted(r["requestId"] for r in client.get(f"/api/requests?model={q}").json["requests"])
    assert ids("OPUS") == ["a"]
    assert ids("gpt") == ["b"]
    assert ids("all") == ["a", "b", "c"]
    assert ids("_") == ["c"], "LIKE wildcards in the filter are literal"
    assert client.get("/api/requests/summary?model=a%00b").status_code == 400


def test_request_log_shape_follows_the_contract(client):
    seed([log_row("abc123", status_code=200, response_time_ms=900, organization_id="org-1",
                  unified_5h_utilization=0.5, is_streaming=True, completed_at_ms=T0 + 900, timestamp_ms=T0)])
    row = client.get("/api/requests").json["requests"][0]
    for key in ("requestId", "timestamp", "method", "endpoint", "model", "originalModel", "routedModel",
                "userAgent", "contentType", "conversationHash", "messageCount", "organizationId", "response"):
        assert key in row
    assert row["timestamp"] == "2026-11-18T11:06:40.000Z"
    response = row["response"]
    assert (response["statusCode"], response["responseTime"], response["isStreaming"]) == (200, 900, True)
    assert response["rateLimit"]["unifiedUtilization5h"] == 0.5
    assert response["rateLimit"]["organizationId"] == "org-1"


def test_summary_filters_by_time_range_with_offset_and_limit(client):
    seed([log_row(f"s{n}", timestamp_ms=T0 + n * 60_000) for n in range(10)])
    start, end = "2026-11-18T11:08:40Z", "2026-11-18T11:13:40Z"  # minutes 2..6
    body = client.get(f"/api/requests/summary?start={start}&end={end}&offset=1&limit=2").json
    assert body["total"] == 5
    assert (body["offset"], body["limit"]) == (1, 2)
    assert [r["requestId"] for r in body["requests"]] == ["s5", "s4"]
    everything = client.get("/api/requests/summary?limit=0").json
    assert len(everything["requests"]) == 10
    assert set(everything["requests"][0]["usage"]) >= {"input_tokens", "output_tokens"}


def test_latest_date(client):
    assert client.get("/api/requests/latest-date").json == {"latestDate": None}
    seed([log_row("x", timestamp_ms=T0), log_row("y", timestamp_ms=T0 + 5000)])
    assert client.get("/api/requests/latest-date").json == {"latestDate": "2026-11-18T11:06:45.000Z"}


def test_one_request_by_full_id_or_unique_suffix_with_bodies(client):
    seed([log_row("aaaa1111"), log_row("bbbb2222"), log_row("cccc2222")],
         [body_row("aaaa1111", request_body='{"model": "m"}', response_body="event: ping\n\n")])
    full = client.get("/api/requests/aaaa1111").json
    assert full["fullId"] == "aaaa1111"
    assert full["request"]["body"] == {"model": "m"}
    assert full["request"]["response"]["body"] == "event: ping\n\n"
    assert client.get("/api/requests/1111").json["fullId"] == "aaaa1111"
    assert client.get("/api/requests/b2222").json["fullId"] == "bbbb2222"
    assert client.get("/api/requests/2222").status_code == 400
    missing = client.get("/api/requests/zzzz")
    assert missing.status_code == 404
    assert set(missing.json) == {"error", "details"}
    assert client.get("/api/requests/a%25").status_code == 400


def test_delete_clears_everything(client):
    seed([log_row("a"), log_row("b")], [body_row("a")])
    assert client.delete("/api/requests").json == {"message": "Deleted 2 requests", "deleted": 2}
    assert client.get("/api/requests").json == {"requests": [], "total": 0}
    assert models.RequestBody.select().count() == 0


def test_bad_paging_is_a_400(client):
    for query in ("page=0", "page=x", "limit=-1", "limit=100000", "offset=-5"):
        path = "/api/requests/summary?" if "offset" in query else "/api/requests?"
        response = client.get(path + query)
        assert response.status_code == 400, query
        assert set(response.json) == {"error", "details"}


def test_summary_filters_by_exact_model_organization_and_status_class(client):
    seed([log_row("ok1", original_model="claude-opus-4", routed_model="claude-opus-4", status_code=200,
                  organization_id="org-a"),
          log_row("ok2", original_model="claude-opus-4-1", routed_model="claude-opus-4-1", status_code=201,
                  organization_id="org-b"),
          log_row("bad", original_model="claude-haiku", routed_model="claude-opus-4", status_code=429,
                  organization_id="org-a"),
          log_row("run", status_code=None, outcome="in_flight", organization_id="org-a")])
    ids = lambda q: sorted(r["requestId"] for r in client.get(f"/api/requests/summary?{q}").json["requests"])
    assert ids("exact_model=claude-opus-4") == ["bad", "ok1"], "routed or requested, never a longer name"
    assert ids("model=opus") == ["bad", "ok1", "ok2"]
    assert ids("org=org-a") == ["bad", "ok1", "run"]
    assert ids("status=2xx") == ["ok1", "ok2"]
    assert ids("status=4xx&org=org-a") == ["bad"]
    assert ids("status=in_flight") == ["run"]
    assert client.get("/api/requests/summary?status=2xx").json["total"] == 2
    row = client.get("/api/requests/summary?exact_model=claude-haiku").json["requests"][0]
    assert (row["originalModel"], row["routedModel"]) == ("claude-haiku", "claude-opus-4")


def test_summary_refuses_an_unknown_status_class_or_organization(client):
    for query in ("status=6xx", "status=ok", "org=nobody"):
        response = client.get(f"/api/requests/summary?{query}")
        assert response.status_code == 400, query
        assert set(response.json) == {"error", "details"}


def test_summary_total_is_exact_whether_or_not_the_page_ends_short(client):
    seed([log_row(f"t{n:02d}", timestamp_ms=T0 + n * 1000, status_code=200 if n % 3 else 500) for n in range(30)])
    for query, total, count in (("limit=5", 30, 5), ("limit=50", 30, 30), ("offset=28&limit=5", 30, 2),
                                ("offset=40&limit=5", 30, 0), ("status=5xx&limit=4", 10, 4),
                                ("status=5xx&limit=20", 10, 10), ("status=4xx&limit=5", 0, 0), ("limit=0", 30, 30)):
        body = client.get(f"/api/requests/summary?{query}").json
        assert (body["total"], len(body["requests"])) == (total, count), query

def test_a_nul_in_the_model_filter_is_a_400(client):
    response = client.get("/api/requests?model=a%00b")
    assert response.status_code == 400
    assert response.get_json()["error"] == "Invalid model"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, *DEPTHS])
def test_stored_json_nested_too_deep_comes_back_as_its_text(client, depth):
    deep_lists, deep_objects = arrays(depth), objects(depth)
    seed([log_row("deep1"), log_row("fine2")],
         [body_row("deep1", request_headers=deep_objects, request_body=deep_lists, response_headers=deep_lists,
                   response_body=deep_objects, response_message=deep_lists),
          body_row("fine2", request_body=arrays(MAX_DEPTH), response_message='{"type": "message"}')])
    response = client.get("/api/requests/deep1")
    assert response.status_code == 200
    request = response.json["request"]
    assert (request["headers"], request["body"]) == (deep_objects, deep_lists)
    assert (request["response"]["headers"], request["response"]["body"], request["response"]["message"]) == (
        deep_lists, deep_objects, deep_lists)
    fine = client.get("/api/requests/fine2").json["request"]
    assert (fine["body"], fine["response"]["message"]) == (json.loads(arrays(MAX_DEPTH)), {"type": "message"})
