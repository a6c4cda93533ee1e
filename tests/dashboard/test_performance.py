"""Measured in Chromium: the first render of a day of 10,000 requests, and the page weight of every view."""
import time

import models
from tests.dashboard.conftest import until
from tests.dashboard.seed import DAY, at, seed_week
from tests.records import log_row

PAGE_WEIGHT_LIMIT = 400 * 1024


def seed_busy_day(count=10_000):
    start = at(DAY, 0)
    step = 86_400_000 // count
    for first in range(0, count, 1000):
        models.save_records([log_row(f"busy{n:06d}", timestamp_ms=start + n * step, status_code=200,
                                     original_model="claude-opus-4-1", routed_model="claude-opus-4-1",
                                     input_tokens=n, output_tokens=50, cache_read_input_tokens=9000,
                                     response_time_ms=1200, ttfb_ms=400, stop_reason="end_turn")
                             for n in range(first, min(first + 1000, count))], [])


def test_first_render_of_a_day_with_10000_requests_is_under_a_second(page, screenshot, capsys):
    seed_busy_day()
    page.goto("/")  # warm: the browser's module cache and the server's first-request set-up
    page.wait_for_selector(".view")
    page.goto("about:blank")
    started = time.monotonic()
    page.goto(f"/#/requests?day={DAY}")
    page.wait_for_selector(".vrows .row[data-id]")
    wall = time.monotonic() - started
    rendered = page.evaluate("performance.getEntriesByName('requests-rendered')[0].startTime")
    assert page.text_content(".count") == "10,000 requests"
    assert page.locator(".vrows .row").count() < 80, "only the rows in view are in the DOM"
    with capsys.disabled():
        print(f"\n[dashboard] first render of 10,000 requests: {rendered:.0f} ms after navigation start "
              f"(test wall clock {wall * 1000:.0f} ms)")
    assert rendered < 1000
    # Scrolling to the end loads the oldest rows on demand.
    page.evaluate("document.querySelector('.vlist').scrollTop = 1e9")
    page.wait_for_selector(".row[data-id='busy000000']")
    screenshot(page, "requests-10000")


def test_total_page_weight_of_every_view_is_under_400_kb(page, capsys):
    seed_week()
    # One document: every view is a hash route, so the browser's resource timeline holds them all.
    page.goto("/#/requests")
    page.wait_for_selector(".view > *")
    for view in ("usage", "ratelimits", "settings", "conversations", f"usage?day={DAY}"):
        page.evaluate(f"location.hash = '#/{view}'")
        page.wait_for_selector(".view > *")
    until(page, "document.querySelector('.chart[data-drawn]')")
    sizes = page.evaluate("""() => Object.fromEntries([...performance.getEntriesByType('navigation'),
                                                      ...performance.getEntriesByType('resource')]
        .filter(e => !new URL(e.name).pathname.startsWith('/api/')).map(e => [e.name, e.decodedBodySize]))""")
    total = sum(sizes.values())
    with capsys.disabled():
        print(f"\n[dashboard] page weight, every view: {total / 1024:.1f} KB uncompressed in {len(sizes)} files "
              f"(Chart.js {max(sizes.values()) / 1024:.1f} KB)")
    assert any(url.endswith("chart.umd.min.js") for url in sizes)
    assert len(sizes) >= 20, "the shell, the styles and every module"
    assert total < PAGE_WEIGHT_LIMIT
