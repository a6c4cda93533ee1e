"""The dashboard under the real server (gunicorn, gevent worker): a request sent with the SDK, then seen in Chromium."""
from pathlib import Path

import anthropic

from tests.dashboard.conftest import TIME_ZONE, PageProblems, until
from tests.gunicorn_server import GunicornServer

CHART_JS = Path(__file__).resolve().parents[2] / "dashboard" / "static" / "vendor" / "chartjs" / "chart.umd.min.js"


def test_requests_and_usage_views_served_by_gunicorn(browser, upstream, database_url, screenshot):
    server = GunicornServer({"UPSTREAM_URL": upstream.url, "DATABASE_URL": database_url}).start()
    try:
        sdk = anthropic.Anthropic(api_key="sk-ant-client", base_url=server.url, max_retries=0)
        sdk.messages.create(model="claude-sonnet-4-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
        context = browser.new_context(base_url=server.url, timezone_id=TIME_ZONE, viewport={"width": 1400, "height": 900})
        page = context.new_page()
        problems = PageProblems(page)
        page.goto("/#/requests")
        page.wait_for_selector(".vrows .row[data-id]")
        assert page.locator(".vrows .row .name").all_text_contents() == ["claude-sonnet-4-5"]
        page.evaluate("location.hash = '#/usage'")
        until(page, "document.querySelector('.chart[data-drawn]')")
        size = page.evaluate("performance.getEntriesByType('resource').find(e => e.name.endsWith('chart.umd.min.js')).decodedBodySize")
        assert size == CHART_JS.stat().st_size, "the vendored file arrives whole (gunicorn's sendfile path)"
        screenshot(page, "gunicorn-usage")
        context.close()
        problems.assert_none()
    finally:
        assert server.stop() == 0
