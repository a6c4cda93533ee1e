"""GET /api/prices: the book in force, PRICES_PATH's rows over the repository's, the providers' own prices."""
from openapi_spec_validator import validate

from models.price_book import load_price_book
from proxy.routing.config import parse_routing_config


def test_the_repository_book_is_served_with_its_dates_and_tiers(client):
    body = client.get("/api/prices").get_json()
    sonnet = next(model for model in body["models"] if model["family"] == "claude-sonnet-4-5")
    [row] = sonnet["rows"]
    assert row["from"] == "2025-09-29"
    assert (row["input"], row["output"], row["cacheRead"], row["cacheWrite5m"], row["cacheWrite1h"]) == (
        3.0, 15.0, 0.3, 3.75, 6.0)
    assert row["longContext"] == {"above": 200000, "input": 6.0, "output": 22.5, "cacheRead": 0.6,
                                  "cacheWrite5m": 7.5, "cacheWrite1h": 12.0}
    opus = next(model for model in body["models"] if model["family"] == "claude-opus-4-6")["rows"][0]
    assert (opus["inferenceGeo"], opus["fast"]) == ({"us": 1.1}, 6.0)
    assert next(m for m in body["models"] if m["family"] == "claude-opus-4")["aliases"] == ["claude-opus-4-0"]
    assert (body["webSearchPer1000"], body["batchMultiplier"], body["providers"]) == (10.0, 0.5, [])
    assert body["sources"][0].endswith("models/prices.yaml")


def test_prices_path_and_the_routing_providers_prices_are_what_is_served(make_app, tmp_path):
    path = tmp_path / "team-prices.yaml"
    path.write_text("models:\n  claude-sonnet-4-5:\n    - {from: 2025-09-29, input: 2.5, output: 12}\n"
                    "    - {from: 2026-07-01, input: 2, output: 10, cache_read: 0.1}\n")
    routing = parse_routing_config("providers:\n  local:\n    kind: openai\n    base_url: http://127.0.0.1:9/v1\n"
                                   "    prices:\n      qwen3-coder-30b: {input: 0.2, output: 0.8}\n", {})
    app = make_app(prices=load_price_book(str(path)), routing=routing)
    body = app.test_client().get("/api/prices").get_json()
    rows = next(model for model in body["models"] if model["family"] == "claude-sonnet-4-5")["rows"]
    assert [(row["from"], row["input"], row["cacheRead"]) for row in rows] == [
        ("2025-09-29", 2.5, 0.25), ("2026-07-01", 2.0, 0.1)]
    assert body["sources"][-1] == str(path)
    [local] = body["providers"]
    assert (local["provider"], local["kind"]) == ("local", "openai")
    assert local["models"] == [{"model": "qwen3-coder-30b", "input": 0.2, "output": 0.8, "cacheRead": 0.02,
                                "cacheWrite5m": 0.25, "cacheWrite1h": 0.4}]


def test_the_spec_documents_the_prices_endpoint_and_its_shape(client):
    spec = client.get("/openapi.json").get_json()
    validate(spec)
    operation = spec["paths"]["/api/prices"]["get"]
    assert operation["operationId"] == "getPrices"
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PriceBook")
    schema = spec["components"]["schemas"]["PriceBook"]["properties"]
    assert {"sources", "webSearchPer1000", "batchMultiplier", "models", "providers"} <= set(schema)
    assert {"input", "output", "cacheRead", "cacheWrite5m", "cacheWrite1h"} <= set(
        spec["components"]["schemas"]["PriceRates"]["properties"])
