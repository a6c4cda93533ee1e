"""GET /metrics in Prometheus text format, guarded by METRICS_TOKEN or else like the dashboard."""
import hmac

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from api.auth import require_login
from api.errors import error_response

bp = Blueprint("metrics", __name__)


@bp.before_request
def guard():
    """A bearer METRICS_TOKEN when one is set; otherwise the dashboard password (if any)."""
    token = current_app.config["PROXY"].metrics_token
    if not token:
        return require_login()
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), token.encode()):
        return error_response(401, "Unauthorized", "send Authorization: Bearer <METRICS_TOKEN>")
    return None


def _registry():
    if not current_app.config["PROXY"].prometheus_multiproc_dir:
        return REGISTRY
    registry = CollectorRegistry()  # sums the figures every worker wrote to the shared folder
    multiprocess.MultiProcessCollector(registry)
    return registry


@bp.get("/metrics")
def metrics():
    """Prometheus metrics: requests, tokens, in-flight, latency histograms, record writes.
    ---
    get:
      operationId: getMetrics
      tags: [health]
      summary: Prometheus metrics (text exposition format)
      description: Guarded by METRICS_TOKEN (bearer) when set, otherwise like the dashboard.
      security: [{bearerAuth: []}, {dashboardBasicAuth: []}]
      responses:
        "200":
          description: Metrics in Prometheus text format
          content:
            text/plain:
              schema: {type: string}
    """
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)
