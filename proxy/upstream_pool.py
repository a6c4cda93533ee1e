"""The upstream's pooled connections: a small read buffer each, and a cheap check that one is still open."""
import http.client
import select

import urllib3
from gevent import monkey
from urllib3.connection import HTTPConnection, HTTPSConnection

# An SSE event is a few hundred bytes: a 1 KB read buffer holds one, and a larger chunk is read
# past it. http.client's default of 8 KB stayed allocated for every open stream (7 KB of the
# ~100 KB each one cost).
RESPONSE_BUFFER = 1024
_native_poll = monkey.get_original("select", "poll")  # the original even after gevent's patching


class SmallBufferResponse(http.client.HTTPResponse):
    """http.client's response, reading the socket through a RESPONSE_BUFFER-sized buffer."""

    def __init__(self, sock, *args, **kwargs):
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the default buffer, unused yet (closing it leaves the socket open)
        self.fp = sock.makefile("rb", RESPONSE_BUFFER)


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


class PooledConnection(PooledCheck, HTTPConnection):
    """A plain HTTP upstream connection."""

    response_class = SmallBufferResponse


class PooledTLSConnection(PooledCheck, HTTPSConnection):
    """A TLS upstream connection."""

    response_class = SmallBufferResponse


class Pool(urllib3.HTTPConnectionPool):
    """urllib3's pool of PooledConnections."""

    ConnectionCls = PooledConnection


class TLSPool(urllib3.HTTPSConnectionPool):
    """urllib3's pool of PooledTLSConnections."""

    ConnectionCls = PooledTLSConnection
