"""What the proxy reads from a request body: model, stream, counts, conversation and session."""
import json

import msgspec
import pytest

from proxy.request_info import InvalidBody, conversation_hash, parse_json_body, parse_json_head, request_info

SESSION = "3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b"


def test_invalid_json_and_non_objects_are_rejected():
    with pytest.raises(InvalidBody, match="not valid JSON"):
        parse_json_body(b"{nope", required=True)
    with pytest.raises(InvalidBody, match="JSON object"):
        parse_json_body(b"[1, 2]", required=True)
    with pytest.raises(InvalidBody, match="empty"):
        parse_json_body(b"  ", required=True)
    assert parse_json_body(b"", required=False) is None


def test_model_stream_and_message_count():
    info = request_info({"model": "claude-opus-4-1", "stream": True,
                         "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                      {"role": "user", "content": "c"}]})
    assert (info.model, info.stream, info.message_count) == ("claude-opus-4-1", True, 3)


def test_session_from_header_wins_over_metadata():
    body = {"metadata": {"user_id": json.dumps({"device_id": "d", "account_uuid": "a", "session_id": SESSION})}}
    assert request_info(body).session_id == SESSION
    assert request_info(body, "header-session").session_id == "header-session"


def test_session_from_the_older_flat_user_id():
    body = {"metadata": {"user_id": f"user_abc123_account_x_session_{SESSION}"}}
    assert request_info(body).session_id == SESSION


def test_conversation_hash_is_stable_when_cache_control_moves():
    first_turn = [{"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
        {"type": "text", "text": "Fix the bug", "cache_control": {"type": "ephemeral"}}]}]
    later_turn = [{"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
        {"type": "text", "text": "Fix the bug"}]},
        {"role": "assistant", "content": "Done"},
        {"role": "user", "content": [{"type": "text", "text": "Thanks", "cache_control": {"type": "ephemeral"}}]}]
    assert conversation_hash(first_turn) == conversation_hash(later_turn)
    assert conversation_hash(first_turn) != conversation_hash([{"role": "user", "content": "Other task"}])
    assert conversation_hash([]) is None


def test_bodies_that_need_not_be_json_yield_no_facts():
    assert parse_json_body(b"--boundary\r\nContent-Disposition: form-data", required=False) is None
    assert parse_json_body(b"[1]", required=False) is None


CLAUDE_CODE_BODY = json.dumps({
    "model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": True,
    "system": [{"type": "text", "text": "You are Claude Code."}],
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Fix the bug \u00e9 \U0001f600"}]},
                 {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read",
                                                    "input": {"file_path": "/src/a.py", "n": 1.5e300}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]}],
    "metadata": {"user_id": json.dumps({"device_id": "d", "session_id": SESSION})},
    "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
}, ensure_ascii=False).encode()
HEAD_CASES = [
    CLAUDE_CODE_BODY,
    b'{"model": "a", "model": "b", "messages": [{"role": "assistant", "content": "x"}]}',
    b'{"messages": {"role": "user"}}', b'{"messages": null, "stream": "yes"}', b'{"model": 7}',
    b'{"x": NaN, "model": "m"}', b'\xef\xbb\xbf{"model": "bom"}', b'{"x": "\\ud800", "model": "m"}',
    b'{"x": "\xed\xa0\x80", "model": "m"}',  # an encoded lone surrogate: json accepts it
    b'{"x": "\xff", "model": "m"}', b'{"model": "m"} trailing', b'{"x": [1, 2,]}', b"[1]", b"", b"  ",
    b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"messages": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
]


def outcome(parse, raw: bytes):
    try:
        body = parse(raw, required=True)
    except InvalidBody as exc:
        return "invalid", str(exc).split(":")[0]
    return request_info(body, None)


@pytest.mark.parametrize("raw", HEAD_CASES)
def test_the_head_gives_what_the_whole_body_gives(raw):
    assert outcome(parse_json_head, raw) == outcome(parse_json_body, raw)


def test_the_head_leaves_the_messages_encoded_until_one_is_needed():
    head = parse_json_head(CLAUDE_CODE_BODY, required=True)
    assert len(head["messages"]) == 3 and all(isinstance(m, msgspec.Raw) for m in head["messages"])
    assert set(head) == {"model", "stream", "messages", "metadata"}  # tools, system... never decoded
    info = request_info(head)
    assert (info.model, info.stream, info.message_count, info.session_id) == ("claude-sonnet-4-5", True, 3, SESSION)


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_a_body_nested_past_the_parser_is_invalid_not_an_error(depth):
    raw = ('{"model": "m", "messages": [{"role": "user", "content": %s}]}' % ("[" * depth + "]" * depth)).encode()
    for parse in (parse_json_head, parse_json_body):
        with pytest.raises(InvalidBody, match="recursion"):
            parse(raw, required=True)


@pytest.mark.parametrize("depth", [985, 990, 995, 999])
def test_values_nested_just_within_the_parser_give_no_session_or_hash_rather_than_an_error(depth):
    # A metadata.user_id holding nested JSON, and first-message content the hash re-encodes: each
    # decodes, but decoding or encoding it once more, a few frames deeper, runs out of stack.
    nested = []
    for _ in range(depth):  # built level by level: json.loads would run out of stack in the test
        nested = [nested]
    info = request_info({"model": "m", "metadata": {"user_id": "[" * depth + "]" * depth},
                         "messages": [{"role": "user", "content": [{"type": "image", "x": nested}]}]})
    assert info.session_id is None and info.model == "m"
