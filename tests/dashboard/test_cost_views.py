"""Cost in Chromium: the requests' Cost column and export, Usage's cost cards and tokens/cost toggle, the
request's cost card, the Cache view's breaks and the Rate-limits view's "what used this window"."""
import json
import time

import models
from tests.dashboard.conftest import until
from tests.dashboard.seed import DAY, at
from tests.records import body_row, log_row

# Sonnet 4.5 with a 1h/5m split: $0.0588 (see tests/models/test_pricing.py).
SONNET = dict(original_model="claude-sonnet-4-5", routed_model="claude-sonnet-4-5-20250929", status_code=200,
              input_tokens=100, output_tokens=500, cache_creation_input_tokens=10_000, cache_write_5m_tokens=4_000,
              cache_write_1h_tokens=6_000, response_time_ms=900, organization_id="org-alpha", session_id="sess-c")


def seed_costs():
    models.save_records([
        log_row("cost00000001", timestamp_ms=at(DAY, 9), **SONNET),
        log_row("cost00000002", timestamp_ms=at(DAY, 10), original_model="qwen3-coder", routed_model="qwen3-coder",
                provider="local", status_code=200, input_tokens=1000, output_tokens=10, organization_id="org-alpha"),
    ], [])


def test_request_rows_show_their_cost_and_the_export_carries_it(page, screenshot):
    seed_costs()
    page.goto(f"/#/requests?day={DAY}")
    page.wait_for_selector(".row[data-id='cost00000001']")
    cells = dict(zip(page.locator(".row.head span").all_text_contents(),
                     page.locator(".row[data-id='cost00000001'] > span").all_text_contents()))
    assert cells["Cost"] == "$0.0588"
    assert page.locator(".row[data-id='cost00000002'] .cost").text_content() == "unpriced"
    assert "no price" in page.locator(".row[data-id='cost00000002'] .cost").get_attribute("title")
    rows = page.evaluate("""async () => { const { toCSV } = await import('/assets/js/export.js');
        const r = await fetch('/api/requests/summary?limit=0'); return toCSV((await r.json()).requests); }""")
    header, *lines = rows.strip().split("\r\n")
    column = header.split(",").index("costUsd")
    assert sorted(line.split(",")[column] for line in lines) == ["0", "0.0588"]
    page.click(".row[data-id='cost00000001']")
    page.wait_for_selector(".stat-cards.cost")
    costs = dict(zip(page.locator(".stat-cards.cost .label").all_text_contents(),
                     page.locator(".stat-cards.cost .value").all_text_contents()))
    assert (costs["Total"], costs["1-hour writes"], costs["5-min writes"]) == ("$0.0588", "$0.0360", "$0.0150")
    screenshot(page, "request-cost")


def test_usage_shows_cost_and_toggles_the_week_chart_to_dollars(page, screenshot):
    seed_costs()
    page.goto(f"/#/usage?day={DAY}")
    until(page, "document.querySelectorAll('.chart[data-drawn]').length === 2")
    stats = dict(zip(page.locator(".stat .label").all_text_contents(), page.locator(".stat .value").all_text_contents()))
    assert stats["Cost (7 days)"] == "$0.0588 + unpriced"
    assert "qwen3-coder" in page.locator(".stat", has=page.locator(".label:text('Cost (7 days)')")).get_attribute("title")
    assert "$0.0588" in page.locator("table.data tbody").text_content()
    page.click(".toggle button:text('Cost')")
    # The toggle draws the view again: until the new week chart is drawn, the old one (tokens) or
    # none at all may be in the page, so the chart's sum is polled until it is the week's dollars.
    until(page, """location.hash.includes('metric=cost') && (() => {
        const chart = Chart.getChart(document.querySelector('.chart canvas'));
        return chart && Math.round(chart.data.datasets.flatMap(d => d.data).reduce((a, b) => a + b, 0) * 1e4) === 588;
    })()""")
    assert page.locator(".toggle button[aria-pressed='true']").text_content() == "Cost"
    screenshot(page, "usage-cost")


