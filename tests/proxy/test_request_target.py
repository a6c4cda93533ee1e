"""The request-target gate: only an origin-form path under /v1/, as sent and as decoded, is relayed."""
import pytest

from proxy.request_target import InvalidTarget, aims_at_api, is_origin_form, raw_target, upstream_path


@pytest.mark.parametrize("target, decoded, expected", [
    ("/v1/messages", "/v1/messages", "/v1/messages"),
    ("/v1/messages?beta=true", "/v1/messages", "/v1/messages"),
    ("/v1/files/a%2Fb", "/v1/files/a/b", "/v1/files/a%2Fb"),  # an escape stays as sent
    ("/v1/x@y:1/z", "/v1/x@y:1/z", "/v1/x@y:1/z"),            # `@` in a path names no host
])
def test_a_path_under_v1_is_kept_as_sent(target, decoded, expected):
    assert upstream_path(target, decoded) == expected


@pytest.mark.parametrize("target, decoded, title", [
    ("v1%2F@127.0.0.1:9/x", "v1/@127.0.0.1:9/x", "Invalid request target"),
    ("http://127.0.0.1:9/v1/messages", "/v1/messages", "Invalid request target"),
    ("//127.0.0.1:9/v1/messages", "//127.0.0.1:9/v1/messages", "Invalid request target"),
    ("*", "*", "Invalid request target"),
    ("/v1%2Fmessages", "/v1/messages", "Invalid path"),
    ("/%761/messages", "/v1/messages", "Invalid path"),
    ("/v1/files/..%2F..%2Fadmin", "/v1/files/../../admin", "Invalid path"),
    ("/v1/%2e%2e/x", "/v1/../x", "Invalid path"),
    ("/v1/./messages", "/v1/./messages", "Invalid path"),
    ("/v1/x\\..\\y", "/v1/x\\..\\y", "Invalid path"),
    ("/v1/x%5C..%5Cy", "/v1/x\\..\\y", "Invalid path"),
])
def test_any_other_target_is_refused_with_its_reason(target, decoded, title):
    with pytest.raises(InvalidTarget) as refused:
        upstream_path(target, decoded)
    assert refused.value.title == title


def test_only_origin_form_targets_pass_the_first_gate():
    assert is_origin_form("/api/requests")
    assert not any(map(is_origin_form, ["http://h/x", "h:1", "*", "//h/x", "v1/x", ""]))


def test_a_target_aims_at_the_api_when_either_form_is_under_v1():
    assert aims_at_api("/v1%2Fmessages", "/v1/messages")
    assert not aims_at_api("/api/requests", "/api/requests")


def test_the_raw_target_is_the_client_s_without_a_fragment():
    assert raw_target({"RAW_URI": "/v1/messages?beta=true#frag"}) == "/v1/messages?beta=true"
    assert raw_target({"PATH_INFO": "/v1/a b", "QUERY_STRING": "q=1"}) == "/v1/a%20b?q=1"
