"""Prometheus metrics of the proxy, counted once per finished exchange (never per relayed chunk).

With several gunicorn workers, gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a shared
folder so that /metrics adds up every worker's figures.
"""
import glob
import os
import re

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

from proxy.assembler import USAGE_KEYS

REQUESTS = Counter("proxy_requests_total", "Proxied requests by status, model, provider and outcome",
                   ["status", "model", "provider", "outcome"])
TOKENS = Counter("proxy_tokens_total", "Tokens by kind (input, output, cache_read, cache_creation) and model",
                 ["kind", "model"])
_IN_FLIGHT_NAME = "proxy_requests_in_flight"
IN_FLIGHT = Gauge(_IN_FLIGHT_NAME, "Requests being proxied now", multiprocess_mode="livesum")
TIME_TO_FIRST_BYTE = Histogram(
    "proxy_time_to_first_byte_seconds", "From the request's arrival to its first relayed body byte",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
DURATION = Histogram(
    "proxy_request_duration_seconds", "From the request's arrival to the end of its response",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
UPSTREAM_ERRORS = Counter("proxy_upstream_errors_total",
                          "Upstream failures: error status, unreachable, timeout, dropped mid-body", ["kind"])
RECORD_WRITE_FAILURES = Counter("proxy_record_write_failures_total", "Failed attempts to write a batch of records")
RECORDS_DROPPED = Counter("proxy_records_dropped_total",
                          "Records given up on (memory and spool both full) by reason; part=bodies counts "
                          "records kept without their bodies (record queue over its byte budget), part=in_flight "
                          "in-flight placeholder rows skipped (their finished record counts)", ["part", "reason"])
for _part, _reason in (("record", "queue_full"), ("record", "memory_full"), ("bodies", "memory_full")):
    RECORDS_DROPPED.labels(_part, _reason)  # every series exists from the start, at 0
RECORD_BACKLOG = Gauge("proxy_record_backlog", "Records waiting to be written (queue and memory)",
                       multiprocess_mode="livesum")
_SPOOL_BYTES_NAME = "proxy_record_spool_bytes"
SPOOL_BYTES = Gauge(_SPOOL_BYTES_NAME, "Bytes of records in the local spool, waiting for the database",
                    multiprocess_mode="livesum")
_OLDEST_NAME = "proxy_record_oldest_unwritten_seconds"
OLDEST_UNWRITTEN = Gauge(_OLDEST_NAME, "Age of the oldest record not yet written to the database (0: none)",
                         multiprocess_mode="livemax")

_TOKEN_KINDS = dict(zip(USAGE_KEYS, ("input", "output", "cache_creation", "cache_read")))
_UPSTREAM_FAILURES = {"upstream_error": "error_status", "upstream_dropped": "dropped",
                      "upstream_timeout": "timeout", "stream_error": "stream_error"}


OTHER_MODEL = "other"
_LABEL_UNSAFE = re.compile(r"[^\x20-\x7e]")


class ModelLabels:
    """The model names used as metric labels: printable, at most `max_length` characters, and past
    `limit` distinct names (beyond the routing config's) `other`: each name is a time series kept
    forever, and the client chooses it."""

    def __init__(self, limit: int = 100, max_length: int = 100):
        self.limit = limit
        self.max_length = max_length
        self._known: set[str] = set()
        self._seen: set[str] = set()

    def know(self, models) -> None:
        """Always label these models by name (the routing config's targets)."""
        self._known.update(self._clean(model) for model in models)

    def label(self, model: str) -> str:
        """The label for `model`."""
        model = self._clean(model)
        if model in self._known or model in self._seen:
            return model
        if len(self._seen) >= self.limit:
            return OTHER_MODEL
        self._seen.add(model)
        return model

    def _clean(self, model: str) -> str:
        return _LABEL_UNSAFE.sub("?", model[:self.max_length])


MODEL_LABELS = ModelLabels()  # one per process, like the metrics themselves


def server_in_flight(folder: str) -> int:
    """Requests in flight in every live worker that writes its metrics to `folder`."""
    # Only the live gauges' files (one per worker, removed when it exits): a health probe
    # reads a few small files, not every worker's histograms.
    files = glob.glob(os.path.join(folder, "gauge_livesum_*.db"))
    for metric in MultiProcessCollector.merge(files, accumulate=False):
        if metric.name == _IN_FLIGHT_NAME:
            return round(sum(sample.value for sample in metric.samples))
    return 0


def server_recording(folder: str) -> dict:
    """Every live worker's recording figures, and the records dropped by any worker since the start."""
    gauges = MultiProcessCollector.merge(glob.glob(os.path.join(folder, "gauge_live*_*.db")), accumulate=False)
    figures = {"spool_bytes": 0.0, "oldest_unwritten_seconds": 0.0, "dropped": 0.0}
    for metric in gauges:
        if metric.name == _SPOOL_BYTES_NAME:
            figures["spool_bytes"] = sum(sample.value for sample in metric.samples)
        elif metric.name == _OLDEST_NAME:
            figures["oldest_unwritten_seconds"] = max([sample.value for sample in metric.samples], default=0.0)
    for metric in MultiProcessCollector.merge(glob.glob(os.path.join(folder, "counter_*.db")), accumulate=False):
        if metric.name == "proxy_records_dropped":
            figures["dropped"] = sum(sample.value for sample in metric.samples
                                     if sample.name.endswith("_total") and sample.labels.get("part") == "record")
    return figures


_CHILDREN: dict = {}  # (metric, label values) -> its child: the series are few, each kept forever


def _child(metric, *labels):
    """`metric.labels(*labels)`, looked up in one step (prometheus_client checks and converts the
    values, and takes a lock, on every call)."""
    key = (metric, labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child


def observe(exchange) -> None:
    """Count a finished exchange: status, outcome, tokens, timings, upstream failure kind."""
    model = MODEL_LABELS.label(exchange.routed_model or exchange.info.model or "unknown")
    status = str(exchange.status_code or 0)
    _child(REQUESTS, status, model, exchange.provider, exchange.outcome).inc()
    for key, kind in _TOKEN_KINDS.items():
        count = exchange.usage.get(key)
        if isinstance(count, int) and count > 0:
            _child(TOKENS, kind, model).inc(count)
    if exchange.ttfb_ms is not None:
        TIME_TO_FIRST_BYTE.observe(exchange.ttfb_ms / 1000)
    if exchange.response_time_ms is not None:
        DURATION.observe(exchange.response_time_ms / 1000)
    failure = _UPSTREAM_FAILURES.get(exchange.outcome)
    if exchange.outcome == "proxy_error" and exchange.status_code in (502, 504):
        failure = "unreachable" if exchange.status_code == 502 else "timeout"
    if failure:
        _child(UPSTREAM_ERRORS, failure).inc()
