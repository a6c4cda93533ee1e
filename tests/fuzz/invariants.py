"""The invariants checked after every fuzzed request; a failure names the input, the rule and what broke.

1. Only the fake upstream is ever contacted, and only under /v1/.
2. No answer is a 5xx but 502/504 (gunicorn's 501 for an unknown transfer coding aside); a closed
   connection without an answer only when the client cut its body short or broke its framing.
3. Records are written, and follow `expectations`: one finished record per request that reached
   /v1 handling, none for other paths or for what gunicorn refused; no credential stored as sent.
4. GET /metrics and GET /api/requests still answer 200.
"""
import functools
from dataclasses import dataclass

from tests.fuzz.expectations import GATEWAY_ERRORS, GUNICORN_REFUSED, Expectation, expected, is_gunicorn_refusal
from tests.fuzz.fuzz_request import FuzzRequest, user_agent
from tests.fuzz.live_proxy import LiveProxy, finished, new_fuzz_id
from tests.fuzz.raw_http import RawResponse

class InvariantBroken(AssertionError):
    """A broken invariant. Each kind is a subclass of its own: hypothesis tells failures apart by
    their exception type and line, and shrinks and reports each kind separately."""


@functools.cache
def broken(kind: str) -> type[InvariantBroken]:
    """The exception type of one kind of broken invariant."""
    return type(kind, (InvariantBroken,), {})


def require(condition: bool, kind: str, message) -> None:
    """Raise broken(`kind`) with `message()` unless `condition` holds."""
    if not condition:
        raise broken(kind)(message())


@dataclass
class Observed:
    """What one fuzzed request led to."""

    request: FuzzRequest
    description: str
    response: RawResponse | None
    received: bytes
    send_error: str | None            # the exchange itself failed (no end of answer in time...)
    choices: list[Expectation]
    records: list[dict]
    relayed: bool                     # the fake upstream received this request
    upstream_lines: list[bytes]
    sentinel_hits: list[bytes]
    marker_status: int | None
    records_written: bool             # the marker request after it was recorded
    api_statuses: dict

    def explain(self, invariant: str, problem: str) -> str:
        """The failure message: the broken invariant, the input as sent, what came back."""
        if self.response is None:
            answer = f"none ({self.send_error or 'connection closed'}; received {self.received[:200]!r})"
        else:
            answer = f"{self.response.status} {self.response.headers!r}\n  body: {self.response.body[:500]!r}"
        records = [{key: row[key] for key in ("outcome", "status_code")} for row in self.records]
        return (f"\n{invariant}: {problem}\n\nrequest:\n  {self.description}\nanswer: {answer}\n"
                f"records: {records}\nupstream request lines: {self.upstream_lines[:5]!r}")


def observe(proxy: LiveProxy, request: FuzzRequest) -> Observed:
    """Send `request`, then a marker request, and gather what both led to once the marker is recorded."""
    proxy.ensure_serving()
    proxy.upstream.reset()
    hits_before = len(proxy.sentinel.connections)
    fuzz_id, marker_id = new_fuzz_id(), new_fuzz_id()
    description = request.describe(proxy.addresses)
    response, received, send_error = None, b"", None
    try:
        response, received = proxy.send(request, fuzz_id)
    except (OSError, ValueError) as exc:  # no end of answer in time, or not HTTP at all
        send_error = f"{type(exc).__name__}: {exc}"
    choices = [GUNICORN_REFUSED] if is_gunicorn_refusal(response) else \
        expected(request.method, proxy.addresses.fill(request.target), request.body_broken)
    try:
        marker = proxy.send_marker(marker_id)
    except (OSError, ValueError):
        marker = None
    found = proxy.wait_for_records(marker_id, fuzz_id, expect_own=all(c.records.start for c in choices))
    observed = Observed(
        request, description, response, received, send_error, choices, found[fuzz_id],
        relayed=any(seen.headers.get("user-agent") == user_agent(fuzz_id) for seen in list(proxy.upstream.seen)),
        upstream_lines=list(proxy.upstream.request_lines), sentinel_hits=proxy.sentinel.connections[hits_before:],
        marker_status=marker.status if marker else None,
        records_written=marker is not None and marker.status == 200 and finished(found[marker_id]),
        api_statuses=proxy.api_statuses())
    # A server left broken is started afresh before the next example, whichever check fails here.
    proxy.broken = not observed.records_written or any(s != 200 for s in observed.api_statuses.values())
    return observed


