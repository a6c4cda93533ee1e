"""The pooled HTTP client that talks to the upstream API, with connect and idle-read timeouts."""
import http.client
import socket
from dataclasses import dataclass
from http.cookiejar import CookieJar

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection


# An SSE event is a few hundred bytes: a 1 KB read buffer holds one, and a larger chunk is read
# past it. http.client's default of 8 KB stayed allocated for every open stream (7 KB of the
# ~100 KB each one cost).
RESPONSE_BUFFER = 1024


class UpstreamUnreachable(Exception):
    """The upstream refused or could not be connected to."""


class UpstreamTimeout(Exception):
    """The upstream sent no response headers within the timeouts."""


class _SmallBufferResponse(http.client.HTTPResponse):
    """http.client's response, reading the socket through a RESPONSE_BUFFER-sized buffer."""

    def __init__(self, sock, *args, **kwargs):
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the default buffer, unused yet (closing it leaves the socket open)
        self.fp = sock.makefile("rb", RESPONSE_BUFFER)


class _Connection(HTTPConnection):
    response_class = _SmallBufferResponse


class _TLSConnection(HTTPSConnection):
    response_class = _SmallBufferResponse


class MergedHeaders:
    """urllib3's response headers as requests showed them: any case, a repeated name's values joined."""

    __slots__ = ("_headers",)

    def __init__(self, headers: urllib3.HTTPHeaderDict):
        self._headers = headers  # a view, not a copy: it is kept for the whole stream

    def get(self, name: str, default=None):
        """The value of a header (repeats joined with ", "), or `default`."""
        return self._headers.get(name, default)

    def __getitem__(self, name: str) -> str:
        return self._headers[name]

    def items(self):
        """(name, value) pairs, every occurrence: two Set-Cookie headers must not become one line."""
        return self._headers.items()


@dataclass
class UpstreamResponse:
    """The status and headers of an upstream reply; its body is still unread in `raw`."""

    status_code: int
    headers: MergedHeaders
    raw: urllib3.HTTPResponse

    def close(self) -> None:
        """Close the body: a fully read one already went back to the pool, any other is dropped."""
        self.raw.close()

    def interrupt(self) -> None:
        """End the body from another greenlet: a read waiting on it wakes to an early end."""
        # Closing the buffered reader under a reader raises "reentrant call"; shutting the socket
        # down wakes that reader instead, and the relay then closes the response itself.
        connection = getattr(self.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Pool(urllib3.HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


class _RelayAdapter(HTTPAdapter):
    """requests' transport adapter, minus the Set-Cookie parsing `build_response` does for every
    response (http.cookiejar and email parsing, for cookies this proxy never keeps): the relay
    reads status, headers and body from the urllib3 response in `raw`."""

    def build_response(self, req, resp):
        response = requests.Response()
        response.status_code, response.reason, response.raw = resp.status, resp.reason, resp
        response.url, response.request, response.connection = req.url, req, self
        return response


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing: a shared session must never carry one user's cookies to
    another user's request."""

    def extract_cookies(self, response, request):
        pass

    def set_cookie(self, cookie):
        pass


class UpstreamClient:
    """One pooled `requests.Session` per app: no cookies, no redirects, no retries, no environment
    credentials (.netrc would add credentials the client never sent)."""

    def __init__(self, base_url: str, connect_timeout: float, read_timeout: float, pool_size: int = 100):
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        session = requests.Session()
        session.cookies = NoCookies()
        session.trust_env = False
        session.headers.clear()  # no python-requests defaults: send only what the client sent
        adapter = _RelayAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        adapter.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session
        self._adapter = adapter

    def send(self, method: str, path: str, query: str, headers, body: bytes) -> UpstreamResponse:
        """Send a request and return once response headers arrive; the body stays unread."""
        url = f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"
        request = requests.PreparedRequest()
        request.prepare(method=method, url=url, headers=dict(headers), data=body or None)
        try:
            # The adapter itself, not Session.request: the session's per-request work (settings
            # and environment merging, hooks, cookie jars, redirects) is all unwanted here, and
            # cost ~0.6 ms of CPU a request, enough to miss the latency targets at 300 streams.
            response = self._adapter.send(request, stream=True, timeout=self.timeout)
        except (requests.ConnectTimeout, requests.ReadTimeout) as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except requests.RequestException as exc:
            raise UpstreamUnreachable(str(exc)) from exc
        raw = response.raw  # the body is read from urllib3's response, chunk by chunk, as it arrives
        return UpstreamResponse(raw.status, MergedHeaders(raw.headers), raw)

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()
