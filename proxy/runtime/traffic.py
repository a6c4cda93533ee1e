"""The live state of this process's traffic: requests in flight and whether it is draining."""
import threading

from proxy.runtime.metrics import IN_FLIGHT, server_in_flight


class Traffic:
    """Counts requests being proxied; health endpoints read it, the drain sets `draining`."""

    def __init__(self, metrics_folder: str | None = None):
        self._lock = threading.Lock()
        self.metrics_folder = metrics_folder  # shared by every worker of this server, if several
        self.in_flight = 0
        self.draining = False
        self.streams: set = set()  # bodies being relayed right now, so a drain can end them

    def cut_streams(self, reason: str) -> int:
        """End every body still being relayed (each tells its client why); returns how many."""
        streams = list(self.streams)
        for stream in streams:
            stream.cut("shutdown", reason)
        return len(streams)

    def server_in_flight(self) -> int:
        """Requests in flight in the whole server: every worker's, or this process's alone."""
        if self.metrics_folder is None:
            return self.in_flight
        return server_in_flight(self.metrics_folder)

    def enter(self) -> None:
        """Count a request that started being proxied."""
        with self._lock:
            self.in_flight += 1
        IN_FLIGHT.inc()

    def leave(self) -> None:
        """Count a request that finished, however it ended."""
        with self._lock:
            self.in_flight -= 1
        IN_FLIGHT.dec()
