"""The OpenAPI document: the base file's components plus a path item per route, from view docstrings.

The responses every operation shares (400, 401, 500) are added here: a docstring names only its own."""
import re
from pathlib import Path

import yaml
from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring

BASE = Path(__file__).with_name("openapi-base.yaml")
_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_COMPONENTS = {"schemas": "schema", "parameters": "parameter", "responses": "response",
               "securitySchemes": "security_scheme"}


def build_spec(app) -> dict:
    """The OpenAPI 3.0 document of every documented route of `app`."""
    base = yaml.safe_load(BASE.read_text())
    spec = APISpec(title=base["info"]["title"], version=base["info"]["version"],
                   openapi_version=base["openapi"], info=base["info"], servers=base["servers"],
                   tags=base["tags"], security=base["security"])
    for kind, register in _COMPONENTS.items():
        for name, component in base["components"].get(kind, {}).items():
            if kind == "parameters":
                spec.components.parameter(name, component["in"], component)
            else:
                getattr(spec.components, register)(name, component)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        operations = load_operations_from_docstring(app.view_functions[rule.endpoint].__doc__ or "")
        operations = {method: _completed(op) for method, op in operations.items() if method.upper() in rule.methods}
        if operations:
            spec.path(path=_ARGUMENT.sub(r"{\1}", rule.rule), operations=operations)
    return spec.to_dict()


def _completed(operation: dict) -> dict:
    """The operation with what its docstring leaves out: the dashboard's security, and the responses every
    operation shares unless the docstring names the status (400 where it takes parameters or a body, 401
    where the dashboard password guards it, 500 everywhere)."""
    if "dashboard" in operation.get("tags", ()):
        # Guarded by DASHBOARD_PASSWORD, not by the Anthropic credentials the proxy relays.
        operation.setdefault("security", [{"dashboardBasicAuth": []}])
    standard = {}
    if operation.get("parameters") or operation.get("requestBody"):
        standard["400"] = {"$ref": "#/components/responses/BadRequest"}
    if any("dashboardBasicAuth" in requirement for requirement in operation.get("security", ())):
        standard["401"] = {"$ref": "#/components/responses/Unauthorized"}
    standard["500"] = {"$ref": "#/components/responses/InternalError"}
    responses = {**standard, **operation.get("responses", {})}
    operation["responses"] = dict(sorted(responses.items()))  # statuses in order, `default` last
    return operation
