"""Graceful shutdown of one worker: say draining at once, keep serving for a while, let streams
finish, and end the ones still running shortly before the deadline (each told, each recorded)."""
import logging
import threading
import time
from collections.abc import Callable

from proxy.runtime.traffic import Traffic

log = logging.getLogger(__name__)

CUT_MARGIN = 2.0  # seconds before the deadline: time to send the error events and write records
SHUTDOWN_MESSAGE = "the proxy is shutting down; retry the request"


class Drain:
    """Started by SIGTERM (any number of times; Heroku signals every process of a dyno)."""

    def __init__(self, traffic: Traffic, delay: float, timeout: float):
        self.traffic = traffic
        self.delay = delay
        self.timeout = timeout
        self.cut = 0
        self._started = False

    def begin(self, stop_accepting: Callable[[], None]) -> None:
        """Report draining now; after `delay` call `stop_accepting`; cut leftovers before `timeout`."""
        if self._started:
            return
        self._started = True
        self.traffic.draining = True
        log.info("draining: %d request(s) in flight", self.traffic.in_flight)
        threading.Thread(target=self._run, args=(stop_accepting,), name="drain", daemon=True).start()

    def _run(self, stop_accepting: Callable[[], None]) -> None:
        began = time.monotonic()
        time.sleep(self.delay)  # a load balancer needs time to see /health answer 503
        stop_accepting()
        remaining = self.timeout - CUT_MARGIN - (time.monotonic() - began)
        deadline = time.monotonic() + max(0.0, remaining)
        while self.traffic.streams and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.traffic.streams:
            self.cut = self.traffic.cut_streams(SHUTDOWN_MESSAGE)
            log.warning("drain: ended %d stream(s) still running at the deadline", self.cut)
