"""The upstream's pooled connections: lean heads (proxy.upstream_wire), a cheap check that one is still open."""
import select

import urllib3
from gevent import monkey
from urllib3.connection import HTTPConnection, HTTPSConnection

from proxy.upstream_wire import PlainHeadResponse, RequestHeadWriting

_native_poll = monkey.get_original("select", "poll")  # the original even after gevent's patching


class PooledCheck:
    """Before reusing a pooled connection urllib3 asks whether the server closed it, with a poll
    that never waits. gevent's patched poll takes a round through the hub for it (15 µs a request);
    the original is one system call (1 µs), the same answer."""

    @property
    def is_connected(self) -> bool:
        if self.sock is None:
            return False
        poller = _native_poll()
        poller.register(self.sock, select.POLLIN)
        return not poller.poll(0)  # readable while idle: the server closed it (or sent junk)


class PooledConnection(PooledCheck, RequestHeadWriting, HTTPConnection):
    """A plain HTTP upstream connection."""

    response_class = PlainHeadResponse


class PooledTLSConnection(PooledCheck, RequestHeadWriting, HTTPSConnection):
    """A TLS upstream connection."""

    response_class = PlainHeadResponse


class Pool(urllib3.HTTPConnectionPool):
    """urllib3's pool of PooledConnections."""

    ConnectionCls = PooledConnection


class TLSPool(urllib3.HTTPSConnectionPool):
    """urllib3's pool of PooledTLSConnections."""

    ConnectionCls = PooledTLSConnection
