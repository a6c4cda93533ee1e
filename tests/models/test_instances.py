"""Only the in-flight rows of processes that are gone are marked interrupted, never a live one's."""
import time

import models
from models.instances import STALE_AFTER, ProxyInstance, beat, forget, interrupt_orphans
from models.request_log import RequestLog
from tests.records import log_row


def outcomes() -> dict[str, str]:
    return {row.id: row.outcome for row in RequestLog.select()}


def test_rows_of_silent_ended_or_unknown_processes_are_interrupted_live_ones_stay(migrated):
    beat("live", started_at_ms=0)
    beat("silent", started_at_ms=0)
    ProxyInstance.update(seen_at_ms=int((time.time() - STALE_AFTER - 1) * 1000)).where(
        ProxyInstance.id == "silent").execute()
    models.save_records([
        log_row("streaming", outcome="in_flight", instance_id="live"),
        log_row("orphan", outcome="in_flight", instance_id="silent"),
        log_row("legacy", outcome="in_flight", instance_id=None),
        log_row("stranger", outcome="in_flight", instance_id="never-seen"),
        log_row("done", outcome="complete", instance_id="silent"),
    ], [])
    assert models.mark_interrupted() == 3
    assert outcomes() == {"streaming": "in_flight", "orphan": "interrupted", "legacy": "interrupted",
                          "stranger": "interrupted", "done": "complete"}
    assert [instance.id for instance in ProxyInstance.select()] == ["live"], "the silent one is pruned"


def test_a_process_that_ended_leaves_its_rows_to_the_next_sweep(migrated):
    beat("ending", started_at_ms=0)
    models.save_records([log_row("cut", outcome="in_flight", instance_id="ending")], [])
    assert interrupt_orphans() == 0
    forget("ending")
    assert interrupt_orphans() == 1
    assert outcomes() == {"cut": "interrupted"}
