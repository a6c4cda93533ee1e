"""Only the top-level model value changes; every other byte of the body stays as the client sent it."""
import json

from proxy.routing.providers.model_field import replace_model


def test_only_the_model_bytes_change():
    raw = ('{"messages": [{"role": "user", "content": [{"type": "text", "text": "the \\"model\\": key { [ ü 👋",'
           ' "model": "nested"}]}],\n  "model" :  "claude-haiku-4-5", "metadata": {"model": "m"},'
           ' "thinking": {"type": "enabled", "signature": "c2ln\\u00e9"}, "stream": true}').encode()
    out = replace_model(raw, "claude-sonnet-4-6")
    assert out == raw.replace(b'"claude-haiku-4-5"', b'"claude-sonnet-4-6"')
    assert json.loads(out)["messages"][0]["content"][0]["model"] == "nested"


def test_a_body_without_a_model_gets_one():
    assert json.loads(replace_model(b'{"messages": []}', "m")) == {"model": "m", "messages": []}
    assert json.loads(replace_model(b" { } ", "m")) == {"model": "m"}


def test_numbers_literals_and_escaped_keys():
    raw = b'{"max_tokens": 10, "stream": false, "x": null, "mod\\u0065l": "a", "t": [1, {"model": 2}]}'
    assert replace_model(raw, "b") == raw.replace(b'"a"', b'"b"')
