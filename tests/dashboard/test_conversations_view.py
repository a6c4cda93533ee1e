"""Conversations in Chromium: projects, then sessions, then the thread, whose turns link to recorded requests."""
from pathlib import Path

import models
from tests.dashboard.conftest import until
from tests.records import log_row
from tests.transcripts import SessionWriter, folder_for


def seed_transcripts(app):
    root = Path(app.config["PROXY"].claude_projects_dir)
    session = SessionWriter(root, "/home/dev/shop")
    session.prompt("Add a cart page to the shop")
    session.assistant({"type": "thinking", "thinking": "Look at the routes first.", "signature": "c2ln"},
                      {"type": "text", "text": "I will read the routes."}, request_id="req_up_cart_1")
    session.tool_call("Read", {"file_path": "routes.py"}, "ROUTES = ['/']", request_id="req_up_cart_2")
    session.assistant({"type": "text", "text": "The cart page is in place."}, request_id="req_up_cart_3")
    session.write()
    other = SessionWriter(root, "/home/dev/blog")
    other.prompt("Fix the RSS feed")
    other.assistant({"type": "text", "text": "Fixed."})
    other.write()
    models.save_records([log_row("rec00000cart1", session_id=session.session_id, upstream_request_id="req_up_cart_1",
                                 status_code=200)], [])
    return session


def test_projects_sessions_thread_and_the_link_to_a_recorded_request(page, app, screenshot):
    seed_transcripts(app)
    page.goto("/#/conversations")
    page.wait_for_selector("table.data tbody tr")
    assert page.locator("table.data tbody tr").count() == 2
    # Three Opus 4.5 messages of the default usage at $0.00035 each, their writes without a split: estimated.
    shop_cost = page.text_content(f"tr[data-project='{folder_for('/home/dev/shop')}'] td.cost")
    assert shop_cost.startswith("≈$0.001"), shop_cost
    screenshot(page, "conversations")
    page.click(f"tr[data-project='{folder_for('/home/dev/shop')}'] a")
    page.wait_for_selector(".session")
    assert "Add a cart page to the shop" in page.text_content(".session")
    assert page.text_content(".session .cost") == f" · {shop_cost}"
    assert "5-minute writes" in page.get_attribute(".session .cost", "title")
    screenshot(page, "conversations-sessions")
    page.click(".session")
    page.wait_for_selector(".thread .message")
    text = page.text_content(".thread")
    for expected in ("Add a cart page to the shop", "I will read the routes.", "ROUTES = ['/']", "The cart page is in place."):
        assert expected in text, expected
    assert page.locator(".thread details.reminder").count() >= 1, "the prompt's system reminder is folded"
    assert page.locator(".thread .tool-use strong").first.text_content() == "Read"
    linked = page.locator(".message[data-request='rec00000cart1']")
    assert linked.count() == 1 and "I will read the routes." in linked.text_content()
    screenshot(page, "conversation-thread")
    linked.locator("a.chip").click()
    until(page, "location.hash === '#/requests/rec00000cart1'")
    page.wait_for_selector("section.card h2:text('Overview')")


def test_no_transcripts_and_no_records(page):
    page.goto("/#/conversations")
    page.wait_for_selector(".empty")
    assert "No conversations yet" in page.text_content(".empty")
