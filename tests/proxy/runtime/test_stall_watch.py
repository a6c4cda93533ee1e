"""The stall watch: relays that wait on a silent upstream for the whole read timeout are cut."""
import time

from proxy.runtime.stall_watch import StallWatch


class FakeRelay:
    def __init__(self, watched=True):
        self.watched = watched
        self.progress = 0
        self.waiting_upstream = True
        self.cuts = []

    def cut(self, outcome, reason):
        self.cuts.append((outcome, reason))


def sweeps(watch, relay, steps, start=0):
    """Sweep at t = start, start + 1...; before each sweep its step may change the relay."""
    for now, step in enumerate(steps, start):
        step(relay)
        watch.sweep(float(now))


def idle(relay):
    pass


def moving(relay):
    relay.progress += 1


def writing_to_client(relay):
    relay.waiting_upstream = False


def test_a_relay_waiting_on_a_silent_upstream_is_cut_after_the_timeout():
    relay, watch = FakeRelay(), StallWatch(set(), idle_timeout=3)
    watch.relays.add(relay)
    sweeps(watch, relay, [idle, idle, idle])
    assert relay.cuts == []
    watch.sweep(3.0)
    assert relay.cuts == [("upstream_timeout", "upstream stalled mid-response: nothing for 3 s")]


def test_every_new_chunk_restarts_the_clock():
    relay, watch = FakeRelay(), StallWatch(set(), idle_timeout=3)
    watch.relays.add(relay)
    sweeps(watch, relay, [idle, idle, moving, idle, idle, moving, idle, idle])
    assert relay.cuts == []


def test_a_relay_held_up_by_its_client_is_not_an_upstream_stall():
    relay, watch = FakeRelay(), StallWatch(set(), idle_timeout=2)
    watch.relays.add(relay)
    sweeps(watch, relay, [writing_to_client] * 6)
    assert relay.cuts == []
    relay.waiting_upstream = True  # the client took the chunk; the clock starts now
    sweeps(watch, relay, [idle, idle], start=6)
    assert relay.cuts == []
    watch.sweep(8.0)
    assert len(relay.cuts) == 1


def test_unwatched_relays_keep_their_socket_timeouts():
    relay, watch = FakeRelay(watched=False), StallWatch(set(), idle_timeout=1)
    watch.relays.add(relay)
    sweeps(watch, relay, [idle] * 5)
    assert relay.cuts == []


def test_the_watch_sweeps_on_its_own_until_stopped():
    relay, watch = FakeRelay(), StallWatch(set(), idle_timeout=0.2)
    watch.relays.add(relay)
    watch.start()
    try:
        deadline = time.monotonic() + 5
        while not relay.cuts and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watch.stop()
    assert relay.cuts and relay.cuts[0][0] == "upstream_timeout"
    assert watch.interval == 0.05
