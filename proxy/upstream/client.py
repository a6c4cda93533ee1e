"""The pooled HTTP client that talks to the upstream API, with connect and idle-read timeouts."""
import re
import socket
from dataclasses import dataclass
from http.cookiejar import CookieJar

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.models import RequestEncodingMixin
from requests.utils import get_auth_from_url

from proxy.upstream.address_cache import ADDRESSES
from proxy.upstream.environment import ca_bundle, proxies_for
from proxy.upstream.pool import Pool, TLSPool

# A request target (path and query) made only of characters that requests' URL preparation leaves
# as they are: no escapes to re-quote, nothing to encode (Claude Code's `/v1/messages?beta=true`).
PLAIN_TARGET = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@/?-]*")


class UpstreamUnreachable(Exception):
    """The upstream refused or could not be connected to."""


class UpstreamTimeout(Exception):
    """The upstream sent no response headers within the timeouts."""


class UpstreamRefused(ValueError):
    """A request would have gone to a host other than the client's configured upstream."""


class MergedHeaders:
    """urllib3's response headers as requests showed them: any case, a repeated name's values joined."""

    __slots__ = ("_items", "_merged")

    def __init__(self, headers: urllib3.HTTPHeaderDict):
        # Read once, in one pass: urllib3's items view is a generator of several calls a header, and
        # its `get` of an absent name raises and catches a KeyError (a dozen rate-limit names a reply).
        self._items = list(headers.iteritems())
        merged = {}
        for name, value in self._items:
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        self._merged = merged

    def get(self, name: str, default=None):
        """The value of a header (repeats joined with ", "), or `default`."""
        return self._merged.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._merged[name.lower()]

    def items(self):
        """(name, value) pairs, every occurrence: two Set-Cookie headers must not become one line."""
        return self._items


@dataclass
class UpstreamResponse:
    """The status and headers of an upstream reply; its body is still unread in `raw`."""

    status_code: int
    headers: MergedHeaders
    raw: urllib3.HTTPResponse

    def close(self) -> None:
        """Close the body: a fully read one already went back to the pool, any other is dropped."""
        self.raw.close()

    def release_read_timeout(self) -> bool:
        """Read the rest of the body without a socket timeout (proxy.runtime.stall_watch times the relay
        instead); False when there is no body left to read."""
        sock = self._body_socket()
        if sock is None:
            return False
        sock.settimeout(None)  # the next request on this pooled connection sets its own again
        return True

    def interrupt(self) -> None:
        """End the body from another greenlet: a read waiting on it wakes to an early end."""
        # Closing the buffered reader under a reader raises "reentrant call"; shutting the socket
        # down wakes that reader instead, and the relay then closes the response itself.
        sock = self._body_socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _body_socket(self):
        # The response's own socket: urllib3's connection lets go of it when the body is delimited
        # by the connection's close. None once the body is read: the socket may be back in the pool.
        response = getattr(self.raw, "_fp", None)  # http.client's response inside urllib3's
        if getattr(response, "fp", None) is None:
            return None
        return getattr(response, "socket", None)


class UpstreamRequest(requests.PreparedRequest):
    """A PreparedRequest assembled from parts the proxy already holds, instead of by `prepare()`.

    `prepare()` re-parses and re-quotes the URL, re-validates every header gunicorn already parsed
    and builds an empty cookie jar to find no cookie, for every request. The request target is kept
    as sent, so no step of the adapter parses the URL again.
    """

    path_url = ""  # the request target (path and query), set per request; a property on the base class


class _RelayAdapter(HTTPAdapter):
    """requests' transport adapter, its per-request lookups done once for the one upstream origin.

    `send` still does the work (timeouts, the urllib3 call, requests' errors); these hooks skip
    what cannot change between requests: the pool (URL parsing, pool key, the manager's lock),
    the certificate settings (file-system checks for the CA bundle); through a proxy, requests chooses.
    It also builds responses without parsing Set-Cookie (http.cookiejar and email parsing, for
    cookies this proxy never keeps): the relay reads status, headers and body from urllib3's.
    """

    def __init__(self, origin: str, **kwargs):
        super().__init__(**kwargs)
        self.origin = origin
        self._pool = None
        self._pool_verify = None  # the CA setting the pool was chosen for
        self._verified = None

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        # The one place a connection is chosen: no URL, however it was built, reaches another host.
        if not request.url.startswith(self.origin):
            raise UpstreamRefused(f"not a URL of the configured upstream {self.origin}: {request.url[:200]!r}")
        if proxies or cert:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        if self._pool is None or self._pool_verify != verify:
            self._pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
            self._pool_verify = verify
        return self._pool

    def cert_verify(self, conn, url, verify, cert):
        if (conn, verify, cert) != self._verified:  # it sets the same pool attributes every time
            super().cert_verify(conn, url, verify, cert)
            self._verified = (conn, verify, cert)

    def request_url(self, request, proxies):
        if proxies or not isinstance(request, UpstreamRequest):
            return super().request_url(request, proxies)
        return request.path_url

    def build_response(self, req, resp):
        response = requests.Response()
        response.status_code, response.reason, response.raw = resp.status, resp.reason, resp
        response.url, response.request, response.connection = req.url, req, self
        return response

    def close(self) -> None:
        """Close the pools; the next request looks its pool up afresh."""
        super().close()
        self._pool = self._verified = None


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing: a shared session must never carry one user's cookies to
    another user's request."""

    def extract_cookies(self, response, request):
        pass

    def set_cookie(self, cookie):
        pass