def check_request(proxy: LiveProxy, request: FuzzRequest) -> None:
    """Send `request` to the live proxy and check every invariant."""
    seen = observe(proxy, request)
    sentinel = proxy.addresses.fill(b"{sentinel}").decode()
    require(not seen.sentinel_hits, "SentinelContacted", lambda: seen.explain(
        "invariant 1 (only the fake upstream is contacted)",
        f"the sentinel on {sentinel} was connected to: {seen.sentinel_hits!r}"))
    stray = [line for line in seen.upstream_lines if not (line.split(b" ") + [b""])[1].startswith(b"/v1/")]
    require(not stray, "UpstreamPathOutsideV1", lambda: seen.explain(
        "invariant 1 (the upstream sees only paths under /v1/)", f"the fake upstream received {stray!r}"))
    server_error = _server_error(seen)
    require(server_error is None, "ServerError", lambda: seen.explain(
        "invariant 2 (no 5xx but 502/504, an answer to each request)", server_error))
    require(seen.records_written, "RecordsNotWritten", lambda: seen.explain(
        "invariant 3 (records are written)",
        f"a plain request sent after this one got {seen.marker_status or 'no answer'} and was not recorded in time"))
    mismatches = {choice: _mismatches(choice, seen) for choice in seen.choices}
    require(any(not problems for problems in mismatches.values()),
            "RuleBroken_" + "_or_".join(choice.name for choice in seen.choices), lambda: seen.explain(
                "invariant 3 (answers and records follow the rules)",
                "".join(f"\n  - {choice.rule}\n      but: {'; '.join(problems)}"
                        for choice, problems in mismatches.items())))
    stored = [secret for secret in request.secrets for row in seen.records
              if secret.decode("latin-1") in (row["request_headers"] or "")]
    require(not stored, "CredentialStored", lambda: seen.explain(
        "invariant 3 (records keep no credential as sent)", f"the stored headers hold {stored!r}"))
    require(all(status == 200 for status in seen.api_statuses.values()), "ApiBroken", lambda: seen.explain(
        "invariant 4 (the API still answers)", f"afterwards: {seen.api_statuses}"))


def _server_error(seen: Observed) -> str | None:
    if seen.send_error is not None:
        return f"the exchange failed: {seen.send_error}"
    if seen.response is None:
        if seen.request.body_broken is False:
            return "the connection closed without an answer to a request whose body adds up"
        return None
    status = seen.response.status
    if status >= 500 and status not in GATEWAY_ERRORS and not (status == 501 and seen.choices == [GUNICORN_REFUSED]):
        return f"answered {status}"
    return None


def _mismatches(choice: Expectation, seen: Observed) -> list[str]:
    """How the observed behaviour differs from one acceptable behaviour (empty: it matches)."""
    problems = []
    response, records = seen.response, seen.records
    status = response.status if response is not None else None
    if choice.statuses is not None and status not in choice.statuses:
        allowed = sorted(choice.statuses, key=lambda code: code or 0)
        problems.append(f"answered {status}, not {'a 4xx' if len(allowed) > 50 else allowed}")
    if choice.error_shape and response is not None and seen.request.method.upper() != b"HEAD":
        body = response.json()
        if not (isinstance(body, dict) and "error" in body and "details" in body):
            problems.append(f"the body is not the {{error, details}} JSON shape: {response.body[:200]!r}")
    if choice.allow_header and (response is None or response.header("allow") is None or response.body):
        problems.append("not Flask's automatic OPTIONS answer (Allow, no body)")
    if len(records) not in choice.records:
        problems.append(f"{len(records)} records, not {choice.records.start}..{choice.records.stop - 1}")
    unfinished = [row["id"] for row in records if row["outcome"] == "in_flight"]
    if unfinished:
        problems.append(f"records still in flight after the wait: {unfinished}")
    if choice.outcomes is not None and any(row["outcome"] not in choice.outcomes for row in records):
        problems.append(f"outcome {[row['outcome'] for row in records]}, not in {sorted(choice.outcomes)}")
    if not choice.relayed and seen.relayed:
        problems.append("the fake upstream received it")
    if choice.status_recorded and status is not None and any(row["status_code"] != status for row in records):
        problems.append(f"recorded status {[row['status_code'] for row in records]}, answered {status}")
    return problems
