"""The proxy's request handling: read, record, forward, relay; errors answered in one shape."""
import logging
import traceback
from contextlib import closing

from flask import jsonify

from werkzeug.exceptions import BadGateway, Forbidden, GatewayTimeout, HTTPException

from api.errors import http_error
from proxy.runtime import metrics
from proxy.runtime.access_log import log_exchange
from proxy.recording.body_capture import captured_rows
from proxy.routing.dispatch import Dispatcher
from proxy.exchange import Exchange
from proxy.header_rules import apply_rules
from proxy.headers import upstream_request_headers
from proxy.recording.recorder import Recorder
from proxy.relay import relay_response
from proxy.request_body import BodyIncomplete, BodyTimeout, BodyTooLarge, read_body
from proxy.request_info import InvalidBody, parse_json_body, parse_json_head, request_info
from proxy.request_target import InvalidTarget, raw_target, upstream_path
from proxy.runtime.settings_poller import SettingsPoller
from proxy.runtime.stall_watch import StallWatch
from proxy.runtime.traffic import Traffic
from proxy.upstream.client import UpstreamClient, UpstreamRefused, UpstreamTimeout, UpstreamUnreachable

log = logging.getLogger(__name__)

SESSION_HEADER = "x-claude-code-session-id"
JSON_ENDPOINTS = frozenset({"/v1/messages", "/v1/messages/count_tokens"})


def browser_refusal(headers, allowed_origins: frozenset[str]) -> str | None:
    """Why a request that a web page made may not spend the proxy's credentials; None for a client
    such as Claude Code or an SDK, which sends neither `Origin` nor `Sec-Fetch-Site`."""
    origin = headers.get("origin")
    if origin is not None and origin in allowed_origins:
        return None
    if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return "a web page on another site sent this request (Sec-Fetch-Site)"
    if origin is not None:
        return f"requests from the web origin {origin[:200]!r} are not allowed (ALLOWED_ORIGINS)"
    return None


def anthropic_error(status: int, kind: str, message: str):
    """A response in the Anthropic API's own error shape, which SDK clients show to their users."""
    response = jsonify({"type": "error", "error": {"type": kind, "message": message}})
    response.status_code = status
    return response


class ProxyService:
    """Everything one app needs to proxy: upstream client, recorder, traffic gauge, settings poller."""

    def __init__(self, upstream: UpstreamClient, recorder: Recorder, max_body: int,
                 settings: SettingsPoller | None = None, dispatch: Dispatcher | None = None,
                 metrics_folder: str | None = None, body_timeout: float | None = None,
                 allowed_origins: frozenset[str] = frozenset()):
        self.upstream = upstream
        self.dispatch = dispatch  # None without routing rules: requests go straight upstream
        self.recorder = recorder
        self.traffic = Traffic(metrics_folder)
        # Relayed bodies are read without socket timeouts; this applies UPSTREAM_READ_TIMEOUT to them.
        self.stall_watch = StallWatch(self.traffic.streams, upstream.timeout.read_timeout)
        self.stall_watch.start()
        self.max_body = max_body
        self.body_timeout = body_timeout  # seconds for a client to send its whole body
        self.allowed_origins = allowed_origins  # web origins whose pages may call /v1 (ALLOWED_ORIGINS)
        if dispatch is not None:
            metrics.MODEL_LABELS.know(model for model, _ in dispatch.target_models)
        self.settings = settings or SettingsPoller()
        self.settings.start()

    def recording(self) -> dict:
        """Recording's state for the health endpoints: every worker's figures when there are several."""
        state = self.recorder.state()
        if self.traffic.metrics_folder is not None:
            server = metrics.server_recording(self.traffic.metrics_folder)
            state.update(spool_bytes=int(server["spool_bytes"]), dropped=int(server["dropped"]),
                         oldest_unwritten_seconds=round(max(server["oldest_unwritten_seconds"],
                                                            state["oldest_unwritten_seconds"]), 1))
            if state["spool_bytes"] or state["oldest_unwritten_seconds"]:
                state["status"] = "degraded"
        return state

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
        target = raw_target(request.environ)
        incoming = list(request.headers.items())  # one pass: werkzeug rebuilds them on every pass
        exchange = self._begin(request, target, incoming)
        try:
            path = upstream_path(target, request.path)
            refusal = browser_refusal(request.headers, self.allowed_origins)
            if refusal is not None:
                raise Forbidden(response=anthropic_error(403, "permission_error", refusal))
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
        except InvalidTarget as exc:
            raise self._fail(exchange, http_error(400, exc.title, str(exc)))
        except InvalidBody as exc:
            raise self._fail(exchange, http_error(400, "Invalid request body", str(exc)))
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
        except UpstreamRefused as exc:  # the gate above let through what the client may not reach
            log.error("%s: refused to connect: %s", exchange.id, exc)
            raise self._fail(exchange, http_error(400, "Invalid request target", str(exc)))
        except UpstreamUnreachable as exc:
            raise self._fail(exchange, http_error(502, "Upstream unreachable", str(exc)))
        except UpstreamTimeout as exc:
            raise self._fail(exchange, http_error(504, "Upstream sent no response within the timeout", str(exc)))
        except Exception as exc:
            raise self._fail(exchange, self._unexpected(exchange, exc)) from None
        return relay_response(exchange, upstream, self._record_finished, rules.response, self.traffic.streams,
                              request.environ.get("gunicorn.socket"), request.environ)

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

    def refuse(self, request, error: str, details: str) -> HTTPException:
        """Record a request refused before any view (a target that is not a path) and return its 400."""
        exchange = self._begin(request, raw_target(request.environ), list(request.headers.items()))
        return self._fail(exchange, http_error(400, error, details))

    def _begin(self, request, target: str, incoming: list) -> Exchange:
        path, _, query = target.partition("?")
        exchange = Exchange.begin(request.method, path, query, incoming)
        self.traffic.enter()
        return exchange

    def _read_body(self, request) -> bytes:
        try:
            return read_body(request, self.max_body, self.body_timeout)
        except BodyTooLarge:
            raise http_error(413, "Request body too large",
                             f"The limit is {self.max_body} bytes (MAX_REQUEST_BODY)") from None
        except BodyIncomplete as exc:
            raise http_error(400, "Incomplete request body", str(exc)) from None
        except BodyTimeout:
            raise http_error(408, "Request body too slow",
                             f"The body did not arrive within {self.body_timeout:g} s "
                             "(CLIENT_BODY_TIMEOUT)") from None

    @staticmethod
    def _unexpected(exchange: Exchange, exc: Exception) -> HTTPException:
        # A bug must still leave a record and free the request's slot (else drain waits for it).
        # The message is not kept: it may quote a header value, such as a provider's key.
        where = traceback.extract_tb(exc.__traceback__)[-1]
        log.error("%s: the proxy failed on this request: %s at %s:%d in %s", exchange.id, type(exc).__name__,
                  where.filename, where.lineno, where.name)
        return http_error(500, "Proxy error", f"{type(exc).__name__} (logged by the proxy)")

    def _fail(self, exchange: Exchange, exc: HTTPException) -> HTTPException:
        """Record a request the proxy answered itself, and hand back the error to raise."""
        exchange.conclude("rejected" if exc.code < 500 else "proxy_error",
                        error=f"{exc.description}: {getattr(exc, 'details', '')}", status=exc.code)
        self._record_finished(exchange)
        return exc

    def _record_finished(self, exchange: Exchange) -> None:
        self.traffic.leave()
        self.recorder.submit(*captured_rows(exchange, self.settings.capture))
        metrics.observe(exchange)
        log_exchange(exchange)
