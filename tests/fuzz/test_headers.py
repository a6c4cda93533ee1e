"""Fuzzed headers and framing: odd names and values, Host, Content-Length and chunked bodies that do
not add up, credentials, browser origins. Nothing reaches another host, no cut body is relayed, and
no record keeps a credential as sent."""
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.fuzz_request import FuzzRequest
from tests.fuzz.invariants import check_request
from tests.fuzz.profiles import fuzz_settings, tried_first

BODY = b'{"model": "claude-fuzz", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}'
ROUTES = [(b"POST", b"/v1/messages"), (b"POST", b"/v1/messages/count_tokens"), (b"GET", b"/v1/models"),
          (b"POST", b"/v1/files"), (b"PUT", b"/v1/fuzz"), (b"GET", b"/health"), (b"GET", b"/api/requests"),
          (b"GET", b"/"), (b"POST", b"/v1/messages?beta=true")]
HOSTS = [b"Host: 127.0.0.1", b"Host: {sentinel}", b"Host: {upstream}", b"Host: evil.example", b"Host: ",
         b"Host: 127.0.0.1:{sentinel_port}", b"Host: user@{sentinel}", b"Host: [::1]", b"Host: localhost",
         b"Host: {sentinel}/v1/x", b"host: {upstream}@{sentinel}"]
BROWSER = [b"Origin: http://evil.example", b"Origin: null", b"Origin: http://{proxy}", b"Origin: http://localhost:3001",
           b"Origin: ", b"Sec-Fetch-Site: cross-site", b"Sec-Fetch-Site: same-site", b"Sec-Fetch-Site: same-origin",
           b"Sec-Fetch-Site: none", b"Sec-Fetch-Site: garbage", b"Sec-Fetch-Mode: cors", b"Sec-Fetch-Dest: empty"]
OTHERS = [b"X-Forwarded-For: 10.0.0.1", b"X-Forwarded-Host: {sentinel}", b"X-Forwarded-Proto: https",
          b"Forwarded: host={sentinel};proto=https", b"X-Original-URL: /api/requests", b"X-Rewrite-URL: /health",
          b"X-HTTP-Method-Override: DELETE", b"X-Real-IP: 10.0.0.2", b"Expect: 100-continue", b"Expect: fuzz",
          b"Connection: keep-alive, x-api-key", b"Upgrade: h2c", b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
          b"TE: trailers", b"Keep-Alive: timeout=5", b"Proxy-Connection: keep-alive", b"Content-Encoding: gzip",
          b"Content-Type: text/plain", b"Content-Type: multipart/form-data; boundary=x",
          b"Content-Type: application/json; charset=utf-16", b"Accept-Encoding: gzip, br",
          b"anthropic-version: 2023-06-01", b"anthropic-beta: \xff\xfe", b"Trailer: x-api-key",
          b"x-claude-code-session-id: " + b"s" * 500, b"x-claude-code-agent-id: \xc3\xa9\x00",
          b" folded continuation", b"\tfolded", b"NoColon", b": no name", b"Bad Name: x", b"Bad\x00Name: x",
          b"X-Bad-Value: a\x00b", b"X-Bad-Value: a\rb", b"X-Bad-Value: a\nb", b"X-Bad-Value: \x7f", b"X-Empty:"]
ODD_LENGTHS = [b"abc", b"+5", b"-1", b" 5 ", b"0x10", b"5, 5", b"1e3", b"", b"\xd9\xa5", b"\xb2",
               b"99999999999999999999", b"5\x00"]
ODD_CODINGS = [b"gzip", b"chunked, chunked", b"identity", b"Chunked", b" chunked", b"gzip, chunked",
               b"chunked, gzip", b"chunked\x0b", b"fuzz", b"identity, chunked"]

tokens = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=12, max_size=40)
header_names = st.one_of(st.sampled_from([b"", b" x", b"x ", b"a:b", b"\x00", b"\xff", b"\xc3\xa9", b"x\ty"]),
                         st.text("abcdefghijklmnopqrstuvwxyz0123456789-!#$%&'*+.^_`|~", min_size=1,
                                 max_size=30).map(str.encode))
header_values = st.one_of(st.binary(max_size=60), st.integers(100, 9000).map(lambda size: b"v" * size))
random_lines = st.builds(lambda name, value: b"X-" + name + b": " + value, header_names, header_values)


@st.composite
def credentials(draw) -> tuple[bytes, bytes]:
    """A credential header line and the secret in it."""
    secret = b"sk-ant-fuzz-" + draw(tokens).encode()
    shape = draw(st.sampled_from([b"x-api-key: %s", b"X-Api-Key: %s", b"Authorization: Bearer %s",
                                  b"authorization: %s", b"Proxy-Authorization: Bearer %s", b"Cookie: session=%s"]))
    return shape % secret, secret


