"""A loop on its own thread (a greenlet under gevent's patched threading), started and stopped once."""
import threading


class BackgroundLoop:
    """Runs `_run` on a named daemon thread; `_run` returns soon after `_stopping` is set."""

    thread_name = "background"

    def __init__(self):
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loop, unless it is running already."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end, and wait up to `timeout` seconds for it to finish its current round."""
        if self._thread is not None:
            self._stopping.set()
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError
