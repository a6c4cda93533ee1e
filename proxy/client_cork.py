"""The response head and the first body chunk reach the client in one TCP segment, not two.

gunicorn writes the status line and headers, then the first chunk, in two system calls, and each
one woke the client: a write that wakes a sleeping peer is dear for the writer. TCP_CORK holds both
writes until the relay is asked for its second chunk, by when gunicorn has made both.
"""
import socket


class HeadCork:
    """Corks the client's socket around gunicorn's first two writes; a no-op without the socket."""

    def __init__(self, sock=None):
        # gunicorn puts the client socket in the WSGI environ; other servers do not (then: no cork).
        self._sock = sock if hasattr(socket, "TCP_CORK") else None
        self.held = False

    def hold(self) -> None:
        """Hold what is written from now on."""
        self.held = self._set(1)

    def release(self) -> None:
        """Send what was held, and everything after at once."""
        if self.held:
            self.held = False
            self._set(0)

    def _set(self, value: int) -> bool:
        if self._sock is None:
            return False
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, value)
            return True
        except OSError:  # the client is gone; the relay finds out on its next write
            return False
