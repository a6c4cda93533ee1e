"""The upstream's pooled connections: lean heads (proxy.upstream.wire), a cheap check that one is
still open, remembered addresses (proxy.upstream.address_cache)."""
import select
import socket

import urllib3
from gevent import monkey
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from proxy.upstream.address_cache import ADDRESSES
from proxy.upstream.wire import PlainHeadResponse, RequestHeadWriting

_native_poll = monkey.get_original("select", "poll")  # the original even after gevent's patching


class PooledCheck:
    """Before reusing a pooled connection urllib3 asks whether the server closed it, with a poll
    that never waits. gevent's patched poll takes a round through the hub for it; the original is
    one system call, the same answer."""

    @property
    def is_connected(self) -> bool:
        if self.sock is None:
            return False
        poller = _native_poll()
        poller.register(self.sock, select.POLLIN)
        return not poller.poll(0)  # readable while idle: the server closed it (or sent junk)


class RememberedAddress:
    """Connects to the host's remembered addresses, tried in order as urllib3 tries a fresh lookup's;
    the Host header and TLS's server name still say the host."""

    address_cache = ADDRESSES

    def _new_conn(self):
        host = self._dns_host
        try:
            addresses = self.address_cache.addresses(host)
        except (socket.gaierror, UnicodeError) as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        try:
            for remaining, address in enumerate(addresses, 1 - len(addresses)):
                self._dns_host = address
                try:
                    return super()._new_conn()
                except (NewConnectionError, ConnectTimeoutError):
                    if not remaining:
                        self.address_cache.expire(host)  # the host may have moved: look it up again
                        raise
        finally:
            self._dns_host = host


class PooledConnection(PooledCheck, RememberedAddress, RequestHeadWriting, HTTPConnection):
    """A plain HTTP upstream connection."""

    response_class = PlainHeadResponse


class PooledTLSConnection(PooledCheck, RememberedAddress, RequestHeadWriting, HTTPSConnection):
    """A TLS upstream connection."""

    response_class = PlainHeadResponse


class Pool(urllib3.HTTPConnectionPool):
    """urllib3's pool of PooledConnections."""

    ConnectionCls = PooledConnection


class TLSPool(urllib3.HTTPSConnectionPool):
    """urllib3's pool of PooledTLSConnections."""

    ConnectionCls = PooledTLSConnection
