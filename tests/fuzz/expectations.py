"""The rules the fuzz suite holds the proxy to: which answers and records each request may get. Pure.

A request gunicorn's own parser refuses never reaches the app: it gets gunicorn's error page and
leaves no record (`is_gunicorn_refusal`). Any other request gets one of the `Expectation`s that
`expected` lists for it; where the rules leave a choice (a fragment, a backslash, `//`), it lists
each acceptable behaviour and the answer must match one of them.
"""
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from tests.fuzz.raw_http import RawResponse

API_PREFIX = b"/v1/"
RELAYED_METHODS = frozenset({b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"})
GATEWAY_ERRORS = frozenset({502, 504})  # the only 5xx the proxy itself may answer
# What gunicorn answers for a request it cannot parse (handle_error): 400, and 403, 414, 417, 431;
# 501 for a transfer coding it does not know, the answer RFC 9112 section 6.1 asks for.
GUNICORN_REFUSALS = frozenset({400, 403, 414, 417, 431, 501})
FINISHED = None  # any outcome but in_flight


@dataclass(frozen=True)
class Expectation:
    """One acceptable behaviour (`name`, and the `rule` it comes from in words): the answer's status,
    the records under the request's fuzz id, and whether the upstream may see the request.
    `statuses` None: any but a 5xx other than 502/504; a None inside it: the connection may close
    without an answer."""

    name: str
    rule: str
    statuses: frozenset | None = None
    error_shape: bool = False          # the body is the JSON ErrorResponse {"error", "details"}
    records: range = range(0, 1)       # how many records may carry the fuzz id
    outcomes: frozenset | None = FINISHED
    relayed: bool = False              # may the fake upstream receive it
    status_recorded: bool = False      # the record's status_code is the answer's status
    allow_header: bool = False         # the answer lists the allowed methods (Flask's own OPTIONS answer)


REFUSED_TARGET = Expectation(
    "refused_target",
    "rule (a): a target that is not an origin-form path under /v1/ as sent and as decoded, or that "
    "has a . or .. segment, is answered 400 {error, details} and recorded 'rejected'",
    statuses=frozenset({400}), error_shape=True, records=range(1, 2), outcomes=frozenset({"rejected"}))
REFUSED_ELSEWHERE = Expectation(
    "refused_elsewhere", "rule (a) outside /v1/: a dot-segment path is answered 400 {error, details}, recorded or not",
    statuses=frozenset({400}), error_shape=True, records=range(0, 2), outcomes=frozenset({"rejected"}))
NOT_PROXIED = Expectation(
    "not_proxied", "rule (c): a path outside /v1/ (/api, /health, the dashboard) leaves no record")
PROXIED = Expectation(
    "proxied",
    "rule (b): a request under /v1/ is relayed (or refused 400/403/413) and leaves exactly one finished record",
    records=range(1, 2), relayed=True, status_recorded=True)
BROKEN_BODY = Expectation(
    "broken_body",
    "a body shorter than its Content-Length or with broken chunks is never relayed: refused with a "
    "4xx (or the connection closed) and recorded 'rejected' or 'client_disconnected'",
    statuses=frozenset({None, *range(400, 500)}), records=range(1, 2),
    outcomes=frozenset({"rejected", "client_disconnected"}))
HEAD_PROBE = Expectation(
    "head_probe", "HEAD under /v1/ is Claude Code's probe: answered 200 at once, no record",
    statuses=frozenset({200}))
NOT_ALLOWED = Expectation(
    "not_allowed", "a method the proxy does not relay is answered 405 {error, details}",
    statuses=frozenset({405}), error_shape=True, records=range(0, 2))
AUTOMATIC_OPTIONS = Expectation(
    "automatic_options", "OPTIONS on a route of its own (/v1/messages, /v1/models) may get Flask's "
    "automatic answer, before any check: 200 with Allow, no body, no record, nothing relayed",
    statuses=frozenset({200}), allow_header=True)
ROUTED_AWAY = Expectation(
    "routed_away", "an empty path segment under /v1/ may get werkzeug's 308 (merge slashes) or "
    "404 (no subpath), contacting nothing and leaving no record",
    statuses=frozenset({308, 404}))
GUNICORN_REFUSED = Expectation(
    "gunicorn_refused", "rule (d): what gunicorn's parser refuses never reaches the app: gunicorn's own "
    "error page, no record", statuses=GUNICORN_REFUSALS)


def is_gunicorn_refusal(response: RawResponse | None) -> bool:
    """True for gunicorn's own error page (text/html, `Connection: close`), never the app's JSON.
    (An answer to HEAD is read without its body.)"""
    return (response is not None and response.status in GUNICORN_REFUSALS
            and (response.header("content-type") or "").startswith("text/html")
            and (response.header("connection") or "").lower() == "close"
            and (response.body.startswith(b"<html>") or not response.body))


def expected(method: bytes, target: bytes, body_broken: bool | None) -> list[Expectation]:
    """The behaviours acceptable for a request gunicorn let through to the app."""
    if not target.startswith(b"/"):
        return [REFUSED_TARGET]
    choices = []
    # A fragment is not part of the path (RFC 3986), and a client has no business sending one:
    # cutting it off or keeping it in the path are both fine.
    for path in {target.split(b"?")[0], target.split(b"?")[0].split(b"#")[0]}:
        choices += _expected_for_path(method, path, body_broken)
    if target.startswith(b"//"):  # a network-path reference: refusing it as not origin-form is fine too
        choices.append(REFUSED_TARGET)
    return list(dict.fromkeys(choices))


def _expected_for_path(method: bytes, path: bytes, body_broken: bool | None) -> list[Expectation]:
    decoded = unquote_to_bytes(path)
    under_api = path.startswith(API_PREFIX) or decoded.startswith(API_PREFIX)
    dots = any(segment in (b".", b"..") for form in (path, decoded) for segment in form.split(b"/"))
    mismatch = path.startswith(API_PREFIX) != decoded.startswith(API_PREFIX)
    if not under_api:
        return [REFUSED_ELSEWHERE, NOT_PROXIED] if dots else [NOT_PROXIED]
    refused = [REFUSED_TARGET] if dots or mismatch or b"\\" in path or b"\\" in decoded else []
    # No subpath, or an empty segment: werkzeug's own 404 or 308 may come before any rule is applied.
    routed_away = [ROUTED_AWAY] if b"//" in decoded or decoded == API_PREFIX else []
    # HEAD (the probe) and a method nothing relays are answered before the target is looked at;
    # either way nothing is relayed, so those answers are fine even for a target rule (a) refuses.
    if method == b"HEAD":
        return refused + routed_away + [HEAD_PROBE]
    if method not in RELAYED_METHODS:
        return refused + routed_away + [NOT_ALLOWED]
    # Flask answers OPTIONS on a route of its own before any view runs, the gate included.
    answered_by_flask = [AUTOMATIC_OPTIONS] if method == b"OPTIONS" else []
    if dots or mismatch:
        return refused + routed_away + answered_by_flask
    # A backslash: some servers read it as a separator, so refusing it is fine.
    choices = refused + routed_away + answered_by_flask
    if body_broken is not False:
        choices.append(BROKEN_BODY)
    if body_broken is not True:
        choices.append(PROXIED)
    return choices
