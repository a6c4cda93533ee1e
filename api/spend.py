"""Spend of a range for the dashboard's endpoints, the settled days and hours read from memory
(models/settled_spans.py): per key, and per bucket of time."""
import peewee
from flask import current_app

from api.prices import current_pricing
from models import queries, settled_costs
from models.costs import spend_by
from models.request_log import RequestLog

# A key name -> the record column spend is grouped on.
KEYS = {
    "organization": RequestLog.organization_id,
    "provider": peewee.fn.COALESCE(RequestLog.provider, "anthropic"),
    "key": RequestLog.api_key_fingerprint,
    "session": RequestLog.session_id,
}


def settled_spend(by: str | None, start_ms: int | None, end_ms: int | None, model: str | None = None,
                  org: str | None = None, checked: set | None = None) -> dict:
    """spend_by over the requests of [start_ms, end_ms) matching `model` and `org`, per key `by`
    (a KEYS name, or None); `checked` as for SettledSpans.verify."""
    pricing = current_pricing()
    key = None if by is None else KEYS[by].alias("c_key")
    if start_ms is None or end_ms is None:
        return spend_by(queries.filtered_requests(model=model, start_ms=start_ms, end_ms=end_ms, org=org), pricing,
                        key)
    return settled_costs.spend(current_app.extensions["settled_spans"], pricing, (by, model, org),
                               filtered_base(model, org), key, start_ms, end_ms, checked)


def bucket_spend(edges: list[int], key, model: str | None = None, org: str | None = None,
                 checked: set | None = None) -> dict:
    """spend_by per bucket [edges[i], edges[i + 1]) of the requests matching `model` and `org`;
    `key` is the SQL of a record's bucket index."""
    return settled_costs.spend_per_bucket(current_app.extensions["settled_spans"], current_pricing(),
                                          ("hours", model, org), filtered_base(model, org), edges, key.alias("c_key"),
                                          checked)


def filtered_base(model: str | None, org: str | None):
    """The filtered query of a range [start_ms, end_ms), as a function of the range."""
    return lambda start_ms, end_ms: queries.filtered_requests(model=model, start_ms=start_ms, end_ms=end_ms, org=org)
