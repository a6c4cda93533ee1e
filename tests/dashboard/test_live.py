"""A request sent through the proxy while the requests view is open appears there without a reload."""
import threading

import anthropic

from tests.dashboard.conftest import until
from tests.fake_upstream import Reply, message_events


def test_a_request_appears_in_flight_then_finished_without_a_reload(page, live_app, upstream, screenshot):
    page.goto("/#/requests")
    page.wait_for_selector(".empty:not([hidden])")
    page.evaluate("window.__sameDocument = true")
    # About 5 s of stream: long enough to be recorded in flight and seen by a 2 s poll.
    upstream.reply(Reply(chunks=message_events("claude-sonnet-4-5"), content_type="text/event-stream", delay_between=0.5))
    client = anthropic.Anthropic(api_key="sk-ant-live-test", base_url=live_app, max_retries=0)
    finished = {}

    def send():
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64,
                                    messages=[{"role": "user", "content": "hello from the live test"}]) as stream:
            finished["text"] = stream.get_final_text()

    sender = threading.Thread(target=send)
    sender.start()
    until(page, "[...document.querySelectorAll('.vrows .row .badge')].some(b => b.textContent === 'in flight')", timeout=10)
    screenshot(page, "requests-live-in-flight")
    sender.join(15)
    assert finished["text"].startswith("Hello from the fake upstream")
    until(page, "[...document.querySelectorAll('.vrows .row .badge')].some(b => b.textContent === '200')", timeout=10)
    assert page.locator(".vrows .row[data-id]").count() == 1
    assert page.locator(".vrows .row .name").text_content() == "claude-sonnet-4-5"
    assert page.evaluate("window.__sameDocument") is True, "no reload happened"
