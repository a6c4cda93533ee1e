"""The official anthropic SDK talks to an OpenAI-compatible provider through the proxy, tools and all."""
import json

import logging

import anthropic
import pytest

import models

from tests.fake_openai import ANSWER, MODEL, PREAMBLE, error_reply
from tests.fake_upstream import Reply
from tests.proxy.conftest import OPENAI_KEY

SECRET = "sk-ant-api03-CLIENT-SECRET-stays-home"
CONFIG = """
providers:
  local:
    kind: openai
    base_url: {openai}/v1
    api_key: ${LOCAL_KEY}
rules:
  - name: haiku-to-local
    match: {model: "*haiku*"}
    route: {provider: local, model: gpt-4o-mini}
"""
TOOLS = [
    {"name": "get_weather", "description": "Current weather of a city",
     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                      "required": ["city"]}},
    {"name": "get_time", "description": "Local time of a city",
     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
]
QUESTION = {"role": "user", "content": "What is the weather and the time in Paris?"}
EXPECTED_INPUT = {"city": "Paris", "unit": "celsius"}


@pytest.fixture
def app(routed_app):
    return routed_app(CONFIG)


@pytest.fixture
def sdk(live_proxy):
    return anthropic.Anthropic(api_key=SECRET, base_url=live_proxy, max_retries=0)


def second_turn(first) -> list:
    """The conversation after the tools ran: one result plain, one an error."""
    uses = [block for block in first.content if block.type == "tool_use"]
    results = [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "21 °C, sunny"},
               {"type": "tool_result", "tool_use_id": uses[1].id, "is_error": True,
                "content": [{"type": "text", "text": "clock unavailable"}]}]
    return [QUESTION, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": results}]


def assert_tool_turn(message):
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[0].text == PREAMBLE
    assert [(b.id, b.name, b.input) for b in message.content[1:]] == [
        ("call_fake0", "get_weather", EXPECTED_INPUT), ("call_fake1", "get_time", EXPECTED_INPUT)]


def assert_second_request_translated(openai_upstream, stream: bool):
    assert len(openai_upstream.seen) == 2
    sent = openai_upstream.seen[1].json()
    assert sent["model"] == MODEL and sent.get("stream", False) is stream
    roles = [m["role"] for m in sent["messages"]]
    assert roles == ["user", "assistant", "tool", "tool"]
    assistant = sent["messages"][1]
    assert assistant["content"] == PREAMBLE
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in assistant["tool_calls"]] == [("call_fake0", "get_weather", EXPECTED_INPUT),
                                                   ("call_fake1", "get_time", EXPECTED_INPUT)]
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_fake0", "content": "21 °C, sunny"}
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "call_fake1", "content": "Error: clock unavailable"}
    assert sent["tools"][0]["function"]["parameters"] == TOOLS[0]["input_schema"]


def assert_credentials_stayed_home(openai_upstream, upstream):
    for seen in openai_upstream.seen:
        assert seen.headers["authorization"] == f"Bearer {OPENAI_KEY}"
        assert "x-api-key" not in seen.headers
        assert not [name for name in seen.headers if name.startswith(("anthropic-", "x-stainless"))]
        assert SECRET not in json.dumps(seen.headers) and SECRET.encode() not in seen.body
    assert upstream.seen == []  # nothing went to the Anthropic upstream


def test_two_turn_tool_conversation_without_streaming(sdk, openai_upstream, upstream, records):
    first = sdk.messages.create(model="claude-haiku-4-5", max_tokens=256, tools=TOOLS, messages=[QUESTION])
    assert_tool_turn(first)
    assert first.usage.input_tokens == 20 and first.usage.cache_read_input_tokens == 100
    assert first.usage.output_tokens == 17

    second = sdk.messages.create(model="claude-haiku-4-5", max_tokens=256, tools=TOOLS, messages=second_turn(first))
    assert second.stop_reason == "end_turn"
    assert [b.text for b in second.content] == [ANSWER]
    assert_second_request_translated(openai_upstream, stream=False)
    assert_credentials_stayed_home(openai_upstream, upstream)

    rows = records()
    assert [(r["original_model"], r["routed_model"], r["provider"], r["routing_rule"]) for r in rows] == \
        [("claude-haiku-4-5", MODEL, "local", "haiku-to-local")] * 2
    assert [r["stop_reason"] for r in rows] == ["tool_use", "end_turn"]
    assert (rows[0]["input_tokens"], rows[0]["cache_read_input_tokens"], rows[0]["output_tokens"]) == (20, 100, 17)
    assert rows[0]["upstream_request_id"] == "req_openai_1"


def test_two_turn_tool_conversation_streaming(sdk, openai_upstream, upstream, records):
    events = []
    with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=256, tools=TOOLS, messages=[QUESTION]) as stream:
        for event in stream:
            events.append(event)
        first = stream.get_final_message()
    assert_tool_turn(first)
    assert first.usage.output_tokens == 17 and first.usage.input_tokens == 20
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    starts = [e.index for e in events if e.type == "content_block_start"]
    stops = [e.index for e in events if e.type == "content_block_stop"]
    assert starts == stops == [0, 1, 2]
    json_deltas = [e for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
    assert len(json_deltas) > 4  # the arguments streamed in pieces, not at the end

    with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=256, tools=TOOLS,
                             messages=second_turn(first)) as stream:
        text = "".join(stream.text_stream)
        second = stream.get_final_message()
    assert text == ANSWER and second.stop_reason == "end_turn"
    assert_second_request_translated(openai_upstream, stream=True)
    assert openai_upstream.seen[0].json()["stream_options"] == {"include_usage": True}
    assert_credentials_stayed_home(openai_upstream, upstream)

    rows = records()
    assert [(r["original_model"], r["routed_model"], r["provider"], r["outcome"]) for r in rows] == \
        [("claude-haiku-4-5", MODEL, "local", "complete")] * 2
    assert rows[0]["is_streaming"] is True and rows[0]["stop_reason"] == "tool_use"
    assert (rows[0]["input_tokens"], rows[0]["cache_read_input_tokens"], rows[0]["output_tokens"]) == (20, 100, 17)


