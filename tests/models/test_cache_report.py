"""Cache breaks read from the records: turns per session, and the stored bodies' prefix hashes as the cause."""
import json

import pytest

import models
from models.cache_report import cache_breaks, prefix_hashes
from models.price_book import load_price_book
from models.pricing import Pricing
from models.queries import filtered_requests
from tests.records import body_row, log_row

T = 1_790_000_000_000
MIN = 60_000


def turn(rid, minute, system, **tokens):
    row = log_row(rid, timestamp_ms=T + minute * MIN, session_id="s", routed_model="claude-sonnet-4-5",
                  original_model="claude-sonnet-4-5", input_tokens=10, output_tokens=100, **tokens)
    body = body_row(rid, request_body=json.dumps({"model": "claude-sonnet-4-5", "system": system,
                                                  "tools": [{"name": "Read"}], "messages": []}))
    return row, body


def test_a_changed_system_prompt_in_the_stored_bodies_is_the_cause(migrated):
    rows = [turn("a", 0, "You are Claude Code.", cache_creation_input_tokens=30_000, cache_write_5m_tokens=0,
                 cache_write_1h_tokens=30_000),
            turn("b", 1, "You are Claude Code.", cache_read_input_tokens=30_000, cache_creation_input_tokens=500,
                 cache_write_5m_tokens=0, cache_write_1h_tokens=500),
            turn("c", 2, "You are Claude Code. Today is Friday.", cache_creation_input_tokens=31_000,
                 cache_write_5m_tokens=0, cache_write_1h_tokens=31_000)]
    models.save_records([r for r, _ in rows], [b for _, b in rows])
    [(session, found)], cut = cache_breaks(filtered_requests(), Pricing(load_price_book()))
    assert session == "s"
    assert (found.turn.request_id, found.previous.request_id, found.cause, cut) == ("c", "b", "system_changed", False)
    assert found.lost_tokens == 30_500
    # Paid 31,000 1h writes ($6/M); warm it would have read 30,500 ($0.30/M) and written 500.
    assert found.cost == pytest.approx((31_000 - 500) * 6 / 1e6 - 30_500 * 0.30 / 1e6)
    assert prefix_hashes("c")[1] == prefix_hashes("a")[1], "same tools"
    assert prefix_hashes("missing") == (None, None)
