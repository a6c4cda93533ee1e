"""What the environment says about reaching the upstream, read once: its CA bundle and its proxy.

The upstream client skips `requests.Session.request` (its per-request merging cost too much CPU),
and with it the environment: these give back what that merging would have found for the one
origin the client talks to. .netrc stays unread: it would add credentials the client never sent.
"""
import os

from requests.utils import get_environ_proxies, select_proxy


def ca_bundle() -> bool | str:
    """The CA bundle requests would verify with (REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE); True: certifi's."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def proxies_for(origin: str) -> dict:
    """The proxies requests would use for `origin` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, less NO_PROXY);
    empty when none applies."""
    proxies = get_environ_proxies(origin)
    return proxies if select_proxy(origin, proxies) else {}
