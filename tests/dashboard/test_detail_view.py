"""Request detail in Chromium: overview, routing, usage, rate limits, headers, system, tools, thread, raw JSON."""
import json

import models
from tests.dashboard.conftest import until
from tests.dashboard.seed import DAY, REQUEST_BODY, at, seed_day
from tests.records import body_row, log_row


def test_detail_shows_every_part_of_the_exchange(page, screenshot):
    seed_day()
    page.goto("/#/requests/req0000000001")
    page.wait_for_selector(".thread")
    text = page.text_content("main")
    for expected in ("POST /v1/messages", "4.20 s", "850 ms", "tool_use", "sess-1", "org-alpha",
                     "You are Claude Code", "Fix the failing test", "The expected value is wrong"):
        assert expected in text, expected
    section = page.locator("section:has(h2:text-is('Usage'))")
    usage = dict(zip(section.locator(".stat .label").all_text_contents(), section.locator(".stat .value").all_text_contents()))
    assert usage == {"Input": "12", "Output": "30", "Cache read": "9,000", "Cache write": "988", "Total": "10,030"}
    # Opus 4.1 (12 x $15 + 30 x $75 + 9,000 x $1.50 + 988 x $18.75, per million); the record has no write
    # split, so its writes are priced as 5-minute writes and the total is marked estimated.
    assert page.locator(".stat-cards.cost .value").first.text_content() == "≈$0.0345"
    assert "priced as 5-minute writes" in page.locator(".cost-note").text_content()
    assert "42.0%" in page.text_content("section:has(h2:text('Rate limits'))")
    assert page.locator("table.kv th:text('x-api-key')").count() == 1
    assert page.locator("table.kv td:text('sk-ant-…a1b2')").count() == 1, "the stored (redacted) value, as recorded"
    assert page.locator(".system-block .tag.cache").count() == 1
    # Tools are collapsed until opened; their schema is inside.
    tool = page.locator("details.tool", has_text="Read")
    assert tool.get_attribute("open") is None
    tool.locator("summary").click()
    assert '"file_path"' in tool.locator("pre").text_content()
    # The thread: reminder and thinking folded, tool use and result, the image as a data: URL.
    reminder = page.locator("details.reminder")
    assert reminder.get_attribute("open") is None and "TodoWrite" in reminder.text_content()
    assert page.locator("details.thinking").count() == 1
    assert page.locator(".tool-use strong").text_content() == "Read"
    assert "assert add(1, 2) == 4" in page.locator(".tool-result pre").text_content()
    assert page.locator(".image img").get_attribute("src").startswith("data:image/png;base64,")
    until(page, "document.querySelector('.image img').naturalWidth === 1")
    screenshot(page, "request-detail")


def test_routing_and_stream_error_are_shown(page):
    seed_day()
    page.goto("/#/requests/req0000000002")
    routing = page.locator("section:has(h2:text('Routing'))")
    routing.wait_for()
    assert "claude-sonnet-4-5" in routing.text_content() and "claude-haiku-4-5" in routing.text_content()
    assert "cheap-sonnet" in routing.text_content()
    page.goto("/#/requests/req0000000005")
    assert "overloaded_error: Overloaded" in page.locator(".alert").text_content()


def test_raw_json_opens_in_a_dialog_that_copies_downloads_and_closes_on_escape(page, screenshot):
    seed_day()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/#/requests/req0000000001")
    page.click("text=Raw JSON")
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    assert json.loads(dialog.locator("pre").text_content())["requestId"] == "req0000000001"
    dialog.locator("text=Copy").click()
    until(page, "document.querySelector('dialog [role=status]').textContent === 'Copied.'")
    assert json.loads(page.evaluate("navigator.clipboard.readText()"))["body"]["model"] == "claude-opus-4-1"
    with page.expect_download() as download:
        dialog.locator("text=Download").click()
    assert download.value.suggested_filename == "request-req0000000001.json"
    screenshot(page, "request-raw-json")
    page.keyboard.press("Escape")
    until(page, "!document.querySelector('dialog')")


def test_an_unknown_request_shows_the_api_error(page):
    page.goto("/#/requests/nosuchrequest")
    alert = page.locator(".alert")
    alert.wait_for()
    assert "Request not found" in alert.text_content()
    page.problems.expect_console("404")


def seed_pair():
    """Two turns of one session: B changes a system block, drops a tool and adds a message."""
    a = REQUEST_BODY
    b = {**a, "system": [a["system"][0], {"type": "text", "text": "Work in /home/dev/other."}], "tools": a["tools"][:1],
         "messages": [*a["messages"], {"role": "assistant", "content": [{"type": "text", "text": "Fixed it."}]}]}
    models.save_records([log_row("turn0000000a", timestamp_ms=at(DAY, 9)), log_row("turn0000000b", timestamp_ms=at(DAY, 9, 1))],
                        [body_row("turn0000000a", request_body=json.dumps(a)), body_row("turn0000000b", request_body=json.dumps(b))])


def test_compare_marks_what_differs(page, screenshot):
    seed_pair()
    page.goto(f"/#/requests?day={DAY}")
    page.check(".row[data-id='turn0000000a'] input[type=checkbox]")
    page.check(".row[data-id='turn0000000b'] input[type=checkbox]")
    page.click("text=Compare (2/2)")
    page.wait_for_selector(".diff")
    assert "compare?a=turn0000000a&b=turn0000000b" in page.evaluate("location.hash")
    headings = page.locator("section.card h2").all_text_contents()
    assert headings == ["System: 1 difference", "Tools: 1 difference", "Messages: 1 difference"], headings
    kinds = page.eval_on_selector_all(".diff-row:not(.heads)", "rows => rows.map(r => r.className.split(' ')[1])")
    assert kinds == ["same", "changed", "same", "removed", "same", "same", "same", "added"], kinds
    assert "Fixed it." in page.locator(".diff-row.added .diff-cell").last.text_content()
    screenshot(page, "compare")


def test_a_record_without_bodies_says_why(page):
    models.save_records([log_row("nobody000001", timestamp_ms=at(DAY, 9), bodies_omitted="capture",
                                 request_body_truncated=False)], [])
    page.goto("/#/requests/nobody000001")
    page.wait_for_selector("section.card h2:text('Overview')")
    assert "not stored (capture)" in page.text_content("dl.facts")
    assert "No messages in this request body." in page.text_content("main")
