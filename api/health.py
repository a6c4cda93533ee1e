"""The health blueprint: /health for load balancers, /livez for operators."""
from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _traffic():
    # The proxy registers its traffic gauge here; api never imports proxy.
    return current_app.extensions["proxy"].traffic


@bp.get("/health")
def health():
    """Up/ready signal: 200 while accepting traffic, 503 once draining."""
    traffic = _traffic()
    if traffic.draining:
        return jsonify(status="draining", timestamp=_now(), in_flight=traffic.in_flight), 503
    return jsonify(status="healthy", timestamp=_now())


@bp.get("/livez")
def livez():
    """Live operational state: requests in flight and the draining flag; always 200."""
    traffic = _traffic()
    return jsonify(status="ok", timestamp=_now(), in_flight=traffic.in_flight, draining=traffic.draining)
