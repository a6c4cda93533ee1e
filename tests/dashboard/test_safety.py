"""Logged content is text: prompts carrying <script> and <img onerror> run nothing in the dashboard."""
import json

import models
from tests.records import body_row, log_row
from tests.dashboard.seed import at

SCRIPT = "<script>window.__pwned = 'script'</script>"
IMAGE = "<img src=x onerror=\"window.__pwned = 'img'; alert('xss')\">"
PAYLOAD = f"{SCRIPT} {IMAGE} <svg onload=\"window.__pwned='svg'\"></svg>"


def seed_payloads():
    body = {"model": PAYLOAD, "system": [{"type": "text", "text": PAYLOAD}],
            "tools": [{"name": IMAGE, "description": PAYLOAD, "input_schema": {"type": "object", "title": SCRIPT}}],
            "messages": [{"role": "user", "content": PAYLOAD},
                         {"role": "assistant", "content": [{"type": "tool_use", "id": IMAGE, "name": SCRIPT, "input": {"x": PAYLOAD}}]},
                         {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/svg+xml", "data": PAYLOAD}},
                                                      {"type": "text", "text": f"<system-reminder>{PAYLOAD}</system-reminder>"}]}]}
    models.save_records(
        [log_row("evil00000001", timestamp_ms=at("2026-11-18", 10), original_model=IMAGE, routed_model=SCRIPT,
                 stop_reason=IMAGE, stream_error=PAYLOAD, organization_id=SCRIPT, status_code=200)],
        [body_row("evil00000001", request_body=json.dumps(body), request_headers=json.dumps({IMAGE: PAYLOAD}),
                  response_message=json.dumps({"role": "assistant", "content": [{"type": "text", "text": PAYLOAD}]}))])


def test_payloads_in_every_field_are_shown_as_text_and_execute_nothing(page, screenshot):
    seed_payloads()
    for path, ready in (("/#/requests?day=2026-11-18", ".row[data-id]"), ("/#/requests/evil00000001", ".thread"),
                        ("/#/compare?a=evil00000001&b=evil00000001", ".diff")):
        page.goto(path)
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)  # long enough for an injected image's error handler to fire
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("main script, main img[src=x], main svg").count() == 0, path
    assert SCRIPT in page.text_content("main"), "the payload is shown, as text"
    page.goto("/#/requests/evil00000001")
    page.wait_for_selector(".thread")
    page.click("text=Raw JSON")
    page.wait_for_selector("dialog[open]")
    assert page.evaluate("window.__pwned") is None
    screenshot(page, "xss-payloads")
    # page.problems (checked at teardown) holds no dialog: alert() never ran.


def test_the_policy_forbids_inline_scripts_even_if_one_were_injected(page):
    page.goto("/#/requests")
    page.wait_for_selector(".view")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = "window.__pwned = 'inline'";
                              document.body.append(s); }""")
    page.wait_for_timeout(100)
    assert page.evaluate("window.__pwned") is None
    page.problems.expect_console("Content Security Policy")  # the refusal is what this test wants to see