def _url_authorization(url: str) -> str | None:
    """The Basic Authorization header that credentials in a URL (user:password@) stand for."""
    username, password = get_auth_from_url(url)
    if not (username or password):
        return None
    probe = requests.Request("GET", "http://localhost/", auth=HTTPBasicAuth(username, password)).prepare()
    return probe.headers["Authorization"]


class UpstreamClient:
    """One pooled `requests.Session` per app: no cookies, no redirects, no retries, no environment
    credentials (.netrc would add credentials the client never sent); the environment's CA bundle
    and proxy for the upstream, read when the client is made."""

    def __init__(self, base_url: str, connect_timeout: float, read_timeout: float, pool_size: int = 100):
        self.base_url = base_url.rstrip("/")
        # A urllib3 Timeout, not a tuple: the adapter would build one from the tuple per request.
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._url_authorization = _url_authorization(self.base_url)  # prepare() derived it per request
        session = requests.Session()
        session.cookies = NoCookies()
        session.trust_env = False
        session.headers.clear()  # no python-requests defaults: send only what the client sent
        base = urllib3.util.parse_url(self.base_url)
        self._origin, self._prefix = f"{base.scheme}://{base.netloc}", base.path or ""  # a path prefix is kept
        adapter = _RelayAdapter(self._origin + "/", pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        adapter.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session
        self._adapter = adapter
        self.verify, self.proxies = ca_bundle(), proxies_for(self._origin)
        if base.host:
            ADDRESSES.refresh(base.host)  # looked up now, in the background, not by the first request

    def prepare(self, method: str, path: str, query: str, headers, body: bytes) -> UpstreamRequest:
        """The request as requests' `prepare()` would build it: the same target, headers and body."""
        request = UpstreamRequest()
        request.method = method.upper()
        target = self.request_target(path, query)
        if PLAIN_TARGET.fullmatch(target) and "/." not in target:
            request.path_url, request.url = target, self._origin + target  # what prepare() leaves as it is
        else:  # escapes, spaces, dot segments: requests quotes and normalises them, as it always did
            request.prepare_url(self._origin + target, None)
            request.path_url = RequestEncodingMixin.path_url.fget(request)
        # A name repeated in any case is sent once, its last value and spelling (as requests does).
        by_name = {name.lower(): (name, value) for name, value in headers}
        if body:
            request.body = body
            by_name["content-length"] = ("Content-Length", str(len(body)))
        elif request.method not in ("GET", "HEAD") and "content-length" not in by_name:
            by_name["content-length"] = ("Content-Length", "0")
        if self._url_authorization is not None:
            by_name["authorization"] = ("Authorization", self._url_authorization)
        # A plain dict, not requests' CaseInsensitiveDict: urllib3 copies the headers of every
        # request, and a dict copies in C (the adapter's own lookup, "Content-Length", is spelt so).
        request.headers = dict(by_name.values())
        return request

    def request_target(self, path: str, query: str) -> str:
        """The target (path and query) to send for a client's path: under the upstream's own prefix,
        and only for a path starting with `/` (anything else would change the host of the URL)."""
        if not path.startswith("/"):
            raise UpstreamRefused(f"not a path: {path[:200]!r}")
        return self._prefix + (f"{path}?{query}" if query else path)

    def send(self, method: str, path: str, query: str, headers, body: bytes) -> UpstreamResponse:
        """Send a request and return once response headers arrive; the body stays unread."""
        request = self.prepare(method, path, query, headers, body)
        try:
            # The adapter itself, not Session.request: the session's per-request work (settings
            # and environment merging, hooks, cookie jars, redirects) is all unwanted here, and
            # its CPU was enough to miss the latency targets at 300 streams.
            response = self._adapter.send(request, stream=True, timeout=self.timeout, verify=self.verify,
                                          proxies=self.proxies)
        except (requests.ConnectTimeout, requests.ReadTimeout) as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except requests.RequestException as exc:
            raise UpstreamUnreachable(str(exc)) from exc
        raw = response.raw  # the body is read from urllib3's response, chunk by chunk, as it arrives
        return UpstreamResponse(raw.status, MergedHeaders(raw.headers), raw)

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()
