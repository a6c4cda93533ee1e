"""The streaming relay: upstream body chunks go to the client as they arrive, and every ending is recorded."""
import json
import logging
from collections.abc import Callable, Iterator
from functools import partial

from flask import Response
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

from proxy.body_framing import FramingError
from proxy.client_cork import HeadCork
from proxy.exchange import Exchange
from proxy.header_rules import HeaderRule, apply_rules
from proxy.headers import client_response_headers
from proxy.socket_relay import (SERVER_RESPONSE, ChunkWriter, UpstreamReader, body_framing, chunked_client,
                                 http1_response)
from proxy.upstream.client import UpstreamResponse

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024


def upstream_body(upstream: UpstreamResponse) -> Iterator[bytes]:
    """The (decoded) body as it arrives: per chunk when chunked, else whatever each read returns."""
    # No generator of our own around urllib3's: each layer adds to the stack every waiting stream
    # keeps saved (the relay's urllib3 errors are told apart in RelayBody._relay).
    raw = upstream.raw
    if raw.chunked:
        return raw.read_chunked(decode_content=True)
    # A close-delimited or fixed-length body: read1 returns what has arrived instead of
    # waiting to fill a buffer, so a stream without chunked framing still flows.
    return iter(partial(raw.read1, READ_SIZE, decode_content=True), b"")


def upstream_cut(exc: Exception) -> tuple[str, str]:
    """The outcome and error message of an upstream body that ended early."""
    if isinstance(exc, ReadTimeoutError):
        return "upstream_timeout", f"upstream stalled mid-response: {exc}"
    return "upstream_dropped", f"upstream connection lost mid-response: {exc}"


def sse_error_event(message: str, mid_event: bool) -> bytes:
    """An Anthropic-style SSE `error` event telling the client its stream was cut."""
    data = json.dumps({"type": "error", "error": {"type": "api_error", "message": message}})
    prefix = b"\n\n" if mid_event else b""  # end a half-sent event before ours
    return prefix + f"event: error\ndata: {data}\n\n".encode()