def test_the_cache_view_lists_a_break_with_its_cause_and_cost(page, screenshot):
    now = int(time.time() * 1000)
    rows, bodies = [], []
    for rid, minutes_ago, read, write in (("cb1", 30, 0, 30_000), ("cb2", 28, 30_000, 0), ("cb3", 20, 0, 30_500)):
        rows.append(log_row(rid, timestamp_ms=now - minutes_ago * 60_000, session_id="sess-cache", status_code=200,
                            original_model="claude-sonnet-4-5", routed_model="claude-sonnet-4-5", input_tokens=10,
                            output_tokens=100, cache_read_input_tokens=read, cache_creation_input_tokens=write,
                            cache_write_5m_tokens=write, cache_write_1h_tokens=0))
        bodies.append(body_row(rid, request_body=json.dumps({"system": "s", "tools": []})))
    models.save_records(rows, bodies)
    page.goto("/#/cache")
    page.wait_for_selector("table.cache-breaks")
    [cells] = [row.locator("td").all_text_contents() for row in page.locator("table.cache-breaks tbody tr").all()]
    assert cells[3] == "idle longer than the 5-minute cache" and cells[4] == "8 min"
    assert cells[6] == "$0.1035", "30,000 tokens re-written at $3.75 instead of read at $0.30"
    model_row = page.locator("table.cache-health").first.locator("tbody tr").first.locator("td").all_text_contents()
    assert model_row[0] == "claude-sonnet-4-5" and model_row[2] == "33.1%"
    assert page.locator(".tabs a[aria-current='page']").text_content() == "Cache"
    screenshot(page, "cache")


def test_the_rate_limits_view_says_what_used_the_window_and_when_it_fills(page, screenshot):
    now = int(time.time())
    reset = str(now + 2 * 3600)
    models.save_records([
        log_row("ru1", organization_id="org-alpha", timestamp_ms=(now - 50 * 60) * 1000, ttfb_ms=500,
                completed_at_ms=(now - 49 * 60) * 1000, unified_5h_utilization=0.40, unified_5h_reset=reset,
                session_id="aaaaaaaa-1", routed_model="claude-opus-4-6"),
        log_row("ru2", organization_id="org-alpha", timestamp_ms=(now - 20 * 60) * 1000, ttfb_ms=500,
                completed_at_ms=(now - 19 * 60) * 1000, unified_5h_utilization=0.70, unified_5h_reset=reset,
                session_id="bbbbbbbb-2", routed_model="claude-opus-4-6"),
    ], [])
    page.goto("/#/ratelimits")
    usage = page.locator("section.window-usage[data-window='5h']")
    usage.wait_for()
    sessions = usage.locator("table.shares").first.locator("tbody tr").all()
    assert [row.locator("td").all_text_contents()[:2] for row in sessions] == [["aaaaaaaa", "40.0%"], ["bbbbbbbb", "30.0%"]]
    forecast = usage.locator(".forecast").text_content()
    assert "reaches 100%" in forecast and forecast.endswith("before its reset.")
    screenshot(page, "ratelimits-usage")


def test_a_session_shows_its_cost_and_its_cache_breaks(page, config):
    from tests.transcripts import T0, SessionWriter, usage

    writer = SessionWriter(config.claude_projects_dir, "/home/ada/shop", "sess-paid", T0)
    writer.prompt("Refactor")
    writer.assistant({"type": "text", "text": "Done."}, tokens={**usage(1_000, 2_000, 100_000, 10_000), "cache_creation": {
        "ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 10_000}})
    writer.write()
    now = int(time.time() * 1000)
    models.save_records([log_row(rid, timestamp_ms=now - minutes * 60_000, session_id="sess-paid", status_code=200,
                                 original_model="claude-sonnet-4-5", routed_model="claude-sonnet-4-5", input_tokens=10,
                                 cache_read_input_tokens=read, cache_creation_input_tokens=write,
                                 cache_write_5m_tokens=write, cache_write_1h_tokens=0)
                         for rid, minutes, read, write in (("p1", 30, 0, 30_000), ("p2", 20, 0, 30_500))], [])
    page.goto("/#/conversations?project=-home-ada-shop&session=sess-paid")
    page.wait_for_selector(".session-cost")
    # Opus 4.5: 1,000 x $5 + 2,000 x $25 + 100,000 x $0.50 + 10,000 x $10 per million.
    assert page.text_content(".session-cost").startswith("$0.2050 in all")
    assert "idle gap 5m" in page.text_content("ul.cache-breaks")
