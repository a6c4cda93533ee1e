"""Bodies stored as deduplicated pieces: read back byte-exact, shared, counted, removed with their last record."""
import logging

import models
from bench.claude_session import session
from models.body_store import BodySegment
from models.retention import prune_batch, prune_bodies_batch
from tests.records import body_row, log_row, stored_body


def call_rows(prefix: str, calls, timestamp_ms: int | None = None) -> tuple[list[dict], list[dict]]:
    """The records of a session's calls, bodies as body capture hands them over."""
    logs, bodies = [], []
    for index, call in enumerate(calls):
        record_id = f"{prefix}{index}"
        extra = {"timestamp_ms": timestamp_ms + index} if timestamp_ms is not None else {}
        logs.append(log_row(record_id, **extra))
        bodies.append(body_row(record_id, request_headers=call.request_headers,
                               request_body=call.request_body.decode(), response_headers=call.response_headers,
                               response_body=call.response_body.decode(), response_message=call.response_message))
    return logs, bodies


def assert_read_back(prefix: str, calls) -> None:
    for index, call in enumerate(calls):
        body = stored_body(f"{prefix}{index}")
        assert body.raw["request_body"] == call.request_body
        assert body.raw["response_body"] == call.response_body
        assert (body.request_headers, body.response_headers, body.response_message) == (
            call.request_headers, call.response_headers, call.response_message)


def test_a_session_reads_back_byte_exact_and_stores_its_history_once(migrated):
    calls = session(30)
    logs, bodies = call_rows("s", calls)
    models.save_records(logs[:10], bodies[:10])
    models.save_records(logs[10:], bodies[10:])  # a later batch reuses the pieces of the earlier
    assert_read_back("s", calls)
    relayed = sum(len(c.request_body) for c in calls)
    stored = sum(len(row.data) for row in BodySegment.select()) + sum(
        len(row.pieces) for row in models.RequestBody.select())
    assert stored < relayed * 0.15
    system = BodySegment.select().order_by(BodySegment.size.desc()).first()
    assert system.refs == 30, "the system prompt (the biggest piece) is stored once, used by every call"
    assert all(row.request_body == "" for row in models.RequestBody.select()), "no text kept twice"


def test_texts_round_trip_exactly_whatever_they_hold(migrated):
    odd = "nul \x00, lone surrogate \ud800, emoji \U0001f44b, " + "x" * 100
    models.save_records([log_row("odd")], [body_row("odd", request_body=odd, response_body=odd * 2,
                                                    response_message=None)])
    body = stored_body("odd")
    assert (body.request_body, body.response_body, body.response_message) == (odd, odd * 2, None)


def test_a_damaged_piece_is_detected_on_read(migrated, caplog):
    models.save_records([log_row("a")], [body_row("a", request_body='{"messages": ["' + "a" * 500 + '"]}')])
    segment = BodySegment.select().first()
    BodySegment.update(data=b"\x00" + b"b" * segment.size).where(BodySegment.hash == segment.hash).execute()
    with caplog.at_level(logging.ERROR):
        assert stored_body("a") is None
    assert "damaged" in caplog.text


def test_deleting_a_record_keeps_the_pieces_another_record_uses(migrated):
    calls = session(6)
    logs, bodies = call_rows("old", calls[:3], timestamp_ms=1_000)
    new_logs, new_bodies = call_rows("new", calls[3:], timestamp_ms=5_000)
    models.save_records(logs + new_logs, bodies + new_bodies)  # one batch: shared pieces counted per record
    assert prune_batch(2_000) == 3
    assert_read_back("new", calls[3:])
    assert prune_batch(10_000) == 3
    assert BodySegment.select().count() == 0, "the last record took its pieces with it"


def test_deleting_every_request_through_the_api_removes_every_piece(client, app):
    logs, bodies = call_rows("r", session(4))
    models.save_records(logs, bodies)
    assert client.delete("/api/requests").get_json()["deleted"] == 4
    assert BodySegment.select().count() == 0 and models.RequestBody.select().count() == 0


def test_body_retention_removes_bodies_and_keeps_the_typed_rows(migrated):
    calls = session(5)
    logs, bodies = call_rows("old", calls[:3], timestamp_ms=1_000)
    new_logs, new_bodies = call_rows("new", calls[3:], timestamp_ms=9_000)
    models.save_records(logs + new_logs, bodies + new_bodies)
    assert prune_bodies_batch(5_000, batch_size=2) == (2, 1_001)
    assert prune_bodies_batch(5_000, batch_size=2, after_ms=1_001) == (1, 1_002)
    assert prune_bodies_batch(5_000, batch_size=2, after_ms=1_002) == (0, 1_002)
    assert models.RequestLog.select().count() == 5
    assert {row.id: row.bodies_omitted for row in models.RequestLog.select()} == {
        "old0": "retention", "old1": "retention", "old2": "retention", "new0": None, "new1": None}
    assert stored_body("old1") is None
    assert_read_back("new", calls[3:])


def test_rows_written_before_the_pieces_are_read_and_deleted_as_before(db):
    from tests.records import save_legacy_records
    models.migrate(up_to=5)
    save_legacy_records([log_row("legacy", timestamp_ms=1_000)], [body_row("legacy", request_body='{"a": 1}')])
    models.migrate()
    models.save_records([log_row("new", timestamp_ms=2_000)], [body_row("new", request_body='{"a": 1}')])
    assert stored_body("legacy").request_body == stored_body("new").request_body == '{"a": 1}'
    assert prune_batch(3_000) == 2


def test_a_record_lists_each_earlier_message_in_17_bytes(migrated):
    logs, bodies = call_rows("t", session(3))
    models.save_records(logs, bodies)
    first, last = (len(models.RequestBody.get_by_id(f"t{n}").pieces) for n in (0, 2))
    assert last - first == 4 * 17, "two turns added four messages: a key each (a tag and 16 bytes)"


def test_a_replayed_write_counts_its_pieces_once(migrated):
    logs, bodies = call_rows("r", session(4))
    models.save_records(logs, bodies)
    counts = {row.hash: row.refs for row in BodySegment.select()}
    models.save_records(logs, bodies)  # a durable spool replaying the batch
    models.save_records(logs[2:], bodies[2:])
    assert {row.hash: row.refs for row in BodySegment.select()} == counts
    assert prune_batch(2**62) == 4
    assert BodySegment.select().count() == 0, "no piece outlives the records that used it"


def test_a_record_written_again_with_other_bodies_gives_back_its_old_pieces(migrated):
    first, second = session(2, seed=1)[-1], session(2, seed=2)[-1]
    logs, bodies = call_rows("c", [first])
    models.save_records(logs, bodies)
    models.save_records(logs, call_rows("c", [second])[1])
    assert_read_back("c", [second])
    assert sum(row.refs for row in BodySegment.select()) == BodySegment.select().count(), "each piece used once"
    assert prune_batch(2**62) == 1
    assert BodySegment.select().count() == 0
