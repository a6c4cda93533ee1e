"""Fuzzed request targets: only an origin-form path under /v1/ is relayed, and only to the upstream."""
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.fuzz_request import FuzzRequest
from tests.fuzz.invariants import check_request
from tests.fuzz.profiles import fuzz_settings, tried_first

METHODS = [b"POST", b"GET", b"PUT", b"PATCH", b"DELETE", b"OPTIONS", b"HEAD", b"CONNECT", b"TRACE", b"post", b"FOO"]
HOSTS = [b"{sentinel}", b"127.0.0.1:{sentinel_port}", b"localhost:{sentinel_port}", b"user@{sentinel}",
         b"user:pw@{sentinel}", b"{upstream}", b"{proxy}", b"[::1]:{sentinel_port}", b"{sentinel}@{upstream}",
         b"{upstream}@{sentinel}", b"evil.example", b"127.0.0.1", b"127.0.0.1:{sentinel_port}#@{upstream}"]
SCHEMES = [b"http://", b"https://", b"HTTP://", b"//", b"ftp://", b"http:/", b"http:", b"", b"@", b"v1%2F@"]
PREFIXES = [b"/v1/", b"/v1", b"v1/", b"v1%2F", b"v1%2f", b"/", b"//", b"", b"/V1/", b"/%761/", b"/%76%31/",
            b"/v1%2F", b"/v1%2f", b"/v1%5C", b"/v1\\", b"/api/", b"/health", b"/metrics", b"/./v1/", b"/v1/./",
            b"/v1/..", b"*", b"@", b"/v1/messages"]
SEGMENTS = [b"messages", b"count_tokens", b"models", b"files", b"chat", b"completions", b"batches", b"..", b".",
            b"%2e%2e", b"%2E%2E", b"%2e", b".%2e", b"%2e.", b"...", b"%2F", b"%2f", b"%40", b"%5C", b"%5c", b"\\",
            b"%00", b"%FF", b"%ff", b"%25", b"%252e%252e", b"%C3%A9", b"@", b":", b";", b"~", b"", b"%3F", b"%23",
            b"{sentinel}", b"@{sentinel}", b":{sentinel_port}"]
SEPARATORS = [b"/", b"//", b"\\", b"%2F", b"%2f", b"@", b"?", b"#", b"?://", b"/../", b"/./", b"%2F..%2F"]
QUERIES = [b"", b"?beta=true", b"?", b"?x=http://{sentinel}/", b"?://", b"#frag", b"?a#b", b"#/../..", b"?%00",
           b"?x=/../..", b"??", b"?a=b&c=d", b"#@{sentinel}", b"?@{sentinel}"]
# Known attacks (those that got through before the hostile-client fixes among them) and near relatives.
KNOWN = [b"v1%2F@{sentinel}/x", b"v1%2F@{sentinel}/x?u=://", b"/v1/../x", b"/v1/%2e%2e/%2e%2e/x",
         b"/v1/messages@{sentinel}", b"http://{sentinel}/v1/messages", b"//{sentinel}/v1/messages",
         b"@{sentinel}/v1/messages?://", b"{sentinel}", b"*", b"/v1/messages", b"/v1/%2e%2e%2fapi%2frequests",
         b"http://{upstream}/v1/messages", b"http://{sentinel}/v1/messages?://", b"/v1/messages/count_tokens",
         b"/v1/chat/completions", b"/v1//messages", b"/v1/", b"/v1/models", b"/%2e%2e/v1/messages",
         b"/v1%2Fx", b"/v1%2f..%2fapi", b"v1/\\x?u=http://{sentinel}/", b"/v1/x\\..\\..\\api"]

printable = st.binary().map(lambda data: bytes(b % 94 + 33 for b in data))  # the bytes gunicorn allows
pieces = st.lists(st.one_of(st.sampled_from(SEGMENTS), printable), max_size=6)
paths = st.builds(lambda prefix, parts, separators, query: prefix + b"".join(
    part + separators[n % len(separators)] for n, part in enumerate(parts)).rstrip(b"/") + query,
    st.sampled_from(PREFIXES), pieces, st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=3),
    st.sampled_from(QUERIES))
authorities = st.builds(lambda scheme, host, path: scheme + host + path,
                        st.sampled_from(SCHEMES), st.sampled_from(HOSTS), st.one_of(st.just(b""), paths))
targets = st.one_of(
    st.sampled_from(KNOWN), paths, authorities, printable.filter(bool),
    st.binary(min_size=1, max_size=40),                                            # anything at all
    st.text(min_size=1, max_size=20).map(lambda text: b"/v1/" + text.encode()),    # raw unicode
    st.integers(1000, 9000).map(lambda size: b"/v1/" + b"a" * size),               # a very long segment
)


def target_request(method: bytes, target: bytes) -> FuzzRequest:
    """A request to `target`, with a small JSON body where the method carries one."""
    lines = [b"Host: 127.0.0.1"]
    body = b""
    if method in (b"POST", b"PUT", b"PATCH", b"post"):
        body = b'{"model": "claude-fuzz", "messages": [{"role": "user", "content": "hi"}]}'
        lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
    return FuzzRequest(method, target, tuple(lines), body)


target_requests = st.builds(target_request, st.sampled_from(METHODS), targets)


@fuzz_settings(ci_examples=200)
@tried_first([target_request(b"POST", target) for target in KNOWN])
@given(request=target_requests)
def test_a_fuzzed_target_is_relayed_under_v1_or_refused_and_recorded(proxy_under_fuzz, request):
    check_request(proxy_under_fuzz, request)
