"""Chat completions become Anthropic messages; provider errors become Anthropic error bodies."""
import json

import pytest

from proxy.routing.providers.openai_response import anthropic_error, error_message, to_anthropic_message


def completion(message, finish="stop", usage=None):
    return {"id": "chatcmpl-9", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage or {"prompt_tokens": 50, "completion_tokens": 7}}


def test_text_and_tool_calls_become_content_blocks():
    message = to_anthropic_message(completion({"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "ls"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "Read", "arguments": ""}},
    ]}, finish="tool_calls"), "gpt-4o")
    assert message == {
        "id": "msg_chatcmpl-9", "type": "message", "role": "assistant", "model": "gpt-4o-2024-08-06",
        "content": [{"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}},
                    {"type": "tool_use", "id": "call_2", "name": "Read", "input": {}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 50, "output_tokens": 7, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 0},
    }


@pytest.mark.parametrize("finish, stop", [("stop", "end_turn"), ("length", "max_tokens"),
                                          ("tool_calls", "tool_use"), ("content_filter", "refusal")])
def test_finish_reasons_map_to_stop_reasons(finish, stop):
    message = to_anthropic_message(completion({"role": "assistant", "content": "x"}, finish=finish), "m")
    assert message["stop_reason"] == stop


def test_cached_prompt_tokens_are_cache_reads():
    usage = {"prompt_tokens": 2000, "completion_tokens": 30, "prompt_tokens_details": {"cached_tokens": 1536}}
    message = to_anthropic_message(completion({"role": "assistant", "content": "x"}, usage=usage), "m")
    assert message["usage"] == {"input_tokens": 464, "output_tokens": 30, "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 1536}


def test_errors_keep_the_message_and_type_by_status():
    body = json.dumps({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
    assert anthropic_error(401, error_message(body.encode())) == {
        "type": "error", "error": {"type": "authentication_error", "message": "Incorrect API key provided"}}
    assert anthropic_error(503, error_message(b"upstream busy"))["error"] == {
        "type": "api_error", "message": "upstream busy"}
    assert anthropic_error(429, "slow down")["error"]["type"] == "rate_limit_error"
    assert anthropic_error(422, "bad")["error"]["type"] == "invalid_request_error"


def test_tool_calls_that_finish_with_stop_are_a_tool_use_turn():
    # Ollama and some vLLM tool parsers say "stop" for a turn that called a tool.
    message = to_anthropic_message(completion({"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}]}), "m")
    assert message["stop_reason"] == "tool_use"
    assert to_anthropic_message(completion({"role": "assistant", "content": "Hi."}), "m")["stop_reason"] == "end_turn"