def test_the_record_holds_what_the_client_received(sdk, openai_upstream, app, records):
    sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, tools=TOOLS, messages=[QUESTION], stream=True)
    [row] = records()
    detail = app.test_client().get(f"/api/requests/{row['id']}").get_json()["request"]
    assert detail["originalModel"] == "claude-haiku-4-5" and detail["routedModel"] == MODEL
    assert detail["provider"] == "local" and detail["routingRule"] == "haiku-to-local"
    assert detail["response"]["body"].startswith("event: message_start")
    message = detail["response"]["message"]
    assert [b["type"] for b in message["content"]] == ["text", "tool_use", "tool_use"]
    assert message["content"][1]["input"] == EXPECTED_INPUT


def test_provider_errors_become_anthropic_errors_with_the_status(sdk, openai_upstream, records):
    openai_upstream.reply(error_reply(429, "Rate limit reached for gpt-4o-mini"))
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[QUESTION])
    assert caught.value.status_code == 429
    assert caught.value.body == {"type": "error", "error": {
        "type": "rate_limit_error", "message": "Rate limit reached for gpt-4o-mini"}}
    [row] = records()
    assert row["outcome"] == "upstream_error" and row["status_code"] == 429


def test_a_provider_error_quoting_its_key_is_not_recorded_with_it(sdk, openai_upstream, records):
    openai_upstream.reply(error_reply(401, f"Incorrect API key provided: {OPENAI_KEY}"))
    with pytest.raises(anthropic.AuthenticationError, match=r"provided: \[redacted\]"):
        sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[QUESTION])
    records()
    assert OPENAI_KEY not in "".join(str(row) for row in models.RequestBody.select().tuples())


def test_an_unreadable_completion_is_a_bad_gateway(sdk, openai_upstream, records):
    openai_upstream.reply(Reply(chunks=[b"<html>gateway</html>"], content_type="text/html", framing="length"))
    with pytest.raises(anthropic.APIStatusError) as caught:
        sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[QUESTION])
    assert caught.value.status_code == 502
    assert caught.value.body["error"]["message"] == "the provider's response could not be translated"
    [row] = records()
    assert row["outcome"] == "upstream_error" and row["status_code"] == 502


def test_a_provider_stream_cut_short_ends_with_an_error_event(sdk, openai_upstream, records):
    openai_upstream.reply(Reply(chunks=[b'data: {"id":"c","model":"m","choices":[{"index":0,'
                                        b'"delta":{"content":"Hel"},"finish_reason":null}]}\n\n'] * 3,
                                content_type="text/event-stream", drop_after=2))
    with pytest.raises(anthropic.APIStatusError, match="mid-response"):
        with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=[QUESTION]) as stream:
            "".join(stream.text_stream)
    [row] = records()
    assert row["outcome"] == "upstream_dropped"


def test_other_models_still_pass_through_unchanged(sdk, openai_upstream, upstream, records):
    message = sdk.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=[QUESTION])
    assert message.content[0].text == "Hello from the fake upstream."
    assert openai_upstream.seen == [] and len(upstream.seen) == 1
    [row] = records()
    assert (row["original_model"], row["routed_model"], row["provider"], row["routing_rule"]) == \
        ("claude-sonnet-4-6", "claude-sonnet-4-6", "anthropic", None)


def test_model_list_names_the_target_models(sdk, openai_upstream):
    ids = [model.id for model in sdk.models.list()]
    assert ids == ["claude-sonnet-4-6", MODEL]


def test_neither_key_is_stored_or_logged(sdk, openai_upstream, records, caplog):
    caplog.set_level(logging.DEBUG)
    sdk.messages.create(model="claude-haiku-4-5", max_tokens=64, tools=TOOLS, messages=[QUESTION])
    with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=[QUESTION]) as stream:
        stream.get_final_message()
    assert len(records()) == 2
    dump = "\n".join(str(row) for model in (models.RequestLog, models.RequestBody)
                     for row in model.select().tuples())
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.split(".")[0] in {"proxy", "app", "peewee"})
    assert '"provider":"local"' in ours
    for secret in (SECRET, OPENAI_KEY):
        assert secret not in dump and secret not in ours


def test_a_request_the_proxy_fails_on_is_a_500_recorded_and_its_slot_freed(app, caplog, records):
    # A key no header can carry (the config loader refuses one; here it is set directly) makes
    # http.client raise while sending: an error none of the relay's handlers expects.
    service = app.extensions["proxy"]
    service.dispatch.providers["local"]._api_key = OPENAI_KEY + "\nX-Injected: 1"
    response = app.test_client().post("/v1/messages", headers={"x-api-key": SECRET}, json={
        "model": "claude-haiku-4-5", "max_tokens": 10, "messages": [QUESTION]})
    assert response.status_code == 500
    assert response.json == {"error": "Proxy error", "details": "ValueError (logged by the proxy)"}
    assert service.traffic.in_flight == 0
    [row] = records()
    assert (row["outcome"], row["status_code"], row["provider"]) == ("proxy_error", 500, "local")
    assert OPENAI_KEY not in caplog.text and OPENAI_KEY not in json.dumps(row)
