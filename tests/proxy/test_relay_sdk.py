"""The official anthropic SDK, streaming and not, through the proxy to the fake upstream."""
import anthropic
import pytest

from tests.fake_upstream import FINAL_OUTPUT_TOKENS

SECRET = "sk-ant-api03-TEST-SECRET-never-stored"


@pytest.fixture
def sdk(live_proxy):
    return anthropic.Anthropic(api_key=SECRET, base_url=live_proxy, max_retries=0)


def test_streaming_message_arrives_whole_and_is_recorded(sdk, upstream, records):
    with sdk.messages.stream(model="claude-sonnet-4-6", max_tokens=64,
                             messages=[{"role": "user", "content": "Say hello"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == "Hello from the fake upstream. Grüße! 👋"
    assert final.usage.output_tokens == FINAL_OUTPUT_TOKENS
    assert final.stop_reason == "end_turn"
    assert len(upstream.seen) == 1
    [row] = records()
    assert row["outcome"] == "complete"
    assert row["status_code"] == 200
    assert row["is_streaming"] is True
    assert (row["input_tokens"], row["output_tokens"]) == (1200, FINAL_OUTPUT_TOKENS)
    assert (row["cache_read_input_tokens"], row["cache_creation_input_tokens"]) == (9000, 300)
    assert row["stop_reason"] == "end_turn"
    assert row["organization_id"] == "org-fake-0001"
    assert row["unified_5h_utilization"] == pytest.approx(0.42)
    assert row["original_model"] == row["routed_model"] == "claude-sonnet-4-6"
    assert row["ttfb_ms"] is not None and row["ttfb_ms"] <= row["response_time_ms"]


def test_non_streaming_message(sdk, upstream, records):
    message = sdk.messages.create(model="claude-haiku-4-5", max_tokens=64,
                                  messages=[{"role": "user", "content": "Hi"}])
    assert message.content[0].text == "Hello from the fake upstream."
    assert message.usage.output_tokens == FINAL_OUTPUT_TOKENS
    [row] = records()
    assert row["is_streaming"] is False
    assert row["output_tokens"] == FINAL_OUTPUT_TOKENS
    assert row["stop_reason"] == "end_turn"
    assert row["service_tier"] == "standard"


def test_count_tokens_is_relayed_and_recorded(sdk, upstream, records):
    result = sdk.messages.count_tokens(model="claude-sonnet-4-6",
                                       messages=[{"role": "user", "content": "Hi"}])
    assert result.input_tokens == 1234
    assert upstream.seen[0].path == "/v1/messages/count_tokens"
    [row] = records()
    assert row["endpoint"] == "/v1/messages/count_tokens"
    assert row["outcome"] == "complete"
