"""The callgrind suite's arithmetic: per event, per stream and per request from phase totals."""
from bench.callgrind_suite import LONG_EVENTS, SHORT_EVENTS, derive, dumps


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


def test_a_dump_counts_its_summary_not_the_totals_line_after_it(tmp_path):
    (tmp_path / "cg.7.1-01").write_text("part: 1\nthread: 1\ndesc: Trigger: Client Request: all:empty\n"
                                        "summary: 1561348\nfn=(1) x\n0 1561348\ntotals: 35484489\n")
    (tmp_path / "cg.7.1-02").write_text("thread: 2\ndesc: Trigger: Client Request: all:empty\ntotals: 99\n")
    assert dumps(tmp_path, 7) == {"all:empty": {1: 1_561_348, 2: 99}}
