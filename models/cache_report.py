"""Cache economics read from the records: the turns of sessions in a range and their cache breaks."""
import hashlib
import json
from collections import defaultdict

from models import bounded_json
from models.cache_economics import CacheBreak, Turn, find_breaks
from models.pricing import Pricing, Tokens
from models.queries import read_rows
from models.record_bodies import record_body
from models.request_log import RequestLog

# Turns read at most per report: a busy team's week; the answer says when it was cut.
MAX_TURNS = 50_000
_MAX_BODY_CHARS = 8 * 1024 * 1024


_TURN_COLUMNS = (RequestLog.id, RequestLog.timestamp_ms, RequestLog.session_id, RequestLog.original_model,
                 RequestLog.routed_model, RequestLog.provider, RequestLog.agent_id,
                 RequestLog.input_tokens, RequestLog.output_tokens, RequestLog.cache_read_input_tokens,
                 RequestLog.cache_creation_input_tokens, RequestLog.cache_write_1h_tokens,
                 RequestLog.cache_write_5m_tokens, RequestLog.web_search_requests)


def turns_query(base):
    """`base`'s completed Messages requests of a session, as the columns a Turn is made of."""
    return (base.select(*_TURN_COLUMNS)
            .where(RequestLog.session_id.is_null(False), RequestLog.endpoint == "/v1/messages",
                   RequestLog.outcome == "complete"))


def turn_of(row: tuple) -> tuple[str, Turn]:
    """(session id, Turn) of a row of turns_query."""
    request_id, at_ms, session, model, served, provider, agent, *tokens = row
    return session, Turn(request_id, at_ms, model, served, provider, agent, Tokens.of_columns(*tokens))


def session_turns(base, limit: int = MAX_TURNS) -> tuple[dict, bool]:
    """Per session id, its completed Messages requests in `base` as Turns (oldest first); and whether cut."""
    rows = read_rows(turns_query(base).order_by(RequestLog.timestamp_ms.desc()).limit(limit + 1))
    sessions = defaultdict(list)
    for row in reversed(rows[:limit]):
        session, turn = turn_of(row)
        sessions[session].append(turn)
    return dict(sessions), len(rows) > limit


def prefix_hashes(request_id: str) -> tuple[str | None, str | None]:
    """Short hashes of a stored request's system prompt and tools (None where the body is not stored)."""
    row = record_body(request_id)
    if row is None or not row.request_body or len(row.request_body) > _MAX_BODY_CHARS:
        return None, None
    try:
        body = bounded_json.loads(row.request_body)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    return _hash(body.get("system")), _hash(body.get("tools"))


def _hash(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def cache_breaks(base, pricing: Pricing, limit: int = MAX_TURNS) -> tuple[list[tuple[str, CacheBreak]], bool]:
    """Every cache break of the sessions in `base` as (session id, break), newest first; and whether
    the turns read were cut (to the newest `limit`)."""
    sessions, cut = session_turns(base, limit)
    breaks = [(session, found) for session, turns in sessions.items()
              for found in find_breaks(turns, pricing, prefix_hashes)]
    return sorted(breaks, key=lambda pair: -pair[1].turn.at_ms), cut
