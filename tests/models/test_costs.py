"""Costs summed in SQL per like-priced group equal the sum of each record priced alone, to the cent."""
import datetime

import peewee
import pytest

import models
from models.costs import cost_of, spend_by, totals
from models.price_book import load_price_book, parse_price_book
from models.pricing import Pricing
from models.queries import filtered_requests
from models.request_log import RequestLog
from tests.records import log_row
from tests.sql_plans import query_plan, statements

JUNE = int(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.timezone.utc).timestamp() * 1000)
DAY = 86_400_000
CUT = parse_price_book("models:\n  claude-haiku-4-5:\n    - {from: 2025-10-15, input: 1, output: 5}\n"
                       "    - {from: 2026-06-02, input: 0.5, output: 5}\n")


def seed():
    rows = [
        # Sonnet 4.5 under and over its 200K tier (cache tokens decide), with a 1h/5m split.
        log_row("s-under", timestamp_ms=JUNE, routed_model="claude-sonnet-4-5-20250929", input_tokens=10,
                cache_read_input_tokens=190_000, cache_creation_input_tokens=9_990, cache_write_5m_tokens=0,
                cache_write_1h_tokens=9_990, output_tokens=1_000),
        log_row("s-over", timestamp_ms=JUNE + 1, routed_model="claude-sonnet-4-5", input_tokens=10,
                cache_read_input_tokens=190_000, cache_creation_input_tokens=9_991, cache_write_5m_tokens=0,
                cache_write_1h_tokens=9_991, output_tokens=1_000),
        # An old row without the split: 8,000 writes at the 5-minute rate, estimated.
        log_row("h-old", timestamp_ms=JUNE, routed_model="claude-haiku-4-5", input_tokens=100, output_tokens=10,
                cache_creation_input_tokens=8_000),
        # Haiku the day after its (made-up) price cut, with 3 web searches.
        log_row("h-cut", timestamp_ms=JUNE + DAY, routed_model="claude-haiku-4-5", input_tokens=1_000_000,
                web_search_requests=3, response_time_ms=1000),
        # Opus 4.6 in the US, and fast.
        log_row("o-us", timestamp_ms=JUNE, routed_model="claude-opus-4-6", input_tokens=1_000, output_tokens=1_000,
                inference_geo="us", response_time_ms=200),
        log_row("o-fast", timestamp_ms=JUNE, routed_model="claude-opus-4-6", input_tokens=1_000, output_tokens=1_000,
                speed="fast"),
        # A model nobody priced, and a request with an advisor iteration.
        log_row("x", timestamp_ms=JUNE, routed_model="local-llm", provider="local", input_tokens=500),
        log_row("it", timestamp_ms=JUNE, routed_model="claude-sonnet-4-5", input_tokens=1_000, output_tokens=100,
                iteration_count=2, response_time_ms=50,
                iterations='[{"model":null,"input":1000,"output":100},{"model":"claude-opus-4-6","input":2000,'
                           '"output":300,"cache_write_1h":1000}]'),
    ]
    models.save_records(rows, [])


def test_grouped_costs_equal_the_hand_computed_sum(migrated):
    seed()
    pricing = Pricing(load_price_book().overridden_by(CUT))
    [(key, spend)] = totals(spend_by(filtered_requests(), pricing), by=None).items()
    total = spend.cost
    assert (spend.tokens.input, spend.tokens.cache_write_1h, spend.tokens.estimated_writes) == (
        1_003_620, 19_981, 8_000)
    assert (spend.time_sum_ms, spend.timed) == (1250, 3), "plain, special and itemised rows' response times"
    expected = {
        "s-under": 0.00003 + 0.057 + 0.05994 + 0.015,
        "s-over": 0.00006 + 0.114 + 0.119892 + 0.0225,
        "h-old": 0.0001 + 0.00005 + 0.01,
        "h-cut": 0.50 + 0.03,
        "o-us": 0.03 * 1.1,
        "o-fast": 0.18,
        "it": 0.003 + 0.0015 + 0.01 + 0.0075 + 0.01,
    }
    assert key is None
    assert total.total == pytest.approx(sum(expected.values()))
    assert round(total.total, 2) == round(sum(expected.values()), 2)
    assert (total.requests, total.unpriced_requests, total.unpriced_tokens) == (8, 1, 500)
    assert (total.estimated_requests, total.long_context_requests) == (1, 1)
    assert total.unpriced_models == {"local-llm"}
    for row in RequestLog.select():
        alone = cost_of(row, pricing)
        assert alone.total == pytest.approx(expected.get(row.id, 0.0)), row.id


