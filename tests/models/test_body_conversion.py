"""Bodies written before schema step 6 rewritten as pieces: a batch at a time, resumable, exact."""
import os
import subprocess
import sys
from pathlib import Path

import models
from bench.claude_session import session
from models.body_conversion import convert_batch, legacy_rows
from models.body_store import BodySegment
from models.retention import prune_batch
from tests.models.test_body_store import assert_read_back, call_rows
from tests.records import save_legacy_records


def write_legacy_session(prefix: str, turns: int):
    """A database at schema 5 holding a session's records as texts, then migrated."""
    calls = session(turns)
    logs, bodies = call_rows(prefix, calls, timestamp_ms=1_000)
    models.migrate(up_to=5)
    save_legacy_records(logs, bodies)
    models.migrate()
    return calls


def test_legacy_bodies_are_converted_a_batch_at_a_time_and_read_back_exactly(db):
    calls = write_legacy_session("old", 5)
    assert legacy_rows() == 5
    assert convert_batch(batch_size=2) == (2, "old1")  # stopped here: the next run resumes
    assert legacy_rows() == 3
    assert convert_batch(batch_size=2, after="old1") == (2, "old3")
    assert convert_batch(batch_size=2, after="old3") == (1, "old4")
    assert convert_batch(batch_size=2, after="old4") == (0, None)
    assert legacy_rows() == 0 and convert_batch() == (0, None), "a second run has nothing to do"
    assert_read_back("old", calls)
    assert all(row.request_body == "" for row in models.RequestBody.select()), "no text kept twice"
    system = BodySegment.select().order_by(BodySegment.size.desc()).first()
    assert system.refs == 5, "the converted records share their pieces, counted once each"
    assert prune_batch(2**62) == 5
    assert BodySegment.select().count() == 0


def test_the_command_converts_every_row(db, database_url):
    calls = write_legacy_session("cmd", 3)
    db.close()
    root = Path(__file__).resolve().parent.parent.parent
    done = subprocess.run([sys.executable, "app.py", "convert-bodies", "--batch-size", "2"], cwd=root,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DATABASE_URL": database_url, "CONFIG_PATH": os.devnull})
    assert done.returncode == 0, done.stderr
    assert "3 body row(s) to convert" in done.stdout and "converted 3 body row(s)" in done.stdout
    assert legacy_rows() == 0
    assert_read_back("cmd", calls)
