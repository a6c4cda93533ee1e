"""Anthropic Messages requests become faithful chat completions requests."""
import json

from proxy.routing.providers.openai_request import to_openai_request

PNG = "iVBORw0KGgoAAAANSUhEUg=="


def test_system_blocks_and_system_role_messages_become_system_messages():
    request = to_openai_request({
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "system", "content": [{"type": "text", "text": "Reminder: tests first."}]}],
    }, "gpt-4o")
    assert request["messages"] == [{"role": "system", "content": "You are Claude Code.\nBe brief."},
                                   {"role": "user", "content": "hi"},
                                   {"role": "system", "content": "Reminder: tests first."}]
    assert to_openai_request({"system": "Plain.", "messages": []}, "m")["messages"] == [
        {"role": "system", "content": "Plain."}]


def test_text_and_images_base64_and_url():
    request = to_openai_request({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in these?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]}]}, "gpt-4o")
    assert request["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]}]


def test_tool_use_and_tool_results_with_errors_and_thinking_dropped():
    request = to_openai_request({"messages": [
        {"role": "user", "content": "List files and the date"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should call tools.", "signature": "c2ln"},
            {"type": "redacted_thinking", "data": "xyz"},
            {"type": "text", "text": "Running both."},
            {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}},
            {"type": "tool_use", "id": "toolu_02", "name": "Bash", "input": {"command": "date"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "a.py\nb.py"},
            {"type": "tool_result", "tool_use_id": "toolu_02", "is_error": True,
             "content": [{"type": "text", "text": "date: not found"},
                         {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG}}]},
            {"type": "text", "text": "Now summarise."},
        ]},
    ]}, "m")
    assert request["messages"] == [
        {"role": "user", "content": "List files and the date"},
        {"role": "assistant", "content": "Running both.", "tool_calls": [
            {"id": "toolu_01", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "ls"}'}},
            {"id": "toolu_02", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "date"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_01", "content": "a.py\nb.py"},
        {"role": "tool", "tool_call_id": "toolu_02", "content": "Error: date: not found"},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{PNG}"}},
            {"type": "text", "text": "Now summarise."}]},
    ]


def test_an_assistant_turn_of_only_tool_calls_has_null_content():
    request = to_openai_request({"messages": [{"role": "assistant", "content": [
        {"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]}]}, "m")
    assert request["messages"][0]["content"] is None
    assert json.loads(request["messages"][0]["tool_calls"][0]["function"]["arguments"]) == {}


def test_an_assistant_turn_of_only_thinking_keeps_an_empty_text():
    # Chat completions refuse an assistant message with neither content nor tool calls.
    request = to_openai_request({"messages": [{"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hm", "signature": "sig"}]}]}, "m")
    assert request["messages"] == [{"role": "assistant", "content": ""}]


def test_tools_tool_choice_and_sampling_settings():
    body = {
        "model": "claude-haiku-4-5", "max_tokens": 512, "temperature": 0.2, "top_p": 0.9, "top_k": 5,
        "stop_sequences": ["</done>"], "stream": True, "thinking": {"type": "enabled", "budget_tokens": 1000},
        "metadata": {"user_id": "u"}, "context_management": {"edits": []}, "service_tier": "auto",
        "tools": [{"name": "Read", "description": "Read a file", "cache_control": {"type": "ephemeral"},
                   "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}},
                  {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "messages": [{"role": "user", "content": "hi"}],
    }
    request = to_openai_request(body, "gpt-4o")
    assert request == {
        "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 512,
        "temperature": 0.2, "top_p": 0.9, "stop": ["</done>"],
        "tools": [{"type": "function", "function": {
            "name": "Read", "description": "Read a file",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}],
        "tool_choice": "required", "parallel_tool_calls": False,
        "stream": True, "stream_options": {"include_usage": True},
    }


def test_tool_choice_forms():
    def choice(value):
        body = {"messages": [], "tools": [{"name": "Read", "input_schema": {}}], "tool_choice": value}
        return to_openai_request(body, "m").get("tool_choice")
    assert choice({"type": "auto"}) == "auto"
    assert choice({"type": "none"}) == "none"
    assert choice({"type": "tool", "name": "Read"}) == {"type": "function", "function": {"name": "Read"}}
    assert "tool_choice" not in to_openai_request({"messages": [], "tool_choice": {"type": "any"}}, "m")
