"""The requests view in Chromium: a day's list, day navigation, filters, detail, export and compare."""
import csv
import io
import json

import models
from tests.dashboard.conftest import until
from tests.dashboard.seed import DAY, at, seed_day
from tests.records import log_row


def open_day(page, day=DAY, **filters):
    query = "&".join(f"{k}={v}" for k, v in {"day": day, **filters}.items())
    page.goto(f"/#/requests?{query}")
    page.wait_for_selector(".vrows .row[data-id], .empty:not([hidden])")


def row_ids(page):
    return page.eval_on_selector_all(".vrows .row[data-id]", "rows => rows.map(r => r.dataset.id)")


def test_a_day_lists_its_requests_newest_first_with_every_column(page, screenshot):
    ids = seed_day()
    open_day(page)
    assert row_ids(page) == ids
    assert page.text_content(".count") == "6 requests"
    first = page.locator(".row[data-id='req0000000001']")
    assert first.locator(".time").text_content() == "09:00:05", "the time is the browser's local time"
    assert first.locator(".badge").text_content() == "200"
    cells = first.locator(".num").all_text_contents()
    # in, out, cache share, cost (estimated: no recorded write split), duration, TTFB
    assert cells[1:] == ["10K", "30", "90%", "≈$0.0345", "4.20 s", "850 ms"], cells
    assert first.locator(".stop").text_content() == "tool_use"
    routed = page.locator(".row[data-id='req0000000002'] .model")
    assert routed.locator(".routed").count() == 1 and routed.locator(".name").text_content() == "claude-haiku-4-5"
    assert "requested claude-sonnet-4-5" in routed.get_attribute("title")
    assert page.locator(".row[data-id='req0000000001'] .routed").count() == 0
    assert page.locator(".row[data-id='req0000000006'] .badge").text_content() == "in flight"
    assert page.locator(".row[data-id='req0000000003'] .badge.warn").text_content() == "429"
    screenshot(page, "requests")


def test_day_navigation_previous_next_today_and_latest(page):
    seed_day()
    models.save_records([log_row("other-day", timestamp_ms=at("2026-11-17", 23, 30))], [])
    open_day(page)
    page.click("button[title='Previous day']")
    until(page, "location.hash.includes('day=2026-11-17')")
    page.wait_for_selector(".row[data-id='other-day']")
    assert row_ids(page) == ["other-day"], "23:30 local on the 17th belongs to the 17th, not to UTC's 18th"
    page.click("button[title='Next day']")
    page.wait_for_selector(".row[data-id='req0000000006']")
    page.click("text=Today")
    page.wait_for_selector(".empty:not([hidden])")
    assert "No requests on" in page.text_content(".empty")
    page.click(".empty button")  # jump to the latest day with data
    until(page, f"location.hash.includes('day={DAY}')")
    page.wait_for_selector(".row[data-id='req0000000006']")


def test_filters_by_status_family_model_and_organization(page):
    seed_day()
    open_day(page)
    page.select_option("select[aria-label='Status']", "4xx")
    until(page, "document.querySelectorAll('.vrows .row[data-id]').length === 1")
    assert row_ids(page) == ["req0000000003"]
    assert "status=4xx" in page.evaluate("location.hash")
    open_day(page, family="opus")
    assert row_ids(page) == ["req0000000006", "req0000000005", "req0000000001"]
    page.wait_for_selector("select[aria-label='Model'] option[value='claude-opus-4-1']", state="attached")
    open_day(page)
    page.wait_for_selector("select[aria-label='Organization'] option[value='org-beta']", state="attached")
    page.select_option("select[aria-label='Organization']", "org-beta")
    until(page, "document.querySelectorAll('.vrows .row[data-id]').length === 2")
    assert row_ids(page) == ["req0000000004", "req0000000003"]
    page.wait_for_selector("select[aria-label='Model'] option[value='claude-haiku-4-5']", state="attached")
    page.select_option("select[aria-label='Model']", "claude-haiku-4-5")
    until(page, "document.querySelectorAll('.vrows .row[data-id]').length === 1")
    assert row_ids(page) == ["req0000000003"]
    page.select_option("select[aria-label='Status']", "in_flight")
    page.wait_for_selector(".empty:not([hidden])")
    assert "match these filters" in page.text_content(".empty")


def test_a_row_opens_its_detail(page):
    seed_day()
    open_day(page)
    page.click(".row[data-id='req0000000001'] .model")
    until(page, "location.hash === '#/requests/req0000000001'")
    page.wait_for_selector("text=Fix the failing test")
    page.go_back()
    page.wait_for_selector(".row[data-id='req0000000001']")


def test_export_the_filtered_list_as_csv_and_json(page):
    seed_day()
    open_day(page, family="opus")
    with page.expect_download() as download:
        page.click("text=Export CSV")
    assert download.value.suggested_filename == f"requests-{DAY}.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [r["requestId"] for r in rows] == ["req0000000006", "req0000000005", "req0000000001"]
    assert rows[2]["cacheReadTokens"] == "9000" and rows[2]["statusCode"] == "200"
    with page.expect_download() as download:
        page.click("text=Export JSON")
    exported = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert [r["requestId"] for r in exported] == ["req0000000006", "req0000000005", "req0000000001"]
    assert page.text_content(".notice") == "Exported 3 requests as JSON."
