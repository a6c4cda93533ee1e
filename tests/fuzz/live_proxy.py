"""The server under fuzz: gunicorn with the gevent worker (as `make run`), relaying to a fake upstream,
beside a sentinel listener; and the records it writes, read straight from its database.

An example that leaves the server broken (the API failing, records no longer written) gets it
started again on a fresh database, so the next example, and hypothesis' shrinking, is judged alone.
"""
import time
import uuid
from collections.abc import Callable

import peewee
import requests

import models
from models import RequestBody, RequestLog
from tests.fake_upstream import FakeUpstream
from tests.fuzz.fuzz_request import Addresses, FuzzRequest, user_agent
from tests.fuzz.raw_http import RawRequest, RawResponse, exchange
from tests.fuzz.sentinel import Sentinel
from tests.gunicorn_server import GunicornServer

RECORD_WAIT = 10.0  # records are written in batches, off the request's way
OWN_GRACE = 1.0


def new_fuzz_id() -> str:
    return uuid.uuid4().hex


def finished(records: list[dict]) -> bool:
    """True when one of the records is finished (its outcome is not in_flight)."""
    return any(row["outcome"] != "in_flight" for row in records)


class LiveProxy:
    """One gunicorn server for a whole fuzz session; `new_database` gives the URL of an empty database."""

    def __init__(self, new_database: Callable[[], str]):
        self.upstream = FakeUpstream().start()
        self.sentinel = Sentinel().start()
        self.new_database = new_database
        self.server: GunicornServer | None = None
        self.database: peewee.Database | None = None
        self.broken = False  # set by a check that found the server's state damaged
        self.start()

    @property
    def addresses(self) -> Addresses:
        return Addresses(proxy=self.server.port, upstream=int(self.upstream.url.rsplit(":", 1)[1]),
                         sentinel=self.sentinel.port)

    def start(self) -> None:
        """Start gunicorn on a fresh database."""
        url = self.new_database()
        self.database = models.open_database(url, pool_size=2)
        self.server = GunicornServer({"UPSTREAM_URL": self.upstream.url, "DATABASE_URL": url,
                                      "UPSTREAM_CONNECT_TIMEOUT": "2", "UPSTREAM_READ_TIMEOUT": "10",
                                      "LOG_LEVEL": "warning"}).start()

    def stop(self) -> int:
        code = self.server.stop(timeout=45)
        self.sentinel.stop()
        self.upstream.stop()
        self.database.close()
        return code

    def ensure_serving(self) -> None:
        """Start the server again, on a fresh database, when the last example left it dead or broken."""
        if self.broken or self.server.process.poll() is not None or not self._answers_health():
            self.server.stop(timeout=10)
            self.database.close()
            self.start()
            self.broken = False

    def _answers_health(self) -> bool:
        try:
            return requests.get(self.server.url + "/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def send(self, request: FuzzRequest, fuzz_id: str) -> tuple[RawResponse | None, bytes]:
        """Send a fuzzed request under `fuzz_id`; the answer (None: closed without one) and the raw bytes."""
        return exchange(self.server.port, request.to_raw(self.addresses, fuzz_id))

    def send_marker(self, fuzz_id: str) -> RawResponse | None:
        """A plain, recorded request: once its record is written, every record queued before it is too."""
        body = b'{"model": "fuzz-marker", "messages": []}'
        raw = RawRequest(b"POST", b"/v1/messages/count_tokens", [
            b"User-Agent: " + user_agent(fuzz_id).encode(), b"Host: 127.0.0.1", b"Connection: close",
            b"Content-Type: application/json", b"Content-Length: %d" % len(body)], body)
        return exchange(self.server.port, raw)[0]

    def records(self, *fuzz_ids: str) -> dict[str, list[dict]]:
        """Every record of each fuzz id: id, outcome, status_code and the stored request headers."""
        by_agent = {user_agent(fuzz_id): fuzz_id for fuzz_id in fuzz_ids}
        found = {fuzz_id: [] for fuzz_id in fuzz_ids}
        with self.database.bind_ctx([RequestLog, RequestBody]):
            query = (RequestLog
                     .select(RequestLog.id, RequestLog.user_agent, RequestLog.outcome, RequestLog.status_code,
                             RequestBody.request_headers)
                     .join(RequestBody, peewee.JOIN.LEFT_OUTER)
                     .where(RequestLog.user_agent.in_(list(by_agent)))
                     .dicts())
            for row in query:
                found[by_agent[row.pop("user_agent")]].append(row)
        self.database.close()
        return found

    def wait_for_records(self, marker_id: str, fuzz_id: str, expect_own: bool) -> dict[str, list[dict]]:
        """The records of both ids once the marker's is finished (at most RECORD_WAIT). The recorder
        writes in the order records were queued, so the request's, queued before, is then written
        too; if `expect_own`, it still gets OWN_GRACE to show up."""
        deadline = time.monotonic() + RECORD_WAIT
        while True:
            found = self.records(marker_id, fuzz_id)
            if finished(found[marker_id]):
                break
            if time.monotonic() > deadline:
                return found
            time.sleep(0.02)
        deadline = time.monotonic() + OWN_GRACE
        while expect_own and not finished(found[fuzz_id]) and time.monotonic() < deadline:
            time.sleep(0.05)
            found = self.records(marker_id, fuzz_id)
        return found

    def api_statuses(self) -> dict[str, int | str]:
        """The status of GET /metrics and GET /api/requests (or the error reaching them)."""
        statuses = {}
        for path in ("/metrics", "/api/requests"):
            try:
                statuses[path] = requests.get(self.server.url + path, timeout=10).status_code
            except requests.RequestException as exc:
                statuses[path] = f"{type(exc).__name__}: {exc}"
        return statuses
