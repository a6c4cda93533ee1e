"""The upstream transport's private overrides of requests, urllib3 and http.client, fenced.

setup.cfg pins requests and urllib3 to the minor versions this module last passed on. An upgrade
(or a new Python, for http.client) that moves what an override relies on fails here, naming the
override and the version: mend the override, then widen the pin.
"""
import http.client
import inspect
import io
import platform
import socket
from http.cookiejar import CookieJar

import pytest
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.models import RequestEncodingMixin
from urllib3.connection import HTTPConnection
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.util.connection import is_connection_dropped

from proxy.relay import upstream_body
from proxy.upstream.client import NoCookies, UpstreamClient, UpstreamRequest, _RelayAdapter
from proxy.upstream.pool import Pool, PooledCheck, PooledConnection, PooledTLSConnection, RememberedAddress, TLSPool
from proxy.upstream.wire import MAX_HEADERS, MAX_LINE, RESPONSE_BUFFER, PlainHeadResponse, RequestHeadWriting

PYTHON = f"Python {platform.python_version()}"
LIBRARIES = {"requests": f"requests {requests.__version__}", "urllib3": f"urllib3 {urllib3.__version__}",
             "http.client": f"{PYTHON}'s http.client", "http.cookiejar": f"{PYTHON}'s http.cookiejar"}
ALL_LIBRARIES = ", ".join(LIBRARIES.values())


def moved(override: str, library: str, what: str) -> str:
    """The failure message: the override, the library version, and what it no longer finds."""
    return (f"{override} relies on {what}, which {LIBRARIES[library]} changed: mend the override "
            "before widening the pin in setup.cfg")


# Each transport class -> the library attributes it replaces (methods, properties, class attributes).
CONNECTION_OVERRIDES = {"is_connected", "_new_conn", "putheader", "_send_output", "send", "getresponse", "close",
                        "response_class"}
OVERRIDES = {
    PooledConnection: CONNECTION_OVERRIDES,
    PooledTLSConnection: CONNECTION_OVERRIDES,
    Pool: {"ConnectionCls"},
    TLSPool: {"ConnectionCls"},
    PlainHeadResponse: {"__init__", "begin"},
    _RelayAdapter: {"__init__", "get_connection_with_tls_context", "cert_verify", "request_url", "build_response",
                    "close"},
    UpstreamRequest: {"path_url"},
    NoCookies: {"extract_cookies", "set_cookie"},
}


def _ours(cls) -> bool:
    return cls.__module__.startswith("proxy.")


def replaced(cls) -> set[str]:
    """The names a transport class defines (itself or through its mixins) that a library base has too."""
    ours = {name for base in cls.__mro__ if _ours(base) for name in vars(base)
            if name == "__init__" or not (name.startswith("__") or name == "_abc_impl")}  # abc's own, per class
    theirs = {name for base in cls.__mro__ if not _ours(base) for name in vars(base)}
    return ours & theirs


@pytest.mark.parametrize("cls", OVERRIDES, ids=lambda cls: cls.__name__)
def test_each_override_still_replaces_an_attribute_of_a_library_base(cls):
    found = replaced(cls)
    gone = sorted(OVERRIDES[cls] - found)
    assert not gone, (f"{cls.__name__} overrides {gone}, which no library base class has any longer "
                      f"({ALL_LIBRARIES}): the override is dead code, and what it changed is back")
    unfenced = sorted(found - OVERRIDES[cls])
    assert not unfenced, f"{cls.__name__} now also overrides {unfenced}: fence it here (OVERRIDES and a check)"


def parameters(function) -> str:
    """A signature without annotations: the names, kinds and defaults an override calls or accepts."""
    signature = inspect.signature(function)
    bare = [parameter.replace(annotation=parameter.empty) for parameter in signature.parameters.values()]
    return str(signature.replace(parameters=bare, return_annotation=signature.empty))


