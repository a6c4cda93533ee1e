"""The storage suite's report: each target judged, and (b) said to be unmeasured without captures."""
from bench import storage_suite


def _results(captures: dict) -> dict:
    figures = {"session_120": {"ratio": 0.04, "byte_exact": True}, "captures": captures,
               "detail_read_ms": {"stored_read": {"p95": 9.0}}}
    return {"sqlite": figures, "postgres": figures}


def test_without_captures_the_report_says_b_is_not_measured():
    targets = storage_suite.storage_targets(_results(storage_suite.captures_ratio("unused", None)))
    unmeasured = [line for line, passed in targets if passed is None]
    assert len(unmeasured) == 2 and all("no captures given" in line and "not measured" in line for line in unmeasured)
    assert all(passed for _, passed in targets if passed is not None)


def test_captures_over_ten_percent_or_not_byte_exact_fail():
    replayed = {"measured": True, "records": 240, "ratio": 0.08, "byte_exact": True}
    judged = {name: [passed for line, passed in storage_suite.storage_targets(_results(captures)) if "(b)" in line]
              for name, captures in (("within", replayed), ("over", {**replayed, "ratio": 0.11}),
                                     ("changed", {**replayed, "byte_exact": False}))}
    assert judged == {"within": [True, True], "over": [False, False], "changed": [False, False]}
