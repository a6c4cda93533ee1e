"""Usage in Chromium: a week stacked by model, a day by hour, the model table and totals, in the browser's zone."""
from tests.dashboard.conftest import until
from tests.dashboard.seed import DAY, seed_week


def chart_points(page, index):
    """How many data points Chart.js drew in the n-th chart of the page, and their sum."""
    return page.evaluate("""(i) => { const chart = Chart.getChart(document.querySelectorAll('.chart canvas')[i]);
        const values = chart.data.datasets.flatMap(d => d.data);
        return [values.length, values.reduce((a, b) => a + (b || 0), 0), chart.data.datasets.length]; }""", index)


def test_week_and_day_charts_are_drawn_with_the_recorded_tokens(page, screenshot):
    seed_week()
    page.goto(f"/#/usage?day={DAY}")
    until(page, "document.querySelectorAll('.chart[data-drawn]').length === 2")
    points, total, series = chart_points(page, 0)
    assert (points, series) == (21, 3), "7 days x 3 models, stacked"
    assert total == sum(1000 * (7 - back) + 200 * (n + 1) + 5000 for back in range(7) for n in range(3))
    hours, day_total, _ = chart_points(page, 1)
    assert hours == 48, "24 hourly buckets of tokens and of requests"
    assert day_total == 3 * (7000 + 5000) + 200 + 400 + 600 + 3, "tokens plus the 3 requests"
    busy = page.evaluate("""() => { const chart = Chart.getChart(document.querySelectorAll('.chart canvas')[1]);
        return chart.data.labels.filter((label, i) => chart.data.datasets[0].data[i] > 0); }""")
    assert busy == ["08:00", "11:00", "14:00"], "hours of the browser's zone (sent as tz), not UTC's"
    assert page.evaluate("document.querySelector('.chart canvas').width") > 0
    stats = dict(zip(page.locator(".stat .label").all_text_contents(), page.locator(".stat .value").all_text_contents()))
    assert stats["Requests (7 days)"] == "21"
    assert stats["Avg response time"] == "1.50 s"
    table = page.locator("table.data tbody tr").all_text_contents()
    assert len(table) == 3 and "claude-haiku-4-5" in table[0]
    screenshot(page, "usage")


def test_a_day_without_usage_says_so(page):
    page.goto("/#/usage?day=2026-01-01")
    page.wait_for_selector(".empty")
    assert "No usage recorded" in page.text_content(".empty")


def test_dark_theme_toggle_recolours_the_page(page, screenshot):
    seed_week()
    page.goto(f"/#/usage?day={DAY}")
    until(page, "document.querySelectorAll('.chart[data-drawn]').length === 2")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click("#theme-toggle")
    until(page, "document.documentElement.dataset.theme === 'dark'")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light
    page.reload()
    until(page, "document.querySelectorAll('.chart[data-drawn]').length === 2")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark", "the choice is remembered"
    screenshot(page, "usage-dark")