# (override, library, owner, method, the signature the override calls or replaces)
SIGNATURES = [
    ("wire.RequestHeadWriting.putheader", "urllib3", HTTPConnection, "putheader", "(self, header, *values)"),
    ("wire.RequestHeadWriting.putheader", "http.client", http.client.HTTPConnection, "_output", "(self, s)"),
    ("wire.RequestHeadWriting._send_output", "http.client", http.client.HTTPConnection, "_send_output",
     "(self, message_body=None, encode_chunked=False)"),
    ("wire.RequestHeadWriting.send", "http.client", http.client.HTTPConnection, "send", "(self, data)"),
    ("wire.RequestHeadWriting.getresponse", "urllib3", HTTPConnection, "getresponse", "(self)"),
    ("wire.RequestHeadWriting.close", "urllib3", HTTPConnection, "close", "(self)"),
    ("wire.PlainHeadResponse.__init__", "http.client", http.client.HTTPResponse, "__init__",
     "(self, sock, debuglevel=0, method=None, url=None)"),
    ("wire.PlainHeadResponse.begin", "http.client", http.client.HTTPResponse, "begin", "(self)"),
    ("wire.PlainHeadResponse.begin", "http.client", http.client.HTTPResponse, "_read_status", "(self)"),
    ("wire.PlainHeadResponse.begin", "http.client", http.client.HTTPResponse, "_check_close", "(self)"),
    ("pool.RememberedAddress._new_conn", "urllib3", HTTPConnection, "_new_conn", "(self)"),
    ("pool.RememberedAddress._new_conn", "urllib3", NameResolutionError, "__init__", "(self, host, conn, reason)"),
    ("client._RelayAdapter.__init__", "requests", HTTPAdapter, "__init__",
     "(self, pool_connections=10, pool_maxsize=10, max_retries=0, pool_block=False)"),
    ("client._RelayAdapter.get_connection_with_tls_context", "requests", HTTPAdapter,
     "get_connection_with_tls_context", "(self, request, verify, proxies=None, cert=None)"),
    ("client._RelayAdapter.cert_verify", "requests", HTTPAdapter, "cert_verify", "(self, conn, url, verify, cert)"),
    ("client._RelayAdapter.request_url", "requests", HTTPAdapter, "request_url", "(self, request, proxies)"),
    ("client._RelayAdapter.build_response", "requests", HTTPAdapter, "build_response", "(self, req, resp)"),
    ("client._RelayAdapter.close", "requests", HTTPAdapter, "close", "(self)"),
    ("client.UpstreamClient.send", "requests", HTTPAdapter, "send",
     "(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None)"),
    ("client.UpstreamClient.prepare", "requests", requests.PreparedRequest, "prepare_url", "(self, url, params)"),
    ("client.NoCookies", "http.cookiejar", CookieJar, "extract_cookies", "(self, response, request)"),
    ("client.NoCookies", "http.cookiejar", CookieJar, "set_cookie", "(self, cookie)"),
    ("relay.upstream_body", "urllib3", urllib3.HTTPResponse, "read_chunked", "(self, amt=None, decode_content=None)"),
    ("relay.upstream_body", "urllib3", urllib3.HTTPResponse, "read1", "(self, amt=None, decode_content=None)"),
]


@pytest.mark.parametrize("override, library, owner, name, expected", SIGNATURES,
                         ids=[f"{owner.__name__}.{name}" for _, _, owner, name, _ in SIGNATURES])
def test_the_library_methods_the_overrides_use_keep_their_signatures(override, library, owner, name, expected):
    method = inspect.getattr_static(owner, name, None)
    assert inspect.isfunction(method), moved(override, library, f"the method {owner.__qualname__}.{name}")
    assert parameters(method) == expected, moved(override, library, f"{owner.__qualname__}.{name}{expected}")


def test_http_clients_response_opens_its_reader_with_one_makefile_call():
    opened = []

    class Socket:
        def makefile(self, *args):
            opened.append(args)
            return io.BytesIO(b"")

    http.client.HTTPResponse(Socket(), method="GET")
    assert opened == [("rb",)], moved("wire.PlainHeadResponse.__init__", "http.client",
                                      'HTTPResponse.__init__ calling sock.makefile("rb") once, and nothing else')
    opened.clear()
    assert PlainHeadResponse(Socket(), method="GET").socket is not None and opened == [("rb", RESPONSE_BUFFER)]


def test_the_properties_and_limits_the_overrides_copy_or_shadow_are_unchanged():
    assert isinstance(inspect.getattr_static(HTTPConnection, "is_connected", None), property), moved(
        "pool.PooledCheck.is_connected", "urllib3", "HTTPConnection.is_connected being a property")
    # UpstreamRequest sets path_url per request over requests' property, whose getter prepare() still uses.
    assert issubclass(requests.PreparedRequest, RequestEncodingMixin) and isinstance(
        inspect.getattr_static(RequestEncodingMixin, "path_url", None), property), moved(
        "client.UpstreamRequest.path_url", "requests", "PreparedRequest.path_url being RequestEncodingMixin's property")
    assert (MAX_LINE, MAX_HEADERS) == (http.client._MAXLINE, http.client._MAXHEADERS), moved(
        "wire.PlainHeadResponse._head_lines", "http.client", "the limits _MAXLINE and _MAXHEADERS (it copies them)")


