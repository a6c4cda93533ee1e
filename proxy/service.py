"""The proxy's request handling: read, record, forward, relay; errors answered in one shape."""
import logging
import traceback
from contextlib import closing
from urllib.parse import quote, unquote, urlsplit

from flask import jsonify

from werkzeug.exceptions import (BadGateway, BadRequest, GatewayTimeout, HTTPException, InternalServerError,
                                 RequestEntityTooLarge)

from proxy import metrics
from proxy.access_log import log_exchange
from proxy.body_capture import captured_rows
from proxy.dispatch import Dispatcher
from proxy.exchange import Exchange
from proxy.header_rules import apply_rules
from proxy.headers import upstream_request_headers
from proxy.recorder import Recorder
from proxy.relay import relay_response
from proxy.request_info import InvalidBody, parse_json_body, parse_json_head, request_info
from proxy.settings_poller import SettingsPoller
from proxy.stall_watch import StallWatch
from proxy.traffic import Traffic
from proxy.upstream import UpstreamClient, UpstreamTimeout, UpstreamUnreachable

log = logging.getLogger(__name__)

SESSION_HEADER = "x-claude-code-session-id"
JSON_ENDPOINTS = frozenset({"/v1/messages", "/v1/messages/count_tokens"})


def proxy_error(exc_class, error: str, details: str | None = None) -> HTTPException:
    """A werkzeug HTTP error carrying the contract's ErrorResponse fields."""
    exc = exc_class(description=error)
    exc.details = details
    return exc


