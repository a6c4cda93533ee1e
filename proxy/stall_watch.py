"""The upstream read timeout of relayed bodies: one sweep a second instead of a timer per socket read.

A socket with a timeout makes gevent build a Timeout object and start and stop a timer around
every read that waits: a third of the instructions of relaying an event (61,000 -> 38,000 per
event, measured). Relayed bodies are read without one (`UpstreamResponse.release_read_timeout`);
this watch ends the relays that waited on their upstream for the whole timeout with nothing new.
"""
import logging
import threading
import time

log = logging.getLogger(__name__)


class StallWatch:
    """Every `interval`, cuts each watched relay that has waited `idle_timeout` seconds on its upstream."""

    def __init__(self, relays: set, idle_timeout: float):
        self.relays = relays  # the relays in progress (Traffic.streams); each says if it is watched
        self.idle_timeout = idle_timeout
        # The cut comes between idle_timeout and idle_timeout + interval after the last byte.
        self.interval = max(0.05, min(1.0, idle_timeout / 4))
        self._since: dict = {}  # relay -> (chunks relayed when last seen moving, when)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sweeping (a greenlet under gevent's patched threading)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="stall-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop sweeping."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2 * self.interval + 1)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep(time.monotonic())
            except Exception:  # a bug here must not leave every later stall unbounded
                log.exception("the stall watch failed a sweep")

    def sweep(self, now: float) -> int:
        """Cut the relays stalled as of `now`; returns how many were cut."""
        since, cut = {}, 0
        for relay in list(self.relays):
            if not relay.watched:
                continue
            if not relay.waiting_upstream:
                continue  # held up by its client, or between reads: no upstream clock runs
            progress = relay.progress
            seen = self._since.get(relay)
            if seen is None or seen[0] != progress:
                since[relay] = (progress, now)  # newly waiting, or moved on since: the clock starts now
                continue
            since[relay] = seen
            if now - seen[1] >= self.idle_timeout:
                relay.cut("upstream_timeout",
                          f"upstream stalled mid-response: nothing for {self.idle_timeout:g} s")
                cut += 1
        self._since = since
        return cut