def test_the_private_state_the_overrides_touch_is_where_they_touch_it():
    connection = HTTPConnection("upstream.test.", 443)
    assert connection._dns_host == "upstream.test." and connection.host == "upstream.test", moved(
        "pool.RememberedAddress._new_conn", "urllib3", "HTTPConnection._dns_host holding the name to connect to")
    connection = HTTPConnection("upstream.test", 443)
    connection.putrequest("POST", "/v1/messages")
    assert connection._buffer == [b"POST /v1/messages HTTP/1.1", b"Host: upstream.test:443",
                                  b"Accept-Encoding: identity"], moved(
        "wire.RequestHeadWriting._send_output", "http.client", "HTTPConnection._buffer, the request head's lines")
    response = http.client.HTTPResponse(_ReplayedSocket(b""), method="HEAD")
    assert vars(response).get("_method") == "HEAD", moved(
        "wire.PlainHeadResponse.begin", "http.client", "HTTPResponse._method, the request's method")


class _ReplayedSocket:
    """A socket whose reads replay `data`; each makefile() starts a fresh reader."""

    def __init__(self, data: bytes):
        self.data = data

    def makefile(self, mode, buffering=None):
        return io.BytesIO(self.data)


HEADS = [
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
    b"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nabc",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
]


def state_after_begin(response_class, head: bytes) -> dict:
    """Every attribute of a response after `begin()`, its headers as pairs, its reader as what is left."""
    response = response_class(_ReplayedSocket(head), method="POST")
    response.begin()
    state = {name: value for name, value in vars(response).items() if name != "socket"}
    state["headers"] = state["msg"] = response.msg.items()
    state["fp"] = response.fp.read()
    return state


@pytest.mark.parametrize("head", HEADS, ids=["chunked", "http-1.0", "interim-100"])
def test_the_copied_begin_sets_every_attribute_http_clients_begin_sets(head):
    assert state_after_begin(PlainHeadResponse, head) == state_after_begin(http.client.HTTPResponse, head), moved(
        "wire.PlainHeadResponse.begin", "http.client", "what HTTPResponse.begin sets (the override is a copy of it)")


def test_urllib3_asks_the_connections_own_check_whether_its_server_closed_it():
    for server_closed in (False, True):
        connection = PooledConnection("upstream.test", 80)
        connection.sock, server = socket.socketpair()
        if server_closed:
            server.close()
        try:
            assert is_connection_dropped(connection) is server_closed, moved(
                "pool.PooledCheck.is_connected", "urllib3", "is_connection_dropped() reading conn.is_connected")
        finally:
            connection.close()
            server.close()


class _Addresses:
    """An address cache with fixed answers (an exception is raised); remembers what was expired."""

    def __init__(self, answer):
        self.answer = answer
        self.expired = []

    def addresses(self, host):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def expire(self, host):
        self.expired.append(host)


def test_a_connection_goes_to_its_hosts_remembered_address(monkeypatch):
    monkeypatch.setattr(RememberedAddress, "address_cache", _Addresses(["127.0.0.1"]))
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        connection = PooledConnection("upstream.test", port, timeout=2)
        with connection._new_conn() as sock:
            assert sock.getpeername() == ("127.0.0.1", port), moved(
                "pool.RememberedAddress._new_conn", "urllib3", "HTTPConnection._new_conn connecting to _dns_host")
    assert connection.host == "upstream.test"  # the Host header and TLS's server name still say the host


def test_a_refused_or_unknown_address_raises_the_errors_the_override_handles(monkeypatch):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: a connection to it is refused
        port = unused.getsockname()[1]
        cache = _Addresses(["127.0.0.1"])
        monkeypatch.setattr(RememberedAddress, "address_cache", cache)
        with pytest.raises(Exception) as refused:
            PooledConnection("upstream.test", port, timeout=2)._new_conn()
    assert isinstance(refused.value, NewConnectionError) and cache.expired == ["upstream.test"], moved(
        "pool.RememberedAddress._new_conn", "urllib3", "HTTPConnection._new_conn raising NewConnectionError "
        f"when refused (it raised {refused.value!r}), the cue to try the next address")
    unknown_host = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(RememberedAddress, "address_cache", _Addresses(unknown_host))
    with pytest.raises(Exception) as unknown:  # built by the override with urllib3's arguments
        PooledConnection("upstream.test", port, timeout=2)._new_conn()
    assert isinstance(unknown.value, NameResolutionError) and "upstream.test" in str(unknown.value), moved(
        "pool.RememberedAddress._new_conn", "urllib3", "NameResolutionError(host, conn, reason)")


def spy(monkeypatch, owner, name: str, calls: list) -> None:
    """Record each call of `owner.name` (a method or a property) in `calls`, then run it."""
    original = vars(owner)[name]
    if isinstance(original, property):
        replacement = property(lambda self: (calls.append(name), original.fget(self))[1])
    else:
        def replacement(self, *args, **kwargs):
            calls.append(name)
            return original(self, *args, **kwargs)
    monkeypatch.setattr(owner, name, replacement)


