"""The health blueprint: /health for load balancers, /livez for operators."""
from datetime import datetime, timezone

import yaml
from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("health", __name__)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _traffic():
    # The proxy registers its traffic gauge here; api never imports proxy.
    return current_app.extensions["proxy"].traffic


def _recording() -> dict:
    # Whether records reach the database: relaying does not depend on it, so neither does the status.
    return current_app.extensions["proxy"].recording()


@bp.get("/health")
def health():
    """Up/ready signal: 200 while accepting traffic (even while recording is degraded), 503 once draining.
    ---
    get:
      operationId: healthCheck
      tags: [health]
      summary: Health check (binary up/ready signal for load balancers)
      security: []
      responses:
        "200":
          description: Service is healthy
          content:
            application/json:
              schema: {$ref: "#/components/schemas/HealthResponse"}
        "503":
          description: Service is draining (SIGTERM received). Stop routing here.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/DrainingResponse"}
    """
    traffic = _traffic()
    if traffic.draining:
        return jsonify(status="draining", timestamp=_now(), in_flight=traffic.server_in_flight(),
                       recording=_recording()), 503
    return jsonify(status="healthy", timestamp=_now(), recording=_recording())


@bp.get("/livez")
def livez():
    """Live operational state: requests in flight, the draining flag, and recording's state; always 200.
    ---
    get:
      operationId: livenessProbe
      tags: [health]
      summary: Live operational state (in-flight gauge + draining flag + recording state)
      security: []
      responses:
        "200":
          description: Operational state
          content:
            application/json:
              schema: {$ref: "#/components/schemas/LivezResponse"}
    """
    traffic = _traffic()
    return jsonify(status="ok", timestamp=_now(), in_flight=traffic.server_in_flight(), draining=traffic.draining,
                   recording=_recording())


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI specification as JSON.
    ---
    get:
      operationId: getOpenAPISpec
      tags: [health]
      summary: OpenAPI specification (JSON)
      security: []
      responses:
        "200":
          description: The OpenAPI 3.0 spec for this API
          content:
            application/json:
              schema: {type: object}
    """
    response = jsonify(current_app.extensions["openapi"])
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/openapi.yaml")
def openapi_yaml():
    """The OpenAPI specification as YAML.
    ---
    get:
      operationId: getOpenAPISpecYAML
      tags: [health]
      summary: OpenAPI specification (YAML)
      security: []
      responses:
        "200":
          description: The OpenAPI 3.0 spec for this API
          content:
            application/x-yaml:
              schema: {type: string}
    """
    text = yaml.safe_dump(current_app.extensions["openapi"], sort_keys=False, allow_unicode=True)
    return Response(text, mimetype="application/x-yaml", headers={"Access-Control-Allow-Origin": "*"})
