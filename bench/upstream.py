"""A fast fake Anthropic API for benchmarks: raw HTTP/1.1 on a gevent StreamServer, one process.

Run as `python -m bench.upstream [--port N]`; it prints `READY <port>` once listening. POST
/v1/messages answers a JSON message, or with `"stream": true` a chunked SSE stream shaped by the
`x-bench-events` / `x-bench-interval-ms` request headers, each event stamped with its send time.
With `--digests` it keeps, per answer's request-id, digests of the body received and the body sent,
handed out (and forgotten) by GET /bench/digests: the fleet suite compares them with the records.
"""
import argparse
import gc
import itertools
import json
import signal
import socket
import sys
import time

import gevent
from gevent.server import StreamServer

from bench.workload import (EVENTS_HEADER, INTERVAL_HEADER, SEQ_KEY, STAMP_KEY, body_digest, event_templates,
                            message_json)

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
IDLE_TIMEOUT = 120.0
COMMON_HEADERS = (
    b"anthropic-organization-id: org-bench-0001\r\n"
    b"anthropic-ratelimit-requests-limit: 4000\r\n"
    b"anthropic-ratelimit-requests-remaining: 3999\r\n"
    b"anthropic-ratelimit-tokens-limit: 2000000\r\n"
    b"anthropic-ratelimit-tokens-remaining: 1990000\r\n"
    b"anthropic-ratelimit-unified-status: allowed\r\n"
)
_request_ids = itertools.count(1)
# Connections accepted and requests answered, for GET /bench/stats: shows whether the proxy reuses
# its upstream connections (a real upstream charges a TLS handshake for each new one).
STATS = {"connections": 0, "requests": 0}
_templates: dict[int, list] = {}  # events -> event_templates(events): built once per stream shape
_STAMP_SEP = f',"{STAMP_KEY}":'.encode()
_message = message_json()
# request-id -> [request body digest, response body digest]; None unless --digests (hashing costs CPU).
DIGESTS: dict[str, list[str]] | None = None


class BadRequest(Exception):
    """The request could not be parsed; the connection is closed."""


