"""Hand-computed costs for every pricing trap: cache writes, tiers, ids, dates, multipliers, providers."""
import dataclasses
import datetime

import pytest

from models.price_book import Rates, PriceRow, load_price_book, parse_price_book
from models.pricing import COST_KINDS, Charge, Cost, Pricing, ProviderPrices, Tokens

BOOK = load_price_book()  # the repository's book
PRICING = Pricing(BOOK)
DAY_2026 = int(datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)

# Models made up to set each trap apart from today's real prices.
TRAPS = parse_price_book("""
models:
  claude-sonnet-5:
    - from: 2027-01-01
      input: 2.00
      output: 10.00
  claude-sonnet-5-5:
    - from: 2027-01-01
      input: 4.00
      output: 20.00
      cache_read: 0.20
      long_context: {above: 100000, input: 8.00, output: 30.00, cache_read: 0.40}
  claude-cut:
    - from: 2027-01-01
      input: 1.00
      output: 5.00
      cache_read: 0.10
    - from: 2027-03-01
      input: 1.00
      output: 5.00
      cache_read: 0.03
""", source="traps.yaml")
TRAP_PRICING = Pricing(BOOK.overridden_by(TRAPS))
JAN_2027 = int(datetime.datetime(2027, 1, 15, tzinfo=datetime.timezone.utc).timestamp() * 1000)
APR_2027 = int(datetime.datetime(2027, 4, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)


def cost(model, at_ms=DAY_2026, pricing=PRICING, **kinds):
    extra = {key: kinds.pop(key) for key in ("provider", "inference_geo", "speed", "service_tier", "iterations")
             if key in kinds}
    return pricing.cost(Tokens(**kinds), Charge(model, at_ms, **extra))


def test_a_one_hour_write_costs_twice_input_and_a_five_minute_one_a_quarter_more():
    # Opus 4.5: input $5/M -> 1h write $10/M, 5m write $6.25/M.
    one_hour = cost("claude-opus-4-5", cache_write_1h=10_000)
    assert one_hour.cache_write_1h == pytest.approx(0.10)
    assert cost("claude-opus-4-5", cache_write_5m=10_000).total == pytest.approx(0.0625)


def test_a_mixed_write_prices_each_part_at_its_own_rate():
    # Sonnet 4.5: 100 x $3 + 500 x $15 + 4,000 x $3.75 + 6,000 x $6, per million.
    result = cost("claude-sonnet-4-5", input=100, output=500, cache_write_5m=4_000, cache_write_1h=6_000)
    assert (result.input, result.output) == pytest.approx((0.0003, 0.0075))
    assert (result.cache_write_5m, result.cache_write_1h) == pytest.approx((0.015, 0.036))
    assert result.total == pytest.approx(0.0588)
    assert result.priced and not result.estimated_requests
    assert result.cache_savings == 0


def test_what_cache_reads_saved_is_their_input_price_less_theirs_at_the_same_tier():
    assert cost("claude-sonnet-4-5", cache_read=100_000).cache_savings == pytest.approx(0.30 - 0.03)
    over = cost("claude-sonnet-4-5", input=1, cache_read=200_000)  # above 200K: $6 and $0.60
    assert over.cache_savings == pytest.approx(200_000 * (6 - 0.6) / 1e6)


def test_the_long_context_tier_counts_cache_tokens_and_then_covers_every_token():
    under = cost("claude-sonnet-4-5", input=10, cache_read=190_000, cache_write_1h=9_990, output=1_000)
    # prompt 200,000: not above the threshold, base rates.
    assert under.total == pytest.approx(0.00003 + 0.057 + 0.05994 + 0.015)
    assert under.long_context_requests == 0
    over = cost("claude-sonnet-4-5", input=10, cache_read=190_000, cache_write_1h=9_991, output=1_000)
    # prompt 200,001: $6 input, $0.60 read, $12 1h write and $22.50 output, for all of it.
    assert over.total == pytest.approx(0.00006 + 0.114 + 0.119892 + 0.0225)
    assert over.long_context_requests == 1


def test_a_model_with_a_100k_threshold_and_a_group_priced_by_its_prompt_bucket():
    result = cost("claude-sonnet-5-5", JAN_2027, TRAP_PRICING, input=60_000, cache_read=40_001, output=100)
    assert result.total == pytest.approx(60_000 * 8 / 1e6 + 40_001 * 0.40 / 1e6 + 100 * 30 / 1e6)
    # Two requests under the threshold whose sum is above it stay at base rates (the group's bucket says so).
    group = TRAP_PRICING.cost(Tokens(input=150_000), Charge("claude-sonnet-5-5", JAN_2027), requests=2, prompt=75_000)
    assert group.total == pytest.approx(0.6) and group.requests == 2


@pytest.mark.parametrize("model_id", [
    "claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "claude-sonnet-4-5[1m]", "Claude-Sonnet-4-5-20250929[1M]",
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5@20250929",
    "projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929",
    "claude-sonnet-4.5", "claude-sonnet-4-5-latest"])
def test_dated_ids_aliases_1m_and_platform_affixes_name_the_same_family(model_id):
    assert BOOK.family_of(model_id) == "claude-sonnet-4-5"
    assert cost(model_id, input=100_000).total == pytest.approx(0.30)


def test_an_alias_of_a_dot_zero_model_and_a_newer_version_that_must_stay_unpriced():
    assert BOOK.family_of("claude-opus-4-0") == "claude-opus-4"
    assert BOOK.family_of("claude-opus-4-20250514") == "claude-opus-4"
    assert cost("claude-opus-4-0", output=1_000_000).total == pytest.approx(75.0)
    assert BOOK.family_of("claude-sonnet-4-7") is None, "a newer version never takes an older one's prices"


def test_the_longest_family_wins_whatever_the_order_of_the_book():
    assert TRAP_PRICING.book.family_of("claude-sonnet-5-5-20270301") == "claude-sonnet-5-5"
    assert TRAP_PRICING.book.family_of("claude-sonnet-5-20270101") == "claude-sonnet-5"
    reversed_book = parse_price_book("models:\n  claude-sonnet-5-5:\n    - {from: 2027-01-01, input: 4, output: 20}\n"
                                     "  claude-sonnet-5:\n    - {from: 2027-01-01, input: 2, output: 10}\n")
    assert reversed_book.family_of("claude-sonnet-5-5") == "claude-sonnet-5-5"
    assert cost("claude-sonnet-5-5", JAN_2027, TRAP_PRICING, input=100_000).total == pytest.approx(0.40)


def test_cache_reads_take_the_models_own_ratio_and_a_price_change_applies_from_its_date():
    # claude-sonnet-5-5 reads at 0.05x input; claude-sonnet-5 left its cache prices to the defaults.
    assert cost("claude-sonnet-5-5", JAN_2027, TRAP_PRICING, cache_read=100_000).total == pytest.approx(0.02)
    defaults = cost("claude-sonnet-5", JAN_2027, TRAP_PRICING, cache_read=1_000_000, cache_write_5m=1_000_000,
                    cache_write_1h=1_000_000)
    assert (defaults.cache_read, defaults.cache_write_5m, defaults.cache_write_1h) == pytest.approx((0.2, 2.5, 4.0))
    before = cost("claude-cut", JAN_2027, TRAP_PRICING, cache_read=1_000_000)
    after = cost("claude-cut", APR_2027, TRAP_PRICING, cache_read=1_000_000)
    assert (before.total, after.total) == pytest.approx((0.10, 0.03))


def test_each_multiplier_scales_every_token_price():
    base = dict(input=1_000, output=1_000)
    assert cost("claude-opus-4-6", **base).total == pytest.approx(0.005 + 0.025)
    assert cost("claude-opus-4-6", inference_geo="us", **base).total == pytest.approx((0.005 + 0.025) * 1.1)
    assert cost("claude-opus-4-6", inference_geo="global", **base).total == pytest.approx(0.03)
    assert cost("claude-opus-4-6", speed="fast", **base).total == pytest.approx(0.030 + 0.150)
    assert cost("claude-sonnet-4-5", service_tier="batch", **base).total == pytest.approx((0.003 + 0.015) / 2)
    assert cost("claude-opus-4-5", inference_geo="us", **base).total == pytest.approx(0.03), "no US premium listed"
    unknown_fast = cost("claude-opus-4-5", speed="fast", **base)
    assert not unknown_fast.priced and unknown_fast.unpriced_tokens == 2_000


def test_an_unknown_model_is_unpriced_never_free():
    result = cost("gpt-5-codex", input=1_000, output=200, cache_read=50)
    assert not result.priced
    assert (result.unpriced_requests, result.unpriced_tokens, result.unpriced_models) == (1, 1_250, {"gpt-5-codex"})
    assert cost(None, input=5).unpriced_models == {"unknown"}


def test_a_routed_request_is_priced_by_the_provider_and_model_that_served_it():
    local = PriceRow("qwen3-coder-30b", 0, Rates(0.10, 0.40, 0.01, 0.10, 0.10))
    pricing = Pricing(BOOK, {"local": ProviderPrices("openai", {"qwen3-coder-30b": local}),
                             "bare": ProviderPrices("openai"), "gateway": ProviderPrices("anthropic")})
    assert cost("qwen3-coder-30b", pricing=pricing, provider="local", input=1_000_000, output=1_000_000
                ).total == pytest.approx(0.50)
    assert not cost("qwen3-coder-30b", pricing=pricing, provider="bare", input=10).priced
    assert cost("claude-haiku-4-5", pricing=pricing, provider="gateway", input=1_000_000).total == pytest.approx(1.0)
    assert not cost("claude-haiku-4-5", pricing=pricing, provider="retired", input=10).priced
    assert not cost("claude-haiku-4-5", pricing=pricing, provider="bare", input=10).priced


def test_web_searches_cost_ten_dollars_a_thousand_on_top_of_tokens():
    result = cost("claude-sonnet-4-5", input=1_000, web_searches=3)
    assert (result.web_search, result.total) == pytest.approx((0.03, 0.033))


def test_an_old_row_without_the_split_prices_its_writes_as_five_minute_writes_and_says_estimated():
    tokens = Tokens.of_columns(100, 10, 0, 8_000, None)
    assert (tokens.cache_write_5m, tokens.cache_write_1h, tokens.estimated_writes) == (8_000, 0, 8_000)
    result = PRICING.cost(tokens, Charge("claude-haiku-4-5", DAY_2026))
    assert result.total == pytest.approx(100 * 1 / 1e6 + 10 * 5 / 1e6 + 8_000 * 1.25 / 1e6)
    assert result.estimated_requests == 1
    recorded = Tokens.of_columns(100, 10, 0, 8_000, 6_000, 2_000)
    assert PRICING.cost(recorded, Charge("claude-haiku-4-5", DAY_2026)).estimated_requests == 0


def test_iterations_are_priced_at_their_own_models_rates():
    iterations = ('[{"type":"message","model":null,"input":1000,"output":100,"cache_read":0,'
                  '"cache_write_5m":0,"cache_write_1h":0},{"type":"advisor_message","model":"claude-opus-4-6",'
                  '"input":2000,"output":300,"cache_read":0,"cache_write_5m":0,"cache_write_1h":1000}]')
    result = cost("claude-sonnet-4-5", iterations=iterations, input=1_000, output=100)
    executor = 1_000 * 3 / 1e6 + 100 * 15 / 1e6
    advisor = 2_000 * 5 / 1e6 + 300 * 25 / 1e6 + 1_000 * 10 / 1e6
    assert result.total == pytest.approx(executor + advisor)
    assert result.requests == 1 and result.priced


def test_costs_add_up_over_requests():
    total = cost("claude-haiku-4-5", input=1_000_000) + cost("mystery", input=7) + cost("claude-haiku-4-5", output=10)
    assert (total.requests, total.unpriced_requests, total.unpriced_tokens) == (3, 1, 7)
    assert total.total == pytest.approx(1.0 + 0.00005)


def test_tokens_and_costs_add_up_field_by_field():
    # Their sums are spelled out for speed: every field, including one added later, must be in them.
    tokens = [Tokens(*range(start, start + len(dataclasses.fields(Tokens)))) for start in (1, 100)]
    added = tokens[0] + tokens[1]
    assert [getattr(added, f.name) for f in dataclasses.fields(Tokens)] == [
        getattr(tokens[0], f.name) + getattr(tokens[1], f.name) for f in dataclasses.fields(Tokens)]
    numbers = [f.name for f in dataclasses.fields(Cost) if f.name != "unpriced_models"]
    costs = [Cost(**{name: start + i for i, name in enumerate(numbers)}, unpriced_models=models)
             for start, models in ((1, {"a"}), (1000, {"b"}))]
    summed = costs[0] + costs[1]
    assert {name: getattr(summed, name) for name in numbers} == {
        name: getattr(costs[0], name) + getattr(costs[1], name) for name in numbers}
    assert summed.unpriced_models == {"a", "b"} and costs[0].unpriced_models == {"a"}
    assert summed.total == sum(getattr(summed, kind) for kind in COST_KINDS)


def test_a_usage_count_no_bigint_holds_counts_as_none():
    # A transcript is any file: a 400-digit count must not overflow the pricing of the conversation list.
    tokens = Tokens.of_usage({"input_tokens": 10 ** 400, "output_tokens": 2 ** 63, "cache_read_input_tokens": 7})
    assert (tokens.input, tokens.output, tokens.cache_read) == (0, 0, 7)
    assert Pricing(load_price_book()).cost(tokens, Charge("claude-opus-4-5", 0)).total == pytest.approx(7 * 0.5 / 1e6)
