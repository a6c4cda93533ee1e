"""A fake Anthropic API for tests: HTTP/1.1, chunked SSE with `event:` and `data:` lines, scriptable.

Tests queue `Reply` objects to script errors, delays, drops and stalls; without one, requests get
what the real API would send (a streamed or plain message, token counts, a model list).
"""
import gzip
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RATE_LIMIT_HEADERS = {
    "anthropic-organization-id": "org-fake-0001",
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": "3999",
    "anthropic-ratelimit-requests-reset": "2026-11-24T10:00:00Z",
    "anthropic-ratelimit-tokens-limit": "2000000",
    "anthropic-ratelimit-tokens-remaining": "1990000",
    "anthropic-ratelimit-tokens-reset": "2026-11-24T10:00:01Z",
    "anthropic-ratelimit-unified-status": "allowed",
    "anthropic-ratelimit-unified-5h-utilization": "0.42",
    "anthropic-ratelimit-unified-5h-reset": "1795000000",
    "anthropic-ratelimit-unified-7d-utilization": "0.17",
    "anthropic-ratelimit-unified-7d-reset": "1795400000",
}
USAGE = {"input_tokens": 1200, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 9000,
         "output_tokens": 1, "service_tier": "standard"}
FINAL_OUTPUT_TOKENS = 42


def sse(event: str, data: dict) -> bytes:
    """One SSE event as Anthropic frames it."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def message_events(model: str, text: str = "Hello from the fake upstream. Grüße! 👋",
                   tool: dict | None = None, thinking: str | None = None,
                   stop_reason: str = "end_turn") -> list[bytes]:
    """The events of a realistic streamed message: thinking, text deltas, an optional tool call."""
    events = [sse("message_start", {"type": "message_start", "message": {
        "id": "msg_fake01", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": USAGE}})]
    index = 0
    if thinking:
        events.append(sse("content_block_start", {"type": "content_block_start", "index": index,
                                                  "content_block": {"type": "thinking", "thinking": "", "signature": ""}}))
        events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "thinking_delta", "thinking": thinking}}))
        events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}}))
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    events.append(sse("content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "text", "text": ""}}))
    events.append(sse("ping", {"type": "ping"}))
    for start in range(0, len(text), 8):
        events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "text_delta", "text": text[start:start + 8]}}))
    events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    if tool:
        index += 1
        events.append(sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": {
            "type": "tool_use", "id": "toolu_fake01", "name": tool["name"], "input": {}}}))
        raw = json.dumps(tool["input"])
        for start in range(0, len(raw), 5):
            events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                      "delta": {"type": "input_json_delta", "partial_json": raw[start:start + 5]}}))
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        stop_reason = "tool_use"
    events.append(sse("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                        "usage": {"output_tokens": FINAL_OUTPUT_TOKENS}}))
    events.append(sse("message_stop", {"type": "message_stop"}))
    return events


def message_json(model: str, text: str = "Hello from the fake upstream.") -> dict:
    """A realistic non-streaming message."""
    return {"id": "msg_fake02", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {**USAGE, "output_tokens": FINAL_OUTPUT_TOKENS}}


@dataclass
class Reply:
    """A scripted answer. `chunks` is the body as a list of writes; None means the default answer."""

    status: int = 200
    headers: dict = field(default_factory=dict)
    repeated_headers: list[tuple[str, str]] = field(default_factory=list)  # sent as they are, repeats too
    chunks: list[bytes] | None = None
    content_type: str | None = None
    framing: str = "chunked"         # chunked | length | close
    delay_before_headers: float = 0.0
    delay_between: float = 0.0
    drop_after: int | None = None    # close the socket after this many chunks, mid-body
    stall_after: int | None = None   # go silent (for `stall_for` seconds) after this many chunks
    stall_for: float = 5.0
    gzip: bool = False


def session_reply(call, stream: bool) -> Reply:
    """A bench.claude_session call's answer: its SSE events one chunk each, or (not streamed) its message."""
    if stream:
        events = [event + b"\n\n" for event in call.response_body.split(b"\n\n") if event]
        return Reply(chunks=events, content_type="text/event-stream; charset=utf-8")
    return Reply(chunks=[call.response_message.encode()], content_type="application/json", framing="length")


@dataclass
class Seen:
    """One request as the fake upstream received it."""

    method: str
    path: str
    query: str
    headers: dict
    body: bytes
    header_items: list = field(default_factory=list)  # (name, value) as received: order, spelling, repeats

    def json(self):
        return json.loads(self.body)


