"""Rules saved through the API change live traffic within a second: in this app, another app, another process."""
import json
import time

import pytest
import requests

from tests.fake_upstream import Reply, message_events
from tests.gunicorn_server import GunicornServer

DEADLINE = 1.0
BODY = {"model": "claude-test", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
CLIENT_HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "x-stainless-lang": "js",
                  "user-agent": "claude-cli/2.1.0 (external, cli)"}
SETTINGS = {
    "requestHeaderRules": [
        {"header": "x-TEAM", "action": "set", "value": "blue"},
        {"header": "X-STAINLESS-LANG", "action": "block"},
        {"header": "User-Agent", "action": "replace", "find": " (external, cli)", "value": ""},
        {"header": "anthropic-version", "action": "block", "enabled": False},
    ],
    "responseHeaderRules": [
        {"header": "SET-COOKIE", "action": "block"},
        {"header": "X-Proxied-By", "action": "set", "value": "claude-code-proxy"},
        {"header": "Anthropic-Organization-Id", "action": "replace", "find": "fake", "value": "real"},
    ],
}


def send(base_url: str) -> requests.Response:
    # Connection: close, so each request may reach another worker and no idle keep-alive
    # connection holds a gunicorn worker until its graceful timeout when it stops.
    return requests.post(base_url + "/v1/messages", data=json.dumps(BODY), timeout=10,
                         headers={**CLIENT_HEADERS, "content-type": "application/json", "connection": "close"})


def rules_applied(response: requests.Response, upstream) -> bool:
    """True when both the request and the response of this exchange went through the rules."""
    seen = upstream.seen[-1].headers
    return seen.get("x-team") == "blue" and response.headers.get("x-proxied-by") == "claude-code-proxy"


def seconds_until_applied(base_url: str, upstream, since: float) -> float:
    """Send requests until one shows the rules; the seconds from `since` until it did."""
    while time.monotonic() - since < DEADLINE + 2:
        response = send(base_url)
        if rules_applied(response, upstream):
            return time.monotonic() - since
        time.sleep(0.02)
    pytest.fail("the saved rules never reached live traffic")


def test_saved_rules_change_what_upstream_and_client_see_within_a_second(live_proxy, client, upstream):
    before = send(live_proxy)
    assert not rules_applied(before, upstream)
    assert upstream.seen[-1].headers["x-stainless-lang"] == "js"
    assert "_cfuvid" in before.headers["set-cookie"]

    assert client.put("/api/settings", json=SETTINGS).status_code == 200
    assert seconds_until_applied(live_proxy, upstream, time.monotonic()) < DEADLINE

    events = message_events("claude-test")
    upstream.reply(Reply(chunks=events, content_type="text/event-stream"))
    response = send(live_proxy)
    seen = upstream.seen[-1].headers
    assert seen["x-team"] == "blue"
    assert "x-stainless-lang" not in seen
    assert seen["user-agent"] == "claude-cli/2.1.0"
    assert seen["anthropic-version"] == "2023-06-01", "a disabled rule does nothing"
    assert seen["x-api-key"] == "sk-ant-test"
    assert "set-cookie" not in response.headers
    assert response.headers["x-proxied-by"] == "claude-code-proxy"
    assert response.headers["anthropic-organization-id"] == "org-real-0001"
    assert response.content == b"".join(events), "rules never touch the body"

    assert client.put("/api/settings", json={"requestHeaderRules": [], "responseHeaderRules": []}).status_code == 200
    since = time.monotonic()
    while rules_applied(send(live_proxy), upstream):
        assert time.monotonic() - since < DEADLINE, "clearing the rules did not take effect in time"
        time.sleep(0.02)


def test_a_second_app_on_the_same_database_picks_up_a_change_within_a_second(make_app, serve, upstream):
    first, second = make_app(), make_app()
    url = serve(second)
    assert not rules_applied(send(url), upstream)
    assert first.test_client().put("/api/settings", json=SETTINGS).status_code == 200
    assert seconds_until_applied(url, upstream, time.monotonic()) < DEADLINE


def test_every_worker_of_another_process_picks_up_a_change_within_a_second(_upstream_server, upstream,
                                                                          database_url):
    env = {"UPSTREAM_URL": _upstream_server.url, "DATABASE_URL": database_url}
    writer = GunicornServer(env).start()
    try:
        readers = GunicornServer(env, workers=2).start()
    except BaseException:
        writer.stop()
        raise
    try:
        assert not rules_applied(send(readers.url), upstream)
        saved = requests.put(writer.url + "/api/settings", json=SETTINGS, timeout=10,
                             headers={"connection": "close"})
        since = time.monotonic()
        assert saved.status_code == 200
        assert seconds_until_applied(readers.url, upstream, since) < DEADLINE
        time.sleep(max(0.0, DEADLINE - (time.monotonic() - since)))
        assert all(rules_applied(send(readers.url), upstream) for _ in range(20)), "a worker kept old rules"
    finally:
        assert readers.stop() == 0
        assert writer.stop() == 0
