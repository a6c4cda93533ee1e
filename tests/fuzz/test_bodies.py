"""Fuzzed JSON bodies to the Messages API: lone surrogates, NUL, deep nesting, huge numbers, duplicate
keys, very long model names, bytes that are not UTF-8, JSON that is not JSON. Each one is relayed or
refused, and recorded exactly once."""
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.fuzz_request import FuzzRequest
from tests.fuzz.invariants import check_request
from tests.fuzz.profiles import fuzz_settings, tried_first

TARGETS = [b"/v1/messages", b"/v1/messages/count_tokens", b"/v1/messages?beta=true"]
# Pieces of a JSON string's text, escapes written as JSON writes them.
STRING_PIECES = [b"claude-fuzz", b"\\ud800", b"\\udfff", b"\\ud83d\\ude00", b"\\ude00\\ud83d", b"\\u0000", b"\\\\",
                 b'\\"', b"\\n", b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00",
                 b"_session_0c3e7a46-1f5e-4b8e-9b3e-2a8c1d4e5f60", b"{\\\"session_id\\\": \\\"s\\ud800\\\"}", b"%00"]
NUMBERS = [b"1e999", b"-1e999", b"1" * 400, b"1E+99999", b"NaN", b"Infinity", b"-Infinity", b"-0", b"0.1e-99999",
           b"123456789012345678901234567890", b"5", b"0", b"-1", b"1.5", b"01", b"+1", b".5", b"1e", b"0x10"]
LITERALS = [b"true", b"false", b"null", b'"true"', b"[]", b"{}", b"tru", b"nul", b"True", b"None"]
# Known attacks (those that got through before the hostile-client fixes among them), tried first.
KNOWN = [b'{"model": "x\\ud800", "messages": []}', b'{"model": "x\\u0000", "messages": []}',
         b'{"model": "x\xed\xa0\x80", "messages": []}', b'{"model": "x\xff", "messages": []}',
         b'{"model": "m", "messages": [' + b"[" * 5000 + b"]" * 5000 + b"]}", b'{"model": "m", "max_tokens": 1e999}',
         b'{"model": "m", "max_tokens": ' + b"1" * 401 + b"}", b'{"model": "a", "model": "b", "stream": true}',
         b'{"model": "' + b"m" * 8000 + b'", "messages": []}', b'{"model": "m", "messages": [}',
         b'{"model": "m", "metadata": {"user_id": "{\\"session_id\\": \\"\\ud800\\"}"}}']
KEYS = [b"model", b"stream", b"messages", b"metadata", b"max_tokens", b"system", b"tools", b"thinking"]

printable = st.binary(max_size=30).map(lambda data: bytes(b % 94 + 33 for b in data).replace(b'"', b"'")
                                       .replace(b"\\", b"/"))
strings = st.lists(st.one_of(st.sampled_from(STRING_PIECES), printable), max_size=6).map(
    lambda parts: b'"' + b"".join(parts) + b'"')
long_strings = st.integers(1000, 9000).map(lambda size: b'"' + b"m" * size + b'"')
scalars = st.one_of(strings, st.sampled_from(NUMBERS), st.sampled_from(LITERALS), long_strings)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(lambda items: b"[" + b",".join(items) + b"]"),
    st.lists(st.tuples(st.one_of(st.sampled_from(KEYS), strings.map(lambda s: s[1:-1])), inner), max_size=4).map(
        lambda members: b"{" + b",".join(b'"%s":%s' % member for member in members) + b"}")), max_leaves=8)
depths = st.sampled_from([100, 1000, 5000, 20_000, 100_000])
nested = st.one_of(depths.map(lambda depth: b"[" * depth + b"]" * depth),
                   depths.map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth))
messages = st.one_of(
    strings.map(lambda text: b'[{"role": "user", "content": %s}]' % text),
    strings.map(lambda text: b'[{"role": "user", "content": [{"type": "text", "text": %s}]}]' % text),
    nested.map(lambda deep: b'[{"role": "user", "content": %s}]' % deep), values)
members = st.one_of(
    st.tuples(st.just(b"model"), st.one_of(strings, long_strings, values)),
    st.tuples(st.just(b"stream"), st.one_of(st.sampled_from(LITERALS), st.sampled_from(NUMBERS))),
    st.tuples(st.just(b"messages"), messages),
    st.tuples(st.just(b"metadata"), strings.map(lambda text: b'{"user_id": %s}' % text)),
    st.tuples(st.sampled_from(KEYS), st.one_of(values, nested)),
    st.tuples(strings.map(lambda s: s[1:-1]), values),
)
objects = st.lists(members, max_size=7).map(
    lambda pairs: b"{" + b", ".join(b'"%s": %s' % pair for pair in pairs) + b"}")


@st.composite
def bodies(draw) -> bytes:
    """A JSON object of fuzzed members, sometimes damaged on the way: cut, padded, or not JSON at all."""
    body = draw(st.one_of(st.sampled_from(KNOWN), objects, nested, values, st.binary(max_size=200)))
    damage = draw(st.sampled_from(["none"] * 6 + ["cut", "garbage", "bom", "byte", "array", "empty", "spaces"]))
    if damage == "cut" and body:
        body = body[:draw(st.integers(0, len(body) - 1))]
    elif damage == "garbage":
        body += draw(st.binary(min_size=1, max_size=20))
    elif damage == "bom":
        body = b"\xef\xbb\xbf" + body
    elif damage == "byte" and body:
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + draw(st.sampled_from([b"\xff", b"\x00", b"\x80", b"\xed\xa0\x80"])) + body[at + 1:]
    elif damage == "array":
        body = b"[" + body + b"]"
    elif damage == "empty":
        body = b""
    elif damage == "spaces":
        body = b" \t\r\n" + body + b"\n"
    return body


def body_request(target: bytes, body: bytes) -> FuzzRequest:
    """A POST of `body` to `target`, framed exactly."""
    lines = (b"Host: 127.0.0.1", b"Content-Type: application/json", b"Content-Length: %d" % len(body))
    return FuzzRequest(b"POST", target, lines, body)


@fuzz_settings(ci_examples=250)
@tried_first([body_request(TARGETS[0], body) for body in KNOWN])
@given(request=st.builds(body_request, st.sampled_from(TARGETS), bodies()))
def test_a_fuzzed_json_body_is_relayed_or_refused_and_recorded_once(proxy_under_fuzz, request):
    check_request(proxy_under_fuzz, request)
