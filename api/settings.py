"""Settings views: the header rules every worker applies, read and replaced through the database."""
import json

from flask import jsonify, request

import models
from api import bp
from api.errors import bad_request, payload_too_large
from api.serializers import settings_changes, settings_json

# 100 rules per list fit many times over; anything bigger is a mistake or an attack.
MAX_SETTINGS_BODY = 64 * 1024


def _json_body():
    """The request body decoded as JSON, refused before reading when it is over the cap."""
    too_large = payload_too_large("Settings body too large", f"the limit is {MAX_SETTINGS_BODY} bytes")
    if (request.content_length or 0) > MAX_SETTINGS_BODY:
        raise too_large
    raw = request.stream.read(MAX_SETTINGS_BODY + 1)
    if len(raw) > MAX_SETTINGS_BODY:
        raise too_large
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("Invalid settings", f"body: not valid JSON ({exc})") from None


@bp.get("/settings")
def get_settings():
    """Get current proxy settings: the request and response header rules.
    ---
    get:
      operationId: getSettings
      tags: [dashboard]
      summary: Get current proxy settings
      description: The saved header rules; an empty list for each never saved.
      responses:
        "200":
          description: OK
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ProxySettings"}
        "401": {$ref: "#/components/responses/Unauthorized"}
    """
    return jsonify(settings_json(models.load_header_rules()))


@bp.put("/settings")
def save_settings():
    """Update proxy settings: each list present replaces the saved one; an absent list stays unchanged.
    ---
    put:
      operationId: saveSettings
      tags: [dashboard]
      summary: Update proxy settings
      description: >-
        Each rule list present in the body replaces the saved one; an absent list is left unchanged.
        Rules apply in order, header names match in any case, `enabled` defaults to true. Every
        worker applies a saved change within a second. Nothing is saved when any rule is invalid
        (400 naming the field), and rules for hop-by-hop headers, proxy-*, host and content-length
        are refused. At most 100 rules per list, 64 KB per body (413).
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/ProxySettings"}
      responses:
        "200":
          description: OK
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ProxySettings"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/BadRequest"}
        "413": {$ref: "#/components/responses/BadRequest"}
        "415": {$ref: "#/components/responses/BadRequest"}
    """
    changes = settings_changes(_json_body())
    return jsonify(settings_json(models.save_header_rules(changes)))
