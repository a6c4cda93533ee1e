"""Reading window reports from the records: order, resets as unix seconds, rows without headers left out."""
import models
from models.queries import filtered_requests
from models.quota import attribute
from models.quota_report import window_reports
from tests.records import log_row

T = 1_790_000_000_000
RESET = str((T + 3 * 3_600_000) // 1000)


def test_reports_come_oldest_first_with_their_reset_and_feed_the_attribution(migrated):
    models.save_records([
        log_row("b", timestamp_ms=T + 60_000, ttfb_ms=500, completed_at_ms=T + 70_000, organization_id="o",
                unified_5h_utilization=0.30, unified_5h_reset=RESET, session_id="s2"),
        log_row("a", timestamp_ms=T, ttfb_ms=400, completed_at_ms=T + 5_000, organization_id="o",
                unified_5h_utilization=0.20, unified_5h_reset=RESET, session_id="s1", api_key_fingerprint="k"),
        log_row("no-headers", timestamp_ms=T + 1_000, organization_id="o"),
        log_row("bad-reset", timestamp_ms=T + 2_000, organization_id="o", unified_5h_utilization=0.25,
                unified_5h_reset="soon"),
        log_row("other-org", timestamp_ms=T + 3_000, organization_id="p", unified_5h_utilization=0.9,
                unified_5h_reset=RESET),
    ], [])
    reports, cut = window_reports(filtered_requests(org="o"), "5h")
    assert not cut
    assert [(r.request_id, r.reported_ms - r.started_ms, r.reset_ms) for r in reports] == [
        ("a", 400, int(RESET) * 1000), ("b", 500, int(RESET) * 1000)]
    assert (reports[0].session, reports[0].key) == ("s1", "k")
    [window] = attribute(reports, "5h")
    assert [round(a.rise, 6) for a in window.attributions] == [0.20, 0.10]
    projects = {"s1": "/work/shop"}
    assert [(t["project"], t["requests"]) for t in window.totals("project", projects)] == [("/work/shop", 1), (None, 1)]
    assert window_reports(filtered_requests(org="o"), "7d") == ([], False)