def _read_head(sock, buf: bytearray) -> bytes | None:
    """Read up to the blank line ending the request head; None when the peer closed between requests."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buf[:end])
            del buf[:end + 4]
            return head
        if len(buf) > MAX_HEAD:
            raise BadRequest("request head too large")
        data = sock.recv(65536)
        if not data:
            if buf:
                raise BadRequest("connection closed inside a request head")
            return None
        buf += data


def _read_body(sock, buf: bytearray, length: int) -> bytes:
    while len(buf) < length:
        data = sock.recv(max(65536, length - len(buf)))
        if not data:
            raise BadRequest("connection closed inside a request body")
        buf += data
    body = bytes(buf[:length])
    del buf[:length]
    return body


def _parse_head(head: bytes) -> tuple[str, str, dict]:
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise BadRequest(f"bad request line {lines[0]!r}") from None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers


def _send_plain(sock, status: str, body: bytes, content_type: bytes = b"application/json",
                received: bytes | None = None) -> None:
    request_id = b"req_bench_%d" % next(_request_ids)
    sock.sendall(b"HTTP/1.1 " + status.encode() + b"\r\ncontent-type: " + content_type
                 + b"\r\ncontent-length: " + str(len(body)).encode()
                 + b"\r\nrequest-id: " + request_id + b"\r\n" + COMMON_HEADERS + b"\r\n" + body)
    if DIGESTS is not None and received is not None:
        DIGESTS[request_id.decode()] = [body_digest(received).hexdigest(), body_digest(body).hexdigest()]


def _error(kind: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def _send_stream(sock, events: int, interval: float, received: bytes) -> None:
    """Send the SSE events as one HTTP chunk each; deltas are spaced `interval` seconds apart."""
    templates = _templates.get(events)
    if templates is None:
        # Each data JSON is left open for its sequence number and send time: `{...,"bench_seq":`.
        templates = _templates[events] = [(name_line, f'{data},"{SEQ_KEY}":'.encode())
                                          for name_line, data in event_templates(events)]
    request_id = b"req_bench_%d" % next(_request_ids)
    sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                 b"transfer-encoding: chunked\r\ncache-control: no-cache\r\nrequest-id: "
                 + request_id + b"\r\n" + COMMON_HEADERS + b"\r\n")
    sent = None if DIGESTS is None else body_digest()
    start = time.monotonic()
    last = len(templates) - 1
    for seq, (name_line, data) in enumerate(templates):
        # Deltas follow a fixed schedule from the start, so a late wake-up does not shift later events.
        if 2 <= seq <= last - 3 and interval > 0:
            delay = start + (seq - 1) * interval - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
        payload = b"%sdata: %s%d%s%d}\n\n" % (name_line, data, seq, _STAMP_SEP, time.monotonic_ns())
        if sent is not None:
            sent.update(payload)
        sock.sendall(b"%x\r\n%s\r\n" % (len(payload), payload) + (b"0\r\n\r\n" if seq == last else b""))
    if sent is not None:
        DIGESTS[request_id.decode()] = [body_digest(received).hexdigest(), sent.hexdigest()]


def _answer(sock, method: str, target: str, headers: dict, body: bytes) -> bool:
    """Answer one request; True if it was a Messages API call (not a health or stats probe)."""
    path = target.split("?", 1)[0]
    if method == "GET" and path == "/health":
        _send_plain(sock, "200 OK", b'{"status":"ok"}')
        return False
    if method == "GET" and path == "/bench/stats":
        _send_plain(sock, "200 OK", json.dumps(STATS).encode())
        return False
    if method == "GET" and path == "/bench/digests":
        _send_plain(sock, "200 OK", json.dumps(DIGESTS).encode())
        if DIGESTS is not None:
            DIGESTS.clear()
        return False
    if method != "POST" or path != "/v1/messages":
        _send_plain(sock, "404 Not Found", _error("not_found_error", f"{method} {path}"))
        return False
    STATS["requests"] += 1
    try:
        request = json.loads(body)  # parsing also proves the body arrived intact
    except ValueError:
        _send_plain(sock, "400 Bad Request", _error("invalid_request_error", "body is not JSON"))
        return True
    if request.get("stream") is True:
        _send_stream(sock, int(headers.get(EVENTS_HEADER, "30")),
                     float(headers.get(INTERVAL_HEADER, "0")) / 1000, body)
    else:
        _send_plain(sock, "200 OK", _message, received=body)
    return True


def handle(sock, _address) -> None:
    """Serve one connection: requests in turn (keep-alive) until the peer closes it."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(IDLE_TIMEOUT)
    buf = bytearray()
    counted = False
    try:
        while True:
            head = _read_head(sock, buf)
            if head is None:
                return
            method, target, headers = _parse_head(head)
            if "chunked" in headers.get("transfer-encoding", ""):
                _send_plain(sock, "411 Length Required", _error("invalid_request_error", "send a length"))
                return
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY:
                raise BadRequest("body too large")
            if _answer(sock, method, target, headers, _read_body(sock, buf, length)) and not counted:
                STATS["connections"] += 1  # a connection that carried API calls
                counted = True
            if headers.get("connection", "").lower() == "close":
                return
    except (OSError, BadRequest, ValueError):
        return  # a peer that went away or spoke nonsense: nothing to answer
    finally:
        sock.close()


def main(argv=None) -> None:
    """Listen on 127.0.0.1, print `READY <port>`, serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m bench.upstream")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--digests", action="store_true", help="keep digests of the API calls' bodies")
    args = parser.parse_args(argv)
    if args.digests:
        global DIGESTS
        DIGESTS = {}
    # A full collection walks every greenlet's stack and stalled all 300 streams for 40 ms here.
    # The garbage of one benchmark run is a few MB: keep it rather than pause the streams.
    gc.freeze()
    gc.disable()
    server = StreamServer(("127.0.0.1", args.port), handle, backlog=2048)
    server.start()
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
