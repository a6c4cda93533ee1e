"""The floor: the cheapest relay this stack allows, to measure the real one against.

Run as `python -m bench.floor_relay --upstream URL [--port N]`; it prints `READY <port>`. One gevent
process, raw sockets, no Flask, no WSGI, no recording: each request is sent to the upstream over a
pooled keep-alive connection, the response head relayed as it came, then the body relayed read by
read (one reused `recv_into` buffer, one `sendall` per read, the upstream's own chunk framing kept,
read only far enough to see where the body ends). Not a proxy to deploy: it trusts the client's
request head and checks nothing.
"""
import argparse
import gc
import os
import signal
import socket as stdlib_socket
import sys
from urllib.parse import urlparse

import gevent
from gevent import socket
from gevent.server import StreamServer

READ_SIZE = 64 * 1024
MAX_HEAD = 64 * 1024
PROBE_PATH = b"/__probe/"


class ChunkedEnd:
    """Follows a chunked body's framing over arbitrary reads, to tell where it ends."""

    __slots__ = ("skip", "line", "last")

    def __init__(self):
        self.skip = 0        # bytes of chunk data (and its CRLF) still to pass
        self.line = b""      # a size or trailer line cut by the end of a read
        self.last = False    # the zero-size chunk was seen: only trailers remain

    def feed(self, data, size: int) -> bool:
        """Pass over the first `size` bytes of `data`; True once the body's last byte was in them."""
        pos = 0
        while pos < size:
            if self.skip:
                step = min(self.skip, size - pos)
                self.skip -= step
                pos += step
                continue
            end = data.find(b"\n", pos, size)
            if end < 0:
                self.line += bytes(data[pos:size])
                return False
            line, self.line, pos = self.line + bytes(data[pos:end]), b"", end + 1
            if self.last:
                if not line.strip():
                    return True
                continue
            length = int(line.split(b";", 1)[0], 16)
            if length == 0:
                self.last = True
            else:
                self.skip = length + 2
        return False


def read_head(sock, buf: bytearray) -> bytes | None:
    """Up to and including the blank line ending a head; None when the peer closed between messages."""
    while (end := buf.find(b"\r\n\r\n")) < 0:
        if len(buf) > MAX_HEAD:
            raise ValueError("head too large")
        data = sock.recv(READ_SIZE)
        if not data:
            if buf:
                raise ValueError("connection closed inside a head")
            return None
        buf += data
    head = bytes(buf[:end + 4])
    del buf[:end + 4]
    return head


def header(head: bytes, name: bytes) -> bytes | None:
    """The value of a header in a head (lower-case name), or None."""
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def read_exactly(sock, buf: bytearray, length: int) -> bytes:
    """The next `length` bytes (some may be in `buf` already)."""
    while len(buf) < length:
        data = sock.recv(max(READ_SIZE, length - len(buf)))
        if not data:
            raise ValueError("connection closed inside a body")
        buf += data
    body = bytes(buf[:length])
    del buf[:length]
    return body


class Relay:
    """The upstream address, its idle connections, and one reused read buffer per relay."""

    def __init__(self, upstream: str):
        parsed = urlparse(upstream)
        self.address = (parsed.hostname, parsed.port or 80)
        self.idle: list = []

    def connection(self):
        """An idle upstream connection, or a new one."""
        if self.idle:
            return self.idle.pop()
        sock = socket.create_connection(self.address)
        sock.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
        return sock

    def handle(self, client, _address) -> None:
        """Serve one client connection: its requests in turn, until it closes."""
        client.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
        buf = bytearray()
        buffer = bytearray(READ_SIZE)
        try:
            while True:
                head = read_head(client, buf)
                if head is None:
                    return
                body = read_exactly(client, buf, int(header(head, b"content-length") or 0))
                if head.split(b" ", 2)[1].startswith(PROBE_PATH) and PROBE is not None:
                    answer = PROBE.control_request(head.split(b" ", 2)[1].decode())
                    client.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer))
                    continue
                self.exchange(client, head, body, buffer)
        except (OSError, ValueError):
            return
        finally:
            client.close()

    def exchange(self, client, head: bytes, body: bytes, buffer: bytearray) -> None:
        """Relay one request and its response, reading the body into `buffer`."""
        upstream, rest, length, chunked = open_exchange(self, client, head, body)
        ended = ChunkedEnd() if chunked else None
        view = memoryview(buffer)
        if rest:
            write_client(client, rest)
            done = ended.feed(rest, len(rest)) if chunked else len(rest) >= length
        else:
            done = not chunked and length == 0
        sent = len(rest)
        while not done:
            size = read_upstream(upstream, view)
            if not size:
                upstream.close()
                raise ValueError("upstream closed mid-body")
            write_client(client, view[:size])
            if chunked:
                done = ended.feed(buffer, size)
            else:
                sent += size
                done = sent >= length
        self.idle.append(upstream)


def open_exchange(relay: Relay, client, head: bytes, body: bytes):
    """Send the request upstream and relay the response head; returns (upstream socket, body bytes
    read with the head, content length, chunked?)."""
    upstream = relay.connection()
    upstream.sendall(head + body)
    buf = bytearray()
    response_head = read_head(upstream, buf)
    if response_head is None:
        raise ValueError("upstream closed before its response")
    chunked = b"chunked" in (header(response_head, b"transfer-encoding") or b"").lower()
    length = 0 if chunked else int(header(response_head, b"content-length") or 0)
    client.sendall(response_head)
    return upstream, bytes(buf), length, chunked


def read_upstream(upstream, view: memoryview) -> int:
    """One read of the upstream body into the reused buffer (the hub waits for it)."""
    return upstream.recv_into(view)


def write_client(client, data) -> None:
    """Relay bytes to the client as they are."""
    client.sendall(data)


PROBE = None  # bench.callgrind_probe's probe when run under callgrind


def main(argv=None) -> None:
    """Listen on 127.0.0.1, print `READY <port>`, relay until SIGTERM or SIGINT."""
    global PROBE
    parser = argparse.ArgumentParser(prog="python -m bench.floor_relay")
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    gc.freeze()  # as the proxy's worker does after loading (gunicorn.conf.py)
    if os.environ.get("BENCH_CALLGRIND_PROBE"):
        from bench import callgrind_probe

        PROBE = callgrind_probe.install_floor(sys.modules[__name__],
                                              stages=os.environ.get("BENCH_CALLGRIND_STAGES") == "1")
    server = StreamServer(("127.0.0.1", args.port), Relay(args.upstream).handle, backlog=2048)
    server.start()
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