SPIED = [(_RelayAdapter, "get_connection_with_tls_context"), (_RelayAdapter, "cert_verify"),
         (_RelayAdapter, "request_url"), (_RelayAdapter, "build_response"), (PooledCheck, "is_connected"),
         (RememberedAddress, "_new_conn"), (RequestHeadWriting, "putheader"), (RequestHeadWriting, "_send_output"),
         (RequestHeadWriting, "send"), (RequestHeadWriting, "getresponse"), (PlainHeadResponse, "__init__"),
         (PlainHeadResponse, "begin")]
BODY = b'{"model": "claude-sonnet-4-6", "stream": true}'


def test_a_pooled_request_goes_through_every_override_and_out_in_one_write(upstream, monkeypatch):
    calls, writes = [], []
    for owner, name in SPIED:
        spy(monkeypatch, owner, name, calls)
    plain_send = http.client.HTTPConnection.send
    monkeypatch.setattr(http.client.HTTPConnection, "send",
                        lambda self, data: (writes.append(bytes(data)), plain_send(self, data))[1])
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=2)
    passed = []
    for _ in range(2):  # the second request reuses the first one's connection
        calls.clear()
        response = client.send("POST", "/v1/messages", "beta=true", [("x-api-key", "sk-ant-1")], BODY)
        b"".join(upstream_body(response))
        response.close()
        passed.append(set(calls))
    everything = {name for _, name in SPIED}
    assert passed == [everything - {"is_connected"}, everything - {"_new_conn"}], moved(
        "the transport's overrides", "urllib3", f"calling them all (requests {requests.__version__} too); "
        f"missed: {[sorted(everything - p) for p in passed]}")
    # requests' adapter looks for "Content-Length" spelt so in the plain dict: else it sends chunked.
    assert [(s.headers.get("content-length"), s.headers.get("transfer-encoding"), s.body) for s in upstream.seen] \
        == [(str(len(BODY)), None, BODY)] * 2, moved("client.UpstreamClient.prepare", "requests",
                                                    'HTTPAdapter.send finding "Content-Length" in a plain dict')
    head = b"POST /v1/messages?beta=true HTTP/1.1\r\n"
    assert len(writes) == 2 and all(w.startswith(head) and w.endswith(b"\r\n\r\n" + BODY) for w in writes), moved(
        "wire.RequestHeadWriting._send_output", "urllib3", f"endheaders() then send(body); the writes: {writes}")
    assert isinstance(client._adapter._pool, Pool) and client._adapter._pool.num_connections == 1, moved(
        "client.UpstreamClient", "urllib3", "PoolManager.pool_classes_by_scheme choosing the pool class")


def test_the_relay_finds_the_socket_and_timeout_where_the_client_looks_for_them(upstream):
    client = UpstreamClient(upstream.url, connect_timeout=2, read_timeout=7)
    response = client.send("POST", "/v1/messages", "", [], BODY)
    try:
        inner = getattr(response.raw, "_fp", None)
        assert isinstance(inner, PlainHeadResponse), moved(
            "client.UpstreamResponse._body_socket", "urllib3", "HTTPResponse._fp, the http.client response inside")
        assert inner.socket.gettimeout() == 7, moved(
            "client.UpstreamClient.send", "requests", "HTTPAdapter.send taking a urllib3.Timeout as it is")
        assert response.release_read_timeout() and inner.socket.gettimeout() is None, moved(
            "client.UpstreamResponse._body_socket", "http.client", "HTTPResponse.fp, open while the body is unread")
        assert response.raw.chunked and b"".join(upstream_body(response)).startswith(b"event: message_start"), moved(
            "relay.upstream_body", "urllib3", "HTTPResponse.chunked and read_chunked(decode_content=True)")
        assert not response.release_read_timeout(), moved(
            "client.UpstreamResponse._body_socket", "http.client", "HTTPResponse.fp being None once the body is read")
    finally:
        response.close()


def test_an_escaped_target_is_quoted_by_requests_own_url_preparation():
    client = UpstreamClient("http://127.0.0.1:9", connect_timeout=2, read_timeout=2)
    plain = client.prepare("POST", "/v1/messages", "beta=true", [], b"{}")
    escaped = client.prepare("POST", "/v1/a b/../c", "x=\xe9", [], b"{}")
    assert (plain.path_url, escaped.path_url) == ("/v1/messages?beta=true", "/v1/c?x=%C3%A9"), moved(
        "client.UpstreamClient.prepare", "requests", "PreparedRequest.prepare_url and RequestEncodingMixin.path_url")