class FakeUpstream:
    """The server; `url` is its base URL, `seen` the requests it received, `queue` scripted replies."""

    def __init__(self, tls=None):
        """`tls`: an ssl.SSLContext to serve HTTPS with (the proxy's upstream over TLS)."""
        self.seen: list[Seen] = []
        self.queue: list[Reply] = []
        self.sent_log: list[tuple[float, bytes]] = []  # (time written, chunk) of the last reply
        self.request_lines: list[bytes] = []            # every request line received, refused ones too
        self.finished = threading.Event()               # set when the last reply ended
        self.disconnected = threading.Event()           # set when a client went away mid-reply
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"upstream": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeUpstream":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
            self.queue.clear()
            self.request_lines.clear()
            self.sent_log.clear()
        self.finished.clear()
        self.disconnected.clear()

    def reply(self, *replies: Reply) -> None:
        """Script the next replies, in order."""
        with self._lock:
            self.queue.extend(replies)

    def _next(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            scripted = self.queue.pop(0) if self.queue else Reply()
        if scripted.chunks is None:
            return _default_reply(seen, scripted)
        return scripted


def _default_reply(seen: Seen, reply: Reply) -> Reply:
    """What the real API would answer to this request."""
    body = {}
    if seen.body:
        try:
            body = seen.json()
        except (ValueError, RecursionError):  # deeply nested JSON: answered as any other body
            body = {}
    model = body.get("model", "claude-sonnet-4-6") if isinstance(body, dict) else "claude-sonnet-4-6"
    if seen.path.endswith("/count_tokens"):
        reply.chunks, reply.content_type = [json.dumps({"input_tokens": 1234}).encode()], "application/json"
    elif seen.path.endswith("/models"):
        models = {"data": [{"type": "model", "id": "claude-sonnet-4-6", "display_name": "Claude Sonnet 4.5",
                            "created_at": "2025-09-29T00:00:00Z"}], "has_more": False,
                  "first_id": "claude-sonnet-4-6", "last_id": "claude-sonnet-4-6"}
        reply.chunks, reply.content_type = [json.dumps(models).encode()], "application/json"
    elif isinstance(body, dict) and body.get("stream"):
        reply.chunks, reply.content_type = message_events(model), "text/event-stream; charset=utf-8"
    else:
        reply.chunks = [json.dumps(message_json(model)).encode()]
        reply.content_type = "application/json"
        reply.framing = "length" if reply.framing == "chunked" else reply.framing
    return reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients closing pooled keep-alive connections is normal here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: FakeUpstream

    def log_message(self, *args):
        pass

    def parse_request(self):
        self.upstream.request_lines.append(self.raw_requestline)  # before any check can refuse it
        return super().parse_request()

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length", 0)))

    def _handle(self):
        path, _, query = self.path.partition("?")
        seen = Seen(self.command, path, query, {k.lower(): v for k, v in self.headers.items()},
                    self._read_body(), list(self.headers.items()))
        reply = self.upstream._next(seen)
        self.upstream.sent_log.clear()
        self.upstream.finished.clear()
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.upstream.disconnected.set()
            self.close_connection = True
        finally:
            self.upstream.finished.set()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def _send(self, reply: Reply):
        time.sleep(reply.delay_before_headers)
        chunks = list(reply.chunks)
        if reply.gzip:
            chunks = [gzip.compress(b"".join(chunks))]
        self.send_response(reply.status)
        headers = {**RATE_LIMIT_HEADERS, "request-id": "req_fake_" + str(len(self.upstream.seen)),
                   "set-cookie": "_cfuvid=fake-cookie; path=/", **reply.headers}
        if reply.content_type:
            headers["content-type"] = reply.content_type
        if reply.gzip:
            headers["content-encoding"] = "gzip"
        for name, value in [*headers.items(), *reply.repeated_headers]:
            self.send_header(name, value)
        if reply.framing == "chunked":
            self.send_header("transfer-encoding", "chunked")
        elif reply.framing == "length":
            self.send_header("content-length", str(sum(map(len, chunks))))
        else:
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()
        for number, chunk in enumerate(chunks):
            if reply.drop_after is not None and number == reply.drop_after:
                self._drop()
                return
            if reply.stall_after is not None and number == reply.stall_after:
                time.sleep(reply.stall_for)
            if number and reply.delay_between:
                time.sleep(reply.delay_between)
            self.upstream.sent_log.append((time.monotonic(), chunk))
            if reply.framing == "chunked":
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                self.wfile.write(chunk)
            self.wfile.flush()
        if reply.framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _drop(self):
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True
