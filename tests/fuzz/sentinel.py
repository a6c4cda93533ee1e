"""A TCP listener on 127.0.0.1 that nothing may ever connect to: the fuzzed targets name it as a host."""
import socket
import threading


class Sentinel:
    """Accepts every connection and keeps its first bytes; `connections` should stay empty."""

    def __init__(self):
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)  # so `stop` ends the accepting thread promptly
        self.port = self._listener.getsockname()[1]
        self.connections: list[bytes] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="sentinel", daemon=True)

    def start(self) -> "Sentinel":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            with client:
                client.settimeout(0.5)
                try:
                    first = client.recv(2048)
                except OSError:
                    first = b""
            self.connections.append(first or b"(connected, sent nothing)")
