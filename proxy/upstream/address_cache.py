"""The upstream hosts' addresses, remembered, and looked up again off the request path.

gunicorn.conf.py makes gevent resolve names inline (its thread-pool resolver waited for the GIL
while the worker was busy). Inline, a lookup stops every stream of the worker until the DNS
answer comes: a millisecond on a good day, seconds when a resolver struggles. So a new upstream
connection asks here: a known host is answered from memory, a stale answer still serves while a
native thread looks the host up again, and only the first connection to a host waits for DNS.
"""
import ipaddress
import logging
import socket
import time

from gevent import monkey
from urllib3.util.connection import allowed_gai_family

from proxy.runtime.native_threads import start_native_thread

# The C lookup, whatever gevent patched: in a native thread it waits without holding the GIL.
_getaddrinfo = monkey.get_original("socket", "getaddrinfo")

REFRESH_AFTER = 60.0  # seconds an answer is used before it is looked up again (in the background)

log = logging.getLogger(__name__)


def lookup(host: str) -> list[str]:
    """The addresses of `host` in getaddrinfo's order of preference (of the families urllib3 uses)."""
    answers = _getaddrinfo(host, None, allowed_gai_family(), socket.SOCK_STREAM)
    return list(dict.fromkeys(sockaddr[0] for *_, sockaddr in answers))


def is_address(host: str) -> bool:
    """True for an IP literal, which needs no lookup."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class AddressCache:
    """Addresses per host name; an answer older than `refresh_after` is renewed in the background."""

    def __init__(self, refresh_after: float = REFRESH_AFTER, resolve=lookup):
        self.refresh_after = refresh_after
        self.refresh_failures = 0
        self._resolve = resolve
        self._known: dict[str, tuple[list[str], float]] = {}
        self._refreshing: set[str] = set()
        # Failed renewals, logged by the next caller on the hub: logging's locks are gevent's,
        # unusable from a native thread.
        self._unreported: list[tuple[str, str]] = []

    def addresses(self, host: str) -> list[str]:
        """Where to connect for `host`: from memory when known, else looked up now (this waits)."""
        if is_address(host):
            return [host]
        while self._unreported:
            failed, error = self._unreported.pop(0)
            log.warning("could not look %s up again (%s); its last known addresses stay in use",
                        failed, error)
        known = self._known.get(host)
        if known is None:
            addresses = self._look_up(host)
            self._known[host] = (addresses, time.monotonic())
            return addresses
        addresses, looked_up = known
        if time.monotonic() - looked_up > self.refresh_after:
            self.refresh(host)
        return addresses

    def remembered(self, host: str) -> list[str] | None:
        """The addresses known for `host`, fresh or stale, without looking anything up."""
        known = self._known.get(host)
        return known[0] if known else None

    def refresh(self, host: str) -> None:
        """Look `host` up again in a native thread; the hub goes on meanwhile."""
        if not is_address(host) and host not in self._refreshing:
            self._refreshing.add(host)
            start_native_thread(self._refresh, host)

    def expire(self, host: str) -> None:
        """None of the addresses of `host` answered: look it up again now, in the background (the host
        may have moved; during an outage a lookup per failed connection would stall the hub)."""
        known = self._known.get(host)
        if known is not None:
            self._known[host] = (known[0], float("-inf"))
            self.refresh(host)

    def _look_up(self, host: str) -> list[str]:
        addresses = self._resolve(host)
        if not addresses:  # never remembered: with nowhere to connect, the next caller asks again
            raise socket.gaierror(socket.EAI_NONAME, "no addresses")
        return addresses

    def _refresh(self, host: str) -> None:
        known = self._known.get(host)
        try:
            self._known[host] = (self._look_up(host), time.monotonic())
        except Exception as exc:  # nothing may escape a native thread; the next renewal tries again
            self.refresh_failures += 1
            self._unreported.append((host, str(exc)))
            if known is not None and self._known.get(host) is known:  # not replaced meanwhile
                self._known[host] = (known[0], time.monotonic())  # kept, and tried again after refresh_after
        finally:
            self._refreshing.discard(host)


ADDRESSES = AddressCache()  # one per process: each gunicorn worker fills its own