class RelayBody:
    """The WSGI body of a relayed response; calls `on_finished(exchange)` exactly once, whatever happens."""

    def __init__(self, exchange: Exchange, upstream: UpstreamResponse,
                 on_finished: Callable[[Exchange], None], streams: set | None = None, watched: bool = False,
                 cork: HeadCork | None = None, environ: dict | None = None):
        self.exchange = exchange
        self.watched = watched  # read without a socket timeout: proxy.runtime.stall_watch times its reads
        self._cork = cork or HeadCork()
        self._upstream = upstream
        self._on_finished = on_finished
        self._started = False
        self._settled = False
        self._cut: tuple[str, str] | None = None  # (outcome, reason) when ended early
        self._streams = streams if streams is not None else set()
        self._streams.add(self)
        self._environ = environ or {}
        self._reading = False  # inside a read of the upstream socket (the socket relay's own way)
        self._body = self._relay()

    @property
    def progress(self) -> int:
        """Chunks relayed so far."""
        return len(self.exchange.response_chunks)

    @property
    def waiting_upstream(self) -> bool:
        """True while the relay is inside a read from its upstream (not while the client is written to)."""
        return self._reading or (self._body.gi_running and self._body.gi_code is _RELAY_CODE)

    def cut(self, outcome: str, reason: str) -> None:
        """End this relay early (shutdown, stall): the upstream read waiting in the relay wakes and ends."""
        if self._cut is None:
            self._cut = (outcome, reason)
            self._upstream.interrupt()

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        if not self._started:
            self._started = True
            self._body = self._chosen_way()
            self._cork.hold()  # the server writes the head, then the chunk returned now
        else:
            self._cork.release()  # both are written: one segment, before waiting for more
        return next(self._body)

    def close(self) -> None:
        """Called by the server when the response ends or the client went away."""
        self._cork.release()
        self._body.close()
        if not self._started:  # closed before the first read: the generator's finally never ran
            if self.exchange.status_code in (204, 304) or (self.exchange.status_code or 0) < 200:
                self._settle("complete", None)  # no body to read: the server never asks for one
            else:
                self._settle("client_disconnected", "client closed the connection before the body")

    def _chosen_way(self) -> Iterator[bytes]:
        # Asked at the first read, once the server has the response's status and headers.
        server = self._environ.get(SERVER_RESPONSE)
        client = chunked_client(server)
        # A body of known length to the client (a JSON reply): gunicorn's own write, which keeps its
        # count and its cut at that length; urllib3's reader under the WSGI iterator was the cost.
        writer = ChunkWriter(client) if client is not None else http1_response(server)
        framing = body_framing(self._upstream.raw) if writer is not None else None
        if framing is None:
            return self._body
        return self._relay_sockets(UpstreamReader(self._upstream.raw, framing), writer)

    def _settle(self, outcome: str, error: str | None) -> None:
        if self._settled:
            return
        self._settled = True
        self._streams.discard(self)
        self._upstream.close()
        try:
            self.exchange.conclude(outcome, error)
        except Exception:  # a record missing some derived figures beats no record at all
            log.exception("could not derive the results of %s", self.exchange.id)
        try:
            self._on_finished(self.exchange)
        except Exception:
            log.exception("could not finish the record of %s", self.exchange.id)

    def _relay(self) -> Iterator[bytes]:
        exchange = self.exchange
        outcome, error = "complete", None
        try:
            for chunk in upstream_body(self._upstream):
                if chunk:
                    exchange.mark_first_byte()
                    yield chunk
                    exchange.body_chunk(chunk)  # a copy for the record, after the client has the bytes
            if self._cut is not None:  # a body delimited by the connection's close ends quietly when cut
                raise ConnectionAbortedError(self._cut[1])
        except Exception as exc:
            if self._cut is None and not isinstance(exc, (Urllib3Error, OSError)):
                outcome, error = "proxy_error", f"{type(exc).__name__}: {exc}"
                raise
            # The upstream dropped or stalled mid-body, or a shutdown or the stall watch cut the relay.
            outcome, error = self._cut or upstream_cut(exc)
            log.warning("%s: %s", exchange.id, error)
            if not exchange.is_sse:
                raise  # abort the connection: a truncated JSON body must not look complete
            yield sse_error_event(error, exchange.mid_event)
        except GeneratorExit:
            outcome, error = "client_disconnected", "client closed the connection mid-response"
            raise
        except BaseException as exc:  # GreenletExit on kill is not an Exception
            outcome, error = "proxy_error", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._settle(outcome, error)


    def _relay_sockets(self, reader: UpstreamReader, writer) -> Iterator[bytes]:
        """The body read off the upstream socket: the first read returned to the server (it writes the
        head with it), every later one written here by `writer` (a ChunkWriter, or gunicorn's response)."""
        exchange = self.exchange
        outcome, error = "complete", None
        try:
            try:
                self._reading = True  # the first body bytes may be slow to come: the stall watch times it too
                data = b""
                while not data and not reader.done:  # done at once for an empty body of known length
                    data = reader.read()
                self._reading = False
                if data:
                    exchange.mark_first_byte()
                yield data
                if data:
                    exchange.body_chunk(data)
                read, write, keep = reader.read, writer.write, exchange.response_chunks.append
                framing = reader.framing  # its `done` read directly: no property call per event
                while not framing.done:
                    self._reading = True
                    data = read()
                    self._reading = False
                    if data:
                        try:
                            write(data)
                        except OSError:
                            outcome, error = "client_disconnected", "client closed the connection mid-response"
                            raise
                        keep(data)  # what Exchange.body_chunk does, without its call per event
                reader.finish()
            except (Urllib3Error, OSError, FramingError) as exc:
                self._reading = False
                if outcome == "client_disconnected":
                    raise
                outcome, error = self._cut or upstream_cut(exc)
                log.warning("%s: %s", exchange.id, error)
                if not exchange.is_sse:
                    raise  # abort the connection: a truncated JSON body must not look complete
                yield sse_error_event(error, exchange.mid_event)
        except BaseException as exc:  # GreenletExit on kill is not an Exception
            if outcome == "complete":  # not an ending settled above, re-raised to the server
                outcome, error = ("client_disconnected", "client closed the connection mid-response") \
                    if isinstance(exc, GeneratorExit) else ("proxy_error", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._reading = False
            self._settle(outcome, error)


_RELAY_CODE = RelayBody._relay.__code__


def relay_response(exchange: Exchange, upstream: UpstreamResponse, on_finished: Callable[[Exchange], None],
                   rules: tuple[HeaderRule, ...] = (), streams: set | None = None,
                   client_socket=None, environ: dict | None = None) -> Response:
    """A Flask response relaying the upstream status, headers (after the response rules) and body."""
    exchange.response_started(upstream.status_code, upstream.headers)
    encoding = upstream.headers.get("content-encoding", "identity").lower()
    headers = client_response_headers(upstream.headers, body_decoded=encoding != "identity")
    headers = apply_rules(headers, rules)
    body = RelayBody(exchange, upstream, on_finished, streams, watched=upstream.release_read_timeout(),
                     cork=HeadCork(client_socket), environ=environ)
    response = Response(body, status=upstream.status_code, headers=headers, direct_passthrough=True)
    if upstream.headers.get("content-type") is None:
        del response.headers["Content-Type"]  # werkzeug's text/html default is not what upstream said
    return response
