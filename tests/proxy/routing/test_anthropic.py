"""Anthropic-kind routes: the same bytes go out with only the model changed, to the chosen endpoint and key."""
import json

import pytest

CONFIG = """
providers:
  gateway:
    kind: anthropic
    base_url: {upstream}/gw
    api_key: sk-gateway-key
rules:
  - name: subagents-to-haiku
    match: {subagent: true}
    route: {model: claude-haiku-4-5}
  - name: opus-to-gateway
    match: {model: "*opus*"}
    route: {provider: gateway, model: claude-sonnet-4-6}
  - name: thinking-keeps-model
    match: {thinking: true}
    route: {provider: gateway}
"""
AGENT = {"x-claude-code-agent-id": "agent-42", "x-api-key": "sk-ant-client"}
# Spacing, key order and escapes as a client might send them: none of it may change.
RAW = ('{"messages":[{"role":"user","content":[{"type":"text","text":"caf\\u00e9 \\"model\\"",'
       '"cache_control":{"type":"ephemeral"}}]}],  "model":"claude-sonnet-4-6","max_tokens":64,'
       '\n"metadata":{"user_id":"u"}}').encode()


@pytest.fixture
def app(routed_app, upstream):
    return routed_app(CONFIG.replace("{upstream}", upstream.url))


def post(client, raw=RAW, headers=None, path="/v1/messages?beta=true"):
    response = client.post(path, data=raw, headers={"content-type": "application/json", **(headers or {})})
    response.get_data()
    response.close()  # the relay settles (and submits its record) when its body is closed
    return response


def test_a_routed_body_differs_from_the_client_s_only_in_the_model(client, upstream, records):
    response = post(client, headers=AGENT)
    assert response.status_code == 200 and response.get_json()["model"] == "claude-haiku-4-5"
    [seen] = upstream.seen
    assert seen.body == RAW.replace(b'"claude-sonnet-4-6"', b'"claude-haiku-4-5"')
    assert (seen.path, seen.query, seen.headers["x-api-key"]) == ("/v1/messages", "beta=true", "sk-ant-client")
    [row] = records()
    assert (row["original_model"], row["routed_model"], row["provider"], row["routing_rule"]) == \
        ("claude-sonnet-4-6", "claude-haiku-4-5", "anthropic", "subagents-to-haiku")


def test_a_provider_with_its_own_key_replaces_the_client_s_credentials(client, upstream, records):
    raw = RAW.replace(b"claude-sonnet-4-6", b"claude-opus-4-1")
    post(client, raw, headers={"authorization": "Bearer sk-ant-oauth-client", "x-api-key": "sk-ant-client"})
    [seen] = upstream.seen
    assert seen.path == "/gw/v1/messages"
    assert seen.headers["x-api-key"] == "sk-gateway-key" and "authorization" not in seen.headers
    assert seen.body == RAW
    [row] = records()
    assert (row["provider"], row["routed_model"], row["routing_rule"]) == ("gateway", "claude-sonnet-4-6", "opus-to-gateway")


def test_a_route_without_a_model_keeps_the_body_byte_for_byte(client, upstream, records):
    raw = RAW[:-1] + b',"thinking":{"type":"adaptive"}}'
    post(client, raw, headers={"x-api-key": "sk-ant-client"})
    assert upstream.seen[0].path == "/gw/v1/messages" and upstream.seen[0].body == raw
    [row] = records()
    assert (row["routed_model"], row["provider"]) == ("claude-sonnet-4-6", "gateway")


def test_streams_are_relayed_and_recorded_with_both_models(client, upstream, records):
    raw = json.dumps({"model": "claude-opus-4-1", "stream": True, "max_tokens": 10,
                      "messages": [{"role": "user", "content": "hi"}]}).encode()
    body = post(client, raw).get_data()
    assert body.startswith(b"event: message_start") and b'"model": "claude-sonnet-4-6"' in body
    [row] = records()
    assert (row["original_model"], row["routed_model"], row["outcome"], row["output_tokens"]) == \
        ("claude-opus-4-1", "claude-sonnet-4-6", "complete", 42)


def test_only_the_messages_endpoint_is_routed(client, upstream, records):
    post(client, headers=AGENT, path="/v1/messages/count_tokens")
    assert upstream.seen[0].body == RAW and upstream.seen[0].path == "/v1/messages/count_tokens"
    [row] = records()
    assert (row["provider"], row["routing_rule"], row["routed_model"]) == ("anthropic", None, "claude-sonnet-4-6")


def test_a_session_keeps_its_route_when_the_request_changes(client, upstream, records):
    session = {"x-claude-code-session-id": "3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b", "x-api-key": "k"}
    thinking = RAW[:-1] + b',"thinking":{"type":"enabled","budget_tokens":1024}}'
    post(client, thinking, headers=session)
    post(client, RAW, headers=session)      # thinking off now: the session still goes to the gateway
    post(client, RAW, headers={"x-api-key": "k"})
    assert [seen.path for seen in upstream.seen] == ["/gw/v1/messages", "/gw/v1/messages", "/v1/messages"]
    assert [row["routing_rule"] for row in records()] == ["thinking-keeps-model", "thinking-keeps-model", None]


def test_the_model_list_adds_the_target_models(client, upstream):
    listing = client.get("/v1/models").get_json()
    assert [model["id"] for model in listing["data"]] == ["claude-sonnet-4-6", "claude-haiku-4-5"]
    added = listing["data"][1]
    assert (added["type"], added["display_name"], added["owned_by"]) == ("model", "claude-haiku-4-5", "anthropic")


def test_the_model_list_without_an_upstream_still_names_the_targets(make_app, routed_app, upstream):
    app = routed_app(CONFIG.replace("{upstream}", upstream.url), upstream_url="http://127.0.0.1:9")
    listing = app.test_client().get("/v1/models").get_json()
    assert [model["id"] for model in listing["data"]] == ["claude-haiku-4-5", "claude-sonnet-4-6"]
