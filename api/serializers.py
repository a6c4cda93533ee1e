"""JSON field names of the dashboard API, chosen here once: each shape in its own headed section."""
from api.errors import bad_request
from models.settings import (
    REQUEST_HEADER_RULES, RESPONSE_HEADER_RULES, RULE_ACTIONS, is_header_name, is_header_value,
    is_protected_header,
)

# ── Settings: the contract's ProxySettings and HeaderRule ─────────────────────────────────────

# JSON field -> saved setting key
SETTINGS_FIELDS = {"requestHeaderRules": REQUEST_HEADER_RULES, "responseHeaderRules": RESPONSE_HEADER_RULES}
RULE_FIELDS = ("header", "action", "value", "find", "enabled")
MAX_RULES = 100


def settings_json(saved: dict) -> dict:
    """ProxySettings from the saved settings; every rule has all five fields."""
    return {field: [_rule_json(rule) for rule in saved.get(key, [])] for field, key in SETTINGS_FIELDS.items()}


def _rule_json(rule: dict) -> dict:
    return {"header": rule.get("header", ""), "action": rule.get("action", ""), "value": rule.get("value", ""),
            "find": rule.get("find", ""), "enabled": rule.get("enabled", True)}


def settings_changes(body) -> dict:
    """The saved settings a ProxySettings body replaces (absent lists are left out); a 400 names the first fault."""
    if not isinstance(body, dict):
        raise _invalid("body", "must be a JSON object")
    for field in body:
        if field not in SETTINGS_FIELDS:
            raise _invalid(field, f"unknown field; expected {' or '.join(SETTINGS_FIELDS)}")
    return {key: _rules(body[field], field) for field, key in SETTINGS_FIELDS.items() if field in body}


def _invalid(path: str, problem: str):
    return bad_request("Invalid settings", f"{path}: {problem}")


def _rules(value, path: str) -> list[dict]:
    if not isinstance(value, list):
        raise _invalid(path, "must be a list of header rules")
    if len(value) > MAX_RULES:
        raise _invalid(path, f"at most {MAX_RULES} rules, got {len(value)}")
    return [_rule(item, f"{path}[{index}]") for index, item in enumerate(value)]


def _rule(item, path: str) -> dict:
    """One HeaderRule, checked field by field, as it is saved (value and find default to "")."""
    if not isinstance(item, dict):
        raise _invalid(path, "must be an object with header, action, value, find, enabled")
    for field in item:
        if field not in RULE_FIELDS:
            raise _invalid(f"{path}.{field}", f"unknown field; expected {', '.join(RULE_FIELDS)}")
    header, action, enabled = item.get("header"), item.get("action"), item.get("enabled", True)
    if not isinstance(header, str) or not header:
        raise _invalid(f"{path}.header", "must be a non-empty string")
    if not is_header_name(header):
        raise _invalid(f"{path}.header", f"{header!r} is not a header name "
                                         "(letters, digits and !#$%&'*+-.^_`|~ only)")
    if is_protected_header(header):
        raise _invalid(f"{path}.header", f"{header!r} is hop-by-hop or managed by the proxy; "
                                         "rules cannot change it")
    if not isinstance(action, str) or action not in RULE_ACTIONS:
        raise _invalid(f"{path}.action", f"must be one of {', '.join(RULE_ACTIONS)}")
    if not isinstance(enabled, bool):
        raise _invalid(f"{path}.enabled", "must be true or false")
    value, find = _text(item, "value", path), _text(item, "find", path)
    if action == "set" and not value:
        raise _invalid(f"{path}.value", "is required (non-empty) for action set")
    if action == "replace" and not find:
        raise _invalid(f"{path}.find", "is required (non-empty) for action replace")
    return {"header": header, "action": action, "value": value, "find": find, "enabled": enabled}


def _text(item: dict, field: str, path: str) -> str:
    """An optional header-value string field; null or absent means ""."""
    value = item.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{path}.{field}", "must be a string")
    if not is_header_value(value):
        raise _invalid(f"{path}.{field}", "must not contain line breaks, control characters "
                                          "or characters beyond Latin-1")
    return value
