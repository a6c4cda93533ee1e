"""One proxied exchange, from the request's arrival to its outcome: the source of its record."""
import json
import time
import uuid
from dataclasses import dataclass, field

from proxy.assembler import MessageAssembler, usage_of
from proxy.headers import api_key_fingerprint, redacted
from proxy.rate_limits import rate_limit_fields
from proxy.request_info import RequestInfo
from proxy.sse import SSEParser
from proxy.usage import usage_columns

# Stream bytes parsed between two cooperative yields (time.sleep is gevent's under gunicorn):
# about 500 events. A typical stream is one slice.
PARSE_SLICE_BYTES = 64 * 1024
RATE_LIMIT_COLUMNS = (
    "organization_id", "requests_limit", "requests_remaining", "requests_reset", "tokens_limit",
    "tokens_remaining", "tokens_reset", "unified_status", "unified_5h_utilization",
    "unified_5h_reset", "unified_7d_utilization", "unified_7d_reset",
)


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class Exchange:
    """What the proxy knows about one request and, as it unfolds, its response."""

    method: str
    endpoint: str
    query: str
    request_headers: dict
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timestamp_ms: int = field(default_factory=_now_ms)
    started: float = field(default_factory=time.perf_counter)
    request_body: bytes = b""
    info: RequestInfo = field(default_factory=RequestInfo)
    provider: str = "anthropic"
    routed_model: str | None = None
    routing_rule: str | None = None
    key_fingerprint: str | None = None

    outcome: str = "in_flight"
    status_code: int | None = None
    error: str | None = None
    response_headers: dict | None = None
    ttfb_ms: int | None = None
    response_time_ms: int | None = None
    completed_at_ms: int | None = None
    is_sse: bool = False
    rate_limits: dict = field(default_factory=dict)
    usage: dict = field(default_factory=dict)
    stop_reason: str | None = None
    response_message: dict | None = None
    _chunks: list = field(default_factory=list)
    _parser: SSEParser | None = None
    _assembler: MessageAssembler | None = None
    _parsed: int = 0  # chunks fed to the parser so far

    @classmethod
    def begin(cls, method: str, endpoint: str, query: str, headers: list[tuple[str, str]]) -> "Exchange":
        """Start an exchange from the client's request line and header pairs (secrets redacted)."""
        return cls(method=method, endpoint=endpoint, query=query,
                   request_headers=redacted(headers), key_fingerprint=api_key_fingerprint(headers))

    def elapsed_ms(self) -> int:
        """Milliseconds since the request arrived."""
        return int((time.perf_counter() - self.started) * 1000)

    def response_started(self, status: int, headers) -> None:
        """Note the upstream status and headers, before any body byte."""
        self.status_code = status
        self.response_headers = redacted(headers.items())
        self.rate_limits = rate_limit_fields(headers)
        self.is_sse = headers.get("content-type", "").startswith("text/event-stream")
        if self.is_sse:
            self._parser, self._assembler = SSEParser(), MessageAssembler()

    def mark_first_byte(self) -> None:
        """Stamp the time to first byte when the first body chunk is about to go out."""
        if self.ttfb_ms is None:
            self.ttfb_ms = self.elapsed_ms()

    def body_chunk(self, chunk: bytes) -> None:
        """Keep a copy of a relayed chunk (an event stream is parsed when it ends)."""
        self._chunks.append(chunk)

    @property
    def mid_event(self) -> bool:
        """True when the relayed stream stopped inside an event."""
        self._parse_stream()
        return self._parser is not None and self._parser.mid_event

    def _parse_stream(self) -> None:
        # Parsed in one pass at the end, not event by event as they pass: on every wake-up the
        # parser's code and data were out of the caches, which cost several times the CPU; nothing
        # needs the events sooner, and the relay's path per event stays short.
        if self._parser is None:
            return
        while self._parsed < len(self._chunks):
            # Chunks joined into slices of about PARSE_SLICE_BYTES: the parser's work per call is
            # paid once a slice instead of once an event.
            start, size = self._parsed, 0
            while self._parsed < len(self._chunks) and size < PARSE_SLICE_BYTES:
                size += len(self._chunks[self._parsed])
                self._parsed += 1
            self._assembler.add_raw(self._parser.feed_raw(b"".join(self._chunks[start:self._parsed])))
            if self._parsed < len(self._chunks):
                time.sleep(0)  # a long stream's parse must not hold up every other stream

    def conclude(self, outcome: str, error: str | None = None, status: int | None = None) -> None:
        """Settle the outcome and derive usage, stop reason and message from what was relayed."""
        self.completed_at_ms = _now_ms()
        self.response_time_ms = self.elapsed_ms()
        if status is not None:
            self.status_code = status
        if self._assembler is not None:
            self._parse_stream()
            self.response_message = self._assembler.result()
            self.usage = self._assembler.usage
            self.stop_reason = self._assembler.stop_reason
            if outcome == "complete" and self._assembler.error:
                outcome, error = "stream_error", self._assembler.error
        elif self._chunks and outcome == "complete":
            try:
                message = json.loads(b"".join(self._chunks))
            except ValueError:
                message = None
            if isinstance(message, dict):
                self.usage = usage_of(message)
                self.stop_reason = message.get("stop_reason")
        if outcome == "complete" and self.status_code and self.status_code >= 400:
            outcome = "upstream_error"
        self.outcome, self.error = outcome, error

    def log_row(self) -> dict:
        """The RequestLog columns of this exchange as it stands."""
        info, headers = self.info, self.request_headers
        row = {
            "id": self.id, "timestamp_ms": self.timestamp_ms, "method": self.method,
            "endpoint": self.endpoint, "query": self.query,
            "original_model": info.model, "routed_model": self.routed_model or info.model,
            "provider": self.provider, "routing_rule": self.routing_rule,
            "user_agent": headers.get("user-agent"), "content_type": headers.get("content-type"),
            "conversation_hash": info.conversation_hash, "message_count": info.message_count,
            "session_id": info.session_id, "agent_id": headers.get("x-claude-code-agent-id"),
            "api_key_fingerprint": self.key_fingerprint,
            "is_streaming": info.stream, "request_bytes": len(self.request_body),
            "outcome": self.outcome, "status_code": self.status_code, "ttfb_ms": self.ttfb_ms,
            "response_time_ms": self.response_time_ms, "completed_at_ms": self.completed_at_ms,
            "response_bytes": sum(map(len, self._chunks)) if self.completed_at_ms else None,
            "upstream_request_id": (self.response_headers or {}).get("request-id"),
            "stream_error": self.error, "stop_reason": self.stop_reason,
            **usage_columns(self.usage),
        }
        for column in RATE_LIMIT_COLUMNS:
            row[column] = self.rate_limits.get(column)
        return row

    @property
    def response_chunks(self) -> list:
        """The body chunks relayed so far."""
        return self._chunks

    def body_row(self) -> dict:
        """The RequestBody columns with the redacted headers; proxy.recording.body_capture fills in the bodies."""
        return {
            "request": self.id,
            "request_headers": json.dumps(self.request_headers),
            "request_body": "",
            "response_headers": json.dumps(self.response_headers) if self.response_headers else None,
            "response_body": None,
            "response_message": None,
        }
