"""Window attribution: rises charged to the reporting request, resets, concurrency, and the forecast."""
import random

import pytest

from models.quota import Attributor, Report, attribute, forecast

MIN = 60_000
HOUR = 60 * MIN
RESET_A = 5 * HOUR          # the first window ends 5 h after t=0
RESET_B = 10 * HOUR + 3000  # the next one (reported a few seconds off)


def report(rid, at, utilization, reset=RESET_A, took=20_000, session="s1", model="claude-opus-4-6", **extra):
    return Report(rid, at, at + 1000, at + took, utilization, reset, session=session, model=model, **extra)


def test_each_rise_goes_to_the_request_that_reported_it_and_a_reset_starts_a_new_window():
    reports = [report("a", 10 * MIN, 0.10), report("b", 20 * MIN, 0.25), report("c", 40 * MIN, 0.30, session="s2"),
               # the window resets at 5 h: the next report starts a new one from zero
               report("d", 5 * HOUR + 5 * MIN, 0.04, reset=RESET_B), report("e", 5 * HOUR + 15 * MIN, 0.09, reset=RESET_B)]
    first, second = attribute(reports, "5h")
    assert [(a.report.request_id, round(a.rise, 6)) for a in first.attributions] == [
        ("a", 0.10), ("b", 0.15), ("c", 0.05)]
    assert first.attributions[0].uncertain == ("first_in_window",)
    assert first.attributions[1].uncertain == () and first.utilization == pytest.approx(0.30)
    assert [(a.report.request_id, round(a.rise, 6)) for a in second.attributions] == [("d", 0.04), ("e", 0.05)]
    assert second.start_ms == RESET_B - 5 * HOUR
    assert first.totals("session") == [{"session": "s1", "rise": pytest.approx(0.25), "uncertain": pytest.approx(0.10),
                                        "requests": 2},
                                       {"session": "s2", "rise": pytest.approx(0.05), "uncertain": 0.0, "requests": 1}]


def test_two_concurrent_sessions_are_charged_their_rises_and_marked_uncertain():
    reports = [report("a", 0, 0.10, took=2 * MIN),
               report("x", 1 * MIN, 0.20, took=3 * MIN, session="s2"),   # runs alongside a
               report("b", 10 * MIN, 0.22),
               report("y", 10 * MIN + 10_000, 0.21, session="s2")]      # reported late, lower: a decrease
    [window] = attribute(reports, "5h")
    rises = {a.report.request_id: (round(a.rise, 6), a.uncertain) for a in window.attributions}
    assert rises["x"] == (0.10, ("concurrent",))
    assert rises["b"] == (0.02, ()), "y started after b's headers came: none of y is in b's rise"
    assert rises["y"] == (0.0, ("decrease", "concurrent"))
    assert sum(r for r, _ in rises.values()) == pytest.approx(0.22), "nothing counted twice"
    assert {t["session"]: round(t["rise"], 6) for t in window.totals("session")} == {"s1": 0.12, "s2": 0.10}


def test_a_long_gap_is_marked_and_a_straggler_of_an_old_window_is_not_charged():
    reports = [report("a", 0, 0.10), report("b", 2 * HOUR, 0.50),
               report("late", 5 * HOUR + 2 * MIN, 0.04, reset=RESET_B),
               report("old", 5 * HOUR + 3 * MIN, 0.52)]  # the old window's reset, after the new one began
    first, second = attribute(reports, "5h")
    assert first.attributions[1].uncertain == ("gap",)
    assert [a.report.request_id for a in second.attributions] == ["late"]
    assert "old" not in [a.report.request_id for a in first.attributions]


def test_the_forecast_says_when_the_window_fills_at_the_recent_rate_and_whether_before_its_reset():
    reports = [report("a", 30 * MIN, 0.20), report("b", 60 * MIN, 0.30), report("c", 90 * MIN, 0.40)]
    [window] = attribute(reports, "5h")
    now = 91 * MIN
    result = forecast(window, now)
    # the last hour (from 31 min) saw b and c: 0.20 in one hour; 0.60 left -> 3 h -> at 4 h 31 min, before the 5 h reset
    assert result.rate_per_hour == pytest.approx(0.20)
    assert result.full_at_ms == now + 3 * HOUR and result.before_reset
    slow = forecast(window, 4 * HOUR + 10 * MIN)  # nothing in the last hour: no burn, no date
    assert (slow.full_at_ms, slow.before_reset) == (None, False)
    [calm] = attribute([report("a", 0, 0.01), report("b", 30 * MIN, 0.02)], "5h")
    assert not forecast(calm, 31 * MIN).before_reset, "0.98 left at 0.02 an hour lasts past the reset"


@pytest.mark.parametrize("seed", range(5))
def test_concurrency_is_every_other_request_running_while_one_did(seed):
    # Against the definition, pair by pair, on a busy random hour (ties and zero-length requests
    # included): marked when fed, or later by a report fed after it.
    rng = random.Random(seed)
    reports = []
    for n in range(300):
        started = rng.randrange(0, 3_600_000, 1_000)
        reported = started + rng.choice([0, 1_000, rng.randrange(0, 60_000)])
        reports.append(Report(f"r{n}", started, reported, reported + rng.choice([0, rng.randrange(0, 120_000)]),
                              0.5, RESET_A))
    expected = [any(other is not me and other.started_ms < me.reported_ms and other.finished_ms > me.started_ms
                    for other in reports) for me in reports]
    [window] = attribute(reports, "5h")
    flagged = {item.report.request_id: "concurrent" in item.uncertain for item in window.attributions}
    assert [flagged[me.request_id] for me in reports] == expected
    assert 0 < sum(expected) < len(reports)


def shown(windows):
    return [(w.reset_ms, w.utilization, [(a.report.request_id, round(a.rise, 9), a.uncertain) for a in w.attributions])
            for w in windows]


@pytest.mark.parametrize("seed", range(5))
def test_a_copy_goes_on_from_where_the_attributor_was_and_leaves_it_as_it_was(seed):
    # Two busy windows with resets, stragglers and long requests, cut at a random report.
    rng = random.Random(seed)
    reports = []
    for n in range(120):
        started = rng.randrange(0, 9 * HOUR, 1_000)
        reported = started + rng.choice([0, 1_000, rng.randrange(0, 10 * MIN)])
        reset = RESET_A if reported < RESET_A - rng.choice([0, 10 * MIN]) else RESET_B
        reports.append(Report(f"r{n}", started, reported, reported + rng.randrange(0, 5 * MIN),
                              rng.random() * (0.5 if reset == RESET_A else 0.2), reset))
    ordered = sorted(reports, key=lambda r: (r.reported_ms, r.request_id))
    # Cut where a report fed after the cut marks one fed before it (the case a shared copy gets wrong).
    cut = next(i for i in range(len(ordered) // 2, len(ordered))
               if any(late.started_ms < early.reported_ms and late.finished_ms > early.started_ms
                      for early in ordered[i - 3:i] for late in ordered[i:i + 3]))
    attributor = Attributor("5h")
    for report_ in ordered[:cut]:
        attributor.feed(report_)
    before = shown(attributor.windows)
    twin = attributor.copy()
    for report_ in ordered[cut:]:
        twin.feed(report_)
    assert shown(twin.windows) == shown(attribute(reports, "5h"))
    assert shown(attributor.windows) == before, "the copy marked or added nothing in the original"
    assert any("concurrent" in a.uncertain for w in twin.windows for a in w.attributions)
