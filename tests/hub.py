"""Watching the gevent hub from a test: did other greenlets run while something waited?"""
import gevent


def ticks_while(action) -> int:
    """Run `action()`; return how many 10 ms sleeps another greenlet finished meanwhile."""
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(100)])
    try:
        action()
    finally:
        ticker.kill()
    return len(ticks)
