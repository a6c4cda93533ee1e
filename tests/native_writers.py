"""Checks every native writer (proxy/recording/sqlite_writer.py, proxy/recording/postgres_writer.py) must pass the same way."""
import models
from tests.records import body_row, log_row, stored_body


def check_a_batch_over_several_statements_is_written_whole(writer, monkeypatch) -> None:
    """A batch split over several statements keeps every row, and a later row for an id wins."""
    monkeypatch.setattr("models.request_log.MAX_PARAMETERS", 120)  # two log rows per statement
    logs = [log_row(f"r{n}", output_tokens=n) for n in range(5)] + [log_row("r0", output_tokens=99)]
    writer.save(logs, [body_row(f"r{n}", response_body=f"reply {n}") for n in range(5)])
    rows = {row.id: row.output_tokens for row in models.RequestLog.select()}
    assert rows == {"r0": 99, "r1": 1, "r2": 2, "r3": 3, "r4": 4}, "a later row for an id wins"
    assert stored_body("r4").response_body == "reply 4"


def check_a_replayed_batch_counts_its_pieces_once(writer) -> None:
    """Writing a batch again (a replayed write) reads the stored lists back and adds no count."""
    logs = [log_row(f"p{n}") for n in range(3)]
    bodies = [body_row(f"p{n}", request_body='{"messages": ["' + "shared " * 20 + '"]}',
                       response_body=f"reply {n} " + "x" * 100) for n in range(3)]
    writer.save(logs, bodies)
    writer.save(logs, bodies)
    assert sorted(row.refs for row in models.BodySegment.select()) == [1, 1, 1, 3]
    assert stored_body("p2").response_body == "reply 2 " + "x" * 100
