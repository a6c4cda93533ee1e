"""Cache economics on scripted sessions: hit rate, savings, and breaks with their cause and cost."""
import pytest

from models.cache_economics import Turn, find_breaks, hit_rate, savings
from models.price_book import load_price_book
from models.pricing import Charge, Pricing, Tokens

PRICING = Pricing(load_price_book())
T0 = 1_780_000_000_000  # June 2026
MIN = 60_000
SONNET = "claude-sonnet-4-5"


def turn(rid, minute, model=SONNET, read=0, write_5m=0, write_1h=0, input=10, system="sys-a", tools="tools-a",
         agent=None, provider="anthropic", served=None):
    return Turn(rid, T0 + minute * MIN, model, served or model, provider, agent,
                Tokens(input=input, output=100, cache_read=read, cache_write_5m=write_5m, cache_write_1h=write_1h),
                system, tools)


def causes(turns):
    return [(b.turn.request_id, b.cause) for b in find_breaks(turns, PRICING)]


def test_a_warm_session_has_no_break():
    assert causes([turn("a", 0, write_1h=30_000), turn("b", 1, read=30_000, write_1h=800),
                   turn("c", 50, read=30_800, write_1h=500)]) == []


def test_a_model_switch_in_the_thread_is_the_probable_cause():
    turns = [turn("a", 0, write_1h=30_000), turn("b", 1, read=30_000, write_1h=900),
             turn("h", 2, model="claude-haiku-4-5", write_5m=2_000),
             turn("c", 3, read=0, write_1h=31_000)]
    assert causes(turns) == [("c", "model_or_provider_switched")]
    routed = [turn("a", 0, write_1h=30_000), turn("b", 1, write_1h=30_500, served="claude-haiku-4-5")]
    assert causes(routed) == [("b", "model_or_provider_switched")]


def test_a_six_minute_gap_breaks_a_five_minute_cache_but_not_a_one_hour_one():
    assert causes([turn("a", 0, write_5m=30_000), turn("b", 6, write_5m=30_500)]) == [("b", "idle_gap_5m")]
    assert causes([turn("a", 0, write_1h=30_000), turn("b", 61, write_1h=30_500)]) == [("b", "idle_gap_1h")]
    six_minutes_of_1h = [turn("a", 0, write_1h=30_000), turn("b", 6, write_1h=30_500)]
    assert causes(six_minutes_of_1h) == [("b", "unknown")], "a 1-hour prefix outlives 6 minutes"


def test_a_changed_system_prompt_or_tool_list_is_named():
    assert causes([turn("a", 0, write_1h=30_000), turn("b", 1, write_1h=30_500, system="sys-b")]) == [
        ("b", "system_changed")]
    assert causes([turn("a", 0, write_1h=30_000), turn("b", 1, write_1h=30_500, tools="tools-b")]) == [
        ("b", "tools_changed")]


def test_subagents_keep_their_own_caches_and_small_prompts_are_no_break():
    turns = [turn("m1", 0, write_1h=30_000), turn("s1", 1, agent="explore", write_1h=8_000),
             turn("m2", 2, read=30_000), turn("s2", 3, agent="explore", read=8_000),
             turn("m3", 4, read=0, input=500)]  # a tiny request (a title) caches nothing
    assert causes(turns) == []


def test_a_break_costs_the_rewrite_of_the_lost_prefix_over_reading_it():
    [lost] = find_breaks([turn("a", 0, write_1h=30_000), turn("b", 1, write_1h=31_000, system="sys-b")], PRICING)
    # Paid: 10 input x $3 + 31,000 1h writes x $6 + 100 output x $15 = $0.18753.
    # Warm, it would have read 30,000 ($0.30/M) and written 1,000: 30 + 6,000 + 9,000 + 1,500 -> $0.01653.
    assert lost.lost_tokens == 30_000
    assert lost.cost == pytest.approx(0.18753 - 0.01653)
    [unpriced] = find_breaks([turn("a", 0, model="mystery", write_1h=30_000),
                              turn("b", 7, model="mystery", write_5m=31_000)], PRICING)
    assert unpriced.cost is None and unpriced.cause == "unknown"


def test_hit_rate_and_what_the_reads_saved():
    tokens = Tokens(input=1_000, cache_read=90_000, cache_write_1h=9_000)
    assert hit_rate(tokens) == pytest.approx(0.9)
    assert hit_rate(Tokens()) is None
    # 90,000 reads: $0.27 as input, $0.027 as reads.
    assert savings(PRICING, tokens, Charge(SONNET, T0)) == pytest.approx(0.243)
    assert savings(PRICING, tokens, Charge("mystery", T0)) is None
