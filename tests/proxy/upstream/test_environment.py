"""The environment's proxy and CA bundle for the upstream, as requests' own merging would find them."""
import socket
import threading

import pytest

from proxy.upstream.client import UpstreamClient
from proxy.upstream.environment import ca_bundle, proxies_for

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                   "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_scheme_proxy_applies_unless_no_proxy_names_the_host(monkeypatch):
    assert proxies_for("https://api.anthropic.com") == {}
    monkeypatch.setenv("HTTPS_PROXY", "http://corporate.test:3128")
    assert proxies_for("https://api.anthropic.com")["https"] == "http://corporate.test:3128"
    assert proxies_for("http://127.0.0.1:8080") == {}, "an HTTPS proxy is not one for plain HTTP"
    monkeypatch.setenv("NO_PROXY", "anthropic.com")
    assert proxies_for("https://api.anthropic.com") == {}


def test_the_ca_bundle_is_requests_then_curls_else_certifis(monkeypatch):
    assert ca_bundle() is True
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/curl.pem")
    assert ca_bundle() == "/etc/ssl/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    assert ca_bundle() == "/etc/ssl/corporate.pem"


def test_a_request_goes_through_the_environments_proxy_in_absolute_form(monkeypatch):
    # A forward proxy that answers itself: what reached it shows the proxy was used, and for which URL.
    listener = socket.create_server(("127.0.0.1", 0))
    heads = []

    def forward_proxy():
        connection, _ = listener.accept()
        with connection:
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(65536)
            heads.append(head)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

    thread = threading.Thread(target=forward_proxy, daemon=True)
    thread.start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{listener.getsockname()[1]}")
    client = UpstreamClient("http://upstream.test:8080", connect_timeout=2, read_timeout=2)
    try:
        response = client.send("POST", "/v1/messages", "beta=true", [("x-api-key", "sk-ant-proxied")], b"{}")
        assert response.status_code == 200 and response.raw.read() == b"{}"
    finally:
        client.close()
        listener.close()
    thread.join(5)
    [head] = heads
    assert head.startswith(b"POST http://upstream.test:8080/v1/messages?beta=true HTTP/1.1\r\n")
    assert b"x-api-key: sk-ant-proxied" in head