@st.composite
def framing(draw, body: bytes) -> tuple[list[bytes], bytes, bool | None]:
    """Content-Length or chunked lines, the body as sent, and whether that body is broken (None: odd)."""
    kind = draw(st.sampled_from(["exact", "short", "long", "odd", "twice", "chunked", "bad chunks",
                                 "odd coding", "length and chunked", "none"]))
    if kind == "exact":
        return [b"Content-Length: %d" % len(body)], body, False
    if kind == "short":  # declares more than is sent
        return [b"Content-Length: %d" % (len(body) + draw(st.integers(1, 10_000)))], body, True
    if kind == "long":  # sends more than it declares: the rest is not part of this request
        return [b"Content-Length: %d" % draw(st.integers(0, len(body) - 1))], body, False
    if kind == "odd":
        return [b"Content-Length: " + draw(st.sampled_from(ODD_LENGTHS))], body, None
    if kind == "twice":
        return [b"Content-Length: %d" % len(body), b"content-length: %d" % draw(st.integers(0, len(body)))], body, None
    if kind == "none":
        return [], body, False
    chunked = [b"Transfer-Encoding: chunked"]
    if kind == "odd coding":
        chunked = [b"Transfer-Encoding: " + draw(st.sampled_from(ODD_CODINGS))]
    elif kind == "length and chunked":
        chunked.append(b"Content-Length: %d" % len(body))
    sizes = draw(st.lists(st.integers(1, 40), max_size=6))
    chunks, rest = [], body
    for size in sizes:
        chunks.append(rest[:size])
        rest = rest[size:]
    chunks.append(rest)
    encoded = b"".join(b"%x%s\r\n%s\r\n" % (len(chunk), draw(st.sampled_from([b"", b";a=b"])), chunk)
                       for chunk in chunks if chunk)
    ending = draw(st.sampled_from([b"0\r\n\r\n", b"0\r\nx-trailer: 1\r\n\r\n"]))
    if kind != "bad chunks":
        return chunked, encoded + ending, False if kind == "chunked" else None
    broken = draw(st.sampled_from([
        b"zz\r\n" + body + b"\r\n" + ending,                          # a size that is not hex
        b"%x\r\n%s" % (len(body), body) + ending,                     # no CR LF after the data
        b"%x\r\n%s\r\n" % (len(body) + 50, body) + ending,            # a size bigger than the data
        encoded,                                                      # no last chunk
        b"-5\r\nhello\r\n" + ending, b"ffffffffffffffffff\r\nx\r\n" + ending, b"0x5\r\nhello\r\n" + ending,
        b" 5\r\nhello\r\n" + ending, b"5 \r\nhello\r\n" + ending, b"5;\x00\r\nhello\r\n" + ending,
        encoded + b"0\r\n",                                           # no end of the trailers
    ]))
    return chunked, broken, True


@st.composite
def header_requests(draw) -> FuzzRequest:
    """A request to a real route, its headers and framing fuzzed."""
    method, target = draw(st.sampled_from(ROUTES))
    hosts = draw(st.lists(st.sampled_from(HOSTS), max_size=2))
    lines = hosts if hosts or draw(st.booleans()) else [b"Host: 127.0.0.1"]
    found_credentials = draw(st.lists(credentials(), max_size=3))
    lines += [line for line, _ in found_credentials]
    lines += draw(st.lists(st.one_of(st.sampled_from(BROWSER), st.sampled_from(OTHERS), random_lines), max_size=6))
    if draw(st.integers(0, 30)) == 0:
        lines += [b"X-Many: header"] * 101  # over gunicorn's limit of 100 header fields
    body, broken = b"", False
    if method != b"GET":
        length_lines, body, broken = draw(framing(BODY))
        lines += length_lines
    lines = draw(st.permutations(lines))
    if any(b"\r" in line or b"\n" in line for line in lines):
        broken = None  # a CR or LF may end the head early: where the body starts is the server's call
    return FuzzRequest(method, target, tuple(lines), body, broken, tuple(secret for _, secret in found_credentials))


# Known attacks (those that got through before the hostile-client fixes among them), tried first.
KNOWN = [
    FuzzRequest(b"POST", b"/v1/messages", (b"Host: 127.0.0.1", b"Content-Length: %d" % (len(BODY) + 1)), BODY, True),
    FuzzRequest(b"POST", b"/v1/messages", (b"Host: 127.0.0.1", b"Transfer-Encoding: chunked"),
                b"zz\r\n" + BODY + b"\r\n0\r\n\r\n", True),
    FuzzRequest(b"POST", b"/v1/messages", (b"Host: 127.0.0.1", b"Transfer-Encoding: chunked"),
                b"%x\r\n%s\r\n" % (len(BODY), BODY), True),
    FuzzRequest(b"POST", b"/v1/messages", (b"Host: {sentinel}", b"X-Forwarded-Host: {sentinel}",
                                          b"Content-Length: %d" % len(BODY)), BODY),
    FuzzRequest(b"POST", b"/v1/messages", (b"Host: 127.0.0.1", b"x-api-key: sk-ant-fuzz-known0secret0one",
                                          b"Authorization: Bearer sk-ant-fuzz-known0secret0two",
                                          b"Content-Length: %d" % len(BODY)), BODY,
                secrets=(b"sk-ant-fuzz-known0secret0one", b"sk-ant-fuzz-known0secret0two")),
    FuzzRequest(b"POST", b"/v1/messages", (b"Host: 127.0.0.1", b"Origin: http://evil.example",
                                          b"Sec-Fetch-Site: cross-site", b"Content-Length: %d" % len(BODY)), BODY),
]


@fuzz_settings(ci_examples=300)
@tried_first(KNOWN)
@given(request=header_requests())
def test_fuzzed_headers_and_framing_keep_to_the_rules(proxy_under_fuzz, request):
    check_request(proxy_under_fuzz, request)
