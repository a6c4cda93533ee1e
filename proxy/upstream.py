"""The pooled HTTP client that talks to the upstream API, with connect and idle-read timeouts."""
import http.client
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

# requests sent `Content-Length: 0` for a bodyless request of any other method; keep doing so.
_NO_LENGTH_WHEN_EMPTY = frozenset({"GET", "HEAD"})


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


class UpstreamClient:
    """One connection pool per app, used through urllib3 directly: no cookies, no redirects, no
    retries, no environment credentials. (A `requests.Session` cost ~0.6 ms of CPU per request
    on top of this, for settings merging, hooks and cookie handling the proxy never wants.)"""

    def __init__(self, base_url: str, connect_timeout: float, read_timeout: float, pool_size: int = 100):
        self.base_url = base_url.rstrip("/")
        url = urlsplit(self.base_url)
        self._prefix = url.path  # kept in front of every client path
        self.timeout = (connect_timeout, read_timeout)
        tls = {"ca_certs": certifi.where()} if url.scheme == "https" else {}  # the bundle requests used
        self._pool = urllib3.connection_from_url(
            self.base_url, maxsize=pool_size, block=False, retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout), **tls)
        self._pool.ConnectionCls = _TLSConnection if tls else _Connection

    def send(self, method: str, path: str, query: str, headers, body: bytes) -> UpstreamResponse:
        """Send a request and return once response headers arrive; the body stays unread."""
        target = f"{self._prefix}{path}?{query}" if query else f"{self._prefix}{path}"
        headers = dict(headers)
        if not body and method not in _NO_LENGTH_WHEN_EMPTY:
            headers["Content-Length"] = "0"
        try:
            raw = self._pool.urlopen(method, target, body=body or None, headers=headers, redirect=False,
                                     preload_content=False, decode_content=True)
        except NewConnectionError as exc:  # a subclass of ConnectTimeoutError: test it first
            raise UpstreamUnreachable(str(exc)) from exc
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except (HTTPError, OSError) as exc:
            raise UpstreamUnreachable(str(exc)) from exc
        return UpstreamResponse(raw.status, MergedHeaders(raw.headers), raw)

    def close(self) -> None:
        """Close pooled connections."""
        self._pool.close()
