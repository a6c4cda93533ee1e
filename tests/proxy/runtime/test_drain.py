"""The drain's timing: draining at once, accepting stops after the delay, leftovers cut before the deadline."""
import time

from proxy.runtime.drain import CUT_MARGIN, Drain
from proxy.runtime.traffic import Traffic


class FakeStream:
    def __init__(self):
        self.outcome = self.reason = None

    def cut(self, outcome, reason):
        self.outcome, self.reason = outcome, reason


def test_draining_at_once_then_stop_accepting_after_the_delay_then_cut_leftovers():
    traffic, stopped = Traffic(), []
    stream = FakeStream()
    traffic.streams.add(stream)
    drain = Drain(traffic, delay=0.2, timeout=CUT_MARGIN + 0.5)
    began = time.monotonic()
    drain.begin(lambda: stopped.append(time.monotonic() - began))
    drain.begin(lambda: stopped.append("twice"))  # Heroku signals every process, maybe more than once
    assert traffic.draining
    deadline = time.monotonic() + 5
    while stream.reason is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(stopped) == 1 and 0.2 <= stopped[0] < 0.5
    assert "shutting down" in stream.reason and stream.outcome == "shutdown"
    assert drain.cut == 1
    assert 0.45 <= time.monotonic() - began < 1.5


def test_nothing_is_cut_when_streams_finish_in_time():
    traffic = Traffic()
    stream = FakeStream()
    traffic.streams.add(stream)
    drain = Drain(traffic, delay=0, timeout=CUT_MARGIN + 1)
    drain.begin(lambda: None)
    time.sleep(0.2)
    traffic.streams.discard(stream)
    time.sleep(1.2)
    assert stream.reason is None and drain.cut == 0
