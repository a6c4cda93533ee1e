"""Editable settings every worker shares: a key/value table of JSON values with a version per key.

Readers poll `setting_versions()` (a tiny query) and reload values only when a version moved,
so a saved change reaches every worker and process without a restart or a read per request.
"""
import json
import re
import time

import peewee

from models.db import database

REQUEST_HEADER_RULES = "request_header_rules"
RESPONSE_HEADER_RULES = "response_header_rules"
HEADER_RULE_KEYS = (REQUEST_HEADER_RULES, RESPONSE_HEADER_RULES)
BODY_CAPTURE = "body_capture"
BODY_MAX_BYTES = "body_max_bytes"
CAPTURE_KEYS = (BODY_CAPTURE, BODY_MAX_BYTES)

# Which requests keep their bodies: every one, only those that did not complete (outcome other
# than complete, or status >= 400), or none (every typed column is still recorded).
CAPTURE_MODES = ("all", "errors", "none")
# A 200k-token Claude Code context is about 0.6-0.8 MB of request JSON, so 1 MiB keeps ordinary
# bodies whole while one 32 MiB upload (or a runaway stream) cannot bloat every record.
DEFAULT_BODY_MAX_BYTES = 1024 * 1024
MAX_BODY_MAX_BYTES = 2**31 - 1  # the largest size the integer byte columns hold
# What a key reads as before anyone saved it.
SETTING_DEFAULTS = {REQUEST_HEADER_RULES: [], RESPONSE_HEADER_RULES: [],
                    BODY_CAPTURE: "all", BODY_MAX_BYTES: DEFAULT_BODY_MAX_BYTES}

# What a header rule may be. Both the API (which validates rules) and the proxy (which
# applies them) import these, so the two can never disagree.
RULE_ACTIONS = ("block", "set", "replace")
# Connection-specific headers (RFC 9110 7.6.1) and framing the HTTP stack owns: a rule that
# touched them could desynchronise a connection or truncate a body.
PROTECTED_HEADERS = frozenset({
    "connection", "keep-alive", "transfer-encoding", "te", "trailer", "trailers", "upgrade",
    "host", "content-length",
})

# RFC 9110 5.6.2 token: what a header name may consist of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 5.5 field value characters: no control character but tab, nothing beyond Latin-1
# (HTTP clients and WSGI servers encode header values as Latin-1).
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def is_header_name(name: str) -> bool:
    """True for a syntactically valid header name (a non-empty RFC 9110 token)."""
    return _TOKEN.fullmatch(name) is not None


def is_header_value(text: str) -> bool:
    """True for text that can go in a header value (no CR, LF or other control characters)."""
    return _FIELD_VALUE.fullmatch(text) is not None


def is_protected_header(name: str) -> bool:
    """True for a header no rule may block, set or edit (hop-by-hop, proxy-*, host, content-length)."""
    name = name.lower()
    return name in PROTECTED_HEADERS or name.startswith("proxy-")


RULE_FIELDS = ("header", "action", "value", "find", "enabled")


def rule_problem(item) -> tuple[str, str] | None:
    """The first fault of a HeaderRule as (field, message), or None when it can be applied.
    One check for both the API (which refuses such rules) and the proxy (which skips them)."""
    if not isinstance(item, dict):
        return "", "must be an object with header, action, value, find, enabled"
    for field in item:
        if field not in RULE_FIELDS:
            return field, f"unknown field; expected {', '.join(RULE_FIELDS)}"
    header, action, enabled = item.get("header"), item.get("action"), item.get("enabled", True)
    if not isinstance(header, str) or not header:
        return "header", "must be a non-empty string"
    if not is_header_name(header):
        return "header", f"{header!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    if is_protected_header(header):
        return "header", f"{header!r} is hop-by-hop or managed by the proxy; rules cannot change it"
    if not isinstance(action, str) or action not in RULE_ACTIONS:
        return "action", f"must be one of {', '.join(RULE_ACTIONS)}"
    if not isinstance(enabled, bool):
        return "enabled", "must be true or false"
    for field in ("value", "find"):
        text = item.get(field)
        if text is not None and not isinstance(text, str):
            return field, "must be a string"
        if text and not is_header_value(text):
            return field, "must not contain line breaks, control characters or characters beyond Latin-1"
    if action == "set" and not item.get("value"):
        return "value", "is required (non-empty) for action set"
    if action == "replace" and not item.get("find"):
        return "find", "is required (non-empty) for action replace"
    return None


def capture_problem(key: str, value) -> str | None:
    """Why `value` cannot be saved as body capture setting `key`, or None when it can.
    One check for both the API (which refuses such values) and the proxy (which ignores them)."""
    if key == BODY_CAPTURE:
        if not isinstance(value, str) or value not in CAPTURE_MODES:
            return f"must be one of {', '.join(CAPTURE_MODES)}"
    elif key == BODY_MAX_BYTES:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number of bytes (0 or null for no cap)"
        if not 0 <= value <= MAX_BODY_MAX_BYTES:
            return f"must be between 0 and {MAX_BODY_MAX_BYTES}"
    else:
        return "not a body capture setting"
    return None


class Setting(peewee.Model):
    """One setting: its JSON value, and a version bumped on every save so readers can poll cheaply."""

    key = peewee.CharField(primary_key=True, max_length=100)
    value = peewee.TextField()
    version = peewee.IntegerField(default=1)
    updated_at_ms = peewee.BigIntegerField()

    class Meta:
        database = database
        table_name = "setting"


def setting_versions() -> dict[str, int]:
    """The version of every saved setting: cheap enough to poll twice a second."""
    return dict(Setting.select(Setting.key, Setting.version).tuples())


def load_settings(keys) -> dict:
    """The saved values of `keys` (decoded JSON); keys never saved are absent."""
    query = Setting.select(Setting.key, Setting.value).where(Setting.key.in_(list(keys)))
    return {key: json.loads(value) for key, value in query.tuples()}


def save_settings(values: dict) -> None:
    """Save each key's value in one transaction, bumping its version."""
    now_ms = int(time.time() * 1000)
    with database.atomic():
        for key, value in values.items():
            encoded = json.dumps(value)
            # The increment happens in the database, so two concurrent saves both count.
            (Setting.insert(key=key, value=encoded, version=1, updated_at_ms=now_ms)
             .on_conflict(conflict_target=[Setting.key],
                          update={Setting.value: encoded, Setting.updated_at_ms: now_ms,
                                  Setting.version: Setting.version + 1})
             .execute())


def load_proxy_settings() -> dict:
    """Every editable setting as saved, the default for each never saved."""
    saved = load_settings(SETTING_DEFAULTS)
    return {key: saved.get(key, default) for key, default in SETTING_DEFAULTS.items()}


def save_proxy_settings(changes: dict) -> dict:
    """Replace the settings present in `changes` (others stay as saved); returns them all as saved."""
    unknown = set(changes) - set(SETTING_DEFAULTS)
    if unknown:
        raise ValueError(f"not proxy settings: {sorted(unknown)}")
    with database.atomic():
        save_settings(changes)
        return load_proxy_settings()
