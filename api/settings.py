"""Settings views: the header rules and body capture every worker applies, read and replaced through the database.

A PUT body is checked here, every field and rule, before anything is saved: it is saved whole or not at all."""
from flask import jsonify, request

import models
from api import bp
from api.errors import http_error
from api.serializers import CAPTURE_FIELDS, HEADER_RULE_FIELDS, SETTINGS_FIELDS, settings_json
from models import bounded_json
from models.settings import BODY_MAX_BYTES, capture_problem, rule_problem

MAX_RULES = 100
# 100 rules per list fit many times over; anything bigger is a mistake or an attack.
MAX_SETTINGS_BODY = 64 * 1024


def _json_body():
    """The request body decoded as JSON, refused before reading when it is over the cap."""
    too_large = http_error(413, "Settings body too large", f"the limit is {MAX_SETTINGS_BODY} bytes")
    if (request.content_length or 0) > MAX_SETTINGS_BODY:
        raise too_large
    raw = request.stream.read(MAX_SETTINGS_BODY + 1)
    if len(raw) > MAX_SETTINGS_BODY:
        raise too_large
    try:
        return bounded_json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise http_error(400, "Invalid settings", f"body: not valid JSON ({exc})") from None


def settings_changes(body) -> dict:
    """The saved settings a ProxySettings body replaces (absent fields are left out); a 400 names the first fault."""
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    for field in body:
        if field not in SETTINGS_FIELDS:
            raise _invalid(field, f"unknown field; expected one of {', '.join(SETTINGS_FIELDS)}")
    changes = {key: _rules(body[field], field) for field, key in HEADER_RULE_FIELDS.items() if field in body}
    for field, key in CAPTURE_FIELDS.items():
        if field in body:
            problem = capture_problem(key, body[field])
            if problem is not None:
                raise _invalid(field, problem)
            changes[key] = 0 if key == BODY_MAX_BYTES and body[field] is None else body[field]
    return changes


def _invalid(path: str, problem: str):
    return http_error(400, "Invalid settings", f"{path}: {problem}")


def _rules(value, path: str) -> list[dict]:
    if not isinstance(value, list):
        raise _invalid(path, "must be a list of header rules")
    if len(value) > MAX_RULES:
        raise _invalid(path, f"at most {MAX_RULES} rules, got {len(value)}")
    return [_rule(item, f"{path}[{index}]") for index, item in enumerate(value)]


def _rule(item, path: str) -> dict:
    """One HeaderRule as it is saved (value and find default to ""); a 400 names its first fault."""
    problem = rule_problem(item)
    if problem is not None:
        field, message = problem
        raise _invalid(f"{path}.{field}" if field else path, message)
    return {"header": item["header"], "action": item["action"], "value": item.get("value") or "",
            "find": item.get("find") or "", "enabled": item.get("enabled", True)}


@bp.get("/settings")
def get_settings():
    """Get current proxy settings: the request and response header rules and body capture.
    ---
    get:
      operationId: getSettings
      tags: [dashboard]
      summary: Get current proxy settings
      description: >-
        The saved header rules (an empty list for each never saved) and body capture settings
        (bodyCapture `all`, bodyMaxBytes 1048576 until saved).
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/ProxySettings"}}}}
    """
    return jsonify(settings_json(models.load_proxy_settings()))


@bp.put("/settings")
def save_settings():
    """Update proxy settings: each field present replaces the saved one; an absent field stays unchanged.
    ---
    put:
      operationId: saveSettings
      tags: [dashboard]
      summary: Update proxy settings
      description: >-
        Each field present in the body replaces the saved one; an absent field is left unchanged.
        Rules apply in order, header names match in any case, `enabled` defaults to true. Every
        worker applies a saved change within a second. Nothing is saved when any field is invalid
        (400 naming the field), and rules for hop-by-hop headers, proxy-*, host and content-length
        are refused. At most 100 rules per list, 64 KB per body (413). bodyCapture is all, errors
        or none; bodyMaxBytes a whole number from 0 to 2147483647, or null (saved as 0, no cap).
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/ProxySettings"}
      responses:
        "200": {description: OK, content: {application/json: {schema: {$ref: "#/components/schemas/ProxySettings"}}}}
        "403": {$ref: "#/components/responses/CrossSiteRefused"}
        "413": {$ref: "#/components/responses/PayloadTooLarge"}
        "415": {$ref: "#/components/responses/UnsupportedMediaType"}
    """
    changes = settings_changes(_json_body())
    return jsonify(settings_json(models.save_proxy_settings(changes)))