def test_costs_per_key_and_repricing_history_with_another_book(migrated):
    seed()
    day = (RequestLog.timestamp_ms >= JUNE + DAY).alias("c_key")
    by_day = totals(spend_by(filtered_requests(), Pricing(load_price_book()), key=day))
    assert by_day[True].cost.total == pytest.approx(1.00 + 0.03), "the repository book has no cut"
    cheaper = Pricing(load_price_book().overridden_by(CUT))
    assert totals(spend_by(filtered_requests(), cheaper, key=day))[True].cost.total == pytest.approx(0.53)
    speeds = totals(spend_by(filtered_requests(exact_model="claude-opus-4-6"), cheaper,
                             key=peewee.fn.COALESCE(RequestLog.speed, "standard").alias("c_key")))
    assert {k: round(v.cost.total, 4) for k, v in speeds.items()} == {"fast": 0.18, "standard": 0.033}
    per_model = totals(spend_by(filtered_requests(), cheaper), by="model")
    assert per_model["claude-sonnet-4-5"].cost.requests == 2 and per_model["claude-sonnet-4-5-20250929"].cost.requests == 1
    assert per_model["local-llm"].tokens.input == 500 and not per_model["local-llm"].cost.priced


@pytest.mark.sqlite_only
def test_a_cost_total_reads_index_entries_only(migrated):
    # The dashboard's budget holds only while no table row is visited (schema step 7's indexes).
    models.save_records([log_row("plain", timestamp_ms=JUNE - 1, routed_model="claude-opus-4-6", input_tokens=1)], [])
    with statements(migrated) as captured:
        spend_by(filtered_requests(start_ms=0, end_ms=JUNE), Pricing(load_price_book()))
        assert len(captured) == 1  # no row a factor, provider or iterations apply to: one pass
        models.save_records([log_row("us", timestamp_ms=JUNE - 1, routed_model="claude-opus-4-6",
                                     inference_geo="us", input_tokens=1, organization_id="org-1")], [])
        spend_by(filtered_requests(start_ms=0, end_ms=JUNE), Pricing(load_price_book()))
        spend_by(filtered_requests(start_ms=0, end_ms=JUNE, org="org-1"), Pricing(load_price_book()))
    grouped = [(sql, params) for sql, params in captured if "GROUP BY" in sql]
    assert len(grouped) == 5
    for sql, params in grouped:
        plan = query_plan(migrated, sql, params)
        assert "COVERING INDEX request_log_time_spender" in plan or "COVERING INDEX request_log_org_time_spender" in plan, plan


@pytest.mark.sqlite_only
@pytest.mark.parametrize("org", [None, "org-1"])
@pytest.mark.parametrize("key", [RequestLog.session_id, RequestLog.api_key_fingerprint, RequestLog.organization_id])
def test_a_breakdown_by_who_spent_reads_index_entries_only(migrated, key, org):
    # Per session, key or organization over a week: schema step 9 put those columns in the covering indexes.
    models.save_records([log_row("s", timestamp_ms=JUNE - 1, routed_model="claude-opus-4-6", input_tokens=1,
                                 session_id="s-1", api_key_fingerprint="k-1", organization_id="org-1")], [])
    with statements(migrated) as captured:
        spent = totals(spend_by(filtered_requests(start_ms=0, end_ms=JUNE, org=org), Pricing(load_price_book()),
                                key=key.alias("c_key")))
    assert list(spent) == [{"session_id": "s-1", "api_key_fingerprint": "k-1", "organization_id": "org-1"}[key.name]]
    [(sql, params)] = [(sql, params) for sql, params in captured if "GROUP BY" in sql]
    plan = query_plan(migrated, sql, params)
    assert "COVERING INDEX request_log_time_spender" in plan or "COVERING INDEX request_log_org_time_spender" in plan, plan


def test_a_group_shared_by_plain_and_special_requests_is_split_exactly(migrated):
    # The plain rows' sums are the shared pass's minus the special rows': each priced as if alone.
    seed()
    models.save_records([
        log_row("o-plain", timestamp_ms=JUNE, routed_model="claude-opus-4-6", input_tokens=7_000, output_tokens=300,
                cache_creation_input_tokens=2_000),
        log_row("s-plain", timestamp_ms=JUNE, routed_model="claude-sonnet-4-5", input_tokens=3, output_tokens=5),
    ], [])
    pricing = Pricing(load_price_book().overridden_by(CUT))
    per_model = totals(spend_by(filtered_requests(), pricing), by="model")
    alone: dict = {}
    for row in RequestLog.select():
        model = row.routed_model or row.original_model
        cost = cost_of(row, pricing)
        alone[model] = alone[model] + cost if model in alone else cost
    assert set(per_model) == set(alone)
    for model, spend in per_model.items():
        assert round(spend.cost.total, 6) == round(alone[model].total, 6), model
        assert (spend.cost.requests, spend.cost.estimated_requests, spend.cost.unpriced_requests) == (
            alone[model].requests, alone[model].estimated_requests, alone[model].unpriced_requests), model
