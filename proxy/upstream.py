"""The pooled HTTP client that talks to the upstream API, with connect and idle-read timeouts."""
from http.cookiejar import CookieJar

import requests
from requests.adapters import HTTPAdapter


class UpstreamUnreachable(Exception):
    """The upstream refused or could not be connected to."""


class UpstreamTimeout(Exception):
    """The upstream sent no response headers within the timeouts."""


class NoCookies(CookieJar):
    """A cookie jar that keeps nothing: a shared session must never carry one user's cookies to
    another user's request, and skipping Set-Cookie parsing saves CPU on every response."""

    def extract_cookies(self, response, request):
        pass

    def set_cookie(self, cookie):
        pass


class UpstreamClient:
    """One pooled `requests.Session` per app: no cookies, no redirects, no environment credentials."""

    def __init__(self, base_url: str, connect_timeout: float, read_timeout: float, pool_size: int = 100):
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        session = requests.Session()
        session.cookies = NoCookies()
        # Ignore .netrc and proxy variables: .netrc would add credentials the client never sent.
        session.trust_env = False
        session.headers.clear()  # no python-requests defaults: send only what the client sent
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session

    def url_for(self, path: str, query: str) -> str:
        """The upstream URL for a client path, keeping any path prefix of the base URL."""
        return f"{self.base_url}{path}?{query}" if query else f"{self.base_url}{path}"

    def send(self, method: str, path: str, query: str, headers, body: bytes) -> requests.Response:
        """Send a request and return once response headers arrive; the body stays unread."""
        try:
            return self.session.request(
                method, self.url_for(path, query), headers=dict(headers), data=body or None,
                stream=True, allow_redirects=False, timeout=self.timeout,
            )
        except (requests.ConnectTimeout, requests.ReadTimeout) as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except requests.RequestException as exc:
            raise UpstreamUnreachable(str(exc)) from exc

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()
