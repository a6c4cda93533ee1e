"""The upstream read timeout of relayed bodies: one sweep a second instead of a timer per socket read.

A socket with a timeout makes gevent build a Timeout object and start and stop a timer around
every read that waits, a large share of the work of relaying an event. Relayed bodies are read
without one (`UpstreamResponse.release_read_timeout`); this watch ends the relays that waited on
their upstream for the whole timeout with nothing new.
"""
import logging
import time

from proxy.runtime.background import BackgroundLoop

log = logging.getLogger(__name__)


class StallWatch(BackgroundLoop):
    """Every `interval`, cuts each watched relay that has waited `idle_timeout` seconds on its upstream."""

    thread_name = "stall-watch"

    def __init__(self, relays: set, idle_timeout: float):
        super().__init__()
        self.relays = relays  # the relays in progress (Traffic.streams); each says if it is watched
        self.idle_timeout = idle_timeout
        # The cut comes between idle_timeout and idle_timeout + interval after the last byte.
        self.interval = max(0.05, min(1.0, idle_timeout / 4))
        self._since: dict = {}  # relay -> (chunks relayed when last seen moving, when)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
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
