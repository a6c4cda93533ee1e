"""Header filtering at both edges, redaction of secrets, key fingerprints."""
from requests.structures import CaseInsensitiveDict

from proxy.headers import (api_key_fingerprint, client_response_headers, fingerprint, redacted,
                           upstream_request_headers)


def test_end_to_end_headers_go_upstream_and_hop_by_hop_do_not():
    incoming = [("Host", "localhost:3001"), ("X-Api-Key", "sk-1"), ("Anthropic-Beta", "a,b"),
                ("Connection", "keep-alive, X-Private"), ("X-Private", "1"), ("Keep-Alive", "5"),
                ("Transfer-Encoding", "chunked"), ("Content-Length", "10"), ("Accept-Encoding", "gzip"),
                ("X-Claude-Code-Session-Id", "s1"), ("Proxy-Authorization", "Basic x")]
    outgoing = dict(upstream_request_headers(incoming))
    assert outgoing == {"X-Api-Key": "sk-1", "Anthropic-Beta": "a,b", "X-Claude-Code-Session-Id": "s1",
                        "Accept-Encoding": "identity"}


def test_response_headers_lose_length_and_encoding_only_when_decoded():
    upstream = CaseInsensitiveDict({"content-type": "application/json", "content-length": "99",
                                    "content-encoding": "gzip", "request-id": "req_1",
                                    "transfer-encoding": "chunked", "date": "x", "server": "cf"})
    assert dict(client_response_headers(upstream, body_decoded=True)) == {
        "content-type": "application/json", "request-id": "req_1"}
    assert "content-length" in dict(client_response_headers(upstream, body_decoded=False))


def test_secrets_are_redacted_to_fingerprints():
    headers = redacted([("X-Api-Key", "sk-ant-secret"), ("Authorization", "Bearer sk-ant-secret"),
                        ("Cookie", "a=b"), ("User-Agent", "claude-cli/2.1")])
    assert "sk-ant-secret" not in str(headers)
    assert headers["x-api-key"] == headers["authorization"] == f"[redacted {fingerprint('sk-ant-secret')}]"
    assert headers["user-agent"] == "claude-cli/2.1"
    assert fingerprint("key-a") != fingerprint("key-b")


def test_the_key_fingerprint_prefers_x_api_key_and_takes_a_names_first_value():
    assert api_key_fingerprint([("Authorization", "Bearer sk-b"), ("X-API-KEY", "sk-a"),
                                ("x-api-key", "sk-c")]) == fingerprint("sk-a")
    assert api_key_fingerprint([("x-api-key", ""), ("authorization", "Bearer sk-b")]) == fingerprint("sk-b")
    assert api_key_fingerprint([("User-Agent", "claude-cli/2.1")]) is None