def raw_path(request) -> str:
    """The path exactly as the client sent it: %2F, %3F and %FF stay encoded on their way upstream."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw:
        return quote(request.path)
    if not raw.startswith("/"):  # absolute form, as sent to a forward proxy
        raw = urlsplit(raw).path or "/"
    return raw.split("?", 1)[0]


def has_dot_segments(path: str) -> bool:
    """True when the decoded path has a `.` or `..` segment (it would climb out of /v1)."""
    return any(segment in (".", "..") for segment in unquote(path).split("/"))


class ProxyService:
    """Everything one app needs to proxy: upstream client, recorder, traffic gauge, settings poller."""

    def __init__(self, upstream: UpstreamClient, recorder: Recorder, max_body: int,
                 settings: SettingsPoller | None = None, dispatch: Dispatcher | None = None,
                 metrics_folder: str | None = None):
        self.upstream = upstream
        self.dispatch = dispatch  # None without routing rules: requests go straight upstream
        self.recorder = recorder
        self.traffic = Traffic(metrics_folder)
        # Relayed bodies are read without socket timeouts; this applies UPSTREAM_READ_TIMEOUT to them.
        self.stall_watch = StallWatch(self.traffic.streams, upstream.timeout.read_timeout)
        self.stall_watch.start()
        self.max_body = max_body
        self.settings = settings or SettingsPoller()
        self.settings.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the settings poller, the stall watch and the recorder (writing what is queued), close
        upstream connections."""
        self.settings.stop()
        self.stall_watch.stop()
        self.recorder.stop(timeout)
        self.upstream.close()
        if self.dispatch is not None:
            self.dispatch.close()

    def forward(self, request):
        """Relay a Flask request upstream and return the streaming response (or raise an HTTP error)."""
        path = raw_path(request)
        # One pass over the headers: werkzeug rebuilds them from the WSGI environ on every pass.
        incoming = list(request.headers.items())
        exchange = Exchange.begin(request.method, path, request.query_string.decode("latin-1"), incoming)
        self.traffic.enter()
        try:
            if has_dot_segments(path):
                raise proxy_error(BadRequest, "Invalid path", "paths may not contain . or .. segments")
            exchange.request_body = self._read_body(request)
            routed = self.dispatch is not None and self.dispatch.routable(request.method, path)
            # Routing rewrites the body, so it needs all of it; otherwise only the recorded facts.
            parse = parse_json_body if routed else parse_json_head
            body = parse(exchange.request_body, required=self._json_required(request))
            exchange.info = request_info(body, request.headers.get(SESSION_HEADER),
                                         len(exchange.request_body) if routed else None)
            rules = self.settings.current  # one snapshot for both directions; in memory, never the database
            headers = apply_rules(upstream_request_headers(incoming), rules.request)
            prepared = self.dispatch.prepare(exchange, request.headers, headers, body) if routed else None
            del body  # the parsed body (~2x its bytes) is not kept while the response streams
        except InvalidBody as exc:
            raise self._fail(exchange, proxy_error(BadRequest, "Invalid request body", str(exc)))
        except HTTPException as exc:
            raise self._fail(exchange, exc)
        except Exception as exc:
            raise self._fail(exchange, self._unexpected(exchange, exc)) from None
        self.recorder.submit_in_flight(exchange.log_row())
        try:
            if prepared is None:
                upstream = self.upstream.send(request.method, path, exchange.query, headers,
                                              exchange.request_body)
            else:
                upstream = self.dispatch.send(request.method, prepared, exchange.info.stream)
        except UpstreamUnreachable as exc:
            raise self._fail(exchange, proxy_error(BadGateway, "Upstream unreachable", str(exc)))
        except UpstreamTimeout as exc:
            raise self._fail(exchange, proxy_error(
                GatewayTimeout, "Upstream sent no response within the timeout", str(exc)))
        except Exception as exc:
            raise self._fail(exchange, self._unexpected(exchange, exc)) from None
        return relay_response(exchange, upstream, self._finished, rules.response, self.traffic.streams,
                              request.environ.get("gunicorn.socket"))

    def list_models(self, request):
        """The upstream's model list plus the routing targets; unreachable upstream: the targets alone."""
        try:
            response = self.forward(request)
        except (BadGateway, GatewayTimeout):
            response = None
        if self.dispatch is None or not self.dispatch.target_models:
            return response or jsonify({"object": "list", "data": []})
        if response is not None and response.status_code != 200:
            return response  # an upstream error (a bad key...) is relayed as it is
        listing = None
        if response is not None:
            with closing(response):
                listing = parse_json_body(b"".join(response.response), required=False)
        return jsonify(self.dispatch.with_target_models(listing))

    def _json_required(self, request) -> bool:
        # Only the Messages API itself must be JSON; uploads and empty POSTs pass through.
        return request.method == "POST" and request.path in JSON_ENDPOINTS

    def _read_body(self, request) -> bytes:
        too_large = proxy_error(RequestEntityTooLarge, "Request body too large",
                                f"The limit is {self.max_body} bytes (MAX_REQUEST_BODY)")
        if (request.content_length or 0) > self.max_body:
            raise too_large
        body = request.stream.read(self.max_body + 1)
        if len(body) > self.max_body:
            raise too_large
        return body

    @staticmethod
    def _unexpected(exchange: Exchange, exc: Exception) -> HTTPException:
        # A bug must still leave a record and free the request's slot (else drain waits for it).
        # The message is not kept: it may quote a header value, such as a provider's key.
        where = traceback.extract_tb(exc.__traceback__)[-1]
        log.error("%s: the proxy failed on this request: %s at %s:%d in %s", exchange.id, type(exc).__name__,
                  where.filename, where.lineno, where.name)
        return proxy_error(InternalServerError, "Proxy error", f"{type(exc).__name__} (logged by the proxy)")

    def _fail(self, exchange: Exchange, exc: HTTPException) -> HTTPException:
        """Record a request the proxy answered itself, and hand back the error to raise."""
        exchange.finish("rejected" if exc.code < 500 else "proxy_error",
                        error=f"{exc.description}: {getattr(exc, 'details', '')}", status=exc.code)
        self._finished(exchange)
        return exc

    def _finished(self, exchange: Exchange) -> None:
        self.traffic.leave()
        self.recorder.submit(*captured_rows(exchange, self.settings.capture))
        metrics.observe(exchange)
        log_exchange(exchange)
