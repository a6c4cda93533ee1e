"""The floor suite: the proxy suite's Claude-speed and non-streaming scenarios through bench.floor_relay.

The floor relay (a bare gevent socket loop: no Flask, no WSGI, no recording) is the cheapest relay
this stack allows; its figures, beside the proxy suite's, say how much of the proxy's cost is its
own. In its report the "proxy" column is the floor relay.
"""
from bench.procs import FloorRelay
from bench.proxy_suite import QUICK_SCENARIOS, SCENARIOS, run_suite, selected

FLOOR_SCENARIOS = ("Claude-speed", "concurrency")


def main(quick: bool = False) -> int:
    """Run the floor's scenarios, print the report, write the JSON; 0 when every target passed."""
    scenarios = [s for s in selected(QUICK_SCENARIOS if quick else SCENARIOS)
                 if any(word in s.name for word in FLOOR_SCENARIOS)]
    print("Through the floor relay (bench.floor_relay), not the proxy: the 'proxy' column is the floor.")
    return run_suite("floor", scenarios, quick, lambda upstream, workdir, log_path: FloorRelay(upstream.url))
