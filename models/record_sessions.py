"""Sessions as the proxy recorded them: list rows from the per-session totals, first prompt and
working directory from one request body per session shown, a session in full from its latest call."""
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from models import bounded_json
from models.costs import spend_by, totals
from models.pricing import Cost, Pricing
from models.recorded_totals import RecordedTotals, grouped, session_calls
from models.record_bodies import record_body
from models.request_log import RequestLog
from models.transcripts.session import RECORD_PROJECT, Conversation, SessionSummary
from models.transcripts.lines import add_usage, clip, content_blocks, prompt_text, usage_of
from models.transcripts.thread import Entry, Thread
from models.transcripts.tree import folder_names

_WORKING_DIRECTORY = re.compile(r"^\s*Working directory:\s*(\S[^\n]*?)\s*$", re.MULTILINE)
_MAX_BODY_CHARS = 8 * 1024 * 1024  # a bigger first body is not parsed for a list row
MAX_PROMPTS = 10_000  # sessions whose first prompt a store keeps


@dataclass(frozen=True)
class RecordRef:
    """One recorded API call of a session, to link a turn to its full request."""

    id: str
    timestamp_ms: int
    upstream_request_id: str | None
    agent_id: str | None
    model: str | None
    usage: dict


def recorded_sessions(totals: RecordedTotals | None = None, exclude: set[str] = frozenset(),
                      only: str | None = None) -> list[SessionSummary]:
    """Every recorded session (from `totals`, kept up to date) but those in `exclude`; or just `only`."""
    found = grouped(RequestLog.session_id == only) if only is not None else (totals or RecordedTotals()).sessions()
    return [SessionSummary(id=session_id, project=RECORD_PROJECT, project_path=None, start_ms=part.first_ms,
                           last_ms=part.last_ms, request_count=part.calls, model=part.main_model,
                           models=tuple(part.models), source="record")
            for session_id, part in found.items() if session_id not in exclude]


def add_costs(sessions: list[SessionSummary], pricing: Pricing) -> None:
    """Price each recorded session shown from its records, in one grouped read for them all."""
    if not sessions:
        return
    ids = [session.id for session in sessions]
    spent = totals(spend_by(session_calls().where(RequestLog.session_id.in_(ids)), pricing,
                            key=RequestLog.session_id.alias("c_key")))
    for session in sessions:
        session.cost = spent[session.id].cost if session.id in spent else Cost()


def _main_call(session_id: str, model: str | None, latest: bool = False):
    """The session's first (or latest) main-thread call of its main model."""
    query = session_calls().where(RequestLog.session_id == session_id, RequestLog.agent_id.is_null())
    if model:
        query = query.where((RequestLog.original_model == model) | (RequestLog.routed_model == model))
    order = RequestLog.timestamp_ms.desc() if latest else RequestLog.timestamp_ms
    return query.order_by(order).first()


def _body(record_id: str) -> dict:
    row = record_body(record_id, ("request_body",))
    if row is None or not row.request_body or len(row.request_body) > _MAX_BODY_CHARS:
        return {}
    try:
        body = bounded_json.loads(row.request_body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def add_first_prompts(sessions: list[SessionSummary], known: OrderedDict) -> None:
    """Fill in first prompt and working directory from one request body per session; `known` keeps
    them (session id -> (prompt, directory)): a session's first call does not change."""
    for session in sessions:
        if session.id not in known:
            call = _main_call(session.id, session.model)
            if call is None:
                continue
            body = _body(call.id)
            known[session.id] = (_first_prompt(body.get("messages")), working_directory(body.get("system")))
            time.sleep(0)  # a query and a body parse per session: let the worker's streams run
            while len(known) > MAX_PROMPTS:
                known.popitem(last=False)
        prompt, cwd = known[session.id]
        session.first_message = clip(prompt) if prompt else None
        if cwd:
            session.project_path, session.project = cwd, folder_names(cwd)[0]


def _first_prompt(messages) -> str | None:
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("role") == "user":
            text = prompt_text(message)
            if text:
                return text
    return None


def working_directory(system) -> str | None:
    """The working directory Claude Code states in its system prompt."""
    texts = [system] if isinstance(system, str) else [
        block.get("text") for block in system if isinstance(block, dict)] if isinstance(system, list) else []
    for text in texts:
        match = _WORKING_DIRECTORY.search(text) if isinstance(text, str) else None
        if match:
            return match.group(1)
    return None


def session_records(session_id: str) -> list[RecordRef]:
    """The session's recorded API calls, oldest first."""
    fields = (RequestLog.id, RequestLog.timestamp_ms, RequestLog.upstream_request_id, RequestLog.agent_id,
              RequestLog.original_model, RequestLog.routed_model, RequestLog.input_tokens,
              RequestLog.output_tokens, RequestLog.cache_creation_input_tokens, RequestLog.cache_read_input_tokens)
    rows = (session_calls().select(*fields).where(RequestLog.session_id == session_id)
            .order_by(RequestLog.timestamp_ms, RequestLog.id))
    return [RecordRef(row.id, row.timestamp_ms, row.upstream_request_id, row.agent_id,
                      row.routed_model or row.original_model,
                      usage_of({"usage": {"input_tokens": row.input_tokens, "output_tokens": row.output_tokens,
                                          "cache_creation_input_tokens": row.cache_creation_input_tokens,
                                          "cache_read_input_tokens": row.cache_read_input_tokens}}))
            for row in rows]


def recorded_conversation(session_id: str, known: OrderedDict) -> Conversation | None:
    """A session known only from the record: the latest main call's history and reply as its thread."""
    summaries = recorded_sessions(only=session_id)
    if not summaries:
        return None
    summary = summaries[0]
    add_first_prompts([summary], known)
    records = session_records(session_id)
    usage = add_usage({}, None)
    for ref in records:
        add_usage(usage, ref.usage)
    latest = _main_call(session_id, summary.model, latest=True)
    entries = _history(latest) if latest is not None else []
    thread = Thread(entries, [], usage, summary.request_count, 0, False)
    return Conversation(summary, thread, [], usage, records)


def _history(call: RequestLog) -> list[Entry]:
    """The messages a call sent, then the reply it got."""
    messages = _body(call.id).get("messages")
    entries = [Entry(type=message["role"], uuid=None, parent_uuid=None, timestamp_ms=None, line=index,
                     role=message["role"], content=content_blocks(message))
               for index, message in enumerate(messages if isinstance(messages, list) else [])
               if isinstance(message, dict) and message.get("role") in ("user", "assistant")]
    row = record_body(call.id, ("response_body", "response_message"))
    reply = _json_object(row.response_message) or _json_object(row.response_body) if row else None
    if reply and reply.get("type") == "message":
        entries.append(Entry(type="assistant", uuid=None, parent_uuid=None, timestamp_ms=call.completed_at_ms,
                             line=len(entries), role="assistant", content=content_blocks(reply),
                             model=reply.get("model"), message_id=reply.get("id"), usage=usage_of(reply),
                             upstream_request_id=call.upstream_request_id, stop_reason=reply.get("stop_reason")))
    return entries


def _json_object(text) -> dict | None:
    try:
        value = bounded_json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
