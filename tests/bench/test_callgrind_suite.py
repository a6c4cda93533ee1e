"""The callgrind suite's arithmetic: per event, per stream and per request from phase totals."""
from bench.callgrind_suite import LONG_EVENTS, SHORT_EVENTS, derive


def test_time_driven_work_and_fixed_costs_are_taken_apart():
    per_event, per_stream, per_request, per_second, streams, requests = 40_000, 900_000, 700_000, 1_000, 10, 30
    walls = {"empty": 8.0, "streams": 9.0, "short streams": 8.5, "non-streaming": 2.0}
    phases = {
        "empty": per_second * walls["empty"],
        "streams": per_second * walls["streams"] + streams * (per_stream + (LONG_EVENTS - 5) * per_event),
        "short streams": per_second * walls["short streams"] + streams * (per_stream + (SHORT_EVENTS - 5) * per_event),
        "non-streaming": per_second * walls["non-streaming"] + requests * per_request,
    }
    figures = derive(phases, walls, {"empty": 0, "streams": streams, "short streams": streams,
                                     "non-streaming": requests})
    assert round(figures["per_event"]) == per_event
    assert round(figures["per_stream"]) == per_stream
    assert round(figures["per_request"]) == per_request
