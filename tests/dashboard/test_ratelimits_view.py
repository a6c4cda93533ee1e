"""Rate limits in Chromium: each organization's latest windows with live countdowns, and the history chart."""
import time

import models
from tests.dashboard.conftest import until
from tests.records import log_row


def test_latest_windows_count_down_and_the_history_is_charted(page, screenshot):
    now = int(time.time())
    models.save_records([
        log_row("rl1", organization_id="org-alpha", timestamp_ms=(now - 7200) * 1000, unified_status="allowed",
                unified_5h_utilization=0.31, unified_7d_utilization=0.12),
        log_row("rl2", organization_id="org-alpha", timestamp_ms=(now - 60) * 1000, unified_status="allowed_warning",
                unified_5h_utilization=0.82, unified_5h_reset=str(now + 2 * 3600 + 5 * 60),
                unified_7d_utilization=0.4, unified_7d_reset=str(now + 3 * 86400)),
        log_row("rl3", organization_id="org-beta", timestamp_ms=(now - 3600) * 1000, unified_status="rejected",
                unified_5h_utilization=1.0, unified_5h_reset=str(now + 600), unified_7d_utilization=0.95),
    ], [])
    page.goto("/#/ratelimits")
    until(page, "document.querySelector('.chart[data-drawn]')")
    alpha = page.locator("section.card", has=page.locator("h2:text('org-alpha')"))
    assert alpha.locator(".badge").text_content() == "allowed warning"
    assert alpha.locator(".window .value").all_text_contents() == ["82.0%", "40.0%"]
    assert alpha.locator(".countdown").first.text_content() in ("2h 05m", "2h 04m")
    beta = page.locator("section.card", has=page.locator("h2:text('org-beta')"))
    first = beta.locator(".countdown").first.text_content()
    until(page, f"[...document.querySelectorAll('.countdown')].some(n => n.textContent !== {first!r} && /^(9|10)m/.test(n.textContent))",
          timeout=3)
    series = page.evaluate("Chart.getChart(document.querySelector('.chart canvas')).data.datasets.map(d => d.label)")
    assert series == ["org-alpha · 5h", "org-alpha · 7d", "org-beta · 5h", "org-beta · 7d"]
    screenshot(page, "ratelimits")


def test_no_rate_limit_headers_yet(page):
    page.goto("/#/ratelimits")
    page.wait_for_selector(".empty")
    assert "No response carried unified rate-limit headers" in page.text_content(".empty")
