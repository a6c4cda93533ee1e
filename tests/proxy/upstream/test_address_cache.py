"""Remembered upstream addresses: one lookup per host, renewed in the background, forgotten when dead."""
import socket
import ssl
import threading
import time

import pytest

from proxy.upstream.address_cache import AddressCache, lookup
from proxy.upstream.client import UpstreamClient, UpstreamUnreachable
from proxy.upstream.pool import RememberedAddress


class Resolver:
    """A scripted DNS: each lookup takes the next answer (an exception is raised); calls are kept."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[str] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, host: str) -> list[str]:
        self.calls.append(host)
        self.release.wait(5)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_known_host_is_answered_from_memory():
    resolver = Resolver(["10.0.0.1", "10.0.0.2"])
    cache = AddressCache(resolve=resolver)
    assert cache.addresses("api.example") == cache.addresses("api.example") == ["10.0.0.1", "10.0.0.2"]
    assert resolver.calls == ["api.example"]


def test_an_ip_literal_needs_no_lookup():
    resolver = Resolver(["10.0.0.1"])
    cache = AddressCache(resolve=resolver)
    assert cache.addresses("127.0.0.1") == ["127.0.0.1"]
    assert cache.addresses("::1") == ["::1"]
    cache.refresh("127.0.0.1")
    assert resolver.calls == []


def test_a_stale_answer_serves_at_once_while_the_host_is_looked_up_again():
    resolver = Resolver(["10.0.0.1"], ["10.0.0.9"])
    cache = AddressCache(refresh_after=0.0, resolve=resolver)
    assert cache.addresses("api.example") == ["10.0.0.1"]
    resolver.release.clear()  # the renewal's lookup hangs until released
    assert cache.addresses("api.example") == ["10.0.0.1"], "the caller must not wait for DNS"
    assert cache.addresses("api.example") == ["10.0.0.1"]
    _wait_for(lambda: len(resolver.calls) == 2)
    assert len(resolver.calls) == 2, "one renewal at a time"
    resolver.release.set()
    _wait_for(lambda: cache.addresses("api.example") == ["10.0.0.9"])
    assert cache.addresses("api.example") == ["10.0.0.9"]


def test_a_failed_renewal_keeps_the_old_answer_and_is_logged_from_the_hub(caplog):
    resolver = Resolver(["10.0.0.1"], socket.gaierror(-3, "Temporary failure in name resolution"))
    cache = AddressCache(refresh_after=0.0, resolve=resolver)
    cache.addresses("api.example")
    cache.addresses("api.example")  # stale: renewed in the background, and that fails
    _wait_for(lambda: cache.refresh_failures == 1)
    assert cache.refresh_failures == 1
    assert cache.addresses("api.example") == ["10.0.0.1"]
    assert "could not look api.example up again" in caplog.text
    assert "Temporary failure in name resolution" in caplog.text


def test_an_empty_answer_is_a_lookup_error_and_is_not_remembered():
    resolver = Resolver([], ["10.0.0.1"])
    cache = AddressCache(resolve=resolver)
    with pytest.raises(socket.gaierror):
        cache.addresses("api.example")
    assert cache.remembered("api.example") is None
    assert cache.addresses("api.example") == ["10.0.0.1"]
    assert resolver.calls == ["api.example", "api.example"]


def test_an_expired_host_keeps_its_addresses_until_the_new_answer_comes():
    resolver = Resolver(["10.0.0.1"], ["10.0.0.2"])
    cache = AddressCache(resolve=resolver)
    cache.addresses("api.example")
    resolver.release.clear()
    cache.expire("api.example")  # none of its addresses answered
    assert cache.addresses("api.example") == ["10.0.0.1"], "an outage must not put a lookup on every connection"
    resolver.release.set()
    _wait_for(lambda: cache.addresses("api.example") == ["10.0.0.2"])
    assert cache.addresses("api.example") == ["10.0.0.2"]
    assert len(resolver.calls) == 2


def test_the_system_lookup_answers_for_localhost():
    assert "127.0.0.1" in lookup("localhost")


def _use_cache(monkeypatch, cache: AddressCache) -> None:
    """The client's start-up lookup and its pool's connections use `cache`."""
    monkeypatch.setattr(RememberedAddress, "address_cache", cache)
    monkeypatch.setattr("proxy.upstream.client.ADDRESSES", cache)


@pytest.fixture
def resolver(monkeypatch):
    """A fresh cache that counts real lookups."""
    calls = []

    def counted(host):
        calls.append(host)
        return lookup(host)

    _use_cache(monkeypatch, AddressCache(resolve=counted))
    return calls


def test_a_named_upstream_is_looked_up_once_at_start_and_never_by_a_connection(upstream, resolver):
    port = upstream.url.rsplit(":", 1)[1]
    client = UpstreamClient(f"http://localhost:{port}", connect_timeout=2, read_timeout=2)
    # In the background, from the client's start:
    _wait_for(lambda: RememberedAddress.address_cache.remembered("localhost"))
    for _ in range(3):
        client.send("POST", "/v1/messages", "", [], b"{}").raw.read()
        client.close()  # the next request needs a new connection
    assert resolver == ["localhost"]
    assert [seen.headers["host"] for seen in upstream.seen] == [f"localhost:{port}"] * 3


def test_when_no_remembered_address_answers_the_host_is_looked_up_again(upstream, monkeypatch):
    port = upstream.url.rsplit(":", 1)[1]
    moved = Resolver(["127.0.0.2"], ["127.0.0.1"])  # nothing of ours listens on 127.0.0.2 (Linux)
    cache = AddressCache(resolve=moved)
    _use_cache(monkeypatch, cache)
    client = UpstreamClient(f"http://upstream.test:{port}", connect_timeout=2, read_timeout=2)
    _wait_for(lambda: cache.remembered("upstream.test") == ["127.0.0.2"])
    with pytest.raises(UpstreamUnreachable):
        client.send("POST", "/v1/messages", "", [], b"{}")
    _wait_for(lambda: cache.remembered("upstream.test") == ["127.0.0.1"])  # looked up again, off the hub
    response = client.send("POST", "/v1/messages", "", [], b"{}")
    assert response.status_code == 200 and response.raw.read()
    assert moved.calls == ["upstream.test", "upstream.test"]
    assert upstream.seen[0].headers["host"] == f"upstream.test:{port}"


def test_tls_still_names_the_host_when_connecting_to_its_remembered_address(resolver):
    server = socket.create_server(("127.0.0.1", 0))
    names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    def handshake():  # no certificate: the handshake fails right after the client's hello
        connection, _ = server.accept()
        with connection:
            try:
                context.wrap_socket(connection, server_side=True)
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=handshake, daemon=True)
    thread.start()
    client = UpstreamClient(f"https://localhost:{server.getsockname()[1]}", connect_timeout=2, read_timeout=2)
    _wait_for(lambda: RememberedAddress.address_cache.remembered("localhost"))
    try:
        with pytest.raises(UpstreamUnreachable):
            client.send("POST", "/v1/messages", "", [], b"{}")
    finally:
        thread.join(5)
        server.close()
    assert names == ["localhost"]
    assert resolver == ["localhost"]
